package logreg

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/optimize"
)

// Errors returned by Fit wrap one of these.
var (
	ErrParams = errors.New("logreg: invalid params")
	ErrData   = errors.New("logreg: invalid data")
)

// Params are the hyperparameters of Fit. The zero value means the defaults.
type Params struct {
	// L2 is the penalty on the squared norm of the coefficients of the
	// standardised features: 1/C in scikit-learn's terms. 0 means 1. For an
	// almost unpenalised fit use a tiny value such as 1e-8 (a separable
	// problem then has no finite optimum and stops at MaxIter).
	L2 float64
	// MaxIter caps the L-BFGS iterations; 0 means 1000.
	MaxIter int
	// Tol stops the fit when every component of the gradient of the objective,
	// divided by the total weight, is below it in absolute value; 0 means 1e-8.
	Tol float64
	// PositiveWeight multiplies the weight of every row with y = 1 (a class
	// weight); 0 means 1. A row's weight counts as that many copies of the row,
	// in the standardisation as in the loss.
	PositiveWeight float64
}

func (p Params) withDefaults() (Params, error) {
	bad := func(name string, v float64) error {
		return fmt.Errorf("%w: %s = %v, want a finite number ≥ 0", ErrParams, name, v)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"L2", p.L2}, {"Tol", p.Tol}, {"PositiveWeight", p.PositiveWeight}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return p, bad(f.name, f.v)
		}
	}
	if p.MaxIter < 0 {
		return p, fmt.Errorf("%w: MaxIter = %d, want ≥ 0", ErrParams, p.MaxIter)
	}
	if p.L2 == 0 {
		p.L2 = 1
	}
	if p.MaxIter == 0 {
		p.MaxIter = 1000
	}
	if p.Tol == 0 {
		p.Tol = 1e-8
	}
	if p.PositiveWeight == 0 {
		p.PositiveWeight = 1
	}
	return p, nil
}

// Model is a fitted logistic regression. Its fields are exported so that it
// can be serialised (as JSON, by the caller); all values are finite.
//
// The margin (log-odds of y = 1) of a row x is
// Intercept + Σⱼ Coef[j]·zⱼ with zⱼ = (x[j] − Mean[j]) / Scale[j], and zⱼ = 0
// where x[j] is NaN.
type Model struct {
	Mean  []float64 `json:"mean"`  // per feature, over non-missing values (0 if none)
	Scale []float64 `json:"scale"` // per feature standard deviation; 1 for a constant or empty feature
	Coef  []float64 `json:"coef"`  // per standardised feature
	// Intercept is the margin of a row at the means.
	Intercept float64 `json:"intercept"`
	// Iterations is the number of L-BFGS iterations run.
	Iterations int `json:"iterations"`
	// Converged reports whether the gradient tolerance (or a stalled
	// objective) was reached before MaxIter.
	Converged bool `json:"converged"`
}

// Fit fits a model to the n×p row-major matrix X (NaN marks a missing value;
// ±Inf is an error) and labels y (0 or 1, both present). w holds a weight ≥ 0
// per row; nil means all ones. The inputs are not modified or retained.
//
// Fit checks ctx between evaluations of the objective and returns ctx's error
// if it is done. A fit that reaches MaxIter is returned with Converged false
// and no error.
func Fit(ctx context.Context, X []float64, n, p int, y, w []float64, prm Params) (*Model, error) {
	prm, err := prm.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := checkData(X, n, p, y, w, prm.PositiveWeight); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("logreg: fit: %w", err)
	}

	// v: row weights times class weight, normalised to sum 1, so that Tol does
	// not depend on n or the scale of w. Dividing Σ uᵢℓᵢ + L2/2‖β‖² by the
	// total weight U moves the optimum nowhere: the penalty becomes L2/U.
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
		if w != nil {
			v[i] = w[i]
		}
		if y[i] == 1 {
			v[i] *= prm.PositiveWeight
		}
	}
	total := floats.Sum(v)
	floats.Scale(1/total, v)

	m := &Model{Mean: make([]float64, p), Scale: make([]float64, p), Coef: make([]float64, p)}
	z := standardise(X, n, p, v, m.Mean, m.Scale)

	o := &objective{z: z, n: n, p: p, y: y, v: v, l2: prm.L2 / total,
		margin: make([]float64, n), resid: make([]float64, n)}
	x0 := make([]float64, p+1)
	// Start at the intercept that fits the base rate: fewer iterations, same optimum.
	var pos float64
	for i := range n {
		pos += v[i] * y[i]
	}
	x0[p] = math.Log(pos / (1 - pos))

	problem := optimize.Problem{
		Func: o.f,
		Grad: o.grad,
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: prm.Tol,
		MajorIterations:   prm.MaxIter,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 20},
	}
	res, err := optimize.Minimize(problem, x0, settings, &optimize.LBFGS{})
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("logreg: fit: %w", ctxErr)
	}
	if err != nil && res == nil {
		return nil, fmt.Errorf("logreg: fit: %w", err)
	}
	// With err != nil (a line search that fails once the objective is flat
	// to rounding) res.X is still the best location found.
	x := res.X
	copy(m.Coef, x[:p])
	m.Intercept = x[p]
	m.Iterations = res.Stats.MajorIterations
	switch res.Status {
	case optimize.GradientThreshold, optimize.FunctionConvergence:
		m.Converged = true
	default:
		if err != nil {
			g := make([]float64, p+1)
			o.grad(g, x)
			m.Converged = floats.Norm(g, math.Inf(1)) < 100*prm.Tol
		}
	}
	for _, c := range append(slices.Clone(m.Coef), m.Intercept) {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("logreg: fit diverged (status %v)", res.Status)
		}
	}
	return m, nil
}

