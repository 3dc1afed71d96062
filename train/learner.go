package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/internal/logreg"
	"github.com/churnlab/churn/internal/xgbtree"
)

// matrix is a dense row-major float32 matrix; NaN is missing.
type matrix struct {
	X    []float32
	N, P int
}

func (m matrix) row(i int) []float32 { return m.X[i*m.P : (i+1)*m.P] }

// fitData is what a learner fits on.
type fitData struct {
	train  matrix
	y, w   []float32
	names  []string // encoded column names
	valid  *matrix  // optional, for early stopping
	vy, vw []float32
}

// fitted is a trained learner: immutable, safe for concurrent use.
type fitted interface {
	// margins returns the logit for each row.
	margins(m matrix) ([]float64, error)
	// contributions computes each row's contributions to the margin, one
	// per column and the bias, and adds them per feature to dst (zeroed,
	// n rows of features+1 values, the bias last; featOf maps columns to
	// features) with addPerFeature. approx asks for a cheaper
	// approximation where the learner has one (Saabas for trees). Up to
	// workers goroutines share the work.
	contributions(ctx context.Context, m matrix, approx bool, workers int, featOf []int, dst []float64) error
	// gain returns the importance of each column (total gain for trees,
	// |standardised coefficient| for logistic regression).
	gain(p int) []float64
	// rounds is the number of boosting rounds used (0 for logreg).
	rounds() int
	close()
}

func fitLearner(ctx context.Context, d *fitData, p *Params, log func(string, ...any)) (fitted, error) {
	switch p.Algo {
	case AlgoLogReg:
		return fitLogReg(ctx, d, p)
	default:
		return fitXGBoost(ctx, d, p, log)
	}
}

// ---- XGBoost ----

// xgbModel is a fitted booster as its XGBoost JSON (D13): margins and
// contributions are computed in Go from its trees (internal/xgbtree), the
// same bits XGBoost's C API gives, so that scoring needs no cgo. XGBoost
// itself only fits.
type xgbModel struct {
	raw   []byte         // the booster's JSON, as XGBoost saved it
	trees *xgbtree.Trees // raw's trees up to round best
	best  int            // rounds to predict with
	curve []float64      // validation log loss after each round, when validated
	// explain keeps explainers of trees between calls.
	explain explainers
}

// newXGBModel reads a booster's JSON raw (saved by XGBoost) to score with
// its first rounds rounds.
func newXGBModel(raw []byte, rounds int, curve []float64) (*xgbModel, error) {
	if rounds < 1 {
		return nil, fmt.Errorf("rounds %d", rounds)
	}
	trees, err := xgbtree.Parse(raw, rounds)
	if err != nil {
		return nil, err
	}
	return &xgbModel{raw: raw, trees: trees, best: rounds, curve: curve}, nil
}

// margins computes the rows' margins in Go (xgbtree.Trees.Margins):
// XGBoost's own to the bit, split between GOMAXPROCS goroutines as XGBoost
// splits them between its threads, in parts of at least a thousand rows.
func (m *xgbModel) margins(x matrix) ([]float64, error) {
	if m.trees.NumFeatures() != x.P {
		return nil, fmt.Errorf("the model has %d columns, the rows %d", m.trees.NumFeatures(), x.P)
	}
	out := make([]float32, x.N)
	parts := max(1, min(runtime.GOMAXPROCS(0), x.N/1024))
	var g errgroup.Group
	for k := range parts {
		lo, hi := k*x.N/parts, (k+1)*x.N/parts
		g.Go(func() error { return m.trees.Margins(x.X[lo*x.P:hi*x.P], hi-lo, out[lo:hi]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := make([]float64, len(out))
	for i, v := range out {
		res[i] = float64(v)
	}
	return res, nil
}

// contributions explains the rows with the booster's trees in Go
// (xgbtree.Explainer): XGBoost's own pred_contribs (TreeSHAP) or
// approx_contribs (Saabas) to the bit, at a fraction of the cost. The rows
// are split between up to workers goroutines, each with an explainer (and
// its cache) kept between calls.
func (m *xgbModel) contributions(ctx context.Context, x matrix, approx bool, workers int, featOf []int, dst []float64) error {
	trees := m.trees
	if trees.NumFeatures() != x.P {
		return fmt.Errorf("the model has %d columns, the rows %d", trees.NumFeatures(), x.P)
	}
	w := len(dst) / max(x.N, 1) // features + 1
	// Parts of at least a thousand rows: smaller ones are not worth a
	// goroutine.
	parts := max(1, min(workers, x.N/1024))
	g, gctx := errgroup.WithContext(ctx)
	for k := range parts {
		lo, hi := k*x.N/parts, (k+1)*x.N/parts
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			codes, err := trees.Encode(x.X[lo*x.P:hi*x.P], hi-lo)
			if err != nil {
				return err
			}
			out := make([]float32, (hi-lo)*(x.P+1))
			e := m.explain.get(trees)
			defer m.explain.put(e)
			if approx {
				err = e.Approx(codes, out)
			} else {
				err = e.Exact(codes, out)
			}
			if err != nil {
				return err
			}
			for r := lo; r < hi; r++ {
				addPerFeature(dst[r*w:(r+1)*w], out[(r-lo)*(x.P+1):(r-lo+1)*(x.P+1)], featOf)
			}
			return nil
		})
	}
	return g.Wait()
}

// explainers holds the explainers of a model's trees not in use, so that
// their caches outlive a call. Their results do not depend on which
// explainer computes them.
type explainers struct {
	mu   sync.Mutex
	free []*xgbtree.Explainer
}

func (p *explainers) get(t *xgbtree.Trees) *xgbtree.Explainer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free = p.free[:n-1]
		return e
	}
	return t.NewExplainer()
}

