package imports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/churnlab/churn/data"
)

// sourceData is a source file read into memory as text.
type sourceData struct {
	path   string
	cols   []string
	index  map[string]int
	native []nativeKind
	rows   [][]string
	// lines[i] is the position of rows[i] in the file: the line it starts
	// on for text files (the header is line 1), the 1-based row for Parquet.
	lines []int64
}

// column returns the index of the named column.
func (sd *sourceData) column(name string) (int, bool) {
	i, ok := sd.index[name]
	return i, ok
}

func (sd *sourceData) rowError(i int, col int, value string, err error) *data.InputError {
	e := &data.InputError{File: sd.path, Value: value, Err: err}
	if i >= 0 && i < len(sd.lines) {
		e.Row = sd.lines[i]
	}
	if col >= 0 && col < len(sd.cols) {
		e.Column = sd.cols[col]
	}
	return e
}

// loadSource reads a whole source file.
func loadSource(ctx context.Context, s *SourceSpec) (*sourceData, error) {
	sd := &sourceData{path: s.path}
	var err error
	switch s.format() {
	case "csv":
		err = sd.readCSV(ctx, s)
	case "whitespace":
		err = sd.readWhitespace(ctx, s)
	case "parquet":
		err = sd.readParquet(ctx, s)
	default:
		err = fmt.Errorf("unknown format %q", s.format())
	}
	if err != nil {
		return nil, err
	}
	if sd.native == nil {
		sd.native = make([]nativeKind, len(sd.cols))
	}
	return sd, nil
}

// setColumns names the columns and checks for duplicates.
func (sd *sourceData) setColumns(names []string, line int64) error {
	sd.cols = names
	sd.index = make(map[string]int, len(names))
	for i, n := range names {
		if n == "" {
			continue
		}
		if j, dup := sd.index[n]; dup {
			return &data.InputError{File: sd.path, Row: line, Column: n, Err: fmt.Errorf("column name appears twice (columns %d and %d); name the columns with columns: and header: true", j+1, i+1)}
		}
		sd.index[n] = i
	}
	return nil
}

// header resolves the column names from the header record and the spec.
func (sd *sourceData) header(s *SourceSpec, rec []string, line int64) error {
	if rec == nil {
		return sd.setColumns(s.Columns, 0)
	}
	if len(s.Columns) > 0 {
		if len(s.Columns) != len(rec) {
			return &data.InputError{File: sd.path, Row: line, Err: fmt.Errorf("the header has %d columns but the mapping names %d", len(rec), len(s.Columns))}
		}
		return sd.setColumns(s.Columns, line)
	}
	names := make([]string, len(rec))
	for i, n := range rec {
		names[i] = strings.TrimSpace(n)
	}
	if err := sd.checkNames(s, names, line); err != nil {
		return err
	}
	return sd.setColumns(names, line)
}

// checkNames refuses column names of the file that are not valid UTF-8
// (they would become attribute names), or replaces their bad bytes when
// the source says invalid_utf8: replace. line is the header's line (0 for
// Parquet files).
func (sd *sourceData) checkNames(s *SourceSpec, names []string, line int64) error {
	for i, n := range names {
		if utf8.ValidString(n) {
			continue
		}
		if !s.replaceUTF8() {
			return &data.InputError{File: sd.path, Row: line, Value: n, Err: fmt.Errorf("column %d: the column name is %w; name the columns in the mapping (columns: with header: true), convert the file to UTF-8, or set invalid_utf8: replace on the source", i+1, data.ErrInvalidUTF8)}
		}
		names[i] = strings.ToValidUTF8(n, "\uFFFD")
	}
	return nil
}

const bom = "\uFEFF"

// openText opens a text source: it refuses UTF-16 text, skips a UTF-8 byte
// order mark, and bounds the length of lines (and, for CSV files, given
// the delimiter comma, of records spanning lines inside quotes).
func (sd *sourceData) openText(s *SourceSpec, comma rune) (*os.File, *lineLimiter, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	head, _ := br.Peek(512)
	if enc := utf16Kind(head); enc != "" {
		f.Close()
		return nil, nil, &data.InputError{File: sd.path, Row: 1, Err: fmt.Errorf("%w: the file is UTF-16 (%s) text, which churn cannot read; convert it to UTF-8 first, e.g. iconv -f UTF-16 -t UTF-8 %s > converted.csv (in Excel: Save As \"CSV UTF-8\")",
			data.ErrInvalidUTF8, enc, filepath.Base(sd.path))}
	}
	if strings.HasPrefix(string(head), bom) {
		br.Discard(len(bom))
	}
	return f, newLineLimiter(br, s.lineLimit(), comma), nil
}

