package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Algorithms.
const (
	AlgoXGBoost = "xgboost"
	AlgoLogReg  = "logreg"
)

// Params are the hyperparameters and training settings. Zero values mean
// defaults (EnsureDefaults, the one place defaults are defined: the
// command-line flags take theirs from DefaultParams), except where zero is
// a valid setting: those fields are pointers, nil meaning the default.
// Validate is called by Fit, not by constructors.
type Params struct {
	Algo string `json:"algo" yaml:"algo"` // xgboost (default) or logreg
	// Seed drives every random choice (folds, subsampling, search). The
	// default is 0, a seed like any other.
	Seed uint64 `json:"seed" yaml:"seed"`
	// Threads for XGBoost (default 2). Results do not depend on it.
	Threads int `json:"threads" yaml:"threads"`

	// XGBoost.
	// Rounds is the most boosting rounds (default 500); the number used
	// is chosen on held-out rows (early stopping, or the best mean round
	// over the folds).
	Rounds          int      `json:"rounds" yaml:"rounds"`
	MaxDepth        int      `json:"max_depth" yaml:"max_depth"`               // default 4
	Eta             float64  `json:"eta" yaml:"eta"`                           // learning rate, default 0.05
	MinChildWeight  *float64 `json:"min_child_weight" yaml:"min_child_weight"` // default 5; 0 is valid
	Subsample       float64  `json:"subsample" yaml:"subsample"`               // row sampling per tree, default 0.8
	ColsampleByTree float64  `json:"colsample_bytree" yaml:"colsample_bytree"` // default 0.8
	Lambda          *float64 `json:"lambda" yaml:"lambda"`                     // L2 on leaf weights, default 1; 0 is valid
	Alpha           float64  `json:"alpha" yaml:"alpha"`                       // L1 on leaf weights, default 0
	// EarlyStopping stops boosting when validation log loss has not improved
	// for this many rounds (default 30; -1 disables). Only with a
	// validation split.
	EarlyStopping int `json:"early_stopping" yaml:"early_stopping"`

	// Logistic regression.
	L2      float64 `json:"l2" yaml:"l2"`             // default 1 (scikit-learn's C = 1/L2)
	MaxIter int     `json:"max_iter" yaml:"max_iter"` // default 500

	// PositiveWeight weights churned rows for class imbalance: 1 (default)
	// leaves them as they are, WeightAuto ("auto" in files and flags) uses
	// negatives/positives of the labelled rows; the model's manifest
	// records the number used. Calibration undoes the shift in
	// probabilities.
	PositiveWeight ClassWeight `json:"positive_weight" yaml:"positive_weight"`

	// Calibration: auto (default: the best of none, platt and isotonic on
	// held-out rows), none, platt or isotonic.
	Calibration string `json:"calibration" yaml:"calibration"`

	// Validation: auto (default: out-of-time when the table has several
	// as-of dates, else k-fold grouped by customer), oot, kfold, or none:
	// no held-out rows, one fit on every labelled row with exactly Rounds
	// rounds (no early stopping, no search) and no calibration, for a
	// refit whose number of rounds was chosen before (eval's backtest).
	Validation string `json:"validation" yaml:"validation"`
	// Folds for k-fold validation (default 5).
	Folds int `json:"folds" yaml:"folds"`
	// ValidShare is the least share of labelled rows the out-of-time
	// validation takes from the latest as-of dates (default 0.2).
	ValidShare float64 `json:"valid_share" yaml:"valid_share"`

	// SearchBudget is the number of extra hyperparameter settings tried by
	// random search around the given ones (default 0: no search).
	SearchBudget int `json:"search_budget" yaml:"search_budget"`
}

// Validation modes.
const (
	ValidationAuto  = "auto"
	ValidationOOT   = "oot"
	ValidationKFold = "kfold"
	ValidationNone  = "none"
)

// DefaultParams returns the defaults.
func DefaultParams() Params {
	var p Params
	p.EnsureDefaults()
	return p
}

func ptr[T any](v T) *T { return &v }

// EnsureDefaults fills zero (or nil) fields with defaults.
func (p *Params) EnsureDefaults() {
	if p.Algo == "" {
		p.Algo = AlgoXGBoost
	}
	if p.Threads == 0 {
		p.Threads = 2
	}
	if p.Rounds == 0 {
		p.Rounds = 500
	}
	if p.MaxDepth == 0 {
		p.MaxDepth = 4
	}
	if p.Eta == 0 {
		p.Eta = 0.05
	}
	if p.MinChildWeight == nil {
		p.MinChildWeight = ptr(5.0)
	}
	if p.Subsample == 0 {
		p.Subsample = 0.8
	}
	if p.ColsampleByTree == 0 {
		p.ColsampleByTree = 0.8
	}
	if p.Lambda == nil {
		p.Lambda = ptr(1.0)
	}
	if p.EarlyStopping == 0 {
		p.EarlyStopping = 30
	}
	if p.L2 == 0 {
		p.L2 = 1
	}
	if p.MaxIter == 0 {
		p.MaxIter = 500
	}
	if p.PositiveWeight == 0 {
		p.PositiveWeight = 1
	}
	if p.Calibration == "" {
		p.Calibration = "auto"
	}
	if p.Validation == "" {
		p.Validation = ValidationAuto
	}
	if p.Folds == 0 {
		p.Folds = 5
	}
	if p.ValidShare == 0 {
		p.ValidShare = 0.2
	}
}

