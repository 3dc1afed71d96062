package imports

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

const fuzzMapping = `tables:
  customers:
    source: {file: cust.txt, format: FORMAT, nulls: ["NA"], invalid_utf8: UTF8, max_line_bytes: 4KiB, max_field_bytes: 1KiB}
    columns:
      customer_id: id
      signup_date: {from: since, formats: ["2006-01-02", "%d/%m/%Y %-H:%M"], on_error: "null"}
      seats: {from: seats, on_error: skip}
      mrr: mrr
      churned: {from: churn, values: {"yes": true, "no": false, "?": ~}, case_insensitive: true}
    attributes: {names: snake_case}
`

// FuzzImportCSV feeds arbitrary text to the CSV and whitespace readers and
// the converters: the import must not panic, must fail only with a
// *data.InputError or *MappingError, and must write a dataset that opens
// and scans when it succeeds.
func FuzzImportCSV(f *testing.F) {
	f.Add("id,since,seats,mrr,churn\na,2024-01-01,3,9.5,Yes\nb,31/12/2023 7:05,,1e2,no\n", false, false)
	f.Add("id,since,seats,mrr,churn,Extra Col\r\n\"a\",\"2024-01-01\",1,2,?,\"x,y\"\r\n\r\n", false, false)
	f.Add("\uFEFFid,since,seats,mrr,churn\na,bad,x,NA,maybe\n", false, false)
	f.Add("id,since,seats,mrr,churn\na,,1,2,yes\na,,1,2,yes\n", false, false)
	f.Add("id,since,seats,mrr,churn\n\"unterminated,1,2,3,yes\n", false, false)
	f.Add("id since seats mrr churn\n00004 2024-01-01 2 29.33 no\n\n00021 2024-02-01 3 1 YES\n", true, false)
	f.Add("id since seats mrr churn\n1 2 3\n", true, false)
	// Text that is not UTF-8 (Latin-1), refused or replaced; NUL in an id.
	f.Add("id,since,seats,mrr,churn,Pr\xe9nom\na,2024-01-01,3,9.5,Yes,Zo\xeb\n", false, false)
	f.Add("id,since,seats,mrr,churn,Pr\xe9nom\na,2024-01-01,3,9.5,Yes,Zo\xeb\n", false, true)
	f.Add("id,since,seats,mrr,churn\na\xff,2024-01-01,3,9.5,Yes\n", false, true)
	f.Add("id since seats mrr churn\na\x00 2024-01-01 3 9.5 yes\n", true, false)
	// Lines, records and fields over the mapping's limits (4 KiB, 1 KiB).
	f.Add("id,since,seats,mrr,churn\na,2024-01-01,3,9.5,"+strings.Repeat("y", 5000)+"\n", false, false)
	f.Add("id,since,seats,mrr,churn\na,2024-01-01,3,9.5,\""+strings.Repeat("yes\n", 1200)+"\n", false, false)
	f.Add("id,since,seats,mrr,churn\na,2024-01-01,3,\"9\"\"5\",\"Y\nes\"\nb,2024-01-01,3,"+strings.Repeat("9", 2000)+",yes\n", false, false)
	f.Add("id since seats mrr churn\n"+strings.Repeat("a", 5000)+" 2024-01-01 3 9.5 yes\n", true, false)
	// UTF-16 text, with and without a byte order mark.
	f.Add("\xff\xfei\x00d\x00,\x00s\x00i\x00n\x00c\x00e\x00\n\x00", false, false)
	f.Add("i\x00d\x00 \x00s\x00i\x00n\x00c\x00e\x00\n\x00a\x00", true, false)
	f.Fuzz(func(t *testing.T, text string, whitespace, replace bool) {
		dir := t.TempDir()
		format := "csv"
		if whitespace {
			format = "whitespace"
		}
		utf8Mode := "error"
		if replace {
			utf8Mode = "replace"
		}
		if err := os.WriteFile(filepath.Join(dir, "cust.txt"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		mapping := []byte(strings.NewReplacer("FORMAT", format, "UTF8", utf8Mode).Replace(fuzzMapping))
		m, err := Parse(filepath.Join(dir, "mapping.yaml"), mapping, LoadOptions{LookupEnv: noEnv})
		if err != nil {
			t.Fatalf("mapping: %v", err)
		}
		out := filepath.Join(dir, "out")
		sum, err := Import(context.Background(), m, Options{Out: out, Logger: quiet})
		if err != nil {
			var ie *data.InputError
			var me *MappingError
			if !errors.As(err, &ie) && !errors.As(err, &me) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Fatalf("output written despite %v", err)
			}
			return
		}
		n, _, err := scanErr(out)
		if err != nil {
			t.Fatalf("imported dataset does not scan: %v", err)
		}
		if n != sum.Table(data.Customers).Rows {
			t.Fatalf("scan saw %d customers, summary says %d", n, sum.Table(data.Customers).Rows)
		}
	})
}