// utf16Kind recognises UTF-16 text from the first bytes of a file: a byte
// order mark, or (without one) NUL bytes at every other position, as
// ASCII text encoded in UTF-16 has. It returns "little-endian",
// "big-endian" or "" for other text.
func utf16Kind(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return "little-endian"
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "big-endian"
	case len(head) < 4:
		return ""
	}
	var even, odd int
	for i, c := range head {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	half := len(head) / 2
	switch {
	case odd >= half*3/4 && even == 0:
		return "little-endian"
	case even >= half*3/4 && odd == 0:
		return "big-endian"
	}
	return ""
}

// limitError turns the errors of a line limit into an InputError naming
// the line; it returns nil for other errors.
func (sd *sourceData) limitError(err error) error {
	var tl *tooLongError
	if errors.As(err, &tl) {
		row := tl.line
		if tl.multiline {
			row = tl.recLine
		}
		return &data.InputError{File: sd.path, Row: row, Err: tl}
	}
	return nil
}

// fieldError is the error for field i of a record on line, longer than max.
func (sd *sourceData) fieldError(rec []string, i int, line int64, max int64) error {
	e := &data.InputError{File: sd.path, Row: line, Err: &fieldTooLongError{n: len(rec[i]), max: max}}
	if i < len(sd.cols) {
		e.Column = sd.cols[i]
	}
	return e
}

