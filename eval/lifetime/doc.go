// Package lifetime is churn lifetime: the probability models of Fader and
// Hardie for businesses without contracts (BG/NBD for purchases and
// dropout, Gamma-Gamma for spend, their CLV) fitted on a dataset's
// purchase events, with the calibration/holdout check and Kaplan-Meier
// retention by signup cohort; and churn lifetime sbg, the
// shifted-beta-geometric model of cohort retention for contractual
// businesses, fitted on survivor counts.
//
// It owns orchestration and reporting only: the models are internal/clv's,
// the calibration summaries features.RFM's (the one definition), the
// Kaplan-Meier estimator internal/metrics', the charts eval's. Run reads
// the dataset in one pass of the streaming column reader (data.Scan with
// only the columns it needs); Write publishes OUT/lifetime.json,
// OUT/customers.parquet and OUT/report.html atomically (data.AtomicDir).
// The same inputs give byte-identical files.
//
// Leakage: every model input (summaries, parameters, scores, the
// Kaplan-Meier curves) comes from events strictly before the as-of date;
// events on or after it only fill the holdout check's "actual" column.
//
// The math is explained in docs/lifetime.md.
package lifetime
