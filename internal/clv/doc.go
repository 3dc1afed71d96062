// Package clv holds the probability models of customer-base analysis by
// Fader and Hardie, in pure Go on plain values: BG/NBD (is a customer of a
// business without contracts still alive, and how much will they buy),
// Gamma-Gamma (how much they spend per purchase), customer lifetime value
// from the two, and the shifted-beta-geometric model (sBG) that projects the
// retention of contractual cohorts. docs/lifetime.md gives the formulas and
// their sources.
//
// Time is in weeks, as in the papers. A [Summary] is one customer's
// calibration-period RFM summary; callers build it (features.RFM does so
// from orders). Fits are maximum likelihood with gonum's optimizers from
// fixed default starts, deterministic (the same inputs give bit-identical
// parameters), and report standard errors from the observed information
// (the inverse Hessian of the negative log-likelihood at the optimum).
// Fit errors wrap [ErrData] (input the model cannot take) or [ErrFit] (no
// progress). Fitted models are plain values with exported fields, safe for
// concurrent use; [ScoreAll] scores many customers at once. Fits and
// ScoreAll spread their sums over up to GOMAXPROCS goroutines, all
// finished when they return, in fixed-size chunks added in a fixed order.
// Inputs are never modified.
package clv