func (sd *sourceData) readCSV(ctx context.Context, s *SourceSpec) error {
	comma, _ := s.delimiter()
	f, lim, err := sd.openText(s, comma)
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(lim)
	r.Comma = comma
	if s.Comment != "" {
		r.Comment = []rune(s.Comment)[0]
	}
	r.LazyQuotes = s.LazyQuotes
	r.FieldsPerRecord = -1
	csvErr := func(err error) error {
		if e := sd.limitError(err); e != nil {
			return e
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &data.InputError{File: sd.path, Row: int64(pe.Line), Err: fmt.Errorf("%w (byte %d of the line); quote fields holding the delimiter or quotes, or set lazy_quotes: true", pe.Err, pe.Column)}
		}
		return &data.InputError{File: sd.path, Err: err}
	}
	maxField := s.fieldLimit()
	checkFields := func(rec []string) error {
		if i := checkFields(rec, maxField); i >= 0 {
			line, _ := r.FieldPos(i)
			return sd.fieldError(rec, i, int64(line), maxField)
		}
		return nil
	}
	if s.header() {
		rec, err := r.Read()
		if err == io.EOF {
			return &data.InputError{File: sd.path, Err: fmt.Errorf("%w: the file has no header line", data.ErrEmpty)}
		}
		if err != nil {
			return csvErr(err)
		}
		if err := checkFields(rec); err != nil {
			return err
		}
		line, _ := r.FieldPos(0)
		if err := sd.header(s, rec, int64(line)); err != nil {
			return err
		}
	} else if err := sd.header(s, nil, 0); err != nil {
		return err
	}
	n := len(sd.cols)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvErr(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != n {
			if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
				continue // a line of blanks, e.g. a stray "\r"
			}
			return &data.InputError{File: sd.path, Row: int64(line), Err: fmt.Errorf("has %d fields, want %d (%s)", len(rec), n, sd.shapeHint(s))}
		}
		if err := checkFields(rec); err != nil {
			return err
		}
		sd.rows = append(sd.rows, rec)
		sd.lines = append(sd.lines, int64(line))
		if len(sd.rows)&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (sd *sourceData) shapeHint(s *SourceSpec) string {
	if s.header() && len(s.Columns) == 0 {
		return "as many as the header"
	}
	return "as many as columns: names"
}

func (sd *sourceData) readWhitespace(ctx context.Context, s *SourceSpec) error {
	f, lim, err := sd.openText(s, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(lim)
	// The limiter stops lines at max_line_bytes first: the scanner's own
	// limit (which would say only "token too long") is never reached.
	sc.Buffer(make([]byte, 0, 1<<16), int(s.lineLimit())+2)
	maxField := s.fieldLimit()
	var line int64
	haveHeader := !s.header()
	if haveHeader {
		if err := sd.header(s, nil, 0); err != nil {
			return err
		}
	}
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		fields := strings.Fields(text)
		if len(fields) == 0 || (s.Comment != "" && strings.HasPrefix(strings.TrimSpace(text), s.Comment)) {
			continue
		}
		if i := checkFields(fields, maxField); i >= 0 {
			if !haveHeader {
				return &data.InputError{File: sd.path, Row: line, Err: &fieldTooLongError{n: len(fields[i]), max: maxField}}
			}
			return sd.fieldError(fields, i, line, maxField)
		}
		if !haveHeader {
			haveHeader = true
			if err := sd.header(s, fields, line); err != nil {
				return err
			}
			continue
		}
		if len(fields) != len(sd.cols) {
			return &data.InputError{File: sd.path, Row: line, Err: fmt.Errorf("has %d fields, want %d (%s); values with spaces cannot be read from whitespace-separated files", len(fields), len(sd.cols), sd.shapeHint(s))}
		}
		sd.rows = append(sd.rows, fields)
		sd.lines = append(sd.lines, line)
		if len(sd.rows)&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if e := sd.limitError(err); e != nil {
			return e
		}
		return &data.InputError{File: sd.path, Row: line + 1, Err: err}
	}
	if !haveHeader {
		return &data.InputError{File: sd.path, Err: fmt.Errorf("%w: the file has no header line", data.ErrEmpty)}
	}
	return nil
}

// leafInfo says how to render a Parquet leaf column's values as text.
type leafInfo struct {
	kind     parquet.Kind
	date     bool
	tsScale  int64 // divide raw by this to get µs (ms: ×1000 given as -1000)
	ts       bool
	int96    bool
	scale    int32 // decimal scale; -1 if not a decimal
	unsigned bool
	uuid     bool
}

func (sd *sourceData) readParquet(ctx context.Context, s *SourceSpec) (err error) {
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			err = &data.InputError{File: sd.path, Err: fmt.Errorf("%w: %v", data.ErrCorrupt, p)}
		}
	}()
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return &data.InputError{File: sd.path, Err: fmt.Errorf("%w: %v", data.ErrCorrupt, err)}
	}
	if err := data.CheckCodecs(sd.path, pf); err != nil {
		return err
	}
	schema := pf.Schema()
	paths := schema.Columns()
	names := make([]string, len(paths))
	infos := make([]leafInfo, len(paths))
	usable := make([]bool, len(paths))
	sd.native = make([]nativeKind, len(paths))
	for i, p := range paths {
		leaf, _ := schema.Lookup(p...)
		names[i] = strings.Join(p, ".")
		if leaf.MaxRepetitionLevel > 0 {
			names[i] = "" // repeated: not one value per row
			continue
		}
		usable[i] = true
		infos[i] = leafInfoOf(leaf.Node.Type())
		if infos[i].date || infos[i].ts || infos[i].int96 {
			sd.native[i] = nativeTime
		}
	}
	if len(s.Columns) > 0 {
		if len(s.Columns) != len(names) {
			return &data.InputError{File: sd.path, Err: fmt.Errorf("the file has %d columns but the mapping names %d", len(names), len(s.Columns))}
		}
		names = append([]string(nil), s.Columns...)
	} else if err := sd.checkNames(s, names, 0); err != nil {
		return err
	}
	if err := sd.setColumns(names, 0); err != nil {
		return err
	}
	buf := make([]parquet.Row, 256)
	var rowNo int64
	for _, rg := range pf.RowGroups() {
		rows := rg.Rows()
		for {
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				rowNo++
				rec := make([]string, len(paths))
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(rec) || !usable[c] || v.IsNull() {
						continue
					}
					rec[c] = renderValue(v, &infos[c])
				}
				sd.rows = append(sd.rows, rec)
				sd.lines = append(sd.lines, rowNo)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rows.Close()
				return &data.InputError{File: sd.path, Row: rowNo + 1, Err: fmt.Errorf("%w: %v", data.ErrCorrupt, rerr)}
			}
			if err := ctx.Err(); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return &data.InputError{File: sd.path, Err: err}
		}
	}
	return nil
}

