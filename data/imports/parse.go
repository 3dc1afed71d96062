package imports

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/churnlab/churn/data"
)

// cell is one converted value, before it is appended to a column.
type cell struct {
	null     bool
	replaced bool // s had bytes that are not UTF-8, replaced by U+FFFD
	s        string
	i        int64 // INT64; TIMESTAMP in microseconds
	f        float64
	b        bool
	d        data.Date
}

// nativeKind marks source columns whose text is the canonical rendering of a
// typed Parquet value, so that declared formats do not apply to it.
type nativeKind uint8

const (
	nativeNone nativeKind = iota
	nativeTime            // a Parquet DATE or TIMESTAMP, rendered as ISO 8601
)

// nullReason says why a converted value is null.
type nullReason uint8

const (
	notNull   nullReason = iota
	nullInput            // blank, a null token, or mapped to null by values
)

// converter turns source text into values of one output column. It is
// immutable once built and safe for concurrent use.
type converter struct {
	typ      data.Type
	col      *data.Column // contract column, for vocabulary and bounds; nil for attributes
	layouts  []string     // Go layouts for DATE and TIMESTAMP
	loc      *time.Location
	values   map[string]*string
	fold     bool
	unmapped string
	nulls    map[string]bool
	scale    float64 // 0: none
	trim     bool
	key      bool // customer_id: never empty, no NUL bytes, never replaced
	replace  bool // replace bytes that are not UTF-8 instead of failing
}

// Default layouts, tried when a column gives none. They are all ISO 8601
// forms, which cannot be misread.
var (
	defaultTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"}
	defaultDateLayouts = append([]string{time.DateOnly}, defaultTimeLayouts...)
)

// boolWords is the vocabulary of BOOLEAN columns without values:, matched
// ignoring case.
var boolWords = map[string]bool{
	"true": true, "t": true, "yes": true, "y": true, "1": true,
	"false": false, "f": false, "no": false, "n": false, "0": false,
}

// location returns the column's time zone (UTC by default).
func (c *ColumnSpec) location() (*time.Location, error) {
	if c.Timezone == "" || c.Timezone == "UTC" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %v", c.Timezone, err)
	}
	return loc, nil
}

// newConverter builds the converter of a column of type typ. srcNulls are
// the source's null tokens.
func newConverter(spec *ColumnSpec, typ data.Type, col *data.Column, src *SourceSpec) (*converter, error) {
	c := &converter{typ: typ, col: col, trim: true, unmapped: "error", key: col != nil && col.Name == data.KeyColumn}
	if src != nil {
		c.trim = src.trim()
		c.replace = src.replaceUTF8()
	}
	if spec != nil && spec.InvalidUTF8 != "" {
		c.replace = spec.InvalidUTF8 == "replace"
	}
	nulls := []string{}
	if src != nil {
		nulls = append(nulls, src.Nulls...)
	}
	if spec != nil {
		nulls = append(nulls, spec.Nulls...)
		if spec.Values != nil {
			c.values = map[string]*string{}
			c.fold = spec.CaseInsensitive
			for k, v := range spec.Values {
				if c.fold {
					k = strings.ToLower(k)
				}
				c.values[k] = v
			}
		}
		if spec.Unmapped != "" {
			c.unmapped = spec.Unmapped
		}
		if spec.Multiply != nil {
			c.scale = *spec.Multiply
		}
		if spec.Divide != nil {
			if c.scale == 0 {
				c.scale = 1
			}
			c.scale /= *spec.Divide
		}
		for _, l := range spec.layouts() {
			c.layouts = append(c.layouts, goLayout(l))
		}
		loc, err := spec.location()
		if err != nil {
			return nil, err
		}
		c.loc = loc
	}
	if c.loc == nil {
		c.loc = time.UTC
	}
	if len(nulls) > 0 {
		c.nulls = map[string]bool{}
		for _, n := range nulls {
			c.nulls[n] = true
		}
	}
	return c, nil
}

