package imports

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestLineLimits checks that a line, a record or a field longer than the
// source's limits stops the import with an error naming the file and line,
// for CSV and whitespace files, and that the limits can be set in the
// mapping.
func TestLineLimits(t *testing.T) {
	long := strings.Repeat("x", 3000)
	tests := []struct {
		name   string
		source string // extra keys of the source
		format string
		file   string
		line   int64
		column string
		msg    string
	}{
		{name: "long line", source: "max_line_bytes: 2KiB", file: "id,plan\na,pro\nb," + long + "\nc,pro\n",
			line: 3, msg: "line 3 is longer than 2 KiB (max_line_bytes)"},
		{name: "long header", source: "max_line_bytes: 2048", file: "id,plan," + long + "\na,pro,x\n",
			line: 1, msg: "line 1 is longer than 2 KiB"},
		{name: "long field", source: "max_field_bytes: 1KiB", file: "id,plan\na,pro\nb," + long + "\n",
			line: 3, column: "plan", msg: "the value is 3000 bytes, longer than 1 KiB (max_field_bytes)"},
		{name: "quote never closed", source: "max_line_bytes: 2KiB", file: "id,plan\na,\"pro\n" + strings.Repeat("b,pro\n", 1000),
			line: 2, msg: "a quoted field that is never closed?"},
		{name: "long line in a whitespace file", source: "max_line_bytes: 2KiB", format: "whitespace", file: "id plan\na pro\nb " + long + "\n",
			line: 3, msg: "line 3 is longer than 2 KiB (max_line_bytes)"},
		{name: "long field in a whitespace file", source: "max_field_bytes: 1KiB", format: "whitespace", file: "id plan\na pro\nb " + long + "\n",
			line: 3, column: "plan", msg: "longer than 1 KiB (max_field_bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format := "csv"
			if tt.format != "" {
				format = tt.format
			}
			mapping := "tables:\n  customers:\n    source: {file: cust.txt, format: " + format + ", " + tt.source + "}\n    columns: {customer_id: id, plan: plan}\n"
			_, _, err := runMapping(t, mapping, map[string]string{"cust.txt": tt.file})
			var ie *data.InputError
			if !errors.As(err, &ie) || !errors.Is(err, ErrTooLong) {
				t.Fatalf("err = %v, want an InputError wrapping ErrTooLong", err)
			}
			if !strings.HasSuffix(ie.File, "cust.txt") || ie.Row != tt.line || ie.Column != tt.column || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %q; want cust.txt line %d, column %q and %q", err, tt.line, tt.column, tt.msg)
			}
			if len(err.Error()) > 400 {
				t.Errorf("the message quotes the long value: %d bytes", len(err.Error()))
			}
		})
	}
}

// TestLongLineMemory checks that a line far over the limit is refused after
// reading about the limit, not the whole line: a 16 MiB line under a 64 KiB
// limit must not cost more than a few MiB.
func TestLongLineMemory(t *testing.T) {
	file := "id,plan\na,pro\nb," + strings.Repeat("y", 16<<20) + "\n"
	mapping := "tables:\n  customers:\n    source: {file: cust.csv, max_line_bytes: 64KiB}\n    columns: {customer_id: id, plan: plan}\n"
	dir := writeFiles(t, map[string]string{"mapping.yaml": mapping, "cust.csv": file})
	file = ""
	m, err := Load(dir+"/mapping.yaml", LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = Import(t.Context(), m, Options{Out: dir + "/out", Logger: quiet})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("err = %v, want ErrTooLong", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("refusing the line allocated %d KiB", alloc>>10)
	}
}

// TestByteSize checks the sizes a mapping may give.
func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1024", 1024, false}, {"64KiB", 64 << 10, false}, {"16 MiB", 16 << 20, false}, {"1GiB", 1 << 30, false},
		{"2kib", 2 << 10, false}, {"0", 0, true}, {"-3", 0, true}, {"12 MB", 0, true}, {"lots", 0, true}, {"9999999GiB", 0, true},
	} {
		got, err := parseByteSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzLineLimiter checks the line limiter against encoding/csv: when every
// line and every record of a text fits the limit, reading it through the
// limiter gives exactly the records (or the parse error) of reading it
// directly; and a line over the limit is always caught.
func FuzzLineLimiter(f *testing.F) {
	f.Add("id,plan\na,pro\n", uint16(8), false)
	f.Add("id,plan\n\"a\nb\",\"x\"\"y\"\nc,\"d,e\"\n", uint16(6), false)
	f.Add("id,plan\na,\"pro\n"+strings.Repeat("b,pro\n", 10), uint16(20), false)
	f.Add("a,\"b \"c\" d\",e\n\"x\"\r\ny,z\n", uint16(12), true)
	f.Add("a;\"b;c\"\n", uint16(3), false)
	f.Fuzz(func(t *testing.T, text string, max uint16, lazy bool) {
		limit := int64(max%64) + 1
		direct := csv.NewReader(strings.NewReader(text))
		direct.LazyQuotes, direct.FieldsPerRecord = lazy, -1
		var want [][]string
		var wantErr error
		fits := true
		prev := int64(0)
		for {
			rec, err := direct.Read()
			if err == io.EOF {
				break
			}
			if span := direct.InputOffset() - prev; span > limit {
				fits = false
			}
			prev = direct.InputOffset()
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, rec)
		}
		longLine := false
		for _, line := range strings.Split(text, "\n") {
			if int64(len(line)) > limit {
				longLine, fits = true, false
			}
		}
		lim := newLineLimiter(strings.NewReader(text), limit, ',')
		through := csv.NewReader(lim)
		through.LazyQuotes, through.FieldsPerRecord = lazy, -1
		var got [][]string
		var gotErr error
		for {
			rec, err := through.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				gotErr = err
				break
			}
			got = append(got, rec)
		}
		if longLine && !errors.Is(gotErr, ErrTooLong) && !errors.Is(lim.err, ErrTooLong) {
			t.Fatalf("a line is longer than %d bytes, but the limiter let it through (err %v)", limit, gotErr)
		}
		if !fits {
			return
		}
		if errors.Is(gotErr, ErrTooLong) {
			t.Fatalf("every line and record fits %d bytes, but the limiter says %v", limit, gotErr)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("through the limiter: %q, %v; directly: %q, %v", got, gotErr, want, wantErr)
		}
	})
}
