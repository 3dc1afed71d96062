package data

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
		"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// conversion says how a file column's physical values become contract values.
type conversion uint8

const (
	convNone        conversion = iota
	convTimeMillis             // timestamp in ms -> µs
	convTimeNanos              // timestamp in ns -> µs
	convTimeToDate             // timestamp (µs after scaling) -> day
	convDateToTime             // day -> µs at midnight
	convInt96ToTime            // legacy INT96 timestamp -> µs
)

// fileColumn binds a contract (or attribute) column to a leaf of a file.
type fileColumn struct {
	name     string
	typ      Type // target type
	required bool // nulls are an error
	leaf     int  // leaf index in the file; -1 if absent
	kind     parquet.Kind
	conv     conversion
	tsScale  conversion // for timestamp sources read as dates: ms/ns scaling first
	constant string     // Hive partition value for a column absent from the file
	hasConst bool
}

// AttrColumn describes an attribute (extra column) of the customers table.
type AttrColumn struct {
	Name string
	Type Type // TypeFloat64 (any number), TypeBool or TypeString
}

// File is one Parquet file of a table, opened for columnar reading.
// ReadRowGroup may be called from several goroutines at once, each with its
// own Batch.
type File struct {
	Path    string
	Table   *Table
	NumRows int64
	// Attrs lists the customers table's extra columns kept as attributes.
	Attrs []AttrColumn
	// Ignored lists file columns that are neither contract columns nor
	// usable attributes, with the reason.
	Ignored []string

	osf      *os.File
	pf       *parquet.File
	cols     []fileColumn
	attrs    []fileColumn
	keyLeaf  int
	firstRow []int64 // 1-based first row of each row group
}

// OpenFile opens path as a file of table t and checks its schema against the
// contract. partition holds Hive-style key=value pairs from the folders above
// the file; they fill contract columns the file itself lacks.
func OpenFile(path string, t *Table, partition map[string]string) (f *File, err error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			osf.Close()
		}
	}()
	st, err := osf.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 {
		return nil, &InputError{File: path, Err: fmt.Errorf("%w: the file is empty (0 bytes)", ErrEmpty)}
	}
	pf, err := openParquet(osf, st.Size())
	if err != nil {
		return nil, &InputError{File: path, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
	f = &File{Path: path, Table: t, NumRows: pf.NumRows(), osf: osf, pf: pf}
	if err := f.bindSchema(partition); err != nil {
		return nil, err
	}
	var row int64 = 1
	for _, rg := range pf.RowGroups() {
		f.firstRow = append(f.firstRow, row)
		row += rg.NumRows()
	}
	return f, nil
}

func openParquet(r io.ReaderAt, size int64) (pf *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed footer: %v", p)
		}
	}()
	return parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

// Close releases the file.
func (f *File) Close() error { return f.osf.Close() }

// NumRowGroups returns the number of row groups.
func (f *File) NumRowGroups() int { return len(f.pf.RowGroups()) }

// RowGroupRows returns the number of rows of row group i.
func (f *File) RowGroupRows(i int) int64 { return f.pf.RowGroups()[i].NumRows() }

// HasColumn reports whether the file provides the named contract column
// (from its own data or from a partition folder).
func (f *File) HasColumn(name string) bool {
	i := f.Table.ColumnIndex(name)
	return i >= 0 && (f.cols[i].leaf >= 0 || f.cols[i].hasConst)
}

// Metadata returns the file's key-value metadata entry.
func (f *File) Metadata(key string) (string, bool) { return f.pf.Lookup(key) }

func (f *File) schemaError(col, format string, args ...any) error {
	return &InputError{File: f.Path, Column: col, Err: fmt.Errorf("%w: "+format, append([]any{ErrSchema}, args...)...)}
}