// convert converts one raw source value. native marks typed Parquet values.
// The error says what is wrong with the value, without naming it.
func (c *converter) convert(raw string, native nativeKind) (cell, nullReason, error) {
	s := raw
	if c.trim {
		s = strings.Trim(s, " \t\r\n")
	}
	if s == "" || c.nulls[s] {
		return cell{null: true}, nullInput, nil
	}
	if c.values != nil {
		key := s
		if c.fold {
			key = strings.ToLower(s)
		}
		if v, ok := c.values[key]; ok {
			if v == nil {
				return cell{null: true}, nullInput, nil
			}
			x, err := c.parseCanonical(*v)
			if x.null {
				return x, nullInput, err
			}
			return x, notNull, err
		}
		switch c.unmapped {
		case "null":
			return cell{null: true}, nullInput, nil
		case "error":
			return cell{}, notNull, fmt.Errorf("not one of the values the mapping lists (%s); add it under values: or set unmapped: keep or null", c.valueList())
		}
	}
	layouts := c.layouts
	if native == nativeTime || len(layouts) == 0 {
		layouts = nil
	}
	x, err := c.parse(s, layouts)
	if err != nil {
		return cell{}, notNull, err
	}
	if err := c.check(&x); err != nil {
		return cell{}, notNull, err
	}
	return x, notNull, nil
}

func (c *converter) valueList() string {
	keys := sortedKeys(c.values)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return strings.Join(keys, ", ")
}

// parseCanonical parses a value written in the mapping (a values target or
// a constant): ISO dates and times, plain numbers, true/false. "" is null.
func (c *converter) parseCanonical(s string) (cell, error) {
	if s == "" {
		return cell{null: true}, nil
	}
	x, err := c.parse(s, nil)
	if err != nil {
		return cell{}, err
	}
	return x, c.check(&x)
}

// parse converts trimmed, non-blank text to the column type. layouts nil
// means the default layouts.
func (c *converter) parse(s string, layouts []string) (cell, error) {
	switch c.typ {
	case data.TypeString:
		return c.text(s)
	case data.TypeInt64:
		i, err := parseInt(s)
		if err != nil {
			return cell{}, err
		}
		if c.scale != 0 {
			f := float64(i) * c.scale
			if f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
				return cell{}, fmt.Errorf("%s × %g = %g is not a whole number; make the column a double", s, c.scale, f)
			}
			i = int64(f)
		}
		if i == data.NullInt {
			return cell{}, errors.New("out of range for INT64")
		}
		return cell{i: i}, nil
	case data.TypeFloat64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return cell{}, errors.New("not a number")
		}
		if c.scale != 0 {
			f *= c.scale
		}
		return cell{f: f}, nil
	case data.TypeBool:
		b, ok := boolWords[strings.ToLower(s)]
		if !ok {
			return cell{}, errors.New("not a boolean (want true/false, yes/no, t/f, y/n or 1/0 in any case; map other words with values:)")
		}
		return cell{b: b}, nil
	case data.TypeDate, data.TypeTimestamp:
		t, err := c.parseTime(s, layouts)
		if err != nil {
			return cell{}, err
		}
		if c.typ == data.TypeDate {
			return cell{d: data.MakeDate(t.Year(), t.Month(), t.Day())}, nil
		}
		return cell{i: int64(data.TimestampOf(t))}, nil
	}
	return cell{}, fmt.Errorf("unsupported type %s", c.typ)
}

// text checks a string value (see data.CheckString): text that is not
// UTF-8 is an error, or replaced when the mapping says so; a customer id
// must not be empty or hold NUL bytes, and is never replaced.
func (c *converter) text(s string) (cell, error) {
	err := data.CheckString(s, c.key)
	switch {
	case err == nil:
		return cell{s: s}, nil
	case c.key && c.replace && errors.Is(err, data.ErrInvalidUTF8):
		return cell{}, fmt.Errorf("%w; customer ids are never replaced (two different ids could become the same), so invalid_utf8: replace does not apply to them: convert the file to UTF-8", data.ErrInvalidUTF8)
	case c.replace && errors.Is(err, data.ErrInvalidUTF8):
		return cell{s: strings.ToValidUTF8(s, "\uFFFD"), replaced: true}, nil
	case errors.Is(err, data.ErrInvalidUTF8):
		return cell{}, fmt.Errorf("%w, or set invalid_utf8: replace in the mapping to replace bad bytes with U+FFFD", err)
	}
	return cell{}, err
}

// parseInt parses an integer, also written as a whole decimal ("12.0").
func parseInt(s string) (int64, error) {
	i, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return i, nil
	}
	if errors.Is(err, strconv.ErrRange) {
		return 0, errors.New("out of range for INT64")
	}
	f, ferr := strconv.ParseFloat(s, 64)
	if ferr == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f), nil
	}
	return 0, errors.New("not an integer")
}

