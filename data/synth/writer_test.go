package synth_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/churnlab/churn/data"
)

// TestWriterRoundTrip guards data.Writer's typed fast path, which the
// generator's speed depends on: every type, nulls, absent columns, string
// dictionaries larger and smaller than the batch, and row groups that split
// a batch.
func TestWriterRoundTrip(t *testing.T) {
	specs := []data.ColumnSpec{
		{Name: "s", Type: data.TypeString, Dict: true},
		{Name: "os", Type: data.TypeString, Optional: true, Dict: true},
		{Name: "big", Type: data.TypeString, Optional: true},
		{Name: "i", Type: data.TypeInt64},
		{Name: "oi", Type: data.TypeInt64, Optional: true},
		{Name: "f", Type: data.TypeFloat64, Optional: true},
		{Name: "b", Type: data.TypeBool, Optional: true},
		{Name: "d", Type: data.TypeDate, Optional: true},
		{Name: "ts", Type: data.TypeTimestamp, Optional: true},
		{Name: "absent", Type: data.TypeInt64, Optional: true},
	}
	const n = 5
	cols := []data.Vec{
		{Type: data.TypeString, Dict: []string{"x", "y"}, Codes: []int32{0, 0, 1, 1, 0}},
		{Type: data.TypeString, Dict: []string{"p", "q"}, Codes: []int32{-1, 1, -1, 0, 1}},
		{Type: data.TypeString, Dict: []string{"a", "b", "c", "d", "e", "f", "g"}, Codes: []int32{6, -1, 0, 3, 3}},
		{Type: data.TypeInt64, Ints: []int64{1, -2, 3, math.MaxInt64, 0}},
		{Type: data.TypeInt64, Ints: []int64{data.NullInt, 7, 0, data.NullInt, -1}},
		{Type: data.TypeFloat64, Floats: []float64{0.5, math.NaN(), -1, 0, 1e300}},
		{Type: data.TypeBool, Bools: []int8{1, 0, -1, 1, 0}},
		{Type: data.TypeDate, Dates: []data.Date{19000, data.NoDate, 0, -1, 20000}},
		{Type: data.TypeTimestamp, Ints: []int64{1, int64(data.NoTime), 0, -5, 1 << 50}},
		{Type: data.TypeInt64, Absent: true},
	}
	want := [][]any{
		{"x", nil, "g", int64(1), nil, 0.5, true, int32(19000), int64(1), nil},
		{"x", "q", nil, int64(-2), int64(7), nil, false, nil, nil, nil},
		{"y", nil, "a", int64(3), int64(0), -1.0, nil, int32(0), int64(0), nil},
		{"y", "p", "d", int64(math.MaxInt64), nil, 0.0, true, int32(-1), int64(-5), nil},
		{"x", "q", "d", int64(0), int64(-1), 1e300, false, int32(20000), int64(1 << 50), nil},
	}
	var buf bytes.Buffer
	w, err := data.NewWriter(&buf, specs, data.WriterOptions{RowGroupRows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(n, cols); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(pf.RowGroups()); got != 3 {
		t.Errorf("%d row groups, want 3", got)
	}
	r := parquet.NewReader(pf)
	rows := make([]parquet.Row, n+1)
	got, err := r.ReadRows(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("read %d rows, want %d", got, n)
	}
	for i, row := range rows[:n] {
		for c, v := range row {
			var x any
			switch {
			case v.IsNull():
			case v.Kind() == parquet.ByteArray:
				x = string(v.ByteArray())
			case v.Kind() == parquet.Int64:
				x = v.Int64()
			case v.Kind() == parquet.Int32:
				x = v.Int32()
			case v.Kind() == parquet.Double:
				x = v.Double()
			case v.Kind() == parquet.Boolean:
				x = v.Boolean()
			}
			if x != want[i][c] {
				t.Errorf("row %d column %s = %v, want %v", i, specs[c].Name, x, want[i][c])
			}
		}
	}
}

func TestWriterRejectsNullInRequiredColumn(t *testing.T) {
	tests := []struct {
		name string
		spec data.ColumnSpec
		col  data.Vec
	}{
		{"string", data.ColumnSpec{Name: "s", Type: data.TypeString}, data.Vec{Type: data.TypeString, Dict: []string{"a"}, Codes: []int32{0, -1}}},
		{"int", data.ColumnSpec{Name: "i", Type: data.TypeInt64}, data.Vec{Type: data.TypeInt64, Ints: []int64{1, data.NullInt}}},
		{"date", data.ColumnSpec{Name: "d", Type: data.TypeDate}, data.Vec{Type: data.TypeDate, Dates: []data.Date{1, data.NoDate}}},
		{"absent", data.ColumnSpec{Name: "a", Type: data.TypeInt64}, data.Vec{Type: data.TypeInt64, Absent: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := data.NewWriter(io.Discard, []data.ColumnSpec{tt.spec}, data.WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(2, []data.Vec{tt.col}); !errors.Is(err, data.ErrNull) {
				t.Errorf("error %v, want ErrNull", err)
			}
		})
	}
}
