// Package xgbtree reads the trees of an XGBoost 1.7 JSON model
// (binary:logistic gbtree, numerical splits: the models churn trains) into
// Go and evaluates them without XGBoost and without cgo, so that binaries
// built with CGO_ENABLED=0 (Beam's worker binaries) score with the model
// churn trained.
//
// It owns the one parser of XGBoost's model JSON in churn: [CheckModel]
// checks the structure XGBoost itself trusts (internal/xgb calls it before
// handing bytes to libxgboost) and [Parse] builds a [Trees] from it.
//
// # Results
//
// [Trees.Margins] equals XGBoost 1.7's CPU predictor with output_margin bit
// for bit: float32 comparisons (value < split condition, NaN to the
// default side), the margin started at base_score's logit and each tree's
// leaf added in tree order in float32. [Explainer] computes XGBoost's
// pred_contribs (TreeSHAP) and approx_contribs (Saabas) bit for bit too.
// The tests that prove it call the C API and live in internal/xgb
// (TestMarginsMatchXGBoost, TestExplainerMatchesXGBoost).
//
// # Explaining in Go
//
// XGBoost 1.7's TreeSHAP walks every leaf of every tree for every row and
// zeroes and adds a vector of all columns per tree; its Saabas pays the same
// vector costs. [Explainer] gets the same numbers for far less: a tree's
// TreeSHAP values depend on a row only through its side at each split, so
// they are computed once per distinct decision mask and cached (a few
// thousand masks per depth-4 tree, whatever the number of rows); Saabas
// values are precomputed per leaf; rows pass through the trees in blocks,
// tree by tree; values are read from one-byte codes of the rows (a value's
// place among its column's split conditions). The arithmetic is XGBoost's:
// float32, in XGBoost's order, without fused multiply-adds, so results equal
// XGBoost's bit for bit (TestExplainerMatchesXGBoost,
// train.TestContributionsAreXGBoosts), which a cache hit does not change.
//
// # Concurrency
//
// A [Trees] is immutable and safe for concurrent use; Margins keeps no
// state. An [Explainer] holds a cache and is for one goroutine at a time.
// Nothing here starts goroutines: callers split rows between them.
package xgbtree
