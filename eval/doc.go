// Package eval builds the evaluation report of a churn model: whether to
// trust tonight's model and whom to call. [Run] scores a feature table with
// a [train.Model], measures it on the labelled rows (discrimination,
// calibration, lift, decisions at a capacity, a threshold and a cost
// trade-off, segments), compares it with baselines on the same rows (the
// base rate, a rule-based health score and optionally the previous
// champion), backtests it by retraining at several as-of dates, ranks
// feature importance, derives retention figures from the table (and, given
// the dataset, Kaplan-Meier curves of time to churn by signup cohort, plan,
// segment and risk tier: [Survival]), checks drift against the training
// reference, and sums it up in a verdict with the accounts to call.
//
// [SurvivalChart] draws Kaplan-Meier curves with their bands in the
// report's style; [TimeToChurn] and [SurvivalCounts] give other reports
// (churn review, churn lifetime) the same churn definitions and curves.
//
// [Report] holds every number; [Report.Write] writes report.html (one
// self-contained file with inline SVG charts), report.json (stable keys,
// documented in docs/eval.md) and report.md atomically. The same inputs and
// seed give byte-identical report.json and report.md.
//
// eval imports train (to load, score and refit models) and features; train
// never imports eval (docs/decisions.md).
package eval
