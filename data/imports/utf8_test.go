package imports

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/duckdbtest"
)

// TestInvalidUTF8 checks that text which is not UTF-8 (here Latin-1 bytes)
// stops an import with an error naming file, line, column and value, unless
// the mapping says invalid_utf8: replace; then each bad sequence becomes
// U+FFFD and the summary counts the values. Customer ids are never
// replaced (two ids could become one), and empty or NUL ids are refused.
func TestInvalidUTF8(t *testing.T) {
	const latin1 = "id,plan,owner,tier\na,basic,Ann,gold\nb,pro,Bj\xf6rn,gold\nc,pro,Zo\xeb,silv\xe9r\n"
	tests := []struct {
		name     string
		source   string // the source: block
		columns  string // extra lines under columns:
		file     string
		line     int64  // 0: no error
		column   string // of the error
		value    string
		is       error
		replaced map[string]int64
		owners   []string // owner of each customer when the import works
	}{
		{name: "error by default", source: "cust.csv", file: latin1,
			line: 3, column: "owner", value: "Bj\xf6rn", is: data.ErrInvalidUTF8},
		{name: "replace for the whole source", source: "{file: cust.csv, invalid_utf8: replace}", file: latin1,
			replaced: map[string]int64{"owner": 2, "tier": 1}, owners: []string{"Ann", "Bj\uFFFDrn", "Zo\uFFFD"}},
		{name: "replace for one column", source: "cust.csv", columns: "      owner: {from: owner, invalid_utf8: replace}\n",
			file: latin1, line: 4, column: "tier", value: "silv\xe9r", is: data.ErrInvalidUTF8},
		{name: "a column keeps error under a replacing source", source: "{file: cust.csv, invalid_utf8: replace}",
			columns: "      owner: {from: owner, invalid_utf8: error}\n", file: latin1,
			line: 3, column: "owner", value: "Bj\xf6rn", is: data.ErrInvalidUTF8},
		{name: "ids are never replaced", source: "{file: cust.csv, invalid_utf8: replace}", file: "id,plan\na,pro\nb\xe9,pro\n",
			line: 3, column: "id", value: "b\xe9", is: data.ErrInvalidUTF8},
		{name: "NUL in an id", source: "cust.csv", file: "id,plan\na,pro\nb\x00,pro\n",
			line: 3, column: "id", value: "b\x00", is: data.ErrInvalidKey},
		{name: "header name", source: "cust.csv", file: "id,plan,Pr\xe9nom\na,pro,x\n",
			line: 1, value: "Pr\xe9nom", is: data.ErrInvalidUTF8},
		{name: "header name replaced", source: "{file: cust.csv, invalid_utf8: replace}", file: "id,plan,owner,Pr\xe9nom\na,pro,Ann,x\n",
			owners: []string{"Ann"}},
		{name: "on_error: null applies", source: "cust.csv", columns: "      owner: {from: owner, on_error: \"null\"}\n",
			file: "id,plan,owner\na,basic,Ann\nb,pro,Bj\xf6rn\n", owners: []string{"Ann", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mapping := "tables:\n  customers:\n    source: " + tt.source + "\n    columns:\n      customer_id: id\n      plan: plan\n" + tt.columns
			sum, out, err := runMapping(t, mapping, map[string]string{"cust.csv": tt.file})
			if tt.line != 0 {
				var ie *data.InputError
				if !errors.As(err, &ie) || !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want an InputError wrapping %v", err, tt.is)
				}
				if !strings.HasSuffix(ie.File, "cust.csv") || ie.Row != tt.line || ie.Column != tt.column || ie.Value != tt.value {
					t.Fatalf("err = %q; want cust.csv line %d, column %q, value %q", err, tt.line, tt.column, tt.value)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cs := sum.Table(data.Customers)
			if len(cs.Replaced) != len(tt.replaced) {
				t.Errorf("replaced = %v, want %v", cs.Replaced, tt.replaced)
			}
			for k, n := range tt.replaced {
				if cs.Replaced[k] != n {
					t.Errorf("replaced = %v, want %v", cs.Replaced, tt.replaced)
				}
			}
			hs, _, _ := scanAll(t, out)
			var owners []string
			for _, h := range hs {
				owners = append(owners, h.Customer.Owner)
			}
			if strings.Join(owners, "|") != strings.Join(tt.owners, "|") {
				t.Errorf("owners = %q, want %q", owners, tt.owners)
			}
		})
	}
}

// TestInvalidUTF8Mapping checks the mapping's invalid_utf8 settings.
func TestInvalidUTF8Mapping(t *testing.T) {
	files := map[string]string{"cust.csv": "id,plan,seats\na,pro,1\n"}
	for _, tc := range []struct {
		name, mapping, msg string
		line               int
	}{
		{"unknown mode", "tables:\n  customers:\n    source: {file: cust.csv, invalid_utf8: drop}\n    columns: {customer_id: id}\n", `invalid_utf8 "drop": want error or replace`, 3},
		{"replace on customer_id", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: {from: id, invalid_utf8: replace}\n", "customer ids are never replaced", 5},
		{"replace on a number", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      seats: {from: seats, invalid_utf8: replace}\n", "invalid_utf8 is for string columns, not INT64", 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runMapping(t, tc.mapping, files)
			var me *MappingError
			if !errors.As(err, &me) || me.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want a MappingError at line %d saying %q", err, tc.line, tc.msg)
			}
		})
	}
}