func (f *File) bindSchema(partition map[string]string) error {
	leaves := map[string]*parquet.Column{}
	var order []*parquet.Column
	for _, c := range f.pf.Root().Columns() {
		if !c.Leaf() {
			if _, ok := contractColumn(f.Table, c.Name()); ok {
				return f.schemaError(c.Name(), "is a nested group; contract columns are flat")
			}
			f.Ignored = append(f.Ignored, c.Name()+" (nested)")
			continue
		}
		if c.Repeated() {
			if _, ok := contractColumn(f.Table, c.Name()); ok {
				return f.schemaError(c.Name(), "is repeated; contract columns hold one value per row")
			}
			f.Ignored = append(f.Ignored, c.Name()+" (repeated)")
			continue
		}
		leaves[c.Name()] = c
		order = append(order, c)
	}
	f.cols = make([]fileColumn, len(f.Table.Columns))
	for i := range f.Table.Columns {
		cc := &f.Table.Columns[i]
		fc := fileColumn{name: cc.Name, typ: cc.Type, required: cc.Required, leaf: -1}
		pc, ok := leaves[cc.Name]
		if !ok {
			if v, ok := partition[cc.Name]; ok {
				fc.constant, fc.hasConst = v, true
				if _, err := parseConstant(cc.Type, v); err != nil {
					return f.schemaError(cc.Name, "partition folder value %q: %v", v, err)
				}
			} else if cc.Required {
				return f.schemaError(cc.Name, "required column is missing (a %s column)", cc.Type)
			}
			f.cols[i] = fc
			continue
		}
		if err := bindLeaf(&fc, pc); err != nil {
			return f.schemaError(cc.Name, "%v", err)
		}
		f.cols[i] = fc
	}
	f.keyLeaf = f.cols[0].leaf
	if !f.Table.Extra {
		return nil
	}
	for _, pc := range order {
		if _, ok := contractColumn(f.Table, pc.Name()); ok {
			continue
		}
		t, ok := attrType(pc)
		if !ok {
			f.Ignored = append(f.Ignored, fmt.Sprintf("%s (%s is not a number, boolean or string)", pc.Name(), typeName(pc)))
			continue
		}
		fc := fileColumn{name: pc.Name(), typ: t, leaf: -1}
		if err := bindLeaf(&fc, pc); err != nil {
			f.Ignored = append(f.Ignored, fmt.Sprintf("%s (%v)", pc.Name(), err))
			continue
		}
		f.attrs = append(f.attrs, fc)
		f.Attrs = append(f.Attrs, AttrColumn{Name: pc.Name(), Type: t})
	}
	return nil
}

func contractColumn(t *Table, name string) (*Column, bool) {
	i := t.ColumnIndex(name)
	if i < 0 {
		return nil, false
	}
	return &t.Columns[i], true
}

func attrType(c *parquet.Column) (Type, bool) {
	lt := c.Type().LogicalType()
	switch c.Type().Kind() {
	case parquet.Boolean:
		return TypeBool, true
	case parquet.Int32, parquet.Int64:
		if lt != nil && lt.Value != nil {
			switch lt.Value.(type) {
			case *format.IntType:
			default:
				return 0, false
			}
		}
		if ct := c.Type().ConvertedType(); ct != nil && (*ct == deprecated.Date || *ct == deprecated.TimestampMillis || *ct == deprecated.TimestampMicros || *ct == deprecated.Decimal) {
			return 0, false
		}
		return TypeFloat64, true
	case parquet.Float, parquet.Double:
		return TypeFloat64, true
	case parquet.ByteArray:
		return TypeString, true
	}
	return 0, false
}

func typeName(c *parquet.Column) string {
	s := c.Type().Kind().String()
	if lt := c.Type().LogicalType(); lt != nil && lt.Value != nil {
		s += " (" + lt.String() + ")"
	}
	return s
}

