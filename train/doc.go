// Package train fits churn classifiers on feature tables: gradient-boosted
// trees through XGBoost's C API (the default) and L2-regularised logistic
// regression in pure Go. Around the learners it handles class imbalance,
// categorical encoding (features.Encoder), calibration (Platt or isotonic,
// chosen on held-out rows), out-of-time and grouped validation, a budgeted
// hyperparameter search, per-row explanations (contributions that sum to
// the model's logit), and the model artifact: a versioned directory of
// data (never code) that loads back to bit-identical predictions.
//
// Boosted trees are fitted with XGBoost but scored and explained in Go from
// their JSON trees (internal/xgbtree, equal to XGBoost's margins and
// contributions to the bit; docs/decisions.md D13): loading and scoring a
// model needs no cgo, so binaries built with CGO_ENABLED=0 (Beam workers)
// score; there, fitting a booster returns ErrNoXGBoost.
//
// Beside the churn model it fits the uplift model (uplift.go): a T-learner
// of two XGBoost classifiers on the treat and control units of a retention
// experiment, validated out of time by its Qini coefficient against random
// targeting and risk ranking, and saved as the model directory's uplift/
// folder.
package train