func checkData(X []float64, n, p int, y, w []float64, pw float64) error {
	if n <= 0 || p <= 0 {
		return fmt.Errorf("%w: need n > 0 and p > 0, got %d×%d", ErrData, n, p)
	}
	if n > math.MaxInt/p || len(X) != n*p {
		return fmt.Errorf("%w: len(X) = %d, want n×p = %d×%d", ErrData, len(X), n, p)
	}
	if len(y) != n {
		return fmt.Errorf("%w: len(y) = %d, want n = %d", ErrData, len(y), n)
	}
	if w != nil && len(w) != n {
		return fmt.Errorf("%w: len(w) = %d, want n = %d", ErrData, len(w), n)
	}
	var wpos, wneg float64
	for i := range n {
		wi := 1.0
		if w != nil {
			wi = w[i]
			if math.IsNaN(wi) || math.IsInf(wi, 0) || wi < 0 {
				return fmt.Errorf("%w: w[%d] = %v, want a finite weight ≥ 0", ErrData, i, wi)
			}
		}
		switch y[i] {
		case 0:
			wneg += wi
		case 1:
			wpos += wi * pw
		default:
			return fmt.Errorf("%w: y[%d] = %v, want 0 or 1", ErrData, i, y[i])
		}
		for j, x := range X[i*p : (i+1)*p] {
			if math.IsInf(x, 0) {
				return fmt.Errorf("%w: X[row %d, column %d] = %v; use NaN for missing", ErrData, i, j, x)
			}
		}
	}
	if wpos == 0 || wneg == 0 {
		return fmt.Errorf("%w: need both classes with positive weight, got weight %v for y=1 and %v for y=0", ErrData, wpos, wneg)
	}
	if math.IsInf(wpos+wneg, 0) {
		return fmt.Errorf("%w: total weight overflows", ErrData)
	}
	return nil
}

// standardise fills mean and scale from the non-missing values of each column
// of X, weighted by v, and returns the standardised matrix with missing values
// as 0.
func standardise(X []float64, n, p int, v, mean, scale []float64) []float64 {
	// Weighted mean and variance of the deviations from each column's first
	// value (a shift that keeps a constant column exact and avoids
	// cancellation for large values), two passes.
	first := make([]float64, p)
	seen := make([]bool, p)
	wsum := make([]float64, p)
	for i := range n {
		if v[i] == 0 {
			continue
		}
		for j, x := range X[i*p : (i+1)*p] {
			if math.IsNaN(x) {
				continue
			}
			if !seen[j] {
				seen[j], first[j] = true, x
			}
			wsum[j] += v[i]
			mean[j] += v[i] * (x - first[j])
		}
	}
	for j := range p {
		if wsum[j] > 0 {
			mean[j] = first[j] + mean[j]/wsum[j]
		}
	}
	for i := range n {
		if v[i] == 0 {
			continue
		}
		for j, x := range X[i*p : (i+1)*p] {
			if !math.IsNaN(x) {
				d := x - mean[j]
				scale[j] += v[i] * d * d
			}
		}
	}
	constant := make([]bool, p)
	for j := range p {
		sd := 0.0
		if wsum[j] > 0 {
			sd = math.Sqrt(scale[j] / wsum[j])
		}
		// A constant (or empty) column gets scale 1, and all its values
		// standardise to exactly 0, so it contributes nothing.
		if !(sd > 1e-12*math.Max(1, math.Abs(mean[j]))) {
			sd, constant[j] = 1, true
		}
		scale[j] = sd
	}
	z := make([]float64, n*p)
	for i := range n {
		zi := z[i*p : (i+1)*p]
		for j, x := range X[i*p : (i+1)*p] {
			if !math.IsNaN(x) && !constant[j] {
				zi[j] = (x - mean[j]) / scale[j]
			}
		}
	}
	return z
}

