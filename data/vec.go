package data

import (
	"math"
	"slices"
	"strings"
)

// Vec is one decoded column of a row group. Exactly one of the slices is
// used, chosen by Type; missing values are stored as the sentinels NullInt
// (Int64), NoTime (Timestamp, in Ints), NoDate (Dates), NaN (Floats), -1
// (Bools and Codes). An Absent column has no data and every value missing.
type Vec struct {
	Type   Type
	Absent bool
	Ints   []int64   // TypeInt64, TypeTimestamp
	Dates  []Date    // TypeDate
	Floats []float64 // TypeFloat64
	Bools  []int8    // TypeBool: 1 true, 0 false, -1 missing
	Codes  []int32   // TypeString: index into Dict, -1 missing
	Dict   []string  // TypeString: values of this row group's column (may repeat)

	// decoding state of a string column
	dictSrc    any
	dictBase   int32
	dictInts   []int64
	dictFloats []float64
	tmp        []int64 // scratch for conversions
	transient  bool    // strings may live in arena (see Batch.TransientKeys)
	arena      []byte
	intern     map[string]int32
	bad        map[int32]error // dictionary entries the reader refuses (see noteBadStrings)
	nans       []int32         // TypeFloat64: rows whose stored value is NaN (read as missing), ascending
}

// Int returns value i of an Int64 or Timestamp column (NullInt when missing).
func (v *Vec) Int(i int) int64 {
	if v.Absent {
		if v.Type == TypeTimestamp {
			return int64(NoTime)
		}
		return NullInt
	}
	return v.Ints[i]
}

// Time returns value i of a Timestamp column.
func (v *Vec) Time(i int) Timestamp {
	if v.Absent {
		return NoTime
	}
	return Timestamp(v.Ints[i])
}

// Date returns value i of a Date column.
func (v *Vec) Date(i int) Date {
	if v.Absent {
		return NoDate
	}
	return v.Dates[i]
}

// Float returns value i of a Float64 column (NaN when missing).
func (v *Vec) Float(i int) float64 {
	if v.Absent {
		return math.NaN()
	}
	return v.Floats[i]
}

// Bool returns value i of a Bool column: 1, 0, or -1 when missing.
func (v *Vec) Bool(i int) int8 {
	if v.Absent {
		return -1
	}
	return v.Bools[i]
}

// Str returns value i of a String column ("" when missing).
func (v *Vec) Str(i int) string {
	if v.Absent {
		return ""
	}
	c := v.Codes[i]
	if c < 0 {
		return ""
	}
	return v.Dict[c]
}

// IsNull reports whether value i is missing.
func (v *Vec) IsNull(i int) bool {
	if v.Absent {
		return true
	}
	switch v.Type {
	case TypeString:
		return v.Codes[i] < 0
	case TypeInt64:
		return v.Ints[i] == NullInt
	case TypeTimestamp:
		return v.Ints[i] == int64(NoTime)
	case TypeDate:
		return v.Dates[i] == NoDate
	case TypeFloat64:
		return math.IsNaN(v.Floats[i])
	case TypeBool:
		return v.Bools[i] < 0
	}
	return false
}

// reset prepares v to hold n values of type t, reusing its storage.
func (v *Vec) reset(t Type, n int) {
	v.Type = t
	v.Absent = false
	v.Ints, v.Dates, v.Floats, v.Bools, v.Codes = v.Ints[:0], v.Dates[:0], v.Floats[:0], v.Bools[:0], v.Codes[:0]
	v.Dict = v.Dict[:0]
	v.dictSrc, v.dictBase, v.dictInts, v.dictFloats = nil, 0, nil, nil
	clear(v.intern)
	clear(v.bad)
	v.nans = v.nans[:0]
	v.extend(n)
}

// storedNaN reports whether row i of a Float64 column holds a NaN value in
// the file (read as missing, like a null) rather than a null.
func (v *Vec) storedNaN(i int) bool {
	_, found := slices.BinarySearch(v.nans, int32(i))
	return found
}

// Batch holds the decoded columns of one row group.
type Batch struct {
	N     int
	Cols  []Vec // one per table column, in contract order; unselected columns are Absent
	Attrs []Vec // one per attribute column of the file (customers only)
	// FirstRow is the 1-based row number in the file of row 0 of the batch.
	FirstRow int64
	// TransientKeys lets the key column's (customer_id's, wherever the
	// table puts it) strings point into a buffer that the next
	// ReadRowGroup into this batch overwrites: set it only when no key
	// string outlives the row group (clone any that must).
	TransientKeys bool
}