func (p *explainers) put(e *xgbtree.Explainer) {
	p.mu.Lock()
	p.free = append(p.free, e)
	p.mu.Unlock()
}

// drop releases the explainers' caches.
func (p *explainers) drop() {
	p.mu.Lock()
	p.free = nil
	p.mu.Unlock()
}

func (m *xgbModel) rounds() int { return m.best }

// setRounds makes the model score with its first rounds rounds: its trees
// are read again from its JSON, and its explainers (which hold the old
// trees) are dropped.
func (m *xgbModel) setRounds(rounds int) error {
	nm, err := newXGBModel(m.raw, rounds, m.curve)
	if err != nil {
		return err
	}
	m.explain.drop()
	m.trees, m.best = nm.trees, nm.best
	return nil
}
func (m *xgbModel) close() {
	m.explain.drop()
}

// gain sums each column's loss reduction over the splits of the trees used
// (total gain), read from the model's JSON.
func (m *xgbModel) gain(p int) []float64 {
	out := make([]float64, p)
	raw := m.raw
	var doc struct {
		Learner struct {
			GradientBooster struct {
				Model struct {
					Trees []struct {
						SplitIndices []int     `json:"split_indices"`
						LossChanges  []float64 `json:"loss_changes"`
						LeftChildren []int     `json:"left_children"`
					} `json:"trees"`
				} `json:"model"`
			} `json:"gradient_booster"`
		} `json:"learner"`
	}
	if json.Unmarshal(raw, &doc) != nil {
		return out
	}
	for t, tree := range doc.Learner.GradientBooster.Model.Trees {
		if t >= m.best {
			break
		}
		for i, left := range tree.LeftChildren {
			if left >= 0 && i < len(tree.SplitIndices) && i < len(tree.LossChanges) {
				if f := tree.SplitIndices[i]; f >= 0 && f < p {
					out[f] += tree.LossChanges[i]
				}
			}
		}
	}
	return out
}

// ---- logistic regression ----

type logregModel struct{ m *logreg.Model }

func toFloat64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func fitLogReg(ctx context.Context, d *fitData, p *Params) (fitted, error) {
	var w []float64
	if d.w != nil {
		w = toFloat64(d.w)
	}
	m, err := logreg.Fit(ctx, toFloat64(d.train.X), d.train.N, d.train.P, toFloat64(d.y), w, logreg.Params{L2: p.L2, MaxIter: p.MaxIter})
	if err != nil {
		return nil, err
	}
	return &logregModel{m: m}, nil
}

func (l *logregModel) margins(x matrix) ([]float64, error) {
	if x.P != len(l.m.Coef) {
		return nil, fmt.Errorf("logreg: %d columns, model has %d", x.P, len(l.m.Coef))
	}
	return l.m.Margins(toFloat64(x.X), x.N), nil
}

func (l *logregModel) contributions(_ context.Context, x matrix, _ bool, _ int, featOf []int, dst []float64) error {
	if x.P != len(l.m.Coef) {
		return fmt.Errorf("logreg: %d columns, model has %d", x.P, len(l.m.Coef))
	}
	w := len(dst) / max(x.N, 1)
	row := make([]float64, x.P)
	var c []float64
	for i := 0; i < x.N; i++ {
		for j, v := range x.row(i) {
			row[j] = float64(v)
		}
		c = l.m.Contributions(row, c)
		addPerFeature(dst[i*w:(i+1)*w], c, featOf)
	}
	return nil
}

func (l *logregModel) gain(p int) []float64 {
	out := make([]float64, p)
	for i := range out {
		if i < len(l.m.Coef) {
			out[i] = math.Abs(l.m.Coef[i])
		}
	}
	return out
}

func (l *logregModel) rounds() int { return 0 }
func (l *logregModel) close()      {}