// Validate reports hyperparameters that cannot work.
func (p *Params) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch p.Algo {
	case AlgoXGBoost, AlgoLogReg:
	default:
		bad("algo %q: want xgboost or logreg", p.Algo)
	}
	if p.Threads < 1 || p.Threads > 256 {
		bad("threads %d: want 1..256", p.Threads)
	}
	if p.Rounds < 1 || p.Rounds > 100000 {
		bad("rounds %d: want 1..100000", p.Rounds)
	}
	if p.MaxDepth < 1 || p.MaxDepth > 30 {
		bad("max_depth %d: want 1..30", p.MaxDepth)
	}
	finite := func(name string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			bad("%s %v: want %v..%v", name, v, lo, hi)
		}
	}
	finite("eta", p.Eta, 1e-6, 1)
	set := func(name string, v *float64, lo, hi float64) {
		if v == nil {
			bad("%s unset (call EnsureDefaults)", name)
			return
		}
		finite(name, *v, lo, hi)
	}
	set("min_child_weight", p.MinChildWeight, 0, 1e6)
	finite("subsample", p.Subsample, 0.01, 1)
	finite("colsample_bytree", p.ColsampleByTree, 0.01, 1)
	set("lambda", p.Lambda, 0, 1e6)
	finite("alpha", p.Alpha, 0, 1e6)
	finite("l2", p.L2, 1e-9, 1e9)
	if !p.PositiveWeight.Auto() {
		finite("positive_weight", float64(p.PositiveWeight), 1e-6, 1e6)
	}
	if p.EarlyStopping < -1 {
		bad("early_stopping %d: want -1 (off) or a number of rounds", p.EarlyStopping)
	}
	if p.MaxIter < 1 {
		bad("max_iter %d: want at least 1", p.MaxIter)
	}
	switch p.Calibration {
	case "auto", CalibrationNone, CalibrationPlatt, CalibrationIsotonic:
	default:
		bad("calibration %q: want auto, none, platt or isotonic", p.Calibration)
	}
	switch p.Validation {
	case ValidationAuto, ValidationOOT, ValidationKFold:
	case ValidationNone:
		// Nothing is held out to search or calibrate on.
		if p.SearchBudget != 0 {
			bad("search_budget %d: validation none holds no rows out to compare settings on", p.SearchBudget)
		}
		if p.Calibration != "auto" && p.Calibration != CalibrationNone {
			bad("calibration %q: validation none holds no rows out to calibrate on (want none)", p.Calibration)
		}
	default:
		bad("validation %q: want auto, oot, kfold or none", p.Validation)
	}
	if p.Folds < 2 || p.Folds > 20 {
		bad("folds %d: want 2..20", p.Folds)
	}
	finite("valid_share", p.ValidShare, 0.01, 0.9)
	if p.SearchBudget < 0 || p.SearchBudget > 200 {
		bad("search_budget %d: want 0..200", p.SearchBudget)
	}
	return errors.Join(errs...)
}

// ClassWeight is the weight of churned rows: a positive number, or
// WeightAuto, written "auto" in YAML, JSON and flags (negatives/positives
// of the labelled rows). The zero value means the default, 1.
type ClassWeight float64

// WeightAuto weights churned rows by negatives/positives.
const WeightAuto ClassWeight = -1

// Auto reports whether w is WeightAuto.
func (w ClassWeight) Auto() bool { return w == WeightAuto }

// String returns "auto" or the number.
func (w ClassWeight) String() string {
	if w.Auto() {
		return "auto"
	}
	return strconv.FormatFloat(float64(w), 'g', -1, 64)
}

// Set parses "auto" or a number (a command-line flag value).
func (w *ClassWeight) Set(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		*w = WeightAuto
		return nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || (x <= 0 && x != -1) {
		return fmt.Errorf("positive_weight %q: want auto or a positive number", s)
	}
	*w = ClassWeight(x)
	return nil
}

// Type names the flag's value type in help.
func (w *ClassWeight) Type() string { return "auto|number" }

// MarshalJSON writes "auto" or the number.
func (w ClassWeight) MarshalJSON() ([]byte, error) {
	if w.Auto() {
		return []byte(`"auto"`), nil
	}
	return json.Marshal(float64(w))
}

// UnmarshalJSON reads "auto" or a number.
func (w *ClassWeight) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return w.Set(s)
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return fmt.Errorf("positive_weight %s: want auto or a positive number", b)
	}
	return w.Set(strconv.FormatFloat(x, 'g', -1, 64))
}

// MarshalYAML writes "auto" or the number.
func (w ClassWeight) MarshalYAML() (any, error) {
	if w.Auto() {
		return "auto", nil
	}
	return float64(w), nil
}

// UnmarshalYAML reads "auto" or a number.
func (w *ClassWeight) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: positive_weight: want auto or a positive number", n.Line)
	}
	if err := w.Set(n.Value); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}
