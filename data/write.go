package data

import (
	"fmt"
	"io"
	"slices"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/compress/uncompressed"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// ColumnSpec is one column of a Parquet file written by Writer.
type ColumnSpec struct {
	Name     string
	Type     Type
	Optional bool // nullable: sentinel values are written as nulls
	Dict     bool // dictionary-encode (strings with few distinct values)
}

// Specs returns the column specs of a contract table, in contract order.
func Specs(t *Table) []ColumnSpec {
	out := make([]ColumnSpec, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = ColumnSpec{Name: c.Name, Type: c.Type, Optional: !c.Required, Dict: c.Type == TypeString}
	}
	return out
}

// WriterOptions configures a Writer. The zero value means defaults.
type WriterOptions struct {
	// RowGroupRows is the number of rows per row group (default 131072).
	RowGroupRows int
	// Compression is "snappy" (default), "zstd" or "none".
	Compression string
	// Metadata is written as key-value metadata in the footer.
	Metadata map[string]string
	// SortedBy names the columns the caller sorted the rows by (ascending);
	// it is recorded in the footer. The Writer does not sort.
	SortedBy []string
	// ChurnVersion is recorded in the footer's created_by ("churn version
	// X"); "" records "dev".
	ChurnVersion string
}

func (o *WriterOptions) ensureDefaults() {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = 1 << 17
	}
	if o.Compression == "" {
		o.Compression = "snappy"
	}
	if o.ChurnVersion == "" {
		o.ChurnVersion = "dev"
	}
}

func codec(name string) (compress.Codec, error) {
	switch name {
	case "snappy":
		return &fastSnappy{}, nil
	case "zstd":
		return &zstd.Codec{Level: zstd.SpeedFastest}, nil
	case "none":
		return &uncompressed.Codec{}, nil
	}
	return nil, fmt.Errorf("unknown compression %q (want snappy, zstd or none)", name)
}

// fastSnappy is Parquet's SNAPPY codec with the fast encoder: parquet-go's
// own uses the "better" encoder, which took 5% of a feature build for
// slightly smaller pages. The output is standard Snappy either way.
type fastSnappy struct{ snappy.Codec }

func (*fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	n := s2.MaxEncodedLen(len(src))
	if n < 0 {
		return nil, fmt.Errorf("snappy: page of %d bytes is too large", len(src))
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	return s2.EncodeSnappy(dst[:n], src), nil
}

// orderedGroup is a Parquet group whose fields keep the order they were
// declared in (parquet.Group sorts them by name).
type orderedGroup struct {
	parquet.Group
	order []string
}

func (g orderedGroup) Fields() []parquet.Field {
	fields := g.Group.Fields()
	slices.SortStableFunc(fields, func(a, b parquet.Field) int {
		return slices.Index(g.order, a.Name()) - slices.Index(g.order, b.Name())
	})
	return fields
}

// Schema returns the Parquet schema for the columns, in their order.
func Schema(name string, cols []ColumnSpec) (*parquet.Schema, error) {
	g := orderedGroup{Group: parquet.Group{}}
	for _, c := range cols {
		if _, dup := g.Group[c.Name]; dup {
			return nil, fmt.Errorf("column %s is given twice", c.Name)
		}
		if !utf8.ValidString(c.Name) {
			return nil, fmt.Errorf("column name %q: %w", c.Name, ErrInvalidUTF8)
		}
		var n parquet.Node
		switch c.Type {
		case TypeString:
			n = parquet.String()
			if c.Dict {
				n = parquet.Encoded(n, &parquet.RLEDictionary)
			}
		case TypeInt64:
			n = parquet.Int(64)
		case TypeFloat64:
			n = parquet.Leaf(parquet.DoubleType)
		case TypeBool:
			n = parquet.Leaf(parquet.BooleanType)
		case TypeDate:
			n = parquet.Date()
		case TypeTimestamp:
			n = parquet.Timestamp(parquet.Microsecond)
		default:
			return nil, fmt.Errorf("column %s: unknown type %v", c.Name, c.Type)
		}
		if c.Optional {
			n = parquet.Optional(n)
		}
		g.Group[c.Name] = n
		g.order = append(g.order, c.Name)
	}
	return parquet.NewSchema(name, g), nil
}

// Writer writes Parquet files column by column from Vecs. It is not safe for
// concurrent use. Close must be called and its error checked: it writes the
// footer.
type Writer struct {
	pw      *parquet.Writer
	cols    []ColumnSpec
	opt     WriterOptions
	enc     encoder
	pending int
	rows    int64
	mu      sync.Mutex // guards BeginRowGroup
}

// NewWriter returns a Writer of the given columns to w.
func NewWriter(w io.Writer, cols []ColumnSpec, opt WriterOptions) (*Writer, error) {
	opt.ensureDefaults()
	schema, err := Schema("churn", cols)
	if err != nil {
		return nil, err
	}
	cd, err := codec(opt.Compression)
	if err != nil {
		return nil, err
	}
	options := []parquet.WriterOption{
		schema,
		parquet.Compression(cd),
		parquet.CreatedBy("churn", opt.ChurnVersion, ""),
		parquet.DataPageStatistics(true),
	}
	keys := make([]string, 0, len(opt.Metadata))
	for k := range opt.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		options = append(options, parquet.KeyValueMetadata(k, opt.Metadata[k]))
	}
	if len(opt.SortedBy) > 0 {
		var sc []parquet.SortingColumn
		for _, name := range opt.SortedBy {
			sc = append(sc, parquet.Ascending(name))
		}
		options = append(options, parquet.SortingWriterConfig(parquet.SortingColumns(sc...)))
	}
	return &Writer{pw: parquet.NewWriter(w, options...), cols: cols, opt: opt}, nil
}