// bindLeaf checks that the physical and logical type of pc can be read as
// fc.typ and records the conversion.
func bindLeaf(fc *fileColumn, pc *parquet.Column) error {
	fc.leaf = pc.Index()
	fc.kind = pc.Type().Kind()
	var lt format.LogicalTypeValue
	if l := pc.Type().LogicalType(); l != nil {
		lt = l.Value
	}
	var ct deprecated.ConvertedType = -1
	if c := pc.Type().ConvertedType(); c != nil {
		ct = *c
	}
	if _, ok := lt.(*format.DecimalType); ok || ct == deprecated.Decimal {
		return fmt.Errorf("has type %s; DECIMAL is not supported, write it as DOUBLE", typeName(pc))
	}
	tsUnit := func() (conversion, bool) {
		if ts, ok := lt.(*format.TimestampType); ok {
			switch ts.Unit.Value.(type) {
			case *format.MilliSeconds:
				return convTimeMillis, true
			case *format.NanoSeconds:
				return convTimeNanos, true
			}
			return convNone, true
		}
		switch ct {
		case deprecated.TimestampMillis:
			return convTimeMillis, true
		case deprecated.TimestampMicros:
			return convNone, true
		}
		return 0, false
	}
	isDate := func() bool {
		_, ok := lt.(*format.DateType)
		return ok || ct == deprecated.Date
	}
	bad := func() error {
		return fmt.Errorf("has type %s, which cannot be read as %s", typeName(pc), fc.typ)
	}
	switch fc.typ {
	case TypeString:
		if fc.kind != parquet.ByteArray {
			return bad()
		}
	case TypeBool:
		if fc.kind != parquet.Boolean {
			return bad()
		}
	case TypeFloat64:
		switch fc.kind {
		case parquet.Float, parquet.Double, parquet.Int32, parquet.Int64:
		default:
			return bad()
		}
		if _, ok := tsUnit(); ok || isDate() {
			return bad()
		}
	case TypeInt64:
		if fc.kind != parquet.Int32 && fc.kind != parquet.Int64 {
			return bad()
		}
		if _, ok := tsUnit(); ok || isDate() {
			return bad()
		}
	case TypeDate:
		switch {
		case fc.kind == parquet.Int32 && isDate():
		case fc.kind == parquet.Int64:
			u, ok := tsUnit()
			if !ok {
				return bad()
			}
			fc.conv, fc.tsScale = convTimeToDate, u
		case fc.kind == parquet.Int96:
			fc.conv, fc.tsScale = convTimeToDate, convInt96ToTime
		default:
			return bad()
		}
	case TypeTimestamp:
		switch {
		case fc.kind == parquet.Int64:
			u, ok := tsUnit()
			if !ok {
				return bad()
			}
			fc.conv = u
		case fc.kind == parquet.Int32 && isDate():
			fc.conv = convDateToTime
		case fc.kind == parquet.Int96:
			fc.conv = convInt96ToTime
		default:
			return bad()
		}
	}
	return nil
}

func parseConstant(t Type, s string) (any, error) {
	switch t {
	case TypeString:
		return s, nil
	case TypeInt64:
		return strconv.ParseInt(s, 10, 64)
	case TypeFloat64:
		return strconv.ParseFloat(s, 64)
	case TypeBool:
		return strconv.ParseBool(s)
	case TypeDate:
		return ParseDate(s)
	case TypeTimestamp:
		d, err := ParseDate(s)
		return d.Start(), err
	}
	return nil, errors.New("unsupported type")
}

// Selection chooses the columns to decode: nil decodes every column.
// Selection[i] corresponds to Table.Columns[i]; the key column is always read.
type Selection []bool