func leafInfoOf(t parquet.Type) leafInfo {
	li := leafInfo{kind: t.Kind(), scale: -1}
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	switch x := lt.(type) {
	case *format.DateType:
		li.date = true
	case *format.TimestampType:
		li.ts = true
		switch x.Unit.Value.(type) {
		case *format.MilliSeconds:
			li.tsScale = -1000
		case *format.NanoSeconds:
			li.tsScale = 1000
		default:
			li.tsScale = 1
		}
	case *format.DecimalType:
		li.scale = x.Scale
	case *format.IntType:
		li.unsigned = !x.IsSigned
	case *format.UUIDType:
		li.uuid = true
	}
	if ct := t.ConvertedType(); ct != nil && lt == nil {
		switch *ct {
		case deprecated.Date:
			li.date = true
		case deprecated.TimestampMillis:
			li.ts, li.tsScale = true, -1000
		case deprecated.TimestampMicros:
			li.ts, li.tsScale = true, 1
		case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
			li.unsigned = true
		}
	}
	li.int96 = li.kind == parquet.Int96
	return li
}

// renderValue renders a Parquet value as text the converters read: ISO
// 8601 for dates and times, plain decimals for numbers.
func renderValue(v parquet.Value, li *leafInfo) string {
	switch li.kind {
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32, parquet.Int64:
		var x int64
		if li.kind == parquet.Int32 {
			x = int64(v.Int32())
			if li.unsigned {
				x = int64(uint32(v.Int32()))
			}
		} else {
			x = v.Int64()
			if li.unsigned {
				return strconv.FormatUint(uint64(x), 10)
			}
		}
		switch {
		case li.date:
			return time.Unix(x*86400, 0).UTC().Format(time.DateOnly)
		case li.ts:
			us := x
			switch {
			case li.tsScale < 0:
				us = x * -li.tsScale
			case li.tsScale > 1:
				us = x / li.tsScale
				if x%li.tsScale != 0 && x < 0 {
					us--
				}
			}
			return time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
		case li.scale >= 0:
			return decimalString(big.NewInt(x), li.scale)
		}
		return strconv.FormatInt(x, 10)
	case parquet.Int96:
		x := v.Int96()
		nanos := int64(uint64(x[1])<<32 | uint64(x[0]))
		days := int64(x[2]) - 2440588
		return time.Unix(days*86400, nanos).UTC().Format(time.RFC3339Nano)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'f', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'f', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		switch {
		case li.scale >= 0:
			return decimalString(new(big.Int).SetBytes(b).Sub(new(big.Int).SetBytes(b), signAdjust(b)), li.scale)
		case li.uuid && len(b) == 16:
			return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		}
		return string(b)
	}
	return v.String()
}

// signAdjust returns 2^(8·len(b)) when b (big-endian two's complement) is
// negative, else 0.
func signAdjust(b []byte) *big.Int {
	if len(b) == 0 || b[0]&0x80 == 0 {
		return new(big.Int)
	}
	return new(big.Int).Lsh(big.NewInt(1), uint(8*len(b)))
}

func decimalString(x *big.Int, scale int32) string {
	if scale == 0 {
		return x.String()
	}
	neg := x.Sign() < 0
	s := new(big.Int).Abs(x).String()
	for len(s) <= int(scale) {
		s = "0" + s
	}
	s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	if neg {
		s = "-" + s
	}
	return s
}

// sourceCache reads each source once per import, even when several tables
// or lookups use it.
type sourceCache map[string]*sourceData

func (c sourceCache) get(ctx context.Context, s *SourceSpec) (*sourceData, error) {
	key := fmt.Sprintf("%s|%s|%q|%v|%q|%q|%v|%v|%s|%d|%d", s.path, s.format(), s.Delimiter, s.header(), s.Columns, s.Comment, s.LazyQuotes, s.trim(),
		s.InvalidUTF8, s.lineLimit(), s.fieldLimit())
	if sd, ok := c[key]; ok {
		return sd, nil
	}
	sd, err := loadSource(ctx, s)
	if err != nil {
		return nil, err
	}
	c[key] = sd
	return sd, nil
}
