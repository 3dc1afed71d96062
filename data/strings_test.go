package data

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// writeForeign writes a Parquet file as another tool could: with parquet-go
// directly, so strings are stored as given, valid UTF-8 or not. Cells are
// parsed as writeRows does, except that "<null>" is null and "" is an empty
// string in string columns. Dict columns are dictionary-encoded.
func writeForeign(t testing.TB, path string, specs []ColumnSpec, rows ...[]string) {
	t.Helper()
	// Schema refuses names that are not UTF-8: take each column's node
	// from a one-column schema and name it here.
	g := orderedGroup{Group: parquet.Group{}}
	for _, s := range specs {
		one, err := Schema("one", []ColumnSpec{{Name: "x", Type: s.Type, Optional: s.Optional, Dict: s.Dict}})
		if err != nil {
			t.Fatal(err)
		}
		g.Group[s.Name] = one.Fields()[0]
		g.order = append(g.order, s.Name)
	}
	schema := parquet.NewSchema("foreign", g)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewWriter(f, schema)
	for _, r := range rows {
		row := make(parquet.Row, len(specs))
		for c, s := range specs {
			def := 0
			if s.Optional {
				def = 1
			}
			var v parquet.Value
			switch cell := r[c]; {
			case cell == "<null>":
				def = 0
			case s.Type == TypeString:
				v = parquet.ByteArrayValue([]byte(cell))
			default:
				var x Vec
				x.Type = s.Type
				appendCell(t, &x, cell)
				switch s.Type {
				case TypeInt64, TypeTimestamp:
					v = parquet.Int64Value(x.Ints[0])
				case TypeFloat64:
					v = parquet.DoubleValue(x.Floats[0])
				case TypeBool:
					v = parquet.BooleanValue(x.Bools[0] == 1)
				case TypeDate:
					v = parquet.Int32Value(int32(x.Dates[0]))
				}
			}
			row[c] = v.Level(0, def, c)
		}
		if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadInvalidStrings checks that strings which are not valid UTF-8,
// and customer ids that are empty or hold a NUL byte, stop the reader with
// an error naming file, row and column (other tools cannot read such
// strings once churn writes them out), and that Validate reports them as
// errors with the same location.
func TestReadInvalidStrings(t *testing.T) {
	cust, _ := LookupTable(Customers)
	ids := fixtureIDs(4)
	custSpecs := []ColumnSpec{spec("customer_id", TypeString), optional("signup_date", TypeDate),
		{Name: "plan", Type: TypeString, Optional: true, Dict: true}, optional("owner", TypeString), optional("tier", TypeString)}
	usageSpecs := []ColumnSpec{spec("customer_id", TypeString), spec("date", TypeDate)}
	tests := []struct {
		name   string
		file   string
		specs  []ColumnSpec
		rows   [][]string
		row    int64
		column string
		value  string
		is     error
		check  string
	}{
		{name: "dictionary-encoded column", file: "customers.parquet", specs: custSpecs,
			rows: [][]string{{ids[0], "2024-01-01", "basic", "ann", "x"}, {ids[1], "2024-01-01", "pro\xff", "ann", "x"}, {ids[2], "2024-01-01", "basic", "bob", "x"}},
			row:  2, column: "plan", value: "pro\xff", is: ErrInvalidUTF8, check: "invalid_utf8"},
		{name: "plain column", file: "customers.parquet", specs: custSpecs,
			rows: [][]string{{ids[0], "2024-01-01", "basic", "ann", "x"}, {ids[1], "2024-01-01", "pro", "ann", "x"}, {ids[2], "2024-01-01", "basic", "Bj\xf6rn", "x"}},
			row:  3, column: "owner", value: "Bj\xf6rn", is: ErrInvalidUTF8, check: "invalid_utf8"},
		{name: "attribute", file: "customers.parquet", specs: custSpecs,
			rows: [][]string{{ids[0], "2024-01-01", "basic", "ann", "\xc3("}},
			row:  1, column: "tier", value: "\xc3(", is: ErrInvalidUTF8, check: "invalid_utf8"},
		{name: "customer id", file: "customers.parquet", specs: custSpecs,
			rows: [][]string{{ids[0], "2024-01-01", "basic", "ann", "x"}, {"c\xff2", "2024-01-01", "basic", "ann", "x"}},
			row:  2, column: "customer_id", value: "c\xff2", is: ErrInvalidUTF8, check: "invalid_utf8"},
		{name: "empty customer id", file: "customers.parquet", specs: custSpecs,
			rows: [][]string{{"", "2024-01-01", "basic", "ann", "x"}, {ids[0], "2024-01-01", "basic", "ann", "x"}},
			row:  1, column: "customer_id", value: "", is: ErrInvalidKey, check: "invalid_key"},
		{name: "NUL in a customer id", file: "customers.parquet", specs: custSpecs,
			rows: [][]string{{ids[0], "2024-01-01", "basic", "ann", "x"}, {"c\x00", "2024-01-01", "basic", "ann", "x"}},
			row:  2, column: "customer_id", value: "c\x00", is: ErrInvalidKey, check: "invalid_key"},
		{name: "customer id of an event table", file: "usage.parquet", specs: usageSpecs,
			rows: [][]string{{ids[0], "2024-01-01"}, {ids[1] + "\xe2\x82", "2024-01-01"}},
			row:  2, column: "customer_id", value: ids[1] + "\xe2\x82", is: ErrInvalidUTF8, check: "invalid_utf8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "customers.parquet" {
				writeFixture(t, filepath.Join(dir, "customers.parquet"), cust, ids, WriterOptions{})
			}
			path := filepath.Join(dir, tt.file)
			writeForeign(t, path, tt.specs, tt.rows...)
			tbl, _ := LookupTable(strings.TrimSuffix(tt.file, ".parquet"))
			for _, err := range []error{readWholeFile(path, tbl), scanDir(dir)} {
				var ie *InputError
				if !errors.As(err, &ie) || !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want an InputError wrapping %v", err, tt.is)
				}
				if ie.File != path || ie.Row != tt.row || ie.Column != tt.column || ie.Value != tt.value {
					t.Errorf("err = %q; want file %s, row %d, column %s, value %q", err, path, tt.row, tt.column, tt.value)
				}
				if !strings.Contains(err.Error(), "UTF-8") && !strings.Contains(err.Error(), "customer_id") {
					t.Errorf("err = %q does not say what is wrong", err)
				}
			}
			r := validateDir(t, dir, ValidateOptions{})
			p := findProblem(dir, r, expect{sev: SevError, check: tt.check, file: tt.file, column: tt.column})
			if p == nil || p.Row != tt.row || p.Value != tt.value {
				t.Fatalf("validate: want a %s error at row %d:%s", tt.check, tt.row, describe(dir, r))
			}
			checkAgreesWithReader(t, dir, r)
		})
	}
}

