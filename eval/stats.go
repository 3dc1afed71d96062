package eval

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/internal/metrics"
)

// ranking is a score vector's rows in decreasing score order (ties by row
// index) with its blocks of tied scores, computed once so that weighted
// rank metrics take one pass per bootstrap resample.
type ranking struct {
	p     []float64
	order []int // row indexes by decreasing score
	// blocks[k] is the end (exclusive, in order) of the k-th block of tied
	// scores.
	blocks []int
}

func newRanking(p []float64) *ranking {
	r := &ranking{p: p, order: make([]int, len(p))}
	for i := range r.order {
		r.order[i] = i
	}
	sort.SliceStable(r.order, func(a, b int) bool { return p[r.order[a]] > p[r.order[b]] })
	for k := 0; k < len(r.order); {
		j := k + 1
		for j < len(r.order) && p[r.order[j]] == p[r.order[k]] {
			j++
		}
		r.blocks = append(r.blocks, j)
		k = j
	}
	return r
}

// rankMetrics returns the weighted ROC AUC (ties count half) and average
// precision of the ranking against labels y; w nil means all ones. Both are
// NaN without positives (and AUC without negatives).
func (r *ranking) rankMetrics(y, w []float64) (auc, ap float64) {
	var posTot, negTot float64
	for i := range y {
		wi := wt(w, i)
		if y[i] == 1 {
			posTot += wi
		} else {
			negTot += wi
		}
	}
	if posTot == 0 {
		return math.NaN(), math.NaN()
	}
	var tp, fp, seen, area float64
	k := 0
	for _, end := range r.blocks {
		var dtp, dfp float64
		for ; k < end; k++ {
			i := r.order[k]
			wi := wt(w, i)
			if y[i] == 1 {
				dtp += wi
			} else {
				dfp += wi
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
	auc = math.NaN()
	if negTot > 0 {
		auc = area / (posTot * negTot)
	}
	return auc, ap
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// Point metrics, in the order of pointMetrics.vals.
const (
	mAUC = iota
	mPRAUC
	mLogLoss
	mBrier
	mECE
	mBaseRate
	numMetrics
)

// scored is the evaluated rows of one model: probabilities, labels,
// customers (bootstrap clusters) and calibration bins.
type scored struct {
	p, y   []float64
	rank   *ranking
	ll, br []float64 // per-row log loss and squared error
	bin    []int     // calibration bin of each row
	nBins  int
}

func newScored(p, y []float64, edges []float64) *scored {
	s := &scored{p: p, y: y, rank: newRanking(p), ll: make([]float64, len(p)), br: make([]float64, len(p)), bin: make([]int, len(p)), nBins: len(edges) + 1}
	for i := range p {
		s.ll[i] = metrics.LogLoss(p[i:i+1], y[i:i+1], nil)
		d := p[i] - y[i]
		s.br[i] = d * d
		s.bin[i] = sort.Search(len(edges), func(k int) bool { return p[i] < edges[k] })
	}
	return s
}

// metricsW computes every point metric with row weights w (nil = ones).
func (s *scored) metricsW(w []float64) [numMetrics]float64 {
	var out [numMetrics]float64
	out[mAUC], out[mPRAUC] = s.rank.rankMetrics(s.y, w)
	var tot, ll, br, pos float64
	bw := make([]float64, 3*s.nBins)
	for i := range s.p {
		wi := wt(w, i)
		if wi == 0 {
			continue
		}
		tot += wi
		ll += wi * s.ll[i]
		br += wi * s.br[i]
		pos += wi * s.y[i]
		b := s.bin[i]
		bw[3*b] += wi
		bw[3*b+1] += wi * s.p[i]
		bw[3*b+2] += wi * s.y[i]
	}
	if tot == 0 {
		for k := range out {
			out[k] = math.NaN()
		}
		return out
	}
	out[mLogLoss], out[mBrier], out[mBaseRate] = ll/tot, br/tot, pos/tot
	var ece float64
	for b := 0; b < s.nBins; b++ {
		if c := bw[3*b]; c > 0 {
			ece += math.Abs(bw[3*b+1] - bw[3*b+2]) // = c·|mean p − rate|
		}
	}
	out[mECE] = ece / tot
	return out
}

// calibrationEdges returns the inner edges of the calibration bins:
// quantiles of p (equal row counts, duplicates merged) or equal widths.
func calibrationEdges(p []float64, bins int, binning string) []float64 {
	var edges []float64
	if binning == "uniform" {
		for b := 1; b < bins; b++ {
			edges = append(edges, float64(b)/float64(bins))
		}
		return edges
	}
	s := slices.Clone(p)
	slices.Sort(s)
	for b := 1; b < bins && len(s) > 0; b++ {
		e := s[b*len(s)/bins]
		if (len(edges) == 0 || e > edges[len(edges)-1]) && e > s[0] {
			edges = append(edges, e)
		}
	}
	return edges
}

// bootstrapResult holds the resampled values: vals[m][b] for metric m
// (the point metrics, then the AUC differences against each other score).
type bootstrapResult struct {
	vals [][]float64
}

// bootstrap resamples customers (clusters) with replacement: resample b
// draws len(cluster ids) customers from a PCG source seeded with (seed, b),
// and each row weighs as often as its customer was drawn. Rows of one
// customer at several as-of dates are correlated, so resampling customers
// rather than rows keeps the intervals honest. others are further score
// vectors on the same rows whose AUC is compared (model minus other) in the
// same resamples. The result does not depend on workers.
func bootstrap(ctx context.Context, s *scored, others []*ranking, cluster []int, nClusters, resamples int, seed uint64, workers int) (*bootstrapResult, error) {
	nm := numMetrics + len(others)
	res := &bootstrapResult{vals: make([][]float64, nm)}
	for m := range res.vals {
		res.vals[m] = make([]float64, resamples)
	}
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan int)
	g.Go(func() error {
		defer close(next)
		for b := 0; b < resamples; b++ {
			select {
			case next <- b:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range workers {
		g.Go(func() error {
			counts := make([]float64, nClusters)
			w := make([]float64, len(cluster))
			for b := range next {
				r := rand.New(rand.NewPCG(seed, 0xb0075eed+uint64(b)))
				clear(counts)
				for range nClusters {
					counts[r.IntN(nClusters)]++
				}
				for i, c := range cluster {
					w[i] = counts[c]
				}
				m := s.metricsW(w)
				for k := 0; k < numMetrics; k++ {
					res.vals[k][b] = m[k]
				}
				for j, o := range others {
					a, _ := o.rankMetrics(s.y, w)
					res.vals[numMetrics+j][b] = m[mAUC] - a
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return res, nil
}

// percentileInterval returns the (1−level)/2 and (1+level)/2 quantiles of
// the defined values of xs, and how many were undefined.
func percentileInterval(xs []float64, level float64) (lo, hi float64, undefined int) {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if math.IsNaN(x) {
			undefined++
		} else {
			vals = append(vals, x)
		}
	}
	if len(vals) == 0 {
		return math.NaN(), math.NaN(), undefined
	}
	a := (1 - level) / 2
	return metrics.Quantile(vals, a), metrics.Quantile(vals, 1-a), undefined
}

// ROCPoint is a point of the ROC curve: false and true positive rates when
// flagging every row scoring at least Threshold.
type ROCPoint struct {
	FPR       Num `json:"fpr"`
	TPR       Num `json:"tpr"`
	Threshold Num `json:"threshold"`
}

// PRPoint is a point of the precision-recall curve.
type PRPoint struct {
	Recall    Num `json:"recall"`
	Precision Num `json:"precision"`
	Threshold Num `json:"threshold"`
}

// maxCurvePoints caps the points kept per curve (evenly over the blocks of
// tied scores, ends always kept).
const maxCurvePoints = 200

// curves returns the ROC and PR curves at each block of tied scores.
func (r *ranking) curves(y []float64) ([]ROCPoint, []PRPoint) {
	var posTot, negTot float64
	for _, v := range y {
		if v == 1 {
			posTot++
		} else {
			negTot++
		}
	}
	if posTot == 0 || negTot == 0 {
		return nil, nil
	}
	roc := []ROCPoint{{0, 0, Num(math.Inf(1))}}
	var pr []PRPoint
	var tp, fp float64
	k := 0
	for _, end := range r.blocks {
		for ; k < end; k++ {
			if y[r.order[k]] == 1 {
				tp++
			} else {
				fp++
			}
		}
		th := Num(r.p[r.order[end-1]])
		roc = append(roc, ROCPoint{Num(fp / negTot), Num(tp / posTot), th})
		pr = append(pr, PRPoint{Num(tp / posTot), Num(tp / (tp + fp)), th})
	}
	return thin(roc), thin(pr)
}

func thin[T any](xs []T) []T {
	if len(xs) <= maxCurvePoints {
		return xs
	}
	out := make([]T, 0, maxCurvePoints)
	for k := 0; k < maxCurvePoints; k++ {
		out = append(out, xs[k*(len(xs)-1)/(maxCurvePoints-1)])
	}
	return out
}
