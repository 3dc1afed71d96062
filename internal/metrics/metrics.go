// Package metrics holds the classification metrics shared by training and
// evaluation, the uplift metrics (Qini, AUUC: uplift.go) that judge a
// ranking by a treatment's effect, and the Kaplan-Meier survival curve
// with Greenwood's variance (km.go) for retention curves. Inputs are plain slices: p holds
// predicted probabilities (or any scores for rank metrics), y holds labels
// 0 or 1, and w optional weights (nil means all ones). Inputs are never
// modified. Functions return NaN when a metric is undefined (e.g. AUC with
// one class). They are pure functions, safe for concurrent use.
package metrics

import (
	"math"
	"slices"
	"sort"
)

// order returns the indexes of p sorted by decreasing score.
func order(p []float64) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	return idx
}

func weight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// AUC returns the area under the ROC curve: the probability that a random
// positive scores above a random negative, counting ties as half.
func AUC(p, y, w []float64) float64 {
	idx := order(p)
	var tp, fp, area float64
	var posTot, negTot float64
	for i := range y {
		if y[i] == 1 {
			posTot += weight(w, i)
		} else {
			negTot += weight(w, i)
		}
	}
	if posTot == 0 || negTot == 0 {
		return math.NaN()
	}
	for k := 0; k < len(idx); {
		// A block of tied scores moves the curve diagonally.
		j := k
		var dtp, dfp float64
		for j < len(idx) && p[idx[j]] == p[idx[k]] {
			i := idx[j]
			if y[i] == 1 {
				dtp += weight(w, i)
			} else {
				dfp += weight(w, i)
			}
			j++
		}
		area += dfp * (tp + dtp/2)
		tp += dtp
		fp += dfp
		k = j
	}
	return area / (posTot * negTot)
}

// AveragePrecision returns the area under the precision-recall curve as
// average precision: the sum over positives, in decreasing score order, of
// precision at each positive's rank (ties are taken together).
func AveragePrecision(p, y, w []float64) float64 {
	idx := order(p)
	var posTot float64
	for i := range y {
		if y[i] == 1 {
			posTot += weight(w, i)
		}
	}
	if posTot == 0 {
		return math.NaN()
	}
	var tp, seen, ap float64
	for k := 0; k < len(idx); {
		j := k
		var dtp, dn float64
		for j < len(idx) && p[idx[j]] == p[idx[k]] {
			i := idx[j]
			dn += weight(w, i)
			if y[i] == 1 {
				dtp += weight(w, i)
			}
			j++
		}
		tp += dtp
		seen += dn
		if dtp > 0 {
			ap += dtp / posTot * (tp / seen)
		}
		k = j
	}
	return ap
}

// clip keeps a probability away from 0 and 1 for the log.
func clip(x float64) float64 {
	const eps = 1e-15
	return math.Min(math.Max(x, eps), 1-eps)
}

// TieBlocks returns the ends (exclusive) of the runs of tied scores among n
// scores laid out so that ties are adjacent (e.g. sorted): tied(a, b)
// reports whether the scores at positions a and b are equal. One block per
// distinct score; none when n is 0.
func TieBlocks(n int, tied func(a, b int) bool) []int {
	var blocks []int
	for k := 0; k < n; {
		j := k + 1
		for j < n && tied(j, k) {
			j++
		}
		blocks = append(blocks, j)
		k = j
	}
	return blocks
}

// RankAreas returns the weighted ROC AUC (ties count half) and average
// precision of labels y (1 positive, else negative) given in decreasing
// score order, where blocks[k] is the end (exclusive) of the k-th block of
// tied scores (TieBlocks) and the row at position k weighs w[key[k]]. Both
// are NaN without positive weight, and the AUC also without negative
// weight; with one block (one score for all) the AUC is 0.5. It takes one
// pass, so a bootstrap can call it per resample with new weights; key nil
// (the identity) and w nil (all ones) are allocated, so hot loops pass
// both.
func RankAreas(blocks []int, y []float64, key []int, w []float64) (auc, ap float64) {
	if w == nil {
		w = make([]float64, len(y))
		for i := range w {
			w[i] = 1
		}
	}
	if key == nil {
		key = make([]int, len(y))
		for i := range key {
			key[i] = i
		}
	}
	var posTot, negTot float64
	for k := range y {
		if y[k] == 1 {
			posTot += w[key[k]]
		} else {
			negTot += w[key[k]]
		}
	}
	if posTot == 0 {
		return math.NaN(), math.NaN()
	}
	auc = math.NaN()
	if len(blocks) == 1 { // one score for all (a constant baseline)
		if negTot > 0 {
			auc = 0.5
		}
		return auc, posTot / (posTot + negTot)
	}
	var tp, fp, seen, area float64
	k := 0
	for _, end := range blocks {
		var dtp, dfp float64
		for ; k < end; k++ {
			if y[k] == 1 {
				dtp += w[key[k]]
			} else {
				dfp += w[key[k]]
			}
		}
		area += dfp * (tp + dtp/2)
		tp += dtp
		fp += dfp
		seen += dtp + dfp
		if dtp > 0 {
			ap += dtp / posTot * (tp / seen)
		}
	}
	if negTot > 0 {
		auc = area / (posTot * negTot)
	}
	return auc, ap
}

