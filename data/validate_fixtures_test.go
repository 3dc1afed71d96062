package data

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Test fixtures shared by the validate, fuzz and DuckDB tests: small,
// deterministic contract tables that exercise every column type, nulls in
// optional columns, vocabularies, ranges and customer attributes.

// fixtureBase is the first day of fixture histories.
var fixtureBase = MakeDate(2024, time.January, 1)

// fixtureIDs returns n customer ids in sorted order: c000, c001, ...
// (more digits when n needs them).
func fixtureIDs(n int) []string {
	width := max(3, len(fmt.Sprint(n-1)))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%0*d", width, i)
	}
	return ids
}

// fixtureAttrs are the extra columns of the fixture customers table.
var fixtureAttrs = []ColumnSpec{
	{Name: "industry", Type: TypeString, Optional: true, Dict: true},
	{Name: "employees", Type: TypeInt64, Optional: true},
	{Name: "vip", Type: TypeBool, Optional: true},
}

// fixtureTable returns the specs and columns of contract table t for the
// given customers: one row per customer for customers, 1 + i%3 rows per
// customer i otherwise, sorted by customer_id then time. Optional columns
// hold a null now and then; values stay inside vocabularies and ranges.
func fixtureTable(tb testing.TB, t *Table, ids []string) (specs []ColumnSpec, n int, cols []Vec) {
	tb.Helper()
	specs = Specs(t)
	if t.Name == Customers {
		specs = append(specs, fixtureAttrs...)
	}
	cols = make([]Vec, len(specs))
	for c := range specs {
		cols[c] = NewVec(specs[c].Type)
	}
	row := 0
	for i, id := range ids {
		k := 1 + i%3
		if t.Name == Customers {
			k = 1
		}
		for j := 0; j < k; j++ {
			for c, s := range specs {
				appendFixtureValue(t, s, &cols[c], id, i, j, row)
			}
			row++
		}
	}
	return specs, row, cols
}

func appendFixtureValue(t *Table, s ColumnSpec, v *Vec, id string, i, j, row int) {
	if s.Name == KeyColumn {
		v.AppendString(id)
		return
	}
	if s.Optional && s.Name != "signup_date" && (row+len(s.Name))%5 == 0 {
		v.AppendNull()
		return
	}
	var col *Column
	if k := t.ColumnIndex(s.Name); k >= 0 {
		col = &t.Columns[k]
	}
	day := fixtureBase.AddDays(i + 7*j)
	switch s.Type {
	case TypeString:
		switch {
		case col != nil && len(col.Values) > 0:
			v.AppendString(col.Values[(i+j)%len(col.Values)])
		default:
			v.AppendString(fmt.Sprintf("%s-%d", s.Name, (i+j)%4))
		}
	case TypeInt64:
		x := int64(i*3 + j)
		if col != nil && col.Max > col.Min {
			x = int64(col.Min) + x%int64(col.Max-col.Min+1)
		}
		v.AppendInt(x)
	case TypeFloat64:
		v.AppendFloat(float64(i)*10.5 + float64(j))
	case TypeBool:
		v.AppendBool((i+j)%2 == 0)
	case TypeDate:
		v.AppendDate(day)
	case TypeTimestamp:
		v.AppendTime(day.Start() + Timestamp(int64(j+1)*3_600_000_000+int64(i)*1_000_001))
	}
}

// writeFixture writes contract table t for ids to path.
func writeFixture(tb testing.TB, path string, t *Table, ids []string, opt WriterOptions) {
	tb.Helper()
	specs, n, cols := fixtureTable(tb, t, ids)
	writeTable(tb, path, specs, n, cols, opt)
}

// fixtureBytes returns table t for ids encoded as a Parquet file.
func fixtureBytes(tb testing.TB, t *Table, ids []string, opt WriterOptions) []byte {
	tb.Helper()
	specs, n, cols := fixtureTable(tb, t, ids)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, specs, opt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(n, cols); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// writeFixtureDataset writes every contract table for n customers into dir
// as <table>.parquet files.
func writeFixtureDataset(tb testing.TB, dir string, n int) {
	tb.Helper()
	ids := fixtureIDs(n)
	for _, t := range Contract {
		writeFixture(tb, filepath.Join(dir, t.Name+".parquet"), t, ids, WriterOptions{RowGroupRows: 4})
	}
}

func writeBytes(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}