// TestReadSkipsBadColumnNames checks that an attribute column whose name is
// not valid UTF-8 is ignored rather than carried into outputs.
func TestReadSkipsBadColumnNames(t *testing.T) {
	cust, _ := LookupTable(Customers)
	path := filepath.Join(t.TempDir(), "customers.parquet")
	writeForeign(t, path, []ColumnSpec{spec("customer_id", TypeString), optional("ti\xffer", TypeString), optional("tier", TypeString)},
		[]string{"c1", "gold", "gold"})
	f, err := OpenFile(path, cust, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Attrs) != 1 || f.Attrs[0].Name != "tier" || len(f.Ignored) != 1 || !strings.Contains(f.Ignored[0], "UTF-8") {
		t.Fatalf("attrs %v, ignored %q", f.Attrs, f.Ignored)
	}
}

// TestWriterRefusesInvalidUTF8 checks the last line of defence: no string
// churn writes is invalid UTF-8, whichever way the Writer encodes it.
func TestWriterRefusesInvalidUTF8(t *testing.T) {
	specs := []ColumnSpec{spec("customer_id", TypeString), {Name: "plan", Type: TypeString, Dict: true}}
	if _, err := NewWriter(io.Discard, []ColumnSpec{spec("Pr\xe9nom", TypeString)}, WriterOptions{}); !errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("column name not UTF-8: err = %v", err)
	}
	for _, tc := range []struct {
		name string
		plan Vec
	}{
		{"codes repeat", strVec("basic", "basic", "pro\xff", "basic")},
		{"more dictionary entries than rows", func() Vec {
			v := strVec("a", "b", "c", "pro\xff", "d", "e", "f", "g")
			v.Codes = []int32{0, 1, 3, 2} // the dictionary holds values of other rows
			return v
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "x.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w, err := NewWriter(f, specs, WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(4, []Vec{strVec("c1", "c2", "c3", "c4"), tc.plan})
			if !errors.Is(err, ErrInvalidUTF8) || !strings.Contains(err.Error(), "column plan: row 3") {
				t.Fatalf("err = %v, want ErrInvalidUTF8 at column plan, row 3", err)
			}
		})
	}
}

