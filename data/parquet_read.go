package data

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

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
	key      bool // the customer_id column: no empty values or NUL bytes
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
	// lenientStrings leaves strings unchecked (see CheckString): Validate
	// checks them itself, to report every bad value instead of the first.
	lenientStrings bool
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
	err = f.protect("", func() error {
		if err := f.bindSchema(partition); err != nil {
			return err
		}
		if err := f.indexRowGroups(); err != nil {
			return err
		}
		return checkCodecs(f.Path, f.pf.Metadata(), f.leaves())
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// protect runs fn and turns a panic inside it (parquet-go panics on some
// malformed input) into an ErrCorrupt InputError about column col.
func (f *File) protect(col string, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &InputError{File: f.Path, Column: col, Err: fmt.Errorf("%w: malformed file: %v", ErrCorrupt, p)}
		}
	}()
	return fn()
}

// indexRowGroups checks the row counts of the footer and records the first
// row of each row group.
func (f *File) indexRowGroups() error {
	corrupt := func(format string, args ...any) error {
		return &InputError{File: f.Path, Err: fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)}
	}
	var row int64 = 1
	for i, rg := range f.pf.RowGroups() {
		n := rg.NumRows()
		if n < 0 || n > math.MaxInt32 {
			return corrupt("row group %d claims %d rows", i, n)
		}
		if chunks := len(rg.ColumnChunks()); chunks <= f.maxLeaf() {
			return corrupt("row group %d has %d column chunks", i, chunks)
		}
		f.firstRow = append(f.firstRow, row)
		row += n
	}
	if row-1 != f.NumRows {
		return corrupt("the footer says %d rows but its row groups hold %d", f.NumRows, row-1)
	}
	return nil
}

// maxLeaf returns the largest leaf index the file reads.
func (f *File) maxLeaf() int {
	m := -1
	for _, c := range f.cols {
		m = max(m, c.leaf)
	}
	for _, c := range f.attrs {
		m = max(m, c.leaf)
	}
	return m
}

// footerTrailer is the magic number and footer length at the end of a
// Parquet file: 4-byte little-endian footer length, then "PAR1".
const footerTrailer = 8

