package clv

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
