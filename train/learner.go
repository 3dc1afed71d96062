package train

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/internal/logreg"
	"github.com/churnlab/churn/internal/xgb"
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

type xgbModel struct {
	b     *xgb.Booster
	best  int       // rounds to predict with
	curve []float64 // validation log loss after each round, when validated
	// explain computes contributions in Go, from the booster's trees.
	explain explainers
}

func xgbParams(p *Params) [][2]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return [][2]string{
		{"objective", "binary:logistic"},
		{"eval_metric", "logloss"},
		{"tree_method", "hist"},
		{"max_depth", strconv.Itoa(p.MaxDepth)},
		{"eta", f(p.Eta)},
		{"min_child_weight", f(*p.MinChildWeight)},
		{"subsample", f(p.Subsample)},
		{"colsample_bytree", f(p.ColsampleByTree)},
		{"lambda", f(*p.Lambda)},
		{"alpha", f(p.Alpha)},
		{"nthread", strconv.Itoa(p.Threads)},
		{"seed", strconv.FormatUint(p.Seed%(1<<31), 10)},
		{"verbosity", "0"},
	}
}

// releaseFloats is the size of a training matrix (in values) from which
// fitXGBoost returns its memory to the operating system once XGBoost has
// copied it: 16M float32s, 64 MB. Below it the forced collection is not
// worth its time.
const releaseFloats = 16 << 20

// fitXGBoost fits a booster on d. It consumes d.train.X: the matrix is
// dropped (set to nil) once XGBoost holds its own copy.
func fitXGBoost(ctx context.Context, d *fitData, p *Params, log func(string, ...any)) (_ fitted, err error) {
	dtrain, err := xgb.NewDMatrix(d.train.X, d.train.N, d.train.P)
	if err != nil {
		return nil, err
	}
	defer dtrain.Close()
	// XGBoost copied the rows into its own pages: let the dense matrix go
	// and hand its memory back now, before boosting allocates XGBoost's
	// buffers. Otherwise Go keeps the pages for reuse and the process holds
	// the rows three times (table, matrix, DMatrix) at its peak.
	d.train.X = nil
	if d.train.N*d.train.P >= releaseFloats {
		debug.FreeOSMemory()
	}
	if err := dtrain.SetLabels(d.y); err != nil {
		return nil, err
	}
	if d.w != nil {
		if err := dtrain.SetWeights(d.w); err != nil {
			return nil, err
		}
	}
	cache := []*xgb.DMatrix{dtrain}
	var dvalid *xgb.DMatrix
	if d.valid != nil {
		if dvalid, err = xgb.NewDMatrix(d.valid.X, d.valid.N, d.valid.P); err != nil {
			return nil, err
		}
		defer dvalid.Close()
		if err := dvalid.SetLabels(d.vy); err != nil {
			return nil, err
		}
		if d.vw != nil {
			if err := dvalid.SetWeights(d.vw); err != nil {
				return nil, err
			}
		}
		cache = append(cache, dvalid)
	}
	b, err := xgb.NewBooster(cache...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	for _, kv := range xgbParams(p) {
		if err := b.SetParam(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if err := b.SetFeatureNames(d.names); err != nil {
		return nil, err
	}
	best, bestLoss, since := p.Rounds, math.Inf(1), 0
	var curve []float64
	for it := 0; it < p.Rounds; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := b.UpdateOneIter(it, dtrain); err != nil {
			return nil, err
		}
		if dvalid == nil {
			continue
		}
		res, err := b.Eval(it, []*xgb.DMatrix{dvalid}, []string{"valid"})
		if err != nil {
			return nil, err
		}
		loss := res["valid"]["logloss"]
		curve = append(curve, loss)
		if p.EarlyStopping <= 0 {
			continue
		}
		if loss < bestLoss-1e-9 {
			best, bestLoss, since = it+1, loss, 0
		} else if since++; since >= p.EarlyStopping {
			log("early stopping", "round", it+1, "best_round", best, "valid_logloss", bestLoss)
			break
		}
	}
	if err := b.SetAttr("best_iteration", strconv.Itoa(best-1)); err != nil {
		return nil, err
	}
	return &xgbModel{b: b, best: best, curve: curve}, nil
}

func (m *xgbModel) predict(x matrix, opt xgb.PredictOptions) ([]float32, error) {
	dm, err := xgb.NewDMatrix(x.X, x.N, x.P)
	if err != nil {
		return nil, err
	}
	defer dm.Close()
	opt.IterationEnd = m.best
	out, _, err := m.b.Predict(dm, opt)
	return out, err
}

func (m *xgbModel) margins(x matrix) ([]float64, error) {
	out, err := m.predict(x, xgb.PredictOptions{Margin: true})
	if err != nil {
		return nil, err
	}
	if len(out) != x.N {
		return nil, fmt.Errorf("xgboost returned %d margins for %d rows", len(out), x.N)
	}
	res := make([]float64, len(out))
	for i, v := range out {
		res[i] = float64(v)
	}
	return res, nil
}

// contributions explains the rows with the booster's trees in Go
// (xgb.Explainer): XGBoost's own pred_contribs (TreeSHAP) or
// approx_contribs (Saabas) to the bit, at a fraction of the cost. The rows
// are split between up to workers goroutines, each with an explainer (and
// its cache) kept between calls.
func (m *xgbModel) contributions(ctx context.Context, x matrix, approx bool, workers int, featOf []int, dst []float64) error {
	trees, err := m.explain.load(m.b, m.best)
	if err != nil {
		return err
	}
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

// explainers holds a model's trees as xgb.Explainer reads them, parsed on
// first use, and the explainers not in use, so that their caches outlive a
// call. Their results do not depend on which explainer computes them.
type explainers struct {
	once  sync.Once
	trees *xgb.Trees
	err   error
	mu    sync.Mutex
	free  []*xgb.Explainer
}

func (p *explainers) load(b *xgb.Booster, rounds int) (*xgb.Trees, error) {
	p.once.Do(func() {
		raw, err := b.SaveJSON()
		if err != nil {
			p.err = err
			return
		}
		p.trees, p.err = xgb.ParseTrees(raw, rounds)
	})
	return p.trees, p.err
}

func (p *explainers) get(t *xgb.Trees) *xgb.Explainer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		e := p.free[n-1]
		p.free = p.free[:n-1]
		return e
	}
	return t.NewExplainer()
}

func (p *explainers) put(e *xgb.Explainer) {
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
func (m *xgbModel) close() {
	m.explain.drop()
	m.b.Close()
}

// gain sums each column's loss reduction over the splits of the trees used
// (total gain), read from the model's JSON.
func (m *xgbModel) gain(p int) []float64 {
	out := make([]float64, p)
	raw, err := m.b.SaveJSON()
	if err != nil {
		return out
	}
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
