package clv

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// checkSummary reports why s cannot enter a BG/NBD fit, or nil.
func checkSummary(i int, s Summary) error {
	switch {
	case !(s.Frequency >= 0) || math.IsInf(s.Frequency, 0):
		return fmt.Errorf("%w: summary %d: frequency %v is not a finite number ≥ 0", ErrData, i, s.Frequency)
	case !(s.T >= 0) || math.IsInf(s.T, 0):
		return fmt.Errorf("%w: summary %d: T %v is not a finite number ≥ 0", ErrData, i, s.T)
	case !(s.Recency >= 0 && s.Recency <= s.T):
		return fmt.Errorf("%w: summary %d: recency %v is not in [0, T = %v]", ErrData, i, s.Recency, s.T)
	}
	return nil
}

// bgCell is a group of customers with the same (x, tₓ, T).
type bgCell struct {
	x, tx, T float64
	n        float64 // customers in the cell
	ix       int32   // index of x in bgData.xs
	itx, iT  int32   // indexes of tₓ and T in bgData.times
}

// bgData is the compressed form of a BG/NBD fitting set: the likelihood of
// a customer depends on (x, tₓ, T) only, and with times in whole days
// divided by 7 the distinct triples are far fewer than the customers. The
// terms that depend on x alone are summed once per distinct x.
type bgData struct {
	cells []bgCell
	xs    []float64 // distinct frequencies
	nx    []float64 // customers per distinct frequency
	times []float64 // distinct values of tₓ and T
	total float64   // customers
}

func newBGData(s []Summary) (*bgData, error) {
	// Group with a map (cheaper than sorting every customer), then sort
	// the distinct cells so the order, and the sums, are deterministic.
	type key struct{ x, tx, T float64 }
	at := make(map[key]int32)
	var out []bgCell
	for i, v := range s {
		if err := checkSummary(i, v); err != nil {
			return nil, err
		}
		k := key{v.Frequency, v.Recency, v.T}
		if v.Frequency == 0 {
			k.tx = 0 // unused by the likelihood; merge the cells
		}
		if j, ok := at[k]; ok {
			out[j].n++
			continue
		}
		at[k] = int32(len(out))
		out = append(out, bgCell{x: k.x, tx: k.tx, T: k.T, n: 1})
	}
	slices.SortFunc(out, func(a, b bgCell) int {
		if c := cmp.Compare(a.x, b.x); c != 0 {
			return c
		}
		if c := cmp.Compare(a.tx, b.tx); c != 0 {
			return c
		}
		return cmp.Compare(a.T, b.T)
	})
	d := &bgData{total: float64(len(s))}
	for i := range out {
		c := &out[i]
		if k := len(d.xs) - 1; k < 0 || d.xs[k] != c.x {
			d.xs = append(d.xs, c.x)
			d.nx = append(d.nx, 0)
		}
		c.ix = int32(len(d.xs) - 1)
		d.nx[c.ix] += c.n
	}
	d.cells = slices.Clip(out)
	for _, c := range d.cells {
		d.times = append(d.times, c.tx, c.T)
	}
	slices.Sort(d.times)
	d.times = slices.Compact(d.times)
	for i := range d.cells {
		c := &d.cells[i]
		itx, _ := slices.BinarySearch(d.times, c.tx)
		iT, _ := slices.BinarySearch(d.times, c.T)
		c.itx, c.iT = int32(itx), int32(iT)
	}
	return d, nil
}

// bgSums holds the log-likelihood and its gradient in (r, α, a, b).
type bgSums struct{ ll, gr, gα, ga, gb float64 }

func (s *bgSums) add(o bgSums) {
	s.ll += o.ll
	s.gr += o.gr
	s.gα += o.gα
	s.ga += o.ga
	s.gb += o.gb
}

