package clv

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// ggData holds the repeat customers of a Gamma-Gamma fit, with the terms
// that do not depend on the parameters precomputed.
type ggData struct {
	x, xlxm, lm []float64 // x, x·log(x·m̄), log m̄
	xm          []float64 // x·m̄
}

// ggSums holds the log-likelihood and its gradient in (p, q, γ).
type ggSums struct{ ll, gp, gq, gg float64 }

// eval returns the Gamma-Gamma log-likelihood (Fader, Hardie and Lee
// 2005, "RFM and CLV", with m̄ₓ ~ Gamma(px, νx)):
//
//	Σ log Γ(px+q) − log Γ(px) − log Γ(q) + q log γ + (px−1) log m̄ + px log x − (px+q) log(x m̄ + γ)
func (d *ggData) eval(m GammaGamma, grad bool) ggSums {
	p, q, γ := m.P, m.Q, m.Gamma
	lgq, lγ := lgamma(q), math.Log(γ)
	var dq float64
	if grad {
		dq = mathext.Digamma(q)
	}
	part := chunkSums(len(d.x), func(lo, hi int) ggSums {
		var s ggSums
		// Customers come sorted by x (see newGGData), so the gamma
		// functions of px are computed once per run of equal x.
		prevX, lg, dg, dpx := math.NaN(), 0.0, 0.0, 0.0
		for i := lo; i < hi; i++ {
			x := d.x[i]
			if x != prevX {
				prevX = x
				lg = lgamma(p*x+q) - lgamma(p*x) - lgq + q*lγ
				if grad {
					dpx = mathext.Digamma(p*x + q)
					dg = dpx - mathext.Digamma(p*x)
				}
			}
			l := math.Log(d.xm[i] + γ)
			s.ll += lg + p*d.xlxm[i] - d.lm[i] - (p*x+q)*l
			if grad {
				s.gp += x*dg + d.xlxm[i] - x*l
				s.gq += dpx - dq + lγ - l
				s.gg += q/γ - (p*x+q)/(d.xm[i]+γ)
			}
		}
		return s
	})
	var tot ggSums
	for _, s := range part {
		tot.ll += s.ll
		tot.gp += s.gp
		tot.gq += s.gq
		tot.gg += s.gg
	}
	return tot
}

// newGGData keeps the repeat customers of s (Frequency > 0, Monetary > 0)
// sorted by frequency (stable, so the order, and the sums, are
// deterministic).
func newGGData(s []Summary) (*ggData, error) {
	var keep []int
	for i, v := range s {
		if !(v.Frequency >= 0) || math.IsInf(v.Frequency, 0) {
			return nil, fmt.Errorf("%w: summary %d: frequency %v is not a finite number ≥ 0", ErrData, i, v.Frequency)
		}
		if !(v.Monetary >= 0) || math.IsInf(v.Monetary, 0) {
			return nil, fmt.Errorf("%w: summary %d: monetary value %v is not a finite number ≥ 0", ErrData, i, v.Monetary)
		}
		if v.Frequency > 0 && v.Monetary > 0 {
			keep = append(keep, i)
		}
	}
	slices.SortStableFunc(keep, func(i, j int) int { return cmp.Compare(s[i].Frequency, s[j].Frequency) })
	d := &ggData{
		x:    make([]float64, len(keep)),
		xm:   make([]float64, len(keep)),
		xlxm: make([]float64, len(keep)),
		lm:   make([]float64, len(keep)),
	}
	for k, i := range keep {
		x, m := s[i].Frequency, s[i].Monetary
		d.x[k], d.xm[k], d.xlxm[k], d.lm[k] = x, x*m, x*math.Log(x*m), math.Log(m)
	}
	return d, nil
}

