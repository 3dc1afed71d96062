package eval

import (
	"context"
	"fmt"
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
	// Decreasing score, ties by row index: a total order, so an unstable
	// sort gives the stable sort's result at a fraction of its cost.
	slices.SortFunc(r.order, func(a, b int) int {
		switch {
		case p[a] > p[b]:
			return -1
		case p[a] < p[b]:
			return 1
		}
		return a - b
	})
	r.blocks = metrics.TieBlocks(len(p), func(a, b int) bool { return p[r.order[a]] == p[r.order[b]] })
	return r
}

// rankMetrics returns the weighted ROC AUC (ties count half) and average
// precision of the ranking against labels y; w nil means all ones. Both are
// NaN without positives (and AUC without negatives).
func (r *ranking) rankMetrics(y, w []float64) (auc, ap float64) {
	yo := make([]float64, len(r.order))
	for k, i := range r.order {
		yo[k] = y[i]
	}
	return metrics.RankAreas(r.blocks, yo, r.order, w)
}

// ordered is a ranking's rows in score order with their labels and
// customers laid out contiguously, so that a bootstrap resample (weights
// per customer) reads them in one sequential pass.
type ordered struct {
	blocks   []int
	y        []float64
	customer []int
}

func (r *ranking) ordered(y []float64, cluster []int) *ordered {
	o := &ordered{blocks: r.blocks, y: make([]float64, len(r.order)), customer: make([]int, len(r.order))}
	for k, i := range r.order {
		o.y[k], o.customer[k] = y[i], cluster[i]
	}
	return o
}