// objective is the normalised penalised negative log-likelihood over
// x = (β₁…βₚ, b). f and grad share one pass over the data per location.
type objective struct {
	z             []float64 // n×p standardised
	n, p          int
	y, v          []float64
	l2            float64 // penalty for the normalised weights
	last          []float64
	f0            float64
	g0            []float64
	margin, resid []float64
}

func (o *objective) f(x []float64) float64 {
	o.eval(x)
	return o.f0
}

func (o *objective) grad(g, x []float64) {
	o.eval(x)
	copy(g, o.g0)
}

func (o *objective) eval(x []float64) {
	if o.last != nil && slices.Equal(o.last, x) {
		return
	}
	o.last = append(o.last[:0], x...)
	if o.g0 == nil {
		o.g0 = make([]float64, o.p+1)
	}
	beta, b := x[:o.p], x[o.p]
	zm := blas64.General{Rows: o.n, Cols: o.p, Stride: o.p, Data: o.z}
	// margin = Z·β + b
	for i := range o.margin {
		o.margin[i] = b
	}
	blas64.Gemv(blas.NoTrans, 1, zm, blas64.Vector{N: o.p, Inc: 1, Data: beta}, 1, blas64.Vector{N: o.n, Inc: 1, Data: o.margin})
	var f, gb float64
	for i, m := range o.margin {
		// logloss = softplus(m) − y·m; d/dm = σ(m) − y.
		f += o.v[i] * (softplus(m) - o.y[i]*m)
		r := o.v[i] * (sigmoid(m) - o.y[i])
		o.resid[i] = r
		gb += r
	}
	g := o.g0[:o.p]
	// g = Zᵀ·resid + l2·β
	copy(g, beta)
	blas64.Gemv(blas.Trans, 1, zm, blas64.Vector{N: o.n, Inc: 1, Data: o.resid}, o.l2, blas64.Vector{N: o.p, Inc: 1, Data: g})
	o.g0[o.p] = gb
	o.f0 = f + o.l2/2*floats.Dot(beta, beta)
}

func softplus(m float64) float64 {
	if m > 0 {
		return m + math.Log1p(math.Exp(-m))
	}
	return math.Log1p(math.Exp(m))
}

func sigmoid(m float64) float64 {
	if m >= 0 {
		return 1 / (1 + math.Exp(-m))
	}
	e := math.Exp(m)
	return e / (1 + e)
}

// Margin returns the log-odds of y = 1 for one row x of len(Coef) values
// (NaN = missing). It panics if len(x) is wrong.
func (m *Model) Margin(x []float64) float64 {
	m.checkLen(len(x), 1)
	s := m.Intercept
	for j, c := range m.Coef {
		if !math.IsNaN(x[j]) {
			s += c * (x[j] - m.Mean[j]) / m.Scale[j]
		}
	}
	return s
}

// Margins returns the margin of each row of the n×len(Coef) row-major X.
// It panics if len(X) is wrong.
func (m *Model) Margins(X []float64, n int) []float64 {
	p := len(m.Coef)
	m.checkLen(len(X), n)
	out := make([]float64, n)
	for i := range out {
		out[i] = m.Margin(X[i*p : (i+1)*p])
	}
	return out
}

// Contributions writes each feature's share of x's margin, Coef[j]·zⱼ (0 for
// a missing value), followed by the intercept, into dst, which is grown to
// len(Coef)+1 if needed and returned. The values sum to Margin(x) up to
// rounding. It panics if len(x) is wrong.
func (m *Model) Contributions(x []float64, dst []float64) []float64 {
	m.checkLen(len(x), 1)
	p := len(m.Coef)
	dst = slices.Grow(dst[:0], p+1)[:p+1]
	for j, c := range m.Coef {
		dst[j] = 0
		if !math.IsNaN(x[j]) {
			dst[j] = c * (x[j] - m.Mean[j]) / m.Scale[j]
		}
	}
	dst[p] = m.Intercept
	return dst
}

// Probability is the logistic function of a margin.
func Probability(margin float64) float64 { return sigmoid(margin) }

func (m *Model) checkLen(got, rows int) {
	if p := len(m.Coef); got != rows*p {
		panic(fmt.Sprintf("logreg: got %d values for %d rows of %d features", got, rows, p))
	}
}