func openParquet(r io.ReaderAt, size int64) (pf *parquet.File, err error) {
	// Check the footer length before parquet-go allocates a buffer of that
	// size: a corrupt length would otherwise cost up to 4 GiB.
	if size < 4+footerTrailer {
		return nil, fmt.Errorf("the file is %d bytes, too short to be Parquet", size)
	}
	var tr [footerTrailer]byte
	if _, err := r.ReadAt(tr[:], size-footerTrailer); err != nil {
		return nil, fmt.Errorf("read footer: %v", err)
	}
	switch string(tr[4:]) {
	case "PAR1":
	case "PARE":
		return nil, errors.New("the file is encrypted (magic PARE); encrypted Parquet is not supported")
	default:
		return nil, fmt.Errorf("no Parquet magic number at the end (%q); the file may be truncated", tr[4:])
	}
	n := int64(binary.LittleEndian.Uint32(tr[:4]))
	if n > size-4-footerTrailer {
		return nil, fmt.Errorf("footer length %d exceeds the file size %d; the file may be truncated", n, size)
	}
	if err := checkFooter(r, size, n); err != nil {
		return nil, err
	}
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
		fc := fileColumn{name: cc.Name, typ: cc.Type, required: cc.Required, leaf: -1, key: cc.Name == KeyColumn}
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
		if !utf8.ValidString(pc.Name()) {
			f.Ignored = append(f.Ignored, displayName(pc.Name())+" (the column name is not valid UTF-8)")
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
		if !utf8.ValidString(s) {
			return nil, ErrInvalidUTF8
		}
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
//
// A malformed file gives an ErrCorrupt InputError naming the column; a
// missing value in a required column gives an ErrNull InputError naming the
// row and column.
func (f *File) ReadRowGroup(i int, sel Selection, attrs bool, dst *Batch) error {
	if i < 0 || i >= len(f.firstRow) {
		panic(fmt.Sprintf("data: ReadRowGroup(%d) of %s, which has %d row groups", i, f.Path, len(f.firstRow)))
	}
	return f.protect("", func() error { return f.readRowGroup(i, sel, attrs, dst) })
}

func (f *File) readRowGroup(i int, sel Selection, attrs bool, dst *Batch) error {
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
		v.transient = fc.key && dst.TransientKeys
		v.arena = v.arena[:0]
		if c != 0 && sel != nil && !sel[c] {
			v.Type, v.Absent = fc.typ, true
			continue
		}
		if err := f.readColumn(i, chunks, fc, n, dst.FirstRow, v); err != nil {
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
		if err := f.readColumn(i, chunks, &f.attrs[a], n, dst.FirstRow, &dst.Attrs[a]); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) readColumn(rg int, chunks []parquet.ColumnChunk, fc *fileColumn, n int, firstRow int64, v *Vec) (err error) {
	if fc.leaf < 0 {
		if !fc.hasConst {
			v.Type, v.Absent = fc.typ, true
			return nil
		}
		return fillConstant(fc, n, v)
	}
	// Storage grows with the pages actually decoded, not with the row count
	// the footer claims, so a corrupt count cannot exhaust memory.
	v.reset(fc.typ, 0)
	defer func() {
		if p := recover(); p != nil {
			err = &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: corrupt column data: %v", ErrCorrupt, p)}
		}
	}()
	if err := f.checkPageHeaders(&f.pf.Metadata().RowGroups[rg].Columns[fc.leaf].MetaData, int64(n)); err != nil {
		return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: %v", ErrCorrupt, err)}
	}
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
		if rows < 0 || pos+rows > n {
			parquet.Release(p)
			return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: pages hold more rows than the row group", ErrCorrupt)}
		}
		v.extend(pos + rows)
		err = f.decodePage(p, fc, v, pos, rows)
		parquet.Release(p)
		if err != nil {
			var ie *InputError
			var bs *badString
			switch {
			case errors.As(err, &bs):
				err = &InputError{File: f.Path, Row: firstRow + int64(bs.at), Column: fc.name, Value: bs.value, Err: bs.err}
			case !errors.As(err, &ie):
				err = &InputError{File: f.Path, Column: fc.name, Err: err}
			}
			return err
		}
		pos += rows
	}
	if fc.required {
		if r := firstNull(v); r >= 0 {
			if v.Type == TypeFloat64 && v.storedNaN(r) {
				return &InputError{File: f.Path, Row: firstRow + int64(r), Column: fc.name, Value: "NaN",
					Err: fmt.Errorf("%w: NaN (not a number) reads as a missing value; write a number", ErrNull)}
			}
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

// extend grows v to n values of its type, keeping the values it holds.
func (v *Vec) extend(n int) {
	switch v.Type {
	case TypeInt64, TypeTimestamp:
		v.Ints = extendTo(v.Ints, n)
	case TypeDate:
		v.Dates = extendTo(v.Dates, n)
	case TypeFloat64:
		v.Floats = extendTo(v.Floats, n)
	case TypeBool:
		v.Bools = extendTo(v.Bools, n)
	case TypeString:
		v.Codes = extendTo(v.Codes, n)
	}
}

func extendTo[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	return slices.Grow(s, n-len(s))[:n]
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
		return decodeBools(p, v.Bools[pos:pos+rows], defs)
	}
	if fc.typ == TypeString {
		check := checkUTF8
		switch {
		case f.lenientStrings:
			check = checkNone
		case fc.key:
			check = checkKey
		}
		return decodeStrings(p, v, pos, rows, defs, check)
	}
	data := p.Data()
	dict := p.Dictionary()
	want := rows
	if len(defs) > 0 {
		want = rows - countNulls(defs)
	}
	var idx []int32
	if dict != nil {
		idx = data.Int32()
	}
	ok := true
	switch fc.typ {
	case TypeFloat64:
		dst := v.Floats[pos : pos+rows]
		null := math.NaN()
		switch {
		case dict != nil:
			ok = putDict(dst, defs, idx, v.dictFloat64s(dict), null, want)
		case fc.kind == parquet.Double:
			ok = put(dst, defs, data.Double(), null, want)
		case fc.kind == parquet.Float:
			ok = put(dst, defs, data.Float(), null, want)
		case fc.kind == parquet.Int32:
			ok = put(dst, defs, data.Int32(), null, want)
		default:
			ok = put(dst, defs, data.Int64(), null, want)
		}
		if ok {
			// NaN values stored in the file read as missing too; note them,
			// so that messages can tell them from nulls.
			for i, x := range dst {
				if x != x && (len(defs) == 0 || defs[i] != 0) {
					v.nans = append(v.nans, int32(pos+i))
				}
			}
		}
	case TypeDate:
		dst := v.Dates[pos : pos+rows]
		switch {
		case fc.conv != convNone:
			// From a timestamp: convert through int64.
			tmp := v.scratch(rows)
			if ok = f.putInts(tmp, defs, data, idx, dict, fc, v, want); ok {
				convert(tmp, fc, true)
				for i, x := range tmp {
					dst[i] = Date(x)
					if x == NullInt {
						dst[i] = NoDate
					}
				}
			}
		case dict != nil:
			ok = putDict(dst, defs, idx, v.dictInt64s(dict, fc.kind), NoDate, want)
		default:
			ok = put(dst, defs, data.Int32(), NoDate, want)
		}
	default: // TypeInt64, TypeTimestamp: NullInt and NoTime are the same value
		dst := v.Ints[pos : pos+rows]
		if ok = f.putInts(dst, defs, data, idx, dict, fc, v, want); ok && fc.conv != convNone {
			convert(dst, fc, true)
		}
	}
	if !ok {
		return &InputError{File: f.Path, Column: fc.name, Err: fmt.Errorf("%w: page values do not match its levels or dictionary", ErrCorrupt)}
	}
	return nil
}

// putInts decodes integer-like physical values into dst without unit
// conversion.
func (f *File) putInts(dst []int64, defs []byte, data encoding.Values, idx []int32, dict parquet.Dictionary, fc *fileColumn, v *Vec, want int) bool {
	switch {
	case dict != nil:
		return putDict(dst, defs, idx, v.dictInt64s(dict, fc.kind), NullInt, want)
	case fc.kind == parquet.Int64:
		return put(dst, defs, data.Int64(), NullInt, want)
	case fc.kind == parquet.Int32:
		return put(dst, defs, data.Int32(), NullInt, want)
	case fc.kind == parquet.Int96:
		s := data.Int96()
		if len(s) != want {
			return false
		}
		tmp := make([]int64, len(s))
		for i, x := range s {
			tmp[i] = int96Micros(x)
		}
		return put(dst, defs, tmp, NullInt, want)
	}
	return false
}

type number interface {
	~int32 | ~int64 | ~float32 | ~float64
}

// put writes the non-null values src into dst, with null where the
// definition level is 0 (defs empty means no nulls). It reports false when
// src does not hold exactly want values.
func put[S, D number](dst []D, defs []byte, src []S, null D, want int) bool {
	if len(src) != want {
		return false
	}
	if len(defs) == 0 {
		if len(src) != len(dst) {
			return false
		}
		for i, x := range src {
			dst[i] = D(x)
		}
		return true
	}
	j := 0
	for i, d := range defs {
		if d == 0 {
			dst[i] = null
			continue
		}
		dst[i] = D(src[j])
		j++
	}
	return true
}

// putDict is put for dictionary-encoded pages: idx holds indexes into dict.
func putDict[S, D number](dst []D, defs []byte, idx []int32, dict []S, null D, want int) bool {
	if len(idx) != want {
		return false
	}
	n := uint32(len(dict))
	if len(defs) == 0 {
		if len(idx) != len(dst) {
			return false
		}
		for i, k := range idx {
			if uint32(k) >= n {
				return false
			}
			dst[i] = D(dict[k])
		}
		return true
	}
	j := 0
	for i, d := range defs {
		if d == 0 {
			dst[i] = null
			continue
		}
		k := idx[j]
		j++
		if uint32(k) >= n {
			return false
		}
		dst[i] = D(dict[k])
	}
	return true
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

// convert applies a column's unit conversion in place. With skipNull,
// NullInt values are left as they are.
func convert(src []int64, fc *fileColumn, skipNull bool) {
	apply := func(c conversion) {
		switch c {
		case convTimeMillis:
			for i, x := range src {
				if !skipNull || x != NullInt {
					src[i] = x * 1000
				}
			}
		case convTimeNanos:
			for i, x := range src {
				if !skipNull || x != NullInt {
					src[i] = floorDiv(x, 1000)
				}
			}
		case convDateToTime:
			for i, x := range src {
				if !skipNull || x != NullInt {
					src[i] = x * microsPerDay
				}
			}
		}
	}
	switch fc.conv {
	case convTimeToDate:
		apply(fc.tsScale)
		for i, x := range src {
			if !skipNull || x != NullInt {
				src[i] = floorDiv(x, microsPerDay)
			}
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

// dictFloat64s returns the values of a numeric dictionary as float64,
// converted once per column chunk.
func (v *Vec) dictFloat64s(d parquet.Dictionary) []float64 {
	if v.dictSrc == d {
		return v.dictFloats
	}
	v.dictSrc, v.dictFloats = d, dictFloats(d)
	return v.dictFloats
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

// decodeBools decodes a BOOLEAN page. Pages read from a file start at bit
// 0 of their data (only sliced pages have an offset), so the bit-packed
// values are read directly.
func decodeBools(p parquet.Page, dst []int8, defs []byte) error {
	if p.Dictionary() != nil {
		return decodeBoolValues(p, dst)
	}
	data := p.Data()
	bits := data.Boolean()
	want := len(dst)
	if len(defs) > 0 {
		want -= countNulls(defs)
	}
	if want > len(bits)*8 {
		return fmt.Errorf("%w: boolean page holds fewer values than rows", ErrCorrupt)
	}
	j := 0
	for i := range dst {
		if len(defs) > 0 && defs[i] == 0 {
			dst[i] = -1
			continue
		}
		dst[i] = int8(bits[j>>3] >> (j & 7) & 1)
		j++
	}
	return nil
}

func decodeBoolValues(p parquet.Page, dst []int8) error {
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
func decodeStrings(p parquet.Page, v *Vec, pos, rows int, defs []byte, check stringCheck) (err error) {
	codes := v.Codes[pos : pos+rows]
	data := p.Data()
	if dict := p.Dictionary(); dict != nil {
		idx := data.Int32()
		// The same dictionary serves every page of a chunk: add it once.
		if v.dictSrc != dict {
			v.dictSrc, v.dictBase = dict, int32(len(v.Dict))
			dd := dict.Page().Data()
			dv, off := dd.ByteArray()
			if v.transient {
				// Keys only compared while the row group is loaded: view
				// them in one arena instead of allocating a string each.
				start := len(v.arena)
				v.arena = append(v.arena, dv...)
				a := v.arena[start:]
				for k := 0; k+1 < len(off); k++ {
					if off[k+1] < off[k] || int(off[k+1]) > len(a) {
						return fmt.Errorf("%w: bad dictionary offsets", ErrCorrupt)
					}
					v.Dict = append(v.Dict, unsafe.String(unsafe.SliceData(a[off[k]:]), int(off[k+1]-off[k])))
				}
			} else {
				for k := 0; k+1 < len(off); k++ {
					v.Dict = append(v.Dict, string(dv[off[k]:off[k+1]]))
				}
			}
			v.noteBadStrings(int(v.dictBase), check)
		}
		if len(v.bad) > 0 {
			defer func() { err = v.firstBadCode(codes, pos, err) }()
		}
		base := v.dictBase
		ndict := uint32(int32(len(v.Dict)) - base)
		if len(defs) == 0 {
			if len(idx) != len(codes) {
				return fmt.Errorf("%w: page holds %d values for %d rows", ErrCorrupt, len(idx), len(codes))
			}
			for i, k := range idx {
				if uint32(k) >= ndict {
					return fmt.Errorf("%w: dictionary index %d out of range (dictionary has %d values)", ErrCorrupt, k, ndict)
				}
				codes[i] = base + k
			}
			return nil
		}
		j := 0
		for i := range codes {
			if defs[i] == 0 {
				codes[i] = -1
				continue
			}
			if j >= len(idx) {
				return fmt.Errorf("%w: page holds fewer values than levels", ErrCorrupt)
			}
			if k := idx[j]; uint32(k) >= ndict {
				return fmt.Errorf("%w: dictionary index %d out of range (dictionary has %d values)", ErrCorrupt, k, ndict)
			}
			codes[i] = base + idx[j]
			j++
		}
		return nil
	}
	buf, off := data.ByteArray()
	if v.transient {
		return decodeTransient(v, codes, pos, defs, buf, off, check)
	}
	if v.intern == nil {
		v.intern = make(map[string]int32)
	}
	intern := v.intern
	j := 0
	last := int32(-1)
	for i := range codes {
		if len(defs) > 0 && defs[i] == 0 {
			codes[i] = -1
			continue
		}
		if j+1 >= len(off) {
			return fmt.Errorf("%w: page holds fewer values than levels", ErrCorrupt)
		}
		b := buf[off[j]:off[j+1]]
		// Sorted and repetitive columns repeat the previous value often.
		if last >= 0 && string(b) == v.Dict[last] {
			codes[i] = last
			j++
			continue
		}
		c, ok := intern[string(b)]
		if !ok {
			s := string(b)
			if err := check.apply(s); err != nil {
				return &badString{at: pos + i, value: s, err: err}
			}
			c = int32(len(v.Dict))
			v.Dict = append(v.Dict, s)
			intern[s] = c
		}
		last = c
		codes[i] = c
		j++
	}
	return nil
}

// decodeTransient decodes a plain page of a transient key column: the
// values are copied into the batch's arena once and each becomes a view of
// it with its own code, without interning (keys are only compared, and
// equal keys are compared by value), so a column of distinct ids costs a
// copy and a check per value instead of a map insertion and an allocation.
func decodeTransient(v *Vec, codes []int32, pos int, defs []byte, buf []byte, off []uint32, check stringCheck) error {
	start := len(v.arena)
	v.arena = append(v.arena, buf...)
	a := v.arena[start:]
	j := 0
	for i := range codes {
		if len(defs) > 0 && defs[i] == 0 {
			codes[i] = -1
			continue
		}
		if j+1 >= len(off) {
			return fmt.Errorf("%w: page holds fewer values than levels", ErrCorrupt)
		}
		lo, hi := off[j], off[j+1]
		if hi < lo || int(hi) > len(a) {
			return fmt.Errorf("%w: bad value offsets", ErrCorrupt)
		}
		s := unsafe.String(unsafe.SliceData(a[lo:hi]), int(hi-lo))
		if err := check.apply(s); err != nil {
			return &badString{at: pos + i, value: strings.Clone(s), err: err}
		}
		codes[i] = int32(len(v.Dict))
		v.Dict = append(v.Dict, s)
		j++
	}
	return nil
}

// Thrift guards. parquet-go decodes the footer and page headers (Thrift
// compact protocol) by allocating whatever a length or list size claims
// before reading the data: a few corrupt bytes can claim a list of 2^31
// structs, which kills the process with an unrecoverable out-of-memory
// error, or strings of 2 GiB per page header. skimThrift walks the same
// bytes first without allocating and rejects sizes that cannot fit.

// errThriftShort means the bytes given end inside the struct, but the
// limit allows more: read more and try again.
var errThriftShort = errors.New("thrift struct continues past the bytes read")

// thriftSkim walks one compact-protocol struct in b. limit is the number of
// bytes the struct may occupy (at least len(b)).
type thriftSkim struct {
	b     []byte
	pos   int
	limit int
	// path and ints record integer fields: ints["5.1"] is field 1 of the
	// struct in field 5 of the outer struct.
	path []int16
	ints map[string]int64
}

const thriftMaxDepth = 64

func (s *thriftSkim) need(n uint64) error {
	switch {
	case n > uint64(s.limit-s.pos):
		return fmt.Errorf("thrift data claims %d bytes where %d remain", n, s.limit-s.pos)
	case n > uint64(len(s.b)-s.pos):
		return errThriftShort
	}
	return nil
}

func (s *thriftSkim) byte() (byte, error) {
	if err := s.need(1); err != nil {
		return 0, err
	}
	s.pos++
	return s.b[s.pos-1], nil
}

func (s *thriftSkim) uvarint() (uint64, error) {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c, err := s.byte()
		if err != nil {
			return 0, err
		}
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return x, nil
		}
	}
	return 0, errors.New("thrift varint is too long")
}

func (s *thriftSkim) structure(depth int) error {
	if depth > thriftMaxDepth {
		return errors.New("thrift structs nest too deeply")
	}
	var id int16
	for {
		h, err := s.byte()
		if err != nil {
			return err
		}
		if h == 0 {
			return nil
		}
		typ := h & 0x0f
		if d := int16(h >> 4); d != 0 {
			id += d
		} else {
			z, err := s.uvarint()
			if err != nil {
				return err
			}
			id = int16(int64(z>>1) ^ -int64(z&1))
		}
		s.path = append(s.path, id)
		if typ == 1 || typ == 2 { // a bool field holds its value in the type
			s.path = s.path[:len(s.path)-1]
			continue
		}
		if err := s.value(typ, depth); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
	}
}

func (s *thriftSkim) value(typ byte, depth int) error {
	switch typ {
	case 1, 2, 3: // bool (in a container), i8
		_, err := s.byte()
		return err
	case 4, 5, 6: // i16, i32, i64: zigzag varints
		z, err := s.uvarint()
		if err == nil && s.ints != nil {
			s.ints[pathKey(s.path)] = int64(z>>1) ^ -int64(z&1)
		}
		return err
	case 7: // double
		if err := s.need(8); err != nil {
			return err
		}
		s.pos += 8
	case 8: // binary
		n, err := s.uvarint()
		if err != nil {
			return err
		}
		if err := s.need(n); err != nil {
			return err
		}
		s.pos += int(n)
	case 9, 10: // list, set
		h, err := s.byte()
		if err != nil {
			return err
		}
		n := uint64(h >> 4)
		if n == 15 {
			if n, err = s.uvarint(); err != nil {
				return err
			}
		}
		// Every element takes at least one byte.
		if n > uint64(s.limit-s.pos) {
			return fmt.Errorf("thrift list claims %d items where %d bytes remain", n, s.limit-s.pos)
		}
		for range n {
			if err := s.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
	case 11: // map
		n, err := s.uvarint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := s.byte()
		if err != nil {
			return err
		}
		if n > uint64(s.limit-s.pos)/2 {
			return fmt.Errorf("thrift map claims %d entries where %d bytes remain", n, s.limit-s.pos)
		}
		for range n {
			if err := s.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := s.value(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
	case 12:
		return s.structure(depth + 1)
	case 13: // uuid
		if err := s.need(16); err != nil {
			return err
		}
		s.pos += 16
	default:
		return fmt.Errorf("unknown thrift type %d", typ)
	}
	return nil
}

func pathKey(p []int16) string {
	var b []byte
	for i, x := range p {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return string(b)
}

// checkFooter skims the footer of a Parquet file of the given size.
func checkFooter(r io.ReaderAt, size, footerLen int64) error {
	b := make([]byte, footerLen)
	if _, err := r.ReadAt(b, size-footerTrailer-footerLen); err != nil {
		return fmt.Errorf("read footer: %v", err)
	}
	s := thriftSkim{b: b, limit: len(b)}
	if err := s.structure(0); err != nil {
		return fmt.Errorf("malformed footer: %v", err)
	}
	return nil
}

// checkPageHeaders skims the page headers of a column chunk that must hold
// rows values, before parquet-go decodes them: each must fit in the chunk.
// It stops once the data pages hold enough values, as the reader does.
func (f *File) checkPageHeaders(md *format.ColumnMetaData, rows int64) error {
	start := md.DataPageOffset
	if md.DictionaryPageOffset != 0 {
		start = md.DictionaryPageOffset
	}
	size := f.pf.Size()
	if start < 0 || md.TotalCompressedSize < 0 || start > size || md.TotalCompressedSize > size-start {
		return fmt.Errorf("column chunk at offset %d, %d bytes, lies outside the file (%d bytes)", start, md.TotalCompressedSize, size)
	}
	end := start + md.TotalCompressedSize
	var buf []byte
	var values int64
	for pos := start; pos < end && values < rows; {
		for window := int64(4 << 10); ; window *= 8 {
			n := min(window, end-pos)
			if int64(cap(buf)) < n {
				buf = make([]byte, n)
			}
			b := buf[:n]
			if _, err := f.osf.ReadAt(b, pos); err != nil {
				return fmt.Errorf("read page header at offset %d: %v", pos, err)
			}
			s := thriftSkim{b: b, limit: int(end - pos), ints: map[string]int64{}}
			err := s.structure(0)
			if err == errThriftShort && n < end-pos {
				continue
			}
			if err != nil {
				return fmt.Errorf("page header at offset %d: %v", pos, err)
			}
			compressed := s.ints["3"]
			if compressed < 0 || compressed > end-pos-int64(s.pos) {
				return fmt.Errorf("page at offset %d claims %d bytes, more than its column chunk holds", pos, compressed)
			}
			switch s.ints["1"] {
			case int64(format.DataPage):
				values += s.ints["5.1"]
			case int64(format.DataPageV2):
				values += s.ints["8.1"]
			}
			pos += int64(s.pos) + compressed
			break
		}
	}
	return nil
}