func (c *converter) parseTime(s string, layouts []string) (time.Time, error) {
	shown := layouts
	if layouts == nil {
		layouts = defaultTimeLayouts
		if c.typ == data.TypeDate {
			layouts = defaultDateLayouts
		}
		shown = []string{"2006-01-02", "2006-01-02T15:04:05Z07:00"}
	}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, c.loc); err == nil {
			return t, nil
		}
	}
	what := "date"
	if c.typ == data.TypeTimestamp {
		what = "time"
	}
	if len(shown) == 1 {
		return time.Time{}, fmt.Errorf("not a %s in the layout %s", what, shown[0])
	}
	return time.Time{}, fmt.Errorf("not a %s in any of the layouts %s", what, strings.Join(shown, ", "))
}

// check applies the contract's vocabulary and bounds.
func (c *converter) check(x *cell) error {
	if c.col == nil || x.null {
		return nil
	}
	col := c.col
	if c.typ == data.TypeString && !col.InVocabulary(x.s) {
		return fmt.Errorf("not in the vocabulary of %s (%s); map source values with values:", col.Name, strings.Join(col.Values, ", "))
	}
	if col.Max > col.Min {
		var v float64
		switch c.typ {
		case data.TypeInt64:
			v = float64(x.i)
		case data.TypeFloat64:
			v = x.f
		default:
			return nil
		}
		if v < col.Min || v > col.Max {
			return fmt.Errorf("out of range for %s (%g to %g)", col.Name, col.Min, col.Max)
		}
	}
	return nil
}

// strftime directives and their Go layout equivalents.
var strftime = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'e': "_2", 'H': "15", 'I': "03",
	'M': "04", 'S': "05", 'p': "PM", 'b': "Jan", 'h': "Jan", 'B': "January", 'a': "Mon",
	'A': "Monday", 'j': "002", 'z': "-0700", 'Z': "MST", 'f': "999999999",
	'F': "2006-01-02", 'T': "15:04:05", '%': "%",
}

// goLayout converts a strftime pattern (anything with a %) to a Go layout;
// Go layouts pass through. %f (fraction) must follow a dot: %S.%f.
func goLayout(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		d := s[i+1]
		if d == '-' && i+2 < len(s) { // %-d, %-m, %-H: not padded
			switch s[i+2] {
			case 'd':
				b.WriteString("2")
			case 'm':
				b.WriteString("1")
			case 'H':
				b.WriteString("15")
			case 'I':
				b.WriteString("3")
			case 'M':
				b.WriteString("4")
			case 'S':
				b.WriteString("5")
			default:
				b.WriteString(s[i : i+3])
			}
			i += 2
			continue
		}
		if g, ok := strftime[d]; ok {
			b.WriteString(g)
		} else {
			b.WriteString(s[i : i+2])
		}
		i++
	}
	return b.String()
}

// inferType guesses an attribute's type from its (trimmed, non-null)
// values: INT64 if all are integers, DOUBLE if all are numbers, BOOLEAN if
// all are true/false or yes/no (any case), else STRING. 0/1 columns stay
// numbers; declare type: bool to read them as booleans.
func inferType(vals iter.Seq[string]) data.Type {
	isInt, isNum, isBool, seen := true, true, true, false
	for s := range vals {
		seen = true
		if isInt {
			if _, err := strconv.ParseInt(s, 10, 64); err != nil {
				isInt = false
			}
		}
		if isNum && !isInt {
			if f, err := strconv.ParseFloat(s, 64); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				isNum = false
			}
		}
		if isBool {
			switch strings.ToLower(s) {
			case "true", "false", "yes", "no":
			default:
				isBool = false
			}
		}
		if !isInt && !isNum && !isBool {
			break
		}
	}
	switch {
	case !seen:
		return data.TypeString
	case isInt:
		return data.TypeInt64
	case isNum:
		return data.TypeFloat64
	case isBool:
		return data.TypeBool
	}
	return data.TypeString
}

// appendCell appends x to v (of the converter's type).
func appendCell(v *data.Vec, x cell) {
	if x.null {
		v.AppendNull()
		return
	}
	switch v.Type {
	case data.TypeString:
		v.AppendString(x.s)
	case data.TypeInt64:
		v.AppendInt(x.i)
	case data.TypeTimestamp:
		v.AppendTime(data.Timestamp(x.i))
	case data.TypeFloat64:
		v.AppendFloat(x.f)
	case data.TypeBool:
		v.AppendBool(x.b)
	case data.TypeDate:
		v.AppendDate(x.d)
	}
}
