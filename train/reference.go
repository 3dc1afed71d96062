package train

import (
	"math"
	"math/bits"
	"slices"
	"sort"

	"github.com/churnlab/churn/features"
)

// Distribution summarises one variable on the training rows, so later data
// can be compared with it (population stability). Numeric variables have
// Edges: the inner boundaries of up to 10 quantile bins, a value v falling
// in bin i when Edges[i-1] <= v < Edges[i]; categorical ones have Levels.
// Shares holds each bin's (or level's) share of rows, then — last — the
// share of missing values.
type Distribution struct {
	Name   string    `json:"name"`
	Edges  []float64 `json:"edges,omitempty"`
	Levels []string  `json:"levels,omitempty"` // the last level is features.OtherLevel
	Shares []float64 `json:"shares"`
}

// Bin returns the bin index of a numeric value (len(Shares)-1 for missing).
func (d *Distribution) Bin(v float64) int {
	if math.IsNaN(v) {
		return len(d.Shares) - 1
	}
	return sort.Search(len(d.Edges), func(i int) bool { return v < d.Edges[i] })
}

// Level returns the bin index of a categorical value.
func (d *Distribution) Level(s string) int {
	if s == "" {
		return len(d.Shares) - 1
	}
	if i := slices.Index(d.Levels, s); i >= 0 {
		return i
	}
	return len(d.Levels) - 1 // other
}

// numericDistribution bins xs at their deciles.
func numericDistribution(name string, xs, ws []float64) Distribution {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	// The deciles by selection: the values sorting would put at these
	// positions, for a fraction of the cost of sorting.
	var ranks []int
	for q := 1; q < 10 && len(vals) > 0; q++ {
		ranks = append(ranks, q*len(vals)/10)
	}
	selectRanks(vals, ranks)
	d := Distribution{Name: name}
	for _, k := range ranks {
		e := vals[k]
		if len(d.Edges) == 0 || e > d.Edges[len(d.Edges)-1] {
			d.Edges = append(d.Edges, e)
		}
	}
	// The shares are weighted (a sampled table's rows stand for the
	// population); the edges, deciles of the rows, only place the bins.
	d.Shares = make([]float64, len(d.Edges)+2)
	var total float64
	for i, x := range xs {
		w := weightAt(ws, i)
		total += w
		if math.IsNaN(x) {
			d.Shares[len(d.Shares)-1] += w
		} else {
			d.Shares[d.Bin(x)] += w
		}
	}
	normalise(d.Shares, total)
	return d
}

// selectRanks reorders xs so that xs[k] holds the value sorting would put
// there, for every k of ranks (ascending, possibly repeated, each in
// [0, len(xs))). It costs O(n log len(ranks)) comparisons on average, and
// falls back to sorting on inputs where selection makes no progress. xs
// must not hold NaN.
func selectRanks(xs []float64, ranks []int) {
	if len(ranks) == 0 {
		return
	}
	mid := len(ranks) / 2
	k := ranks[mid]
	lo, hi := nthElement(xs, k)
	// xs[lo:hi] all equal xs[k]; below lo smaller, from hi larger.
	var left, right []int
	for _, r := range ranks {
		switch {
		case r < lo:
			left = append(left, r)
		case r >= hi:
			right = append(right, r-hi)
		}
	}
	selectRanks(xs[:lo], left)
	selectRanks(xs[hi:], right)
}

// nthElement partially orders xs so that xs[k] is the value sorting would
// put there, everything before lo is smaller, xs[lo:hi] equals it and
// everything from hi on is larger. It is quickselect with three-way
// partitioning (so repeated values cost nothing) and a median-of-three
// pivot, sorting instead when the partitions shrink too slowly.
func nthElement(xs []float64, k int) (lo, hi int) {
	lo, hi = 0, len(xs)
	for budget := 2 * bits.Len(uint(len(xs))); hi-lo > 12; budget-- {
		if budget == 0 {
			break
		}
		a, b, c := xs[lo], xs[lo+(hi-lo)/2], xs[hi-1]
		pivot := max(min(a, b), min(max(a, b), c))
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch v := xs[i]; {
			case v < pivot:
				xs[lt], xs[i] = v, xs[lt]
				lt++
				i++
			case v > pivot:
				gt--
				xs[gt], xs[i] = v, xs[gt]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt
		case k >= gt:
			lo = gt
		default:
			return lt, gt
		}
	}
	slices.Sort(xs[lo:hi])
	v := xs[k]
	l, h := k, k+1
	for l > lo && xs[l-1] == v {
		l--
	}
	for h < hi && xs[h] == v {
		h++
	}
	return l, h
}

func categoricalDistribution(name string, xs []string, ws []float64) Distribution {
	counts := map[string]int{}
	for _, s := range xs {
		if s != "" {
			counts[s]++
		}
	}
	d := Distribution{Name: name}
	for s := range counts {
		d.Levels = append(d.Levels, s)
	}
	slices.SortFunc(d.Levels, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	if len(d.Levels) > 20 {
		d.Levels = d.Levels[:20]
	}
	d.Levels = append(d.Levels, features.OtherLevel)
	d.Shares = make([]float64, len(d.Levels)+1)
	var total float64
	for i, s := range xs {
		w := weightAt(ws, i)
		d.Shares[d.Level(s)] += w
		total += w
	}
	normalise(d.Shares, total)
	return d
}

// weightAt is ws[i], or 1 when ws is nil.
func weightAt(ws []float64, i int) float64 {
	if ws == nil {
		return 1
	}
	return ws[i]
}

// normalise divides the shares by their total weight.
func normalise(s []float64, total float64) {
	if total == 0 {
		return
	}
	for i := range s {
		s[i] = round6(s[i] / total)
	}
}

// reference summarises every feature over rows of t.
func reference(t *features.Table, rows []int) []Distribution {
	var out []Distribution
	ws := t.Weights(rows)
	for i, d := range t.Spec.Features {
		if d.Kind == features.Categorical {
			xs := make([]string, len(rows))
			for k, r := range rows {
				xs[k] = t.Cat[i][r]
			}
			out = append(out, categoricalDistribution(d.Name, xs, ws))
			continue
		}
		xs := make([]float64, len(rows))
		for k, r := range rows {
			xs[k] = t.Num[i][r]
		}
		out = append(out, numericDistribution(d.Name, xs, ws))
	}
	return out
}
