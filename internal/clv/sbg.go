package clv

import (
	"context"
	"fmt"
	"math"
)

// FitSBG fits sBG to a cohort's survivor counts: alive[0] is the cohort's
// size, alive[t] the customers alive at the start of period t
// (non-increasing). Customers alive at the last period are censored.
//
// The log-likelihood (Fader and Hardie 2007, appendix) is
//
//	Σ_{t=1..n} (alive[t−1] − alive[t])·log P(T = t) + alive[n]·log S(n),
//	P(T = t) = B(α+1, β+t−1)/B(α, β),  S(t) = B(α, β+t)/B(α, β),
//
// maximised with BFGS and the analytic gradient on log α and log β from
// α = β = 1. Counts need not be whole (shares of a cohort work, with
// standard errors on that scale). It fails with ErrData when there are
// fewer than two periods or the counts are negative, not finite, or rise.
// A cohort where nobody churns has no finite optimum (α → 0): the fit
// stops where the likelihood stops improving and reports it.
func FitSBG(ctx context.Context, alive []float64, opt *FitOptions) (SBGFit, error) {
	if len(alive) < 2 {
		return SBGFit{}, fmt.Errorf("%w: sBG needs the cohort size and at least one later period, got %d values", ErrData, len(alive))
	}
	for t, v := range alive {
		switch {
		case !(v >= 0) || math.IsInf(v, 0):
			return SBGFit{}, fmt.Errorf("%w: period %d: alive %v is not a finite number ≥ 0", ErrData, t, v)
		case t == 0 && v == 0:
			return SBGFit{}, fmt.Errorf("%w: period 0: the cohort is empty", ErrData)
		case t > 0 && v > alive[t-1]:
			return SBGFit{}, fmt.Errorf("%w: period %d: alive %v exceeds period %d's %v (survivor counts cannot rise)", ErrData, t, v, t-1, alive[t-1])
		}
	}
	n0 := alive[0]
	nll := func(p, g []float64) float64 {
		ll, ga, gb := sbgLL(SBG{Alpha: p[0], Beta: p[1]}, alive, g != nil)
		if g != nil {
			g[0], g[1] = -ga/n0, -gb/n0
		}
		return -ll / n0
	}
	res, err := fitPositive(ctx, "sBG", []float64{1, 1}, opt, nll)
	if err != nil {
		return SBGFit{}, err
	}
	se := res.se(n0)
	return SBGFit{
		SBG:           SBG{Alpha: res.x[0], Beta: res.x[1]},
		SE:            SBG{Alpha: se[0], Beta: se[1]},
		LogLikelihood: -res.f * n0,
		Periods:       len(alive) - 1,
		Iterations:    res.iterations,
		Converged:     res.converged,
	}, nil
}

// sbgLL returns the sBG log-likelihood of the survivor counts and, when
// grad is true, its derivatives in α and β. It walks the periods with
// log r(j) = −log1p(α/(β+j−1)) and log(1 − r(t)) = log α − log(α+β+t−1),
// so S(t) = Π r(j) and P(T = t) = S(t−1)·(1 − r(t)) stay exact when α and
// β are huge (a nearly homogeneous cohort), where differences of log-gamma
// functions of 1e14 would lose every digit.
func sbgLL(m SBG, alive []float64, grad bool) (ll, ga, gb float64) {
	α, β := m.Alpha, m.Beta
	var logS, dSα, dSβ float64 // log S(t−1) and its derivatives
	n := len(alive) - 1
	for t := 1; t <= n; t++ {
		d := α + β + float64(t) - 1 // α+β+t−1
		if lost := alive[t-1] - alive[t]; lost > 0 {
			ll += lost * (logS + math.Log(α) - math.Log(d))
			if grad {
				ga += lost * (dSα + 1/α - 1/d)
				gb += lost * (dSβ - 1/d)
			}
		}
		bt := β + float64(t) - 1 // β+t−1
		logS -= math.Log1p(α / bt)
		if grad {
			dSα -= 1 / d
			dSβ += α / (bt * d)
		}
	}
	if left := alive[n]; left > 0 {
		ll += left * logS
		ga += left * dSα
		gb += left * dSβ
	}
	return ll, ga, gb
}

// Survival returns S(t) = B(α, β+t)/B(α, β), the share of the cohort
// alive at the start of period t (S(t) = 1 for t ≤ 0). Up to 10,000
// periods it is the product of the retention rates (exact for any α, β);
// beyond, log-gamma differences.
func (m SBG) Survival(t int) float64 {
	if t <= 0 {
		return 1
	}
	if t <= 10000 {
		var logS float64
		for j := 1; j <= t; j++ {
			logS -= math.Log1p(m.Alpha / (m.Beta + float64(j) - 1))
		}
		return math.Exp(logS)
	}
	tf := float64(t)
	return math.Exp(lgamma(m.Beta+tf) - lgamma(m.Alpha+m.Beta+tf) - lgamma(m.Beta) + lgamma(m.Alpha+m.Beta))
}

// Retention returns r(t) = S(t)/S(t−1) = (β+t−1)/(α+β+t−1) for t ≥ 1
// (Fader and Hardie 2007, eq. 8); NaN for t < 1.
func (m SBG) Retention(t int) float64 {
	if t < 1 {
		return math.NaN()
	}
	tf := float64(t)
	return (m.Beta + tf - 1) / (m.Alpha + m.Beta + tf - 1)
}

// DERL returns the discounted expected residual lifetime, in periods, of a
// customer who has made n renewals (Fader and Hardie 2010, eq. 6, whose
// "n−1 renewals" is this n−1), at discount rate d per period:
//
//	DERL = (β+n)/(α+β+n) · ₂F₁(1, β+n+1; α+β+n+1; 1/(1+d))
//	     = Σ_{k≥0} S(n+1+k)/S(n) / (1+d)^k,
//
// the expected number of future payments, evaluated just before the next
// renewal decision, the next payment undiscounted. Multiplied by the
// payment per period it is the customer's residual value. With d = 0 it is
// the undiscounted expectation (β+n)/(α−1), +Inf when α ≤ 1. It is NaN
// for n < 0 or d < 0.
func (m SBG) DERL(n int, d float64) float64 {
	if n < 0 || !(d >= 0) {
		return math.NaN()
	}
	nf := float64(n)
	first := (m.Beta + nf) / (m.Alpha + m.Beta + nf)
	if d == 0 {
		if m.Alpha <= 1 {
			return math.Inf(1)
		}
		return (m.Beta + nf) / (m.Alpha - 1)
	}
	return first * hyp2f1One(m.Beta+nf+1, m.Alpha+m.Beta+nf+1, 1/(1+d))
}