// TestTransientPlainKeys checks that a plain-encoded key column read with
// Batch.TransientKeys (views of the batch's arena, one code per value)
// gives the same values as a normal read, row group after row group.
func TestTransientPlainKeys(t *testing.T) {
	usage, _ := LookupTable(UsageTable)
	path := filepath.Join(t.TempDir(), "usage.parquet")
	var ids []string
	for i := 0; i < 50; i++ {
		ids = append(ids, fmt.Sprintf("c%03d", i/2)) // repeated keys, as in event tables
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	dates := NewVec(TypeDate)
	for range ids {
		dates.AppendDate(MakeDate(2024, 1, 1))
	}
	w, err := NewWriter(f, []ColumnSpec{spec("customer_id", TypeString), spec("date", TypeDate)}, WriterOptions{RowGroupRows: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(len(ids), []Vec{strVec(ids...), dates}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	pf, err := OpenFile(path, usage, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var got []string
	var b Batch
	b.TransientKeys = true
	for rg := 0; rg < pf.NumRowGroups(); rg++ {
		if err := pf.ReadRowGroup(rg, nil, false, &b); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < b.N; i++ {
			got = append(got, strings.Clone(b.Cols[0].Str(i)))
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("transient keys %q, want %q", got, ids)
	}
}

func TestCheckString(t *testing.T) {
	tests := []struct {
		name string
		s    string
		key  bool
		want error
	}{
		{"ascii id", "C00000001", true, nil},
		{"empty value", "", false, nil},
		{"empty id", "", true, ErrInvalidKey},
		{"NUL in an id", "C1\x00", true, ErrInvalidKey},
		{"NUL in a value", "a\x00b", false, nil},
		{"UTF-8", "Björn", true, nil},
		{"not UTF-8", "Bj\xf6rn", false, ErrInvalidUTF8},
		{"not UTF-8 after a NUL", "\x00\xff", false, ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckString(tt.s, tt.key); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("CheckString(%q, %v) = %v, want %v", tt.s, tt.key, err, tt.want)
			}
		})
	}
}

// TestASCIINoNUL checks the word-at-a-time test against the byte loop, at
// every position of a bad byte and every length.
func TestASCIINoNUL(t *testing.T) {
	for n := 0; n < 20; n++ {
		base := strings.Repeat("C", n)
		if !asciiNoNUL(base) {
			t.Fatalf("%q: not ASCII?", base)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{0, 0x80, 0xff, 0x7f, 1} {
				s := []byte(base)
				s[i] = c
				want := c != 0 && c < 0x80
				if got := asciiNoNUL(string(s)); got != want {
					t.Errorf("%q: %v, want %v", s, got, want)
				}
			}
		}
	}
}