// TestDuckDBReadsReplacedText imports Latin-1 text with invalid_utf8:
// replace and checks that DuckDB reads every string of the output, which it
// refuses to do when a string is not UTF-8.
func TestDuckDBReadsReplacedText(t *testing.T) {
	duckdbtest.Dir(t)
	mapping := "tables:\n  customers:\n    source: {file: cust.csv, invalid_utf8: replace}\n    columns:\n      customer_id: id\n      owner: owner\n"
	_, out := mustImport(t, mapping, map[string]string{"cust.csv": "id,owner,Pr\xe9nom\na,Bj\xf6rn,x\nb,Ann,Zo\xeb\n"})
	res := duckdbtest.Query(t, "SELECT customer_id, owner, \"Pr\uFFFDnom\" FROM "+duckdbtest.Parquet(filepath.Join(out, "customers.parquet"))+" ORDER BY 1")
	want := [][]string{{"a", "Bj\uFFFDrn", "x"}, {"b", "Ann", "Zo\uFFFD"}}
	if len(res.Rows) != len(want) {
		t.Fatalf("rows %v", res.Rows)
	}
	for i, row := range res.Rows {
		for j, v := range row {
			if v != want[i][j] {
				t.Errorf("row %d column %d = %q, want %q", i, j, v, want[i][j])
			}
		}
	}
}

// TestUTF16 checks that a UTF-16 text file (what Excel's "Unicode text"
// and PowerShell write) is recognised, with or without a byte order mark,
// and refused with a message saying to convert it, instead of "has 1
// fields, want 4".
func TestUTF16(t *testing.T) {
	text := "id,plan,owner,seats\na,pro,Ann,3\nb,basic,Bob,1\n"
	le := func(s string, bom bool) string {
		var b []byte
		if bom {
			b = append(b, 0xff, 0xfe)
		}
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return string(b)
	}
	be := func(s string, bom bool) string {
		var b []byte
		if bom {
			b = append(b, 0xfe, 0xff)
		}
		for _, r := range s {
			b = append(b, 0, byte(r))
		}
		return string(b)
	}
	for _, tc := range []struct {
		name, file, format, msg string
	}{
		{"little-endian with BOM", le(text, true), "csv", "UTF-16 (little-endian)"},
		{"big-endian with BOM", be(text, true), "csv", "UTF-16 (big-endian)"},
		{"little-endian without BOM", le(text, false), "csv", "UTF-16 (little-endian)"},
		{"whitespace file", le(strings.ReplaceAll(text, ",", " "), true), "whitespace", "UTF-16 (little-endian)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mapping := "tables:\n  customers:\n    source: {file: cust.txt, format: " + tc.format + "}\n    columns: {customer_id: id, plan: plan}\n"
			_, _, err := runMapping(t, mapping, map[string]string{"cust.txt": tc.file})
			var ie *data.InputError
			if !errors.As(err, &ie) || !strings.HasSuffix(ie.File, "cust.txt") || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "convert it to UTF-8") {
				t.Fatalf("err = %v, want an InputError naming cust.txt, %q and how to convert it", err, tc.msg)
			}
		})
	}
}

// TestSortRefusesInvalidUTF8 checks that churn sort, which rewrites files
// another tool wrote, does not copy text that is not UTF-8 into them.
func TestSortRefusesInvalidUTF8(t *testing.T) {
	type row struct {
		ID    string `parquet:"customer_id"`
		Owner string `parquet:"owner"`
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "customers.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[row](f)
	if _, err := w.Write([]row{{"b", "Ann"}, {"a", "Bj\xf6rn"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Sort(t.Context(), dir, SortOptions{Out: filepath.Join(t.TempDir(), "sorted"), Logger: quiet})
	var ie *data.InputError
	if !errors.As(err, &ie) || !errors.Is(err, data.ErrInvalidUTF8) || ie.File != path || ie.Row != 2 || ie.Column != "owner" {
		t.Fatalf("err = %v, want ErrInvalidUTF8 at %s:2 column owner", err, path)
	}
}