// FitGammaGamma fits Gamma-Gamma by maximum likelihood to the repeat
// customers of s (Frequency > 0, Monetary > 0), with BFGS and the
// analytic gradient on the logarithms of p, q and γ, from the start of
// ggStart. Like the paper, it assumes spend independent of frequency.
func FitGammaGamma(ctx context.Context, s []Summary, opt *FitOptions) (GammaGammaFit, error) {
	d, err := newGGData(s)
	if err != nil {
		return GammaGammaFit{}, err
	}
	n := float64(len(d.x))
	if n == 0 {
		return GammaGammaFit{}, fmt.Errorf("%w: no repeat customers (frequency > 0 and monetary > 0)", ErrData)
	}
	toModel := func(p []float64) GammaGamma { return GammaGamma{P: p[0], Q: p[1], Gamma: p[2]} }
	nll := func(p, g []float64) float64 {
		v := d.eval(toModel(p), g != nil)
		if g != nil {
			g[0], g[1], g[2] = -v.gp/n, -v.gq/n, -v.gg/n
		}
		return -v.ll / n
	}
	res, err := fitPositive(ctx, "Gamma-Gamma", ggStart(d), opt, nll)
	if err != nil {
		return GammaGammaFit{}, err
	}
	return GammaGammaFit{
		GammaGamma:    toModel(res.x),
		SE:            toModel(res.se(n)),
		LogLikelihood: -res.f * n,
		Customers:     len(d.x),
		Iterations:    res.iterations,
		Converged:     res.converged,
	}, nil
}

// ggStart returns the default start p = 1, q = 2, γ = mean(m̄): the prior
// mean spend pγ/(q−1) then equals the sample mean, whatever the currency.
func ggStart(d *ggData) []float64 {
	var sum float64
	for i, xm := range d.xm {
		sum += xm / d.x[i]
	}
	return []float64{1, 2, sum / float64(len(d.xm))}
}

// ExpectedSpend returns E[M | x, m̄ₓ] = p(γ + x m̄ₓ)/(px + q − 1) (Fader,
// Hardie and Lee 2005, "RFM and CLV"): the expected mean spend per
// future purchase, the population mean pγ/(q−1) when Frequency is 0. It is
// +Inf when px + q ≤ 1 (the mean does not exist).
func (m GammaGamma) ExpectedSpend(s Summary) float64 {
	x, mx := s.Frequency, s.Monetary
	if x == 0 {
		mx = 0
	}
	den := m.P*x + m.Q - 1
	if den <= 0 {
		return math.Inf(1)
	}
	return m.P * (m.Gamma + x*mx) / den
}

// CLV returns the discounted expected spend over the horizon: the sum over
// months i = 1..Months of (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) · E[M] / (1+dₘ)^i with
// tᵢ = i·52/12 weeks and dₘ = (1+AnnualDiscount)^(1/12) − 1, so that
// (1+dₘ)^i = (1+AnnualDiscount)^(i/12). Purchases of month i are
// discounted to the present as if paid at the month's end.
//
// lifetimes' customer_lifetime_value (freq "W") differs in two
// conventions: a month is 4.345 weeks there, and its discount_rate is the
// monthly rate itself (default 0.01), not derived from a yearly one. With
// Months ≤ 0 CLV is 0. ScoreAll computes it for many customers at once.
func CLV(bg BGNBD, gg GammaGamma, s Summary, opt CLVOptions) float64 {
	return clvOf(gg.ExpectedSpend(s), discountedPurchases(bg, s, opt, bg.PAlive(s)), opt)
}

// clvOf returns spend × discounted purchases, 0 over no months (even when
// the expected spend is infinite).
func clvOf(spend, dp float64, opt CLVOptions) float64 {
	if opt.Months <= 0 {
		return 0
	}
	return spend * dp
}

// discountedPurchases returns Σ_i (E[Y(tᵢ)] − E[Y(tᵢ₋₁)]) / (1+dₘ)^i, the
// part of CLV that does not depend on spend, given pa = P(alive) (a
// factor of every E[Y(t)], taken out of the sum).
func discountedPurchases(bg BGNBD, s Summary, opt CLVOptions, pa float64) float64 {
	disc := math.Log1p(opt.AnnualDiscount) / 12
	var sum, prev float64
	for i := 1; i <= opt.Months; i++ {
		cur := bg.expectedIfAlive(float64(i)*52/12, s)
		sum += (cur - prev) * math.Exp(-float64(i)*disc)
		prev = cur
	}
	return sum * pa
}
