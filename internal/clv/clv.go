package clv

import (
	"context"
	"errors"
)

// errUnimplemented marks the skeleton (issue 12 in progress).
var errUnimplemented = errors.New("clv: not implemented yet")

// Summary is one customer's calibration-period summary.
type Summary struct {
	// Frequency x is the number of repeat purchases: distinct purchase
	// days minus one.
	Frequency float64
	// Recency tₓ is the time from the first to the last purchase day, in
	// weeks (0 when Frequency is 0).
	Recency float64
	// T is the time from the first purchase day to the calibration
	// period's last day, in weeks.
	T float64
	// Monetary is the mean spend per repeat purchase day (the first
	// purchase day excluded); 0 when Frequency is 0.
	Monetary float64
}

// FitOptions tune a maximum-likelihood fit; nil means defaults.
type FitOptions struct {
	// Start overrides the default starting point (parameters in the
	// model's order: r, α, a, b; p, q, γ; α, β). Nil means defaults.
	Start []float64
	// MaxIterations bounds the optimizer's major iterations; 0 means
	// the default (1000).
	MaxIterations int
}

// BGNBD holds the parameters of the BG/NBD model (Fader, Hardie and Lee
// 2005): purchase rates λ ~ Gamma(r, α) and dropout probabilities
// p ~ Beta(a, b).
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// BGNBDFit is a fitted BG/NBD model.
type BGNBDFit struct {
	BGNBD
	// SE holds the standard errors of the parameters (NaN when the
	// information matrix is singular).
	SE            BGNBD   `json:"se"`
	LogLikelihood float64 `json:"log_likelihood"`
	Customers     int     `json:"customers"`
	Iterations    int     `json:"iterations"`
	Converged     bool    `json:"converged"`
}

// GammaGamma holds the parameters of the Gamma-Gamma spend model (Fader,
// Hardie and Lee 2005, "RFM and CLV"): spend per transaction ~ Gamma(p, ν),
// ν ~ Gamma(q, γ).
type GammaGamma struct {
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
}

// GammaGammaFit is a fitted Gamma-Gamma model.
type GammaGammaFit struct {
	GammaGamma
	SE            GammaGamma `json:"se"`
	LogLikelihood float64    `json:"log_likelihood"`
	// Customers counts the repeat customers fitted (Frequency > 0 and
	// Monetary > 0); the others are skipped.
	Customers  int  `json:"customers"`
	Iterations int  `json:"iterations"`
	Converged  bool `json:"converged"`
}

// CLVOptions set the value horizon and discounting.
type CLVOptions struct {
	// Months is the horizon in months of 52/12 weeks.
	Months int
	// AnnualDiscount is the yearly discount rate (0.1 = 10 %), applied
	// monthly as (1+d)^(1/12) − 1.
	AnnualDiscount float64
}

// SBG holds the parameters of the shifted-beta-geometric model (Fader and
// Hardie 2007, "How to project customer retention"): churn probabilities
// θ ~ Beta(α, β).
type SBG struct {
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
}

// SBGFit is a fitted sBG model.
type SBGFit struct {
	SBG
	SE            SBG     `json:"se"`
	LogLikelihood float64 `json:"log_likelihood"`
	// Periods is the number of observed periods after period 0.
	Periods    int  `json:"periods"`
	Iterations int  `json:"iterations"`
	Converged  bool `json:"converged"`
}

// FitSBG fits sBG to a cohort's survivor counts: alive[0] is the cohort's
// size, alive[t] the customers alive at the start of period t
// (non-increasing). Customers alive at the last period are censored.
func FitSBG(ctx context.Context, alive []float64, opt *FitOptions) (SBGFit, error) {
	return SBGFit{}, errUnimplemented
}

// Survival returns S(t), the share of the cohort alive at the start of
// period t (S(0) = 1).
func (m SBG) Survival(t int) float64 { panic(errUnimplemented) }

// Retention returns r(t) = S(t)/S(t−1) for t ≥ 1.
func (m SBG) Retention(t int) float64 { panic(errUnimplemented) }

// DERL returns the discounted expected residual lifetime, in periods, of a
// customer who has made n renewals (Fader and Hardie 2010), at discount
// rate d per period (d = 0: the undiscounted expectation, +Inf when it
// diverges).
func (m SBG) DERL(n int, d float64) float64 { panic(errUnimplemented) }
