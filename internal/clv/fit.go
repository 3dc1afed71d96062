package clv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Errors returned by the fits wrap one of these.
var (
	// ErrData marks input the model cannot take: no customers, negative
	// or non-finite values, recency beyond T, survivor counts that rise.
	ErrData = errors.New("clv: invalid data")
	// ErrFit marks an optimizer that could not make progress (or a start
	// where the likelihood is not finite).
	ErrFit = errors.New("clv: fit failed")
)

// Convergence tolerances of fitPositive, on the mean negative
// log-likelihood per customer (or per cohort member) and its gradient in
// the logarithms of the parameters.
const (
	gradTol       = 1e-9
	acceptGradTol = 1e-6 // a stalled line search this close to zero gradient has converged
	defaultMaxIt  = 1000
)

// fitResult is a minimum of a mean negative log-likelihood.
type fitResult struct {
	x          []float64 // parameters, original scale
	f          float64   // mean negative log-likelihood at x
	iterations int
	converged  bool
	nll        func(p, g []float64) float64
}

// recorder stops the optimizer when ctx is done.
type recorder struct{ ctx context.Context }

func (r recorder) Init() error { return r.ctx.Err() }
func (r recorder) Record(*optimize.Location, optimize.Operation, *optimize.Stats) error {
	return r.ctx.Err()
}

// fitPositive minimises nll (a mean negative log-likelihood of positive
// parameters, with its gradient in those parameters when g is non-nil)
// with BFGS on the logarithms of the parameters, from opt.Start or start.
func fitPositive(ctx context.Context, model string, start []float64, opt *FitOptions, nll func(p, g []float64) float64) (fitResult, error) {
	maxIt := defaultMaxIt
	if opt != nil {
		if opt.Start != nil {
			if len(opt.Start) != len(start) {
				return fitResult{}, fmt.Errorf("%w: %s: start has %d parameters, want %d", ErrData, model, len(opt.Start), len(start))
			}
			start = opt.Start
		}
		if opt.MaxIterations > 0 {
			maxIt = opt.MaxIterations
		}
	}
	n := len(start)
	theta := make([]float64, n)
	for i, v := range start {
		if !(v > 0) || math.IsInf(v, 0) {
			return fitResult{}, fmt.Errorf("%w: %s: start parameter %d = %v is not a positive number", ErrData, model, i+1, v)
		}
		theta[i] = math.Log(v)
	}
	p := make([]float64, n)
	exp := func(th []float64) []float64 {
		for i, v := range th {
			p[i] = math.Exp(v)
		}
		return p
	}
	// gonum asks for the value and then the gradient at the same point;
	// one pass computes both, cached for the second call.
	gp := make([]float64, n)
	lastTheta := make([]float64, n)
	var lastF float64
	haveLast := false
	eval := func(th []float64) float64 {
		if haveLast && slices.Equal(th, lastTheta) {
			return lastF
		}
		lastF = nll(exp(th), gp)
		copy(lastTheta, th)
		haveLast = true
		return lastF
	}
	prob := optimize.Problem{
		Func: func(th []float64) float64 {
			if v := eval(th); !math.IsNaN(v) {
				return v
			}
			return math.Inf(1)
		},
		Grad: func(g, th []float64) {
			eval(th)
			for i := range g {
				g[i] = gp[i] * math.Exp(th[i]) // d/dlog p = p·d/dp
			}
		},
	}
	if f0 := prob.Func(theta); math.IsInf(f0, 0) {
		return fitResult{}, fmt.Errorf("%w: %s: the log-likelihood is not finite at the start %v", ErrFit, model, start)
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIt,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		Recorder:          recorder{ctx},
	}
	res, err := optimize.Minimize(prob, theta, settings, &optimize.BFGS{})
	if cerr := ctx.Err(); cerr != nil {
		return fitResult{}, cerr
	}
	if res == nil {
		return fitResult{}, fmt.Errorf("%w: %s: %v", ErrFit, model, err)
	}
	g := make([]float64, n)
	prob.Grad(g, res.X)
	gmax := 0.0
	for _, v := range g {
		gmax = math.Max(gmax, math.Abs(v))
	}
	converged := gmax <= acceptGradTol
	if err != nil && !converged || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		return fitResult{}, fmt.Errorf("%w: %s: %v (gradient %.3g after %d iterations)", ErrFit, model, err, gmax, res.Stats.MajorIterations)
	}
	x := make([]float64, n)
	copy(x, exp(res.X))
	return fitResult{x: x, f: res.F, iterations: res.Stats.MajorIterations, converged: converged, nll: nll}, nil
}

// se returns the standard errors of the parameters, in their original
// scale, from the observed information: the inverse of the Hessian of the
// total negative log-likelihood (total = the mean's times the number of
// observations), by central differences of the analytic gradient. They
// are NaN when the Hessian is singular or not positive definite.
func (r fitResult) se(total float64) []float64 {
	n := len(r.x)
	out := make([]float64, n)
	h := mat.NewSymDense(n, nil)
	gp, gm := make([]float64, n), make([]float64, n)
	p := make([]float64, n)
	rows := make([][]float64, n)
	for j := range n {
		step := 1e-5 * r.x[j]
		copy(p, r.x)
		p[j] = r.x[j] + step
		r.nll(p, gp)
		p[j] = r.x[j] - step
		r.nll(p, gm)
		rows[j] = make([]float64, n)
		for i := range n {
			rows[j][i] = (gp[i] - gm[i]) / (2 * step) * total
		}
	}
	for i := range n {
		for j := i; j < n; j++ {
			h.SetSym(i, j, (rows[i][j]+rows[j][i])/2)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(h) {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	var cov mat.SymDense
	if err := chol.InverseTo(&cov); err != nil {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	for i := range n {
		out[i] = math.Sqrt(cov.At(i, i))
	}
	return out
}

// chunkSize is the number of observations one goroutine sums at a time.
// It is a constant, not derived from GOMAXPROCS: the partial sums are
// added in chunk order, so the result is bit-identical whatever the
// parallelism.
const chunkSize = 8192

// chunkSums runs sum over [0, n) in chunks of chunkSize, in parallel on up
// to GOMAXPROCS goroutines (all finished when it returns), and returns the
// chunks' results in chunk order.
func chunkSums[S any](n int, sum func(lo, hi int) S) []S {
	nch := (n + chunkSize - 1) / chunkSize
	part := make([]S, nch)
	work := func(k int) { part[k] = sum(k*chunkSize, min((k+1)*chunkSize, n)) }
	workers := min(runtime.GOMAXPROCS(0), nch)
	if workers <= 1 {
		for k := range nch {
			work(k)
		}
		return part
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Go(func() {
			for k := int(next.Add(1) - 1); k < nch; k = int(next.Add(1) - 1) {
				work(k)
			}
		})
	}
	wg.Wait()
	return part
}