// eval returns the log-likelihood of m and its gradient in (r, α, a, b);
// grad false skips the gradient.
func (d *bgData) eval(m BGNBD, grad bool) bgSums {
	r, α, a, b := m.R, m.Alpha, m.A, m.B
	var tot bgSums
	// Terms in x alone: Γ(r+x)α^r/Γ(r) · B(a, b+x)/B(a, b).
	lgr, lgb, lgab := lgamma(r), lgamma(b), lgamma(a+b)
	la := math.Log(α)
	var dr, dab, db float64
	if grad {
		dr, db, dab = mathext.Digamma(r), mathext.Digamma(b), mathext.Digamma(a+b)
	}
	for i, x := range d.xs {
		n := d.nx[i]
		tot.ll += n * (lgamma(r+x) - lgr + r*la + lgab + lgamma(b+x) - lgb - lgamma(a+b+x))
		if grad {
			dabx := mathext.Digamma(a + b + x)
			tot.gr += n * (mathext.Digamma(r+x) - dr + la)
			tot.gα += n * r / α
			tot.ga += n * (dab - dabx)
			tot.gb += n * (dab + mathext.Digamma(b+x) - db - dabx)
		}
	}
	// log(α+t) and 1/(α+t) once per distinct time, log(a/(b+x−1)) once
	// per distinct frequency.
	pre := bgPre{lt: make([]float64, len(d.times)), it: make([]float64, len(d.times)), lodds: make([]float64, len(d.xs))}
	for i, v := range d.times {
		pre.lt[i], pre.it[i] = math.Log(α+v), 1/(α+v)
	}
	for i, x := range d.xs {
		if x > 0 {
			pre.lodds[i] = math.Log(a) - math.Log(b+x-1)
		}
	}
	part := chunkSums(len(d.cells), func(lo, hi int) bgSums { return evalCells(d.cells[lo:hi], m, &pre, grad) })
	for _, p := range part {
		tot.add(p)
	}
	return tot
}

// bgPre holds the per-time and per-frequency terms of one evaluation.
type bgPre struct {
	lt, it []float64 // log(α+t), 1/(α+t) per distinct time
	lodds  []float64 // log(a/(b+x−1)) per distinct frequency
}

// evalCells sums the terms that need tₓ and T:
// log[(α+T)^−(r+x) + δ(x>0)·a/(b+x−1)·(α+tₓ)^−(r+x)], as a log-sum-exp.
func evalCells(cells []bgCell, m BGNBD, pre *bgPre, grad bool) bgSums {
	r, a, b := m.R, m.A, m.B
	var s bgSums
	for _, c := range cells {
		rx := r + c.x
		lT := pre.lt[c.iT]
		a3 := -rx * lT
		if c.x == 0 {
			s.ll += c.n * a3
			if grad {
				s.gr -= c.n * lT
				s.gα -= c.n * rx * pre.it[c.iT]
			}
			continue
		}
		ltx := pre.lt[c.itx]
		a4 := pre.lodds[c.ix] - rx*ltx
		// w4 = e^a4/(e^a3+e^a4), the posterior weight of "dropped out
		// after the last purchase".
		var lse, w4 float64
		if a3 >= a4 {
			e := math.Exp(a4 - a3)
			lse, w4 = a3+math.Log(1+e), e/(1+e) // Log(1+e), e ∈ (0, 1]: as exact as Log1p here, 4× faster
		} else {
			e := math.Exp(a3 - a4)
			lse, w4 = a4+math.Log(1+e), 1/(1+e)
		}
		s.ll += c.n * lse
		if grad {
			w3 := 1 - w4
			s.gr -= c.n * (w3*lT + w4*ltx)
			s.gα -= c.n * rx * (w3*pre.it[c.iT] + w4*pre.it[c.itx])
			s.ga += c.n * w4 / a
			s.gb -= c.n * w4 / (b + c.x - 1)
		}
	}
	return s
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// FitBGNBD fits BG/NBD by maximum likelihood to the summaries (Monetary
// unused). It fails when s is empty or the optimizer cannot make progress.
//
// The fit runs BFGS with the analytic gradient on the logarithms of the
// parameters (so they stay positive), on the mean log-likelihood per
// customer; customers with equal (x, tₓ, T) are grouped. The default start
// is r = 1, α = Σ T / Σ (x+1) (so that r/α, the mean purchase rate of the
// prior, is of the data's order whatever the time unit), a = b = 1.
func FitBGNBD(ctx context.Context, s []Summary, opt *FitOptions) (BGNBDFit, error) {
	if len(s) == 0 {
		return BGNBDFit{}, fmt.Errorf("%w: no customers", ErrData)
	}
	d, err := newBGData(s)
	if err != nil {
		return BGNBDFit{}, err
	}
	var sumT, sumX float64
	for _, c := range d.cells {
		sumT += c.n * c.T
		sumX += c.n * (c.x + 1)
	}
	start := []float64{1, math.Max(sumT/sumX, 1e-3), 1, 1}
	toModel := func(p []float64) BGNBD { return BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]} }
	// nll returns −LL/N and its gradient in the original parameters.
	nll := func(p, g []float64) float64 {
		v := d.eval(toModel(p), g != nil)
		if g != nil {
			g[0], g[1], g[2], g[3] = -v.gr/d.total, -v.gα/d.total, -v.ga/d.total, -v.gb/d.total
		}
		return -v.ll / d.total
	}
	res, err := fitPositive(ctx, "BG/NBD", start, opt, nll)
	if err != nil {
		return BGNBDFit{}, err
	}
	return BGNBDFit{
		BGNBD:         toModel(res.x),
		SE:            toModel(res.se(d.total)),
		LogLikelihood: -res.f * d.total,
		Customers:     len(s),
		Iterations:    res.iterations,
		Converged:     res.converged,
	}, nil
}