// Rows returns the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

// Write appends n rows given as one Vec per column (in column order, each
// holding at least n values of the column's type). Sentinel values are
// written as nulls in optional columns and are an error in required ones.
func (w *Writer) Write(n int, cols []Vec) error {
	if len(cols) != len(w.cols) {
		return fmt.Errorf("write: %d columns given, schema has %d", len(cols), len(w.cols))
	}
	for lo := 0; lo < n; {
		hi := min(n, lo+w.opt.RowGroupRows-w.pending)
		cws := w.pw.ColumnWriters()
		for c := range cols {
			if err := w.enc.writeColumn(cws[c], c, &w.cols[c], &cols[c], lo, hi, w.rows); err != nil {
				return err
			}
		}
		w.pending += hi - lo
		w.rows += int64(hi - lo)
		lo = hi
		if w.pending >= w.opt.RowGroupRows {
			if err := w.pw.Flush(); err != nil {
				return err
			}
			w.pending = 0
		}
	}
	return nil
}

// encoder turns Vecs into parquet.Values for column writers, reusing its
// buffers.
type encoder struct {
	vals     []parquet.Value
	dictVals []parquet.Value
}

// writeColumn writes rows [lo, hi) of v as column c; base is the number of
// rows before them, for error messages.
func (w *encoder) writeColumn(cw *parquet.ColumnWriter, c int, spec *ColumnSpec, v *Vec, lo, hi int, base int64) error {
	if v.Type != spec.Type {
		return fmt.Errorf("write column %s: got %s values, want %s", spec.Name, v.Type, spec.Type)
	}
	if !spec.Optional {
		if i := firstNullIn(v, lo, hi); i >= 0 {
			return fmt.Errorf("write column %s: row %d: %w", spec.Name, base+int64(i-lo)+1, ErrNull)
		}
	}
	// Values are built in place with the inlinable setters; the type switch
	// is hoisted out of the loops. A value's definition level is 1 in an
	// optional column (0 marks a null) and 0 in a required one.
	n := hi - lo
	vals := slices.Grow(w.vals[:0], n)[:n]
	w.vals = vals
	switch {
	case v.Absent: // every value is null
		clear(vals)
	case spec.Type == TypeString:
		// Every string churn writes is UTF-8 (see CheckString); the
		// readers check what comes in, this catches anything else.
		codes := v.Codes[lo:hi]
		badRow := func(i int) error {
			return fmt.Errorf("write column %s: row %d: value %q: %w", spec.Name, base+int64(i)+1, v.Dict[codes[i]], ErrInvalidUTF8)
		}
		if len(v.Dict) > len(codes) {
			for i, code := range codes {
				vals[i] = parquet.Value{}
				if code >= 0 {
					if !utf8.ValidString(v.Dict[code]) {
						return badRow(i)
					}
					vals[i] = byteArrayValue(v.Dict[code])
				}
			}
			break
		}
		// Codes repeat: build the Value of each dictionary entry once.
		dict := w.dictVals[:0]
		invalid := false
		for _, s := range v.Dict {
			dict = append(dict, byteArrayValue(s))
			invalid = invalid || !utf8.ValidString(s)
		}
		w.dictVals = dict
		for i, code := range codes {
			vals[i] = parquet.Value{}
			if code >= 0 {
				if invalid && !utf8.ValidString(v.Dict[code]) {
					return badRow(i)
				}
				vals[i] = dict[code]
			}
		}
	case spec.Type == TypeInt64 || spec.Type == TypeTimestamp:
		for i, x := range v.Ints[lo:hi] {
			vals[i] = parquet.Int64Value(x)
		}
	case spec.Type == TypeFloat64:
		for i, x := range v.Floats[lo:hi] {
			vals[i] = parquet.DoubleValue(x)
		}
	case spec.Type == TypeBool:
		for i, x := range v.Bools[lo:hi] {
			vals[i] = parquet.BooleanValue(x == 1)
		}
	case spec.Type == TypeDate:
		for i, x := range v.Dates[lo:hi] {
			vals[i] = parquet.Int32Value(int32(x))
		}
	}
	if spec.Optional {
		for i := range vals {
			if !v.IsNull(lo + i) {
				vals[i].SetDefinitionLevel(1)
			} else {
				vals[i] = parquet.Value{}
			}
			vals[i].SetColumnIndex(c)
		}
	} else {
		for i := range vals {
			vals[i].SetColumnIndex(c)
		}
	}
	_, err := cw.WriteRowValues(vals)
	return err
}

