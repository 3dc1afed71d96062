package imports

import (
	"cmp"
	"slices"

	"github.com/churnlab/churn/data"
)

// appendFrom appends value i of src to dst (both of the same type).
func appendFrom(dst, src *data.Vec, i int) {
	if src.IsNull(i) {
		dst.AppendNull()
		return
	}
	switch src.Type {
	case data.TypeString:
		dst.AppendString(src.Str(i))
	case data.TypeInt64:
		dst.AppendInt(src.Ints[i])
	case data.TypeTimestamp:
		dst.AppendTime(data.Timestamp(src.Ints[i]))
	case data.TypeFloat64:
		dst.AppendFloat(src.Floats[i])
	case data.TypeBool:
		dst.AppendBool(src.Bools[i] == 1)
	case data.TypeDate:
		dst.AppendDate(src.Dates[i])
	}
}

// permute returns the values of v in the order idx.
func permute(v *data.Vec, idx []int) data.Vec {
	out := data.NewVec(v.Type)
	if v.Type == data.TypeString {
		// Keep the dictionary; only the codes move.
		out.Dict = v.Dict
		out.Codes = make([]int32, len(idx))
		for j, i := range idx {
			out.Codes[j] = v.Codes[i]
		}
		return out
	}
	for _, i := range idx {
		appendFrom(&out, v, i)
	}
	return out
}

// timeKey returns value i of a DATE or TIMESTAMP column as an int64 that
// orders like the value (nulls first).
func timeKey(v *data.Vec, i int) int64 {
	switch v.Type {
	case data.TypeDate:
		return int64(v.Dates[i])
	case data.TypeTimestamp:
		return v.Ints[i]
	}
	return 0
}

// sortOrder returns the row order by customer_id, then time (nil for the
// customers table), keeping the input order of ties.
func sortOrder(id *data.Vec, tv *data.Vec, n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = id.Str(i)
	}
	var times []int64
	if tv != nil {
		times = make([]int64, n)
		for i := range times {
			times[i] = timeKey(tv, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if c := cmp.Compare(ids[a], ids[b]); c != 0 {
			return c
		}
		if times != nil {
			return cmp.Compare(times[a], times[b])
		}
		return 0
	})
	return idx
}

// aggregate folds each group of rows [starts[g], starts[g+1]) of v into one
// value with fn (sum, min, max, first, last or count).
func aggregate(v *data.Vec, starts []int, n int, fn string) data.Vec {
	out := data.NewVec(v.Type)
	for g, lo := range starts {
		hi := n
		if g+1 < len(starts) {
			hi = starts[g+1]
		}
		switch fn {
		case "last":
			appendFrom(&out, v, hi-1)
		case "count":
			out.AppendInt(int64(hi - lo))
		case "sum":
			sumInto(&out, v, lo, hi)
		case "min", "max":
			extremeInto(&out, v, lo, hi, fn == "max")
		default: // first
			appendFrom(&out, v, lo)
		}
	}
	return out
}

func sumInto(out, v *data.Vec, lo, hi int) {
	seen := false
	var si int64
	var sf float64
	for i := lo; i < hi; i++ {
		if v.IsNull(i) {
			continue
		}
		seen = true
		if v.Type == data.TypeInt64 {
			si += v.Ints[i]
		} else {
			sf += v.Floats[i]
		}
	}
	switch {
	case !seen:
		out.AppendNull()
	case v.Type == data.TypeInt64:
		out.AppendInt(si)
	default:
		out.AppendFloat(sf)
	}
}

func extremeInto(out, v *data.Vec, lo, hi int, isMax bool) {
	best := -1
	for i := lo; i < hi; i++ {
		if v.IsNull(i) {
			continue
		}
		if best < 0 || better(v, i, best, isMax) {
			best = i
		}
	}
	if best < 0 {
		out.AppendNull()
		return
	}
	appendFrom(out, v, best)
}

func better(v *data.Vec, i, j int, isMax bool) bool {
	var c int
	switch v.Type {
	case data.TypeInt64, data.TypeTimestamp:
		c = cmp.Compare(v.Ints[i], v.Ints[j])
	case data.TypeFloat64:
		c = cmp.Compare(v.Floats[i], v.Floats[j])
	case data.TypeDate:
		c = cmp.Compare(v.Dates[i], v.Dates[j])
	}
	if isMax {
		return c > 0
	}
	return c < 0
}