// LogLikelihood returns Σ log L(r, α, a, b | x, tₓ, T) over s: NaN when a
// summary is invalid (see FitBGNBD) or a parameter is not positive.
func (m BGNBD) LogLikelihood(s []Summary) float64 {
	if !m.valid() {
		return math.NaN()
	}
	d, err := newBGData(s)
	if err != nil {
		return math.NaN()
	}
	return d.eval(m, false).ll
}

func (m BGNBD) valid() bool {
	return m.R > 0 && m.Alpha > 0 && m.A > 0 && m.B > 0 &&
		!math.IsInf(m.R+m.Alpha+m.A+m.B, 0)
}

// logOddsDead returns log[δ(x>0)·a/(b+x−1)·((α+T)/(α+tₓ))^(r+x)], the log
// odds that the customer dropped out after the last purchase (−Inf when
// x = 0: BG/NBD customers can drop out only right after a purchase).
func (m BGNBD) logOddsDead(s Summary) float64 {
	if s.Frequency == 0 {
		return math.Inf(-1)
	}
	return math.Log(m.A) - math.Log(m.B+s.Frequency-1) +
		(m.R+s.Frequency)*(math.Log(m.Alpha+s.T)-math.Log(m.Alpha+s.Recency))
}

// PAlive returns P(alive at T | x, tₓ, T) (Fader, Hardie and Lee 2005,
// note "Computing P(alive) using the BG/NBD model"):
// 1 / (1 + δ(x>0)·a/(b+x−1)·((α+T)/(α+tₓ))^(r+x)).
func (m BGNBD) PAlive(s Summary) float64 {
	lo := m.logOddsDead(s)
	if lo > 0 {
		e := math.Exp(-lo)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(lo))
}

// ExpectedPurchases returns E[Y(t) | x, tₓ, T]: the expected number of
// purchases in the t weeks after T (Fader, Hardie and Lee 2005):
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] · P(alive)
//
// evaluated without overflow for any x (see oneMinusPowHyp) and finite at
// a = 1. It is 0 for t ≤ 0.
func (m BGNBD) ExpectedPurchases(t float64, s Summary) float64 {
	return m.expectedIfAlive(t, s) * m.PAlive(s)
}

// expectedIfAlive returns E[Y(t) | x, tₓ, T] / P(alive): the expected
// purchases of the customer if alive at T.
func (m BGNBD) expectedIfAlive(t float64, s Summary) float64 {
	if t <= 0 {
		return 0
	}
	x := s.Frequency
	z := t / (m.Alpha + s.T + t)
	return oneMinusPowHyp(m.R, m.A, m.B, x, z)
}

// ProbNoPurchase returns the probability of no purchase in the t weeks
// after T: dead, or alive and not buying. Alive at T, the purchase rate's
// posterior is Gamma(r+x, α+T) and a customer can drop out only after a
// purchase, so P(Y(t) = 0 | alive) = ((α+T)/(α+T+t))^(r+x).
func (m BGNBD) ProbNoPurchase(t float64, s Summary) float64 {
	if t <= 0 {
		return 1
	}
	return m.probNoPurchase(t, s, m.PAlive(s))
}

// probNoPurchase is ProbNoPurchase given pa = P(alive).
func (m BGNBD) probNoPurchase(t float64, s Summary, pa float64) float64 {
	if t <= 0 {
		return 1
	}
	quiet := math.Exp(-(m.R + s.Frequency) * math.Log1p(t/(m.Alpha+s.T)))
	return (1 - pa) + pa*quiet
}

// UnconditionalPurchases returns E[X(t)]: the expected number of
// purchases of a new customer in the t weeks after the first purchase
// (Fader, Hardie and Lee 2005):
// (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))].
func (m BGNBD) UnconditionalPurchases(t float64) float64 {
	return m.ExpectedPurchases(t, Summary{})
}