// LogLoss returns the mean negative log-likelihood of probabilities p.
func LogLoss(p, y, w []float64) float64 {
	var s, tot float64
	for i := range p {
		wi := weight(w, i)
		q := clip(p[i])
		if y[i] == 1 {
			s -= wi * math.Log(q)
		} else {
			s -= wi * math.Log(1-q)
		}
		tot += wi
	}
	if tot == 0 {
		return math.NaN()
	}
	return s / tot
}

// Brier returns the mean squared error of probabilities p.
func Brier(p, y, w []float64) float64 {
	var s, tot float64
	for i := range p {
		wi := weight(w, i)
		d := p[i] - y[i]
		s += wi * d * d
		tot += wi
	}
	if tot == 0 {
		return math.NaN()
	}
	return s / tot
}

// BaseRate returns the (weighted) share of positives.
func BaseRate(y, w []float64) float64 {
	var pos, tot float64
	for i := range y {
		wi := weight(w, i)
		pos += wi * y[i]
		tot += wi
	}
	if tot == 0 {
		return math.NaN()
	}
	return pos / tot
}

// Bin is one bin of a reliability diagram.
type Bin struct {
	Lo, Hi    float64 // probability range [Lo, Hi)
	Count     float64 // (weighted) rows
	MeanPred  float64 // mean predicted probability
	FracPos   float64 // observed share of positives
	Positives float64
}

// Reliability bins probabilities into n equal-width bins over [0, 1]. Empty
// bins are kept with Count 0 and NaN means.
func Reliability(p, y, w []float64, n int) []Bin {
	bins := make([]Bin, n)
	for b := range bins {
		bins[b].Lo, bins[b].Hi = float64(b)/float64(n), float64(b+1)/float64(n)
	}
	sumP := make([]float64, n)
	for i := range p {
		b := int(p[i] * float64(n))
		b = min(max(b, 0), n-1)
		wi := weight(w, i)
		bins[b].Count += wi
		bins[b].Positives += wi * y[i]
		sumP[b] += wi * p[i]
	}
	for b := range bins {
		if bins[b].Count > 0 {
			bins[b].MeanPred = sumP[b] / bins[b].Count
			bins[b].FracPos = bins[b].Positives / bins[b].Count
		} else {
			bins[b].MeanPred, bins[b].FracPos = math.NaN(), math.NaN()
		}
	}
	return bins
}

// ECE returns the expected calibration error over n equal-width bins: the
// count-weighted mean absolute gap between predicted and observed rates.
func ECE(p, y, w []float64, n int) float64 {
	var s, tot float64
	for _, b := range Reliability(p, y, w, n) {
		if b.Count > 0 {
			s += b.Count * math.Abs(b.MeanPred-b.FracPos)
			tot += b.Count
		}
	}
	if tot == 0 {
		return math.NaN()
	}
	return s / tot
}

// Sigmoid is the logistic function.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Logit is the inverse of Sigmoid, clipped away from ±Inf.
func Logit(p float64) float64 {
	p = clip(p)
	return math.Log(p / (1 - p))
}

// Quantile returns the q-quantile (0..1) of xs by linear interpolation
// between order statistics; xs is not modified.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// Mean returns the mean of xs (NaN when empty).
func Mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// StdDev returns the sample standard deviation of xs (0 for fewer than two
// values).
func StdDev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := Mean(xs)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// Round rounds x to the given number of decimals, halves away from zero.
// NaN and ±Inf are returned as they are (callers that write JSON decide
// what an undefined number becomes); -0 becomes 0.
func Round(x float64, decimals int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow10(decimals)
	r := math.Round(x*p) / p
	if r == 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		// 0 without a sign; x*p overflowing means x needs no rounding.
		if r == 0 {
			return 0
		}
		return x
	}
	return r
}