func byteArrayValue(s string) parquet.Value {
	return parquet.ByteArrayValue(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// firstNullIn returns the index in [lo, hi) of the first missing value of v,
// or -1.
func firstNullIn(v *Vec, lo, hi int) int {
	for i := lo; i < hi; i++ {
		if v.IsNull(i) {
			return i
		}
	}
	return -1
}

// RowGroup is one row group encoded apart from its Writer — possibly on
// another goroutine, concurrently with other RowGroups — and added to the
// file by Commit. Commits happen in the order the file should hold the row
// groups, one at a time, and not while Writer.Write runs.
type RowGroup struct {
	w    *Writer
	rg   *parquet.ConcurrentRowGroupWriter
	enc  encoder
	rows int64
}

// BeginRowGroup starts a row group; it is safe to call from several
// goroutines only when the Writer is otherwise idle.
func (w *Writer) BeginRowGroup() *RowGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	return &RowGroup{w: w, rg: w.pw.BeginRowGroup()}
}

// Write appends n rows (as Writer.Write does) to the row group.
func (g *RowGroup) Write(n int, cols []Vec) error {
	if len(cols) != len(g.w.cols) {
		return fmt.Errorf("write: %d columns given, schema has %d", len(cols), len(g.w.cols))
	}
	cws := g.rg.ColumnWriters()
	for c := range cols {
		if err := g.enc.writeColumn(cws[c], c, &g.w.cols[c], &cols[c], 0, n, g.rows); err != nil {
			return err
		}
	}
	g.rows += int64(n)
	return nil
}

// Commit adds the row group to the file, after any rows Writer.Write holds.
func (g *RowGroup) Commit() error {
	w := g.w
	if w.pending > 0 {
		if err := w.pw.Flush(); err != nil {
			return err
		}
		w.pending = 0
	}
	if g.rows == 0 {
		return nil
	}
	if _, err := g.rg.Commit(); err != nil {
		return err
	}
	w.rows += g.rows
	return nil
}

// Close flushes the last row group and writes the footer.
func (w *Writer) Close() error { return w.pw.Close() }