// ReadRowGroup decodes row group i into dst, reusing its storage. Columns
// not selected, and columns the file lacks, are Absent. Attributes are
// decoded when attrs is true.
func (f *File) ReadRowGroup(i int, sel Selection, attrs bool, dst *Batch) (err error) {
	rg := f.pf.RowGroups()[i]
	n := int(rg.NumRows())
	dst.N = n
	dst.FirstRow = f.firstRow[i]
	if len(dst.Cols) != len(f.cols) {
		dst.Cols = make([]Vec, len(f.cols))
	}
	chunks := rg.ColumnChunks()
	for c := range f.cols {
		fc := &f.cols[c]
		v := &dst.Cols[c]
		if c != 0 && sel != nil && !sel[c] {
			v.Type, v.Absent = fc.typ, true
			continue
		}
		if err := f.readColumn(chunks, fc, n, dst.FirstRow, v); err != nil {
			return err
		}
	}
	if !attrs {
		dst.Attrs = dst.Attrs[:0]
		return nil
	}
	if len(dst.Attrs) != len(f.attrs) {
		dst.Attrs = make([]Vec, len(f.attrs))
	}
	for a := range f.attrs {
		if err := f.readColumn(chunks, &f.attrs[a], n, dst.FirstRow, &dst.Attrs[a]); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) readColumn(chunks []parquet.ColumnChunk, fc *fileColumn, n int, firstRow int64, v *Vec) (err error) {
	if fc.leaf < 0 {
		if !fc.hasConst {
			v.Type, v.Absent = fc.typ, true
			return nil
		}
		return fillConstant(fc, n, v)
	}
	v.reset(fc.typ, n)
	defer func() {
		if p := recover(); p != nil {
			err = &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: corrupt column data: %v", ErrCorrupt, p)}
		}
	}()
	pages := chunks[fc.leaf].Pages()
	defer pages.Close()
	pos := 0
	for pos < n {
		p, err := pages.ReadPage()
		if err != nil {
			if err == io.EOF {
				return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: column chunk ends after %d of %d rows", ErrCorrupt, pos, n)}
			}
			return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
		}
		rows := int(p.NumRows())
		if pos+rows > n {
			parquet.Release(p)
			return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: pages hold more rows than the row group", ErrCorrupt)}
		}
		err = f.decodePage(p, fc, v, pos, rows)
		parquet.Release(p)
		if err != nil {
			return err
		}
		pos += rows
	}
	if fc.required {
		if r := firstNull(v); r >= 0 {
			return &InputError{File: f.Path, Row: firstRow + int64(r), Column: fc.name, Err: ErrNull}
		}
	}
	return nil
}

func fillConstant(fc *fileColumn, n int, v *Vec) error {
	x, _ := parseConstant(fc.typ, fc.constant)
	v.reset(fc.typ, n)
	switch fc.typ {
	case TypeString:
		v.Dict = append(v.Dict[:0], x.(string))
		for i := range v.Codes {
			v.Codes[i] = 0
		}
	case TypeInt64:
		fill(v.Ints, x.(int64))
	case TypeTimestamp:
		fill(v.Ints, int64(x.(Timestamp)))
	case TypeDate:
		fill(v.Dates, x.(Date))
	case TypeFloat64:
		fill(v.Floats, x.(float64))
	case TypeBool:
		b := int8(0)
		if x.(bool) {
			b = 1
		}
		fill(v.Bools, b)
	}
	return nil
}

func fill[T any](s []T, x T) {
	for i := range s {
		s[i] = x
	}
}

// firstNull returns the index of the first missing value, or -1.
func firstNull(v *Vec) int {
	switch v.Type {
	case TypeString:
		for i, c := range v.Codes {
			if c < 0 {
				return i
			}
		}
	case TypeInt64, TypeTimestamp:
		for i, x := range v.Ints {
			if x == NullInt {
				return i
			}
		}
	case TypeDate:
		for i, x := range v.Dates {
			if x == NoDate {
				return i
			}
		}
	case TypeFloat64:
		for i, x := range v.Floats {
			if x != x {
				return i
			}
		}
	case TypeBool:
		for i, x := range v.Bools {
			if x < 0 {
				return i
			}
		}
	}
	return -1
}

// decodePage decodes the rows of one page into v[pos:pos+rows].
func (f *File) decodePage(p parquet.Page, fc *fileColumn, v *Vec, pos, rows int) error {
	defs := p.DefinitionLevels()
	if len(defs) != 0 && len(defs) != rows {
		return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: page has %d levels for %d rows", ErrCorrupt, len(defs), rows)}
	}
	if fc.typ == TypeBool {
		return decodeBools(p, v.Bools[pos:pos+rows])
	}
	if fc.typ == TypeString {
		return decodeStrings(p, v, pos, rows, defs)
	}
	data := p.Data()
	dict := p.Dictionary()
	var idx []int32
	if dict != nil {
		idx = data.Int32()
	}
	nvals := rows
	if len(defs) > 0 {
		nvals = rows - countNulls(defs)
	}
	switch fc.typ {
	case TypeFloat64:
		dst := v.Floats[pos : pos+rows]
		var src []float64
		switch {
		case dict != nil:
			dv := dictFloats(dict)
			src = make([]float64, len(idx))
			for i, k := range idx {
				src[i] = dv[k]
			}
		case fc.kind == parquet.Double:
			src = data.Double()
		default:
			src = toFloats(&data, fc.kind)
		}
		if len(src) != nvals {
			return f.countError(fc, len(src), nvals)
		}
		scatter(dst, defs, src, math.NaN())
	default: // integers, dates, timestamps
		var src []int64
		switch {
		case dict != nil:
			dv := v.dictInt64s(dict, fc.kind)
			src = make([]int64, len(idx))
			for i, k := range idx {
				src[i] = dv[k]
			}
		case fc.kind == parquet.Int32 && fc.typ == TypeDate && len(defs) == 0:
			s := data.Int32()
			if len(s) != nvals {
				return f.countError(fc, len(s), nvals)
			}
			dst := v.Dates[pos : pos+rows]
			for i, x := range s {
				dst[i] = Date(x)
			}
			return nil
		case fc.kind == parquet.Int64:
			src = data.Int64()
		case fc.kind == parquet.Int32:
			s := data.Int32()
			src = make([]int64, len(s))
			for i, x := range s {
				src[i] = int64(x)
			}
		case fc.kind == parquet.Int96:
			s := data.Int96()
			src = make([]int64, len(s))
			for i, x := range s {
				src[i] = int96Micros(x)
			}
		}
		if len(src) != nvals {
			return f.countError(fc, len(src), nvals)
		}
		convert(src, fc)
		if fc.typ == TypeDate {
			dst := v.Dates[pos : pos+rows]
			j := 0
			for i := range dst {
				if len(defs) > 0 && defs[i] == 0 {
					dst[i] = NoDate
					continue
				}
				dst[i] = Date(src[j])
				j++
			}
			return nil
		}
		scatter(v.Ints[pos:pos+rows], defs, src, NullInt)
	}
	return nil
}

func (f *File) countError(fc *fileColumn, got, want int) error {
	return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: page holds %d values, levels say %d", ErrCorrupt, got, want)}
}

func countNulls(defs []byte) int {
	n := 0
	for _, d := range defs {
		if d == 0 {
			n++
		}
	}
	return n
}

// scatter copies src (the non-null values) into dst, putting null at the
// positions whose definition level is 0. defs empty means no nulls.
func scatter[T any](dst []T, defs []byte, src []T, null T) {
	if len(defs) == 0 {
		copy(dst, src)
		return
	}
	j := 0
	for i, d := range defs {
		if d == 0 {
			dst[i] = null
			continue
		}
		dst[i] = src[j]
		j++
	}
}

// convert applies a column's unit conversion in place.
func convert(src []int64, fc *fileColumn) {
	apply := func(c conversion) {
		switch c {
		case convTimeMillis:
			for i := range src {
				src[i] *= 1000
			}
		case convTimeNanos:
			for i := range src {
				src[i] = floorDiv(src[i], 1000)
			}
		case convDateToTime:
			for i := range src {
				src[i] *= microsPerDay
			}
		}
	}
	switch fc.conv {
	case convTimeToDate:
		apply(fc.tsScale)
		for i := range src {
			src[i] = floorDiv(src[i], microsPerDay)
		}
	default:
		apply(fc.conv)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func int96Micros(x deprecated.Int96) int64 {
	nanos := int64(uint64(x[1])<<32 | uint64(x[0]))
	julian := int64(x[2])
	return (julian-2440588)*microsPerDay + nanos/1000
}

func toFloats(data *encoding.Values, kind parquet.Kind) []float64 {
	switch kind {
	case parquet.Float:
		s := data.Float()
		out := make([]float64, len(s))
		for i, x := range s {
			out[i] = float64(x)
		}
		return out
	case parquet.Int32:
		s := data.Int32()
		out := make([]float64, len(s))
		for i, x := range s {
			out[i] = float64(x)
		}
		return out
	default:
		s := data.Int64()
		out := make([]float64, len(s))
		for i, x := range s {
			out[i] = float64(x)
		}
		return out
	}
}

// dictInt64s returns the values of an integer dictionary, converted once per
// column chunk (every page of a chunk shares its dictionary).
func (v *Vec) dictInt64s(d parquet.Dictionary, kind parquet.Kind) []int64 {
	if v.dictSrc == d {
		return v.dictInts
	}
	data := d.Page().Data()
	var out []int64
	switch kind {
	case parquet.Int64:
		out = append([]int64(nil), data.Int64()...)
	case parquet.Int32:
		for _, x := range data.Int32() {
			out = append(out, int64(x))
		}
	case parquet.Int96:
		for _, x := range data.Int96() {
			out = append(out, int96Micros(x))
		}
	}
	v.dictSrc, v.dictInts = d, out
	return out
}

func dictFloats(d parquet.Dictionary) []float64 {
	data := d.Page().Data()
	switch d.Type().Kind() {
	case parquet.Double:
		return data.Double()
	default:
		return toFloats(&data, d.Type().Kind())
	}
}

func decodeBools(p parquet.Page, dst []int8) error {
	r := p.Values()
	buf := make([]parquet.Value, 1024)
	i := 0
	for {
		n, err := r.ReadValues(buf)
		for _, x := range buf[:n] {
			if i >= len(dst) {
				return fmt.Errorf("%w: boolean page holds more values than rows", ErrCorrupt)
			}
			switch {
			case x.IsNull():
				dst[i] = -1
			case x.Boolean():
				dst[i] = 1
			default:
				dst[i] = 0
			}
			i++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if i != len(dst) {
		return fmt.Errorf("%w: boolean page holds %d values for %d rows", ErrCorrupt, i, len(dst))
	}
	return nil
}

// decodeStrings decodes a page of a string column into codes of v.Dict.
// A dictionary page's dictionary becomes (a prefix of) v.Dict; plain values
// are interned.
func decodeStrings(p parquet.Page, v *Vec, pos, rows int, defs []byte) error {
	codes := v.Codes[pos : pos+rows]
	data := p.Data()
	if dict := p.Dictionary(); dict != nil {
		idx := data.Int32()
		// The same dictionary serves every page of a chunk: add it once.
		if v.dictSrc != dict {
			v.dictSrc, v.dictBase = dict, int32(len(v.Dict))
			dd := dict.Page().Data()
			dv, off := dd.ByteArray()
			for k := 0; k+1 < len(off); k++ {
				v.Dict = append(v.Dict, string(dv[off[k]:off[k+1]]))
			}
		}
		base := v.dictBase
		j := 0
		for i := range codes {
			if len(defs) > 0 && defs[i] == 0 {
				codes[i] = -1
				continue
			}
			if j >= len(idx) {
				return fmt.Errorf("%w: page holds fewer values than levels", ErrCorrupt)
			}
			codes[i] = base + idx[j]
			j++
		}
		return nil
	}
	buf, off := data.ByteArray()
	if v.intern == nil {
		v.intern = make(map[string]int32)
	}
	intern := v.intern
	j := 0
	for i := range codes {
		if len(defs) > 0 && defs[i] == 0 {
			codes[i] = -1
			continue
		}
		if j+1 >= len(off) {
			return fmt.Errorf("%w: page holds fewer values than levels", ErrCorrupt)
		}
		b := buf[off[j]:off[j+1]]
		c, ok := intern[string(b)]
		if !ok {
			c = int32(len(v.Dict))
			s := string(b)
			v.Dict = append(v.Dict, s)
			intern[s] = c
		}
		codes[i] = c
		j++
	}
	return nil
}