// scratch returns a reusable buffer of n int64s.
func (v *Vec) scratch(n int) []int64 {
	if cap(v.tmp) < n {
		v.tmp = make([]int64, n)
	}
	return v.tmp[:n]
}

// NewVec returns an empty Vec of type t for appending.
func NewVec(t Type) Vec { return Vec{Type: t} }

// Len returns the number of values in v (0 for an Absent column).
func (v *Vec) Len() int {
	switch v.Type {
	case TypeString:
		return len(v.Codes)
	case TypeInt64, TypeTimestamp:
		return len(v.Ints)
	case TypeDate:
		return len(v.Dates)
	case TypeFloat64:
		return len(v.Floats)
	case TypeBool:
		return len(v.Bools)
	}
	return 0
}

// AppendNull appends a missing value.
func (v *Vec) AppendNull() {
	switch v.Type {
	case TypeString:
		v.Codes = append(v.Codes, -1)
	case TypeInt64:
		v.Ints = append(v.Ints, NullInt)
	case TypeTimestamp:
		v.Ints = append(v.Ints, int64(NoTime))
	case TypeDate:
		v.Dates = append(v.Dates, NoDate)
	case TypeFloat64:
		v.Floats = append(v.Floats, math.NaN())
	case TypeBool:
		v.Bools = append(v.Bools, -1)
	}
}

// AppendString appends s to a String Vec, interning it in v.Dict.
func (v *Vec) AppendString(s string) {
	if v.intern == nil {
		v.intern = make(map[string]int32)
		for i, x := range v.Dict {
			if _, ok := v.intern[x]; !ok {
				v.intern[x] = int32(i)
			}
		}
	}
	c, ok := v.intern[s]
	if !ok {
		c = int32(len(v.Dict))
		v.Dict = append(v.Dict, s)
		v.intern[s] = c
	}
	v.Codes = append(v.Codes, c)
}

// AppendUnique appends s to a String Vec without interning: for columns
// whose values rarely repeat, such as keys.
func (v *Vec) AppendUnique(s string) {
	v.Codes = append(v.Codes, int32(len(v.Dict)))
	v.Dict = append(v.Dict, s)
}

// Grow makes room for n more values without reallocating.
func (v *Vec) Grow(n int) {
	switch v.Type {
	case TypeString:
		v.Codes = slices.Grow(v.Codes, n)
	case TypeInt64, TypeTimestamp:
		v.Ints = slices.Grow(v.Ints, n)
	case TypeDate:
		v.Dates = slices.Grow(v.Dates, n)
	case TypeFloat64:
		v.Floats = slices.Grow(v.Floats, n)
	case TypeBool:
		v.Bools = slices.Grow(v.Bools, n)
	}
}

// AppendInt appends to an Int64 Vec.
func (v *Vec) AppendInt(x int64) { v.Ints = append(v.Ints, x) }

// AppendTime appends to a Timestamp Vec.
func (v *Vec) AppendTime(t Timestamp) { v.Ints = append(v.Ints, int64(t)) }

// AppendDate appends to a Date Vec.
func (v *Vec) AppendDate(d Date) { v.Dates = append(v.Dates, d) }

// AppendFloat appends to a Float64 Vec.
func (v *Vec) AppendFloat(x float64) { v.Floats = append(v.Floats, x) }

// AppendBool appends to a Bool Vec.
func (v *Vec) AppendBool(b bool) {
	x := int8(0)
	if b {
		x = 1
	}
	v.Bools = append(v.Bools, x)
}

// Truncate empties v, keeping its storage and dictionary.
func (v *Vec) Truncate() {
	v.Ints, v.Dates, v.Floats, v.Bools, v.Codes = v.Ints[:0], v.Dates[:0], v.Floats[:0], v.Bools[:0], v.Codes[:0]
}

// AppendFrom appends value i of src, a Vec of the same Type, to v (a
// missing value stays missing). Strings are copied: src may be reused.
func (v *Vec) AppendFrom(src *Vec, i int) {
	switch v.Type {
	case TypeString:
		if src.Absent || src.Codes[i] < 0 {
			v.AppendNull()
		} else {
			v.AppendString(strings.Clone(src.Str(i)))
		}
	case TypeInt64, TypeTimestamp:
		v.Ints = append(v.Ints, src.Int(i))
	case TypeDate:
		v.Dates = append(v.Dates, src.Date(i))
	case TypeFloat64:
		v.Floats = append(v.Floats, src.Float(i))
	case TypeBool:
		v.Bools = append(v.Bools, src.Bool(i))
	}
}
