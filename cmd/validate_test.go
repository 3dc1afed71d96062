package cmd

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/churnlab/churn/data"
)

func init() {
	// -update regenerates golden files; another test file may define it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files and fixtures under testdata")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// validateFixtureDir holds the datasets of testdata/script/validate.txtar,
// written by validateFixtures and checked in.
const validateFixtureDir = "testdata/validate"

// fixtureFile is one Parquet file of a fixture dataset: columns and rows as
// strings ("" is null), converted to the column types.
type fixtureFile struct {
	path string
	cols []data.ColumnSpec
	rows [][]string
	raw  []byte // written as is instead, when set
}

func col(name string, t data.Type, optional bool) data.ColumnSpec {
	return data.ColumnSpec{Name: name, Type: t, Optional: optional}
}

// validateFixtures returns the fixture datasets: good/ passes, bad/ has at
// least one problem of most kinds.
func validateFixtures() []fixtureFile {
	str, date, ts, i64, f64, boolean := data.TypeString, data.TypeDate, data.TypeTimestamp, data.TypeInt64, data.TypeFloat64, data.TypeBool
	customers := []data.ColumnSpec{col("customer_id", str, false), col("signup_date", date, true), col("plan", str, true),
		col("seats", i64, true), col("mrr", f64, true), col("industry", str, true)}
	usage := []data.ColumnSpec{col("customer_id", str, false), col("date", date, true), col("active_users", i64, true)}
	tickets := []data.ColumnSpec{col("customer_id", str, false), col("opened_at", ts, false), col("closed_at", ts, true),
		col("priority", str, false), col("escalated", boolean, false), col("csat", i64, true)}
	surveys := []data.ColumnSpec{col("customer_id", str, false), col("ts", ts, false), col("nps", i64, false)}
	payments := []data.ColumnSpec{col("customer_id", str, false), col("invoice_date", date, false), col("amount", f64, false),
		col("status", str, false)}
	orders := []data.ColumnSpec{col("customer_id", str, false), col("amount", str, false)}
	interventions := []data.ColumnSpec{col("customer_id", str, false), col("ts", ts, false), col("play", str, true),
		col("owner", str, true), col("group", str, true), col("contacted", boolean, true)}
	return []fixtureFile{
		{path: "good/customers.parquet", cols: customers, rows: [][]string{
			{"c1", "2023-01-10", "pro", "12", "1200", "retail"},
			{"c2", "2023-02-01", "basic", "3", "90.5", "bank"},
			{"c3", "2023-05-20", "pro", "40", "4100", ""},
			{"c4", "2023-07-04", "", "", "", "retail"},
		}},
		{path: "good/usage/year=2024/part-0.parquet", cols: usage, rows: [][]string{
			{"c1", "2024-01-01", "5"}, {"c1", "2024-01-02", "6"}, {"c2", "2024-02-01", "2"},
			{"c3", "2024-03-05", "30"}, {"c4", "2024-01-15", ""}, {"c4", "2024-04-01", "1"},
		}},
		{path: "good/tickets.parquet", cols: tickets, rows: [][]string{
			{"c1", "2024-01-05T10:00:00Z", "2024-01-06T09:30:00Z", "high", "false", "4"},
			{"c3", "2024-03-01T08:00:00Z", "", "low", "true", ""},
		}},
		{path: "good/surveys.parquet", cols: surveys, rows: [][]string{
			{"c2", "2024-02-10T12:00:00Z", "9"}, {"c4", "2024-03-20T12:00:00Z", "3"},
		}},
		{path: "bad/customers.parquet", cols: customers, rows: [][]string{
			{"c1", "2023-01-10", "pro", "12", "1200", "retail"},
			{"c2", "2023-02-01", "basic", "3", "90.5", "bank"},
			{"c2", "2023-02-01", "basic", "3", "90.5", "bank"},
			{"c3", "", "pro", "-1", "4100", ""},
			{"c5", "2023-07-04", "basic", "1", "10", "retail"},
		}},
		{path: "bad/usage.parquet", cols: usage, rows: [][]string{
			{"c1", "2024-01-02", "5"}, {"c1", "2024-01-01", "6"}, {"c3", "", "2"}, {"c2", "2024-01-05", "1"},
		}},
		{path: "bad/surveys.parquet", cols: surveys, rows: [][]string{
			{"c1", "2024-02-10T12:00:00Z", "11"}, {"c9", "2024-03-20T12:00:00Z", "5"},
		}},
		{path: "bad/payments.parquet", cols: payments, rows: [][]string{
			{"c1", "2024-01-01", "-5", "bogus"}, {"c2", "2024-01-01", "100", "paid"},
		}},
		{path: "bad/tickets.parquet", cols: tickets, rows: [][]string{
			{"c1", "2024-01-05T10:00:00Z", "", "p1", "false", ""},
		}},
		{path: "bad/orders.parquet", cols: orders, rows: [][]string{{"c1", "12.50"}}},
		{path: "bad/usages.parquet", cols: usage, rows: [][]string{{"c1", "2024-01-02", "5"}}},
		{path: "bad/contacts.parquet", raw: []byte("customer_id,ts,kind\nc1,2024-01-01,interaction\n")},
		{path: "bad/notes.txt", raw: []byte("exported from the CRM on 2024-05-01\n")},
		// plays/: an interventions table with one problem of each kind
		// its checks find.
		{path: "plays/customers.parquet", cols: customers[:2], rows: [][]string{
			{"c1", "2023-01-10"}, {"c2", "2023-02-01"}, {"c3", "2023-05-20"},
		}},
		{path: "plays/interventions.parquet", cols: interventions, rows: [][]string{
			{"c1", "2024-01-01T09:00:00Z", "usage", "csm-01", "treat", "true"},
			{"c1", "2024-02-01T09:00:00Z", "support", "csm-01", "treat", ""},
			{"c2", "2024-01-01T09:00:00Z", "usage", "csm-02", "holdout", "false"},
			{"c2", "2024-02-01T09:00:00Z", "", "csm-02", "treat", "false"},
			{"c3", "2024-01-01T09:00:00Z", "usage", "csm-03", "control", "true"},
		}},
	}
}

// encode writes ff as Parquet.
func (ff *fixtureFile) encode(t *testing.T) []byte {
	t.Helper()
	if ff.raw != nil {
		return ff.raw
	}
	vecs := make([]data.Vec, len(ff.cols))
	for c, spec := range ff.cols {
		vecs[c] = data.NewVec(spec.Type)
		for _, row := range ff.rows {
			appendCell(t, &vecs[c], row[c])
		}
	}
	var buf bytes.Buffer
	w, err := data.NewWriter(&buf, ff.cols, data.WriterOptions{Compression: "none", ChurnVersion: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(len(ff.rows), vecs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func appendCell(t *testing.T, v *data.Vec, s string) {
	t.Helper()
	if s == "" {
		v.AppendNull()
		return
	}
	var err error
	switch v.Type {
	case data.TypeString:
		v.AppendString(s)
	case data.TypeInt64:
		var x int64
		x, err = strconv.ParseInt(s, 10, 64)
		v.AppendInt(x)
	case data.TypeFloat64:
		var x float64
		x, err = strconv.ParseFloat(s, 64)
		v.AppendFloat(x)
	case data.TypeBool:
		v.AppendBool(s == "true")
	case data.TypeDate:
		var d data.Date
		d, err = data.ParseDate(s)
		v.AppendDate(d)
	case data.TypeTimestamp:
		var x time.Time
		x, err = time.Parse(time.RFC3339, s)
		v.AppendTime(data.TimestampOf(x))
	}
	if err != nil {
		t.Fatalf("fixture value %q: %v", s, err)
	}
}

// TestValidateFixtures checks that the checked-in fixture datasets are
// what validateFixtures writes (rewrite them with -update).
func TestValidateFixtures(t *testing.T) {
	want := map[string]bool{}
	for _, ff := range validateFixtures() {
		path := filepath.Join(validateFixtureDir, filepath.FromSlash(ff.path))
		want[path] = true
		b := ff.encode(t)
		if updating() {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd -run TestValidateFixtures -update)", err)
		}
		// Compare contents, not bytes, so that changes to how Writer
		// encodes pages do not make the fixtures stale.
		if ff.raw != nil && !bytes.Equal(got, b) || ff.raw == nil && parquetContent(t, got) != parquetContent(t, b) {
			t.Errorf("%s is out of date (run go test ./cmd -run TestValidateFixtures -update)", path)
		}
	}
	var extra []string
	filepath.WalkDir(validateFixtureDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !want[p] {
			extra = append(extra, p)
		}
		return nil
	})
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("files in %s that no fixture writes: %v", validateFixtureDir, extra)
	}
}

// parquetContent returns the schema and rows of a Parquet file as text.
func parquetContent(t *testing.T, b []byte) string {
	t.Helper()
	pf, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	out.WriteString(pf.Schema().String())
	buf := make([]parquet.Row, 16)
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, err := rows.ReadRows(buf)
			for _, r := range buf[:n] {
				fmt.Fprintln(&out, r)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
	}
	return out.String()
}

// TestValidateFlags checks that flags bind into ValidateOptions.
func TestValidateFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want ValidateOptions
	}{
		{"defaults", []string{"d"}, ValidateOptions{Dir: "d", Format: "text"}},
		{"as-of and json", []string{"--as-of", "2024-06-01", "--format", "json", "d"}, ValidateOptions{Dir: "d", AsOf: "2024-06-01", Format: "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *ValidateOptions
			c := newValidateCmdWith(IO{}, func(_ context.Context, o *ValidateOptions, _ IO) error {
				got = o
				return nil
			})
			c.SetArgs(tt.args)
			if err := c.Execute(); err != nil {
				t.Fatal(err)
			}
			if *got != tt.want {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

// TestRunValidate runs the command's work on the fixtures with a fixed
// clock and checks exit status and key lines.
func TestRunValidate(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		opts    ValidateOptions
		wantErr bool
		want    []string
	}{
		{"good", ValidateOptions{Dir: "good", Format: "text"}, false, []string{"OK: no errors or warnings"}},
		{"good as of", ValidateOptions{Dir: "good", Format: "text", AsOf: "2024-03-01"}, false, []string{
			`good/usage/year=2024/part-0.parquet:4: column date: value "2024-03-05"`, "OK with 3 warnings"}},
		{"bad", ValidateOptions{Dir: "bad", Format: "text"}, true, []string{
			`bad/customers.parquet:3: column customer_id: value "c2": customer_id appears more than once`,
			`bad/usage.parquet:3: column date: customer "c3": null in a required column`,
		}},
		{"bad json", ValidateOptions{Dir: "bad", Format: "json"}, true, []string{`"check": "duplicate_key"`, `"ok": false`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			o := tt.opts
			o.Dir = filepath.Join(validateFixtureDir, o.Dir)
			o.Now = now
			err := runValidate(context.Background(), &o, IO{Out: &out, ErrOut: &errOut})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v\n%s", err, tt.wantErr, out.String())
			}
			got := strings.ReplaceAll(out.String(), validateFixtureDir+"/", "")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
		})
	}
}