// metrics returns rankMetrics with each row weighing as its customer's
// count.
func (o *ordered) metrics(counts []float64) (auc, ap float64) {
	return metrics.RankAreas(o.blocks, o.y, o.customer, counts)
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

// subset returns the scored rows rows of s (with s's calibration bins).
func (s *scored) subset(rows []int) *scored {
	out := &scored{p: make([]float64, len(rows)), y: make([]float64, len(rows)), ll: make([]float64, len(rows)), br: make([]float64, len(rows)), bin: make([]int, len(rows)), nBins: s.nBins}
	for k, i := range rows {
		out.p[k], out.y[k], out.ll[k], out.br[k], out.bin[k] = s.p[i], s.y[i], s.ll[i], s.br[i], s.bin[i]
	}
	out.rank = newRanking(out.p)
	return out
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
	auc, ap := s.rank.rankMetrics(s.y, w)
	return s.metricsRanked(auc, ap, w)
}

// metricsRanked is metricsW given the rank metrics.
func (s *scored) metricsRanked(auc, ap float64, w []float64) [numMetrics]float64 {
	var out [numMetrics]float64
	out[mAUC], out[mPRAUC] = auc, ap
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
	model := s.rank.ordered(s.y, cluster)
	ords := make([]*ordered, len(others))
	for j, o := range others {
		ords[j] = o.ordered(s.y, cluster)
	}
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
				auc, ap := model.metrics(counts)
				m := s.metricsRanked(auc, ap, w)
				for k := 0; k < numMetrics; k++ {
					res.vals[k][b] = m[k]
				}
				for j, o := range ords {
					a, _ := o.metrics(counts)
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

// intervals are the bootstrap's intervals: interval(k, v) is metric k's
// (the point metrics, then the AUC gains over each other score) around its
// estimate v on every evaluated row.
type intervals struct {
	boot  *bootstrapResult
	level float64
	// With a sample of customers: its own estimates of each metric and the
	// factor √(sample / all) that scales distances from them.
	sub   []float64
	scale float64
	info  BootstrapInfo
}

func (b *intervals) interval(k int, v float64) Interval {
	lo, hi, _ := percentileInterval(b.boot.vals[k], b.level)
	if b.sub != nil {
		// The resamples' spread around the sample's estimate, shrunk to
		// what all customers give (the spread of a mean-like statistic
		// falls as the square root of the customers), around v.
		lo, hi = v+b.scale*(lo-b.sub[k]), v+b.scale*(hi-b.sub[k])
	}
	// A statistic biased under resampling (ECE: resampling adds noise to
	// every bin's rate) can put the whole percentile interval on one side
	// of the estimate; the interval is widened to include it.
	if !math.IsNaN(v) && !math.IsNaN(lo) {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return Interval{Value: Num(v), Lo: Num(lo), Hi: Num(hi)}
}

// bootstrapIntervals resamples the customers of s (cluster numbers them,
// n in all) and, with more than bootstrap.customers of them, a seeded
// sample of that many: the cost is then bounded whatever the table's size,
// and the intervals are scaled to all customers (m-out-of-n bootstrap).
func bootstrapIntervals(ctx context.Context, s *scored, others []*ranking, cluster []int, n int, cfg Config) (*intervals, error) {
	bc := cfg.Bootstrap
	iv := &intervals{level: bc.Level, scale: 1}
	m := n
	if n > bc.Customers {
		m = bc.Customers
		s, others, cluster = sampleCustomers(s, others, cluster, n, m, cfg.Seed)
		iv.scale = math.Sqrt(float64(m) / float64(n))
		pt := s.metricsW(nil)
		iv.sub = pt[:]
		for _, o := range others {
			a, _ := o.rankMetrics(s.y, nil)
			iv.sub = append(iv.sub, pt[mAUC]-a)
		}
	}
	boot, err := bootstrap(ctx, s, others, cluster, m, bc.Resamples, cfg.Seed, cfg.Workers)
	if err != nil {
		return nil, err
	}
	iv.boot = boot
	_, _, undefined := percentileInterval(boot.vals[mAUC], bc.Level)
	se := iv.scale * endSE(boot.vals[mAUC], bc.Level)
	iv.info = BootstrapInfo{Resamples: bc.Resamples, Level: Num(bc.Level), Seed: cfg.Seed, Unit: "customer", Clusters: n,
		Customers: m, Scale: Num(iv.scale), AUCEndSE: Num(se), Undefined: undefined}
	if iv.sub == nil {
		iv.info.Description = fmt.Sprintf("%d resamples of all %d customers (each with all its rows), seed %d, percentile intervals", bc.Resamples, n, cfg.Seed)
	} else {
		iv.info.Description = fmt.Sprintf("%d resamples of a seeded sample of %d of the %d customers (each with all its rows), seed %d, percentile intervals whose distances from the estimates are scaled by √(%d/%d) = %.3f to all customers",
			bc.Resamples, m, n, cfg.Seed, m, n, iv.scale)
	}
	if !math.IsNaN(se) {
		iv.info.Description += fmt.Sprintf("; the ROC AUC interval's ends are precise to ±%.4f (one Monte Carlo standard error)", se)
	}
	return iv, nil
}

// sampleCustomers keeps the rows of m of the n customers (a seeded choice)
// of s and others, with the customers renumbered 0..m-1.
func sampleCustomers(s *scored, others []*ranking, cluster []int, n, m int, seed uint64) (*scored, []*ranking, []int) {
	r := rand.New(rand.NewPCG(seed, 0xc0575a3e))
	renum := make([]int, n)
	for c := range renum {
		renum[c] = -1
	}
	for k, c := range r.Perm(n)[:m] {
		renum[c] = k
	}
	var rows, sub []int
	for i, c := range cluster {
		if renum[c] >= 0 {
			rows = append(rows, i)
			sub = append(sub, renum[c])
		}
	}
	pick := func(x []float64) []float64 {
		out := make([]float64, len(rows))
		for k, i := range rows {
			out[k] = x[i]
		}
		return out
	}
	ss := s.subset(rows)
	os := make([]*ranking, len(others))
	for j, o := range others {
		os[j] = newRanking(pick(o.p))
	}
	return ss, os, sub
}

// endSE is the Monte Carlo standard error of the ends of a percentile
// interval at level from the defined values of xs: √(a(1−a)/B) / f(q_a)
// for the a = (1−level)/2 quantile of B values, with the density f taken
// as normal with the values' standard deviation. NaN with fewer than two
// values.
func endSE(xs []float64, level float64) float64 {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	if len(vals) < 2 {
		return math.NaN()
	}
	a := (1 - level) / 2
	z := math.Sqrt2 * math.Erfinv(2*a-1)
	density := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
	return metrics.StdDev(vals) * math.Sqrt(a*(1-a)/float64(len(vals))) / density
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
