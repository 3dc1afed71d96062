package review

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/internal/metrics"
)

// scoredRows are rows of a run in rank order (decreasing probability):
// probabilities, tiers and, when known, labels.
type scoredRows struct {
	p    []float64
	y    []float64 // nil when the labels are unknown (an open window)
	tier []int8
}

func (s *scoredRows) Len() int { return len(s.p) }

// sortByRank puts the rows in decreasing probability order, keeping the
// order of ties: a no-op for churn's partitions, which are written so.
func (s *scoredRows) sortByRank() {
	if s.sorted() {
		return
	}
	idx := make([]int, len(s.p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.p[b], s.p[a]) })
	p, t := make([]float64, len(idx)), make([]int8, len(idx))
	var y []float64
	if s.y != nil {
		y = make([]float64, len(idx))
	}
	for k, i := range idx {
		p[k], t[k] = s.p[i], s.tier[i]
		if y != nil {
			y[k] = s.y[i]
		}
	}
	s.p, s.tier, s.y = p, t, y
}

// blocks returns the ends of the runs of tied probabilities.
func (s *scoredRows) blocks() []int {
	return metrics.TieBlocks(len(s.p), func(a, b int) bool { return s.p[a] == s.p[b] })
}

// sample returns m of the rows (all when m ≥ Len), a uniform choice by
// r (Floyd's algorithm: m draws, whatever the rows), in rank order.
func (s *scoredRows) sample(m int, r *rand.Rand) *scoredRows {
	n := len(s.p)
	if m >= n {
		return s
	}
	chosen := make(map[int]bool, m)
	for j := n - m; j < n; j++ {
		if t := r.IntN(j + 1); chosen[t] {
			chosen[j] = true
		} else {
			chosen[t] = true
		}
	}
	idx := make([]int, 0, m)
	for i := range chosen {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := &scoredRows{p: make([]float64, m), tier: make([]int8, m)}
	if s.y != nil {
		out.y = make([]float64, m)
	}
	for k, i := range idx {
		out.p[k], out.tier[k] = s.p[i], s.tier[i]
		if s.y != nil {
			out.y[k] = s.y[i]
		}
	}
	return out
}

// expectedAUC returns the ROC AUC expected when each row's label is an
// independent Bernoulli draw with its probability p (decreasing order):
// the probability-weighted pairwise concordance
//
//	Σ_{i ranked above j} p_i (1 − p_j) + ½ Σ_{i ≠ j tied} p_i (1 − p_j)
//	────────────────────────────────────────────────────────────────────
//	           Σ_{i ≠ j} p_i (1 − p_j) = Σp · Σ(1 − p) − Σ p(1 − p)
//
// the expected number of correctly ordered (churner, stayer) pairs over
// the expected number of such pairs: the ratio of expectations, which
// differs from the expectation of the ratio by O(1/n). One pass over the
// rows, a block of tied probabilities at a time. NaN for fewer than two
// rows or when every p is 0 or 1 alike.
func expectedAUC(p []float64) float64 {
	var above, num, sp, sq, spq float64 // Σp above the block; numerator; Σp; Σ(1−p); Σp(1−p)
	for k := 0; k < len(p); {
		var bp, bq, bpq float64
		j := k
		for ; j < len(p) && p[j] == p[k]; j++ {
			bp += p[j]
			bq += 1 - p[j]
			bpq += p[j] * (1 - p[j])
		}
		k = j
		num += bq*above + (bp*bq-bpq)/2
		above += bp
		sp, sq, spq = sp+bp, sq+bq, spq+bpq
	}
	den := sp*sq - spq
	if !(den > 0) {
		return math.NaN()
	}
	return num / den
}

// topDecileLift returns the churn rate of the top tenth of the rows' weight
// (whole rows, highest probability first) over the overall rate. w nil
// means ones.
func topDecileLift(y, w []float64) float64 {
	wt := func(k int) float64 {
		if w == nil {
			return 1
		}
		return w[k]
	}
	var tot, pos float64
	for k := range y {
		tot += wt(k)
		pos += wt(k) * y[k]
	}
	if tot == 0 || pos == 0 {
		return math.NaN()
	}
	target := tot / 10
	var tw, tp float64
	for k := 0; k < len(y) && tw < target; k++ {
		tw += wt(k)
		tp += wt(k) * y[k]
	}
	return (tp / tw) / (pos / tot)
}

// interval is a point estimate with its interval, as review.json writes
// them: the value, then [lo, hi].
type interval struct {
	v, lo, hi float64
}

func (iv interval) num() eval.Num   { return eval.Num(iv.v) }
func (iv interval) ci() [2]eval.Num { return [2]eval.Num{eval.Num(iv.lo), eval.Num(iv.hi)} }

// scaledPercentile turns resampled values around the sample's own estimate
// sub into an interval around the estimate v of all rows: the level
// percentile interval of the values, its distances from sub scaled by
// scale (√(sample ÷ rows): the spread of a mean-like statistic falls as
// the square root of the rows), widened to contain v. NaN ends when no
// value is defined.
func scaledPercentile(vals []float64, v, sub, scale, level float64) interval {
	def := make([]float64, 0, len(vals))
	for _, x := range vals {
		if !math.IsNaN(x) {
			def = append(def, x)
		}
	}
	if len(def) == 0 || math.IsNaN(v) {
		return interval{v, math.NaN(), math.NaN()}
	}
	a := (1 - level) / 2
	lo, hi := metrics.Quantile(def, a), metrics.Quantile(def, 1-a)
	lo, hi = v+scale*(lo-sub), v+scale*(hi-sub)
	return interval{v, math.Min(lo, v), math.Max(hi, v)}
}

// sorted reports whether the rows are in rank order.
func (s *scoredRows) sorted() bool {
	for i := 1; i < len(s.p); i++ {
		if s.p[i] > s.p[i-1] {
			return false
		}
	}
	return true
}
