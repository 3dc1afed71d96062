package eval

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/churnlab/churn/internal/textutil"
)

// Config holds the evaluation settings, usually from a YAML file
// (LoadConfig). A zero field means its default (EnsureDefaults); Validate
// reports settings that cannot work.
type Config struct {
	// Seed drives every random choice: bootstrap resamples, permutation
	// importance (default 1).
	Seed uint64 `yaml:"seed" json:"seed"`
	// Workers bounds the goroutines of the bootstrap and permutation
	// importance and the XGBoost threads of the backtest (default 2).
	Workers int `yaml:"workers" json:"workers"`
	// Rows chooses the evaluated rows among the labelled ones: "holdout"
	// (default) leaves out rows at as-of dates the model was trained on,
	// "all" keeps every labelled row.
	Rows string `yaml:"rows" json:"rows"`

	Bootstrap   BootstrapConfig   `yaml:"bootstrap" json:"bootstrap"`
	Calibration CalibrationConfig `yaml:"calibration" json:"calibration"`
	// Capacity is how many accounts the team can contact per as-of date
	// (one scoring run): precision and recall are measured on the top
	// Capacity rows of each date (default 100).
	Capacity int `yaml:"capacity" json:"capacity"`
	// Threshold is a probability above which an account is flagged, for
	// precision and recall at a threshold (default 0.3).
	Threshold float64    `yaml:"threshold" json:"threshold"`
	Cost      CostConfig `yaml:"cost" json:"cost"`

	Segments    SegmentConfig     `yaml:"segments" json:"segments"`
	Backtest    BacktestConfig    `yaml:"backtest" json:"backtest"`
	Permutation PermutationConfig `yaml:"permutation" json:"permutation"`
	Drift       DriftConfig       `yaml:"drift" json:"drift"`
	Retention   RetentionConfig   `yaml:"retention" json:"retention"`
	// TopAccounts is how many accounts to call the report lists (default
	// 20), each with Reasons reasons (default 3).
	TopAccounts int           `yaml:"top_accounts" json:"top_accounts"`
	Reasons     int           `yaml:"reasons" json:"reasons"`
	Verdict     VerdictConfig `yaml:"verdict" json:"verdict"`
}

// BootstrapConfig sets the bootstrap confidence intervals.
type BootstrapConfig struct {
	// Resamples is the number of bootstrap resamples (default 500).
	Resamples int `yaml:"resamples" json:"resamples"`
	// Level is the interval's coverage (default 0.95).
	Level float64 `yaml:"level" json:"level"`
	// Customers bounds the cost: with more evaluated customers than this,
	// the resamples are drawn from a seeded sample of this many customers
	// and the intervals' deviations from the estimate are scaled by
	// √(Customers / all customers) to all of them (default 20000).
	Customers int `yaml:"customers" json:"customers"`
}

// CalibrationConfig sets the reliability diagram and the expected
// calibration error.
type CalibrationConfig struct {
	// Bins is the number of probability bins (default 10).
	Bins int `yaml:"bins" json:"bins"`
	// Binning is "quantile" (default: bins of equal row counts, useful at
	// low base rates) or "uniform" (equal-width bins over [0, 1]).
	Binning string `yaml:"binning" json:"binning"`
}

// CostConfig prices the decision to contact an account. An account with
// churn probability p is worth contacting when p × SuccessRate ×
// MissedChurner > Intervention.
type CostConfig struct {
	// MissedChurner is the loss when a customer churns (currency, e.g. a
	// year of revenue; default 1000).
	MissedChurner float64 `yaml:"missed_churner" json:"missed_churner"`
	// Intervention is the cost of contacting one account (default 50).
	Intervention float64 `yaml:"intervention" json:"intervention"`
	// SuccessRate is the share of contacted churners the intervention
	// keeps (default 0.25).
	SuccessRate float64 `yaml:"success_rate" json:"success_rate"`
}

// SegmentConfig sets the per-segment metrics.
type SegmentConfig struct {
	// Features lists the categorical features to break down by; empty
	// means every categorical feature of the table.
	Features []string `yaml:"features" json:"features,omitempty"`
	// MinRows and MinPositives: a segment with fewer evaluated rows or
	// churners is flagged small (defaults 100 and 10).
	MinRows      int `yaml:"min_rows" json:"min_rows"`
	MinPositives int `yaml:"min_positives" json:"min_positives"`
	// MaxLevels caps the levels listed per feature, by row count; the
	// rest are pooled as "(other)" (default 20).
	MaxLevels int `yaml:"max_levels" json:"max_levels"`
}

// BacktestConfig sets the rolling-origin backtest.
type BacktestConfig struct {
	// Origins is the number of latest labelled as-of dates retrained and
	// evaluated at (default 4).
	Origins int `yaml:"origins" json:"origins"`
	// Every is how often the backtest runs, in days (default 1: every
	// run). It runs when the run's as-of date (Options.AsOf), counted in
	// days since 1970-01-01, is a multiple of Every: with 7, on Thursdays.
	Every int `yaml:"every" json:"every"`
	// Disabled skips the backtest.
	Disabled bool `yaml:"disabled" json:"disabled"`
}

// PermutationConfig sets permutation importance.
type PermutationConfig struct {
	// Rows caps the evaluated rows used (a seeded sample; default 5000).
	Rows int `yaml:"rows" json:"rows"`
	// Repeats is the number of shuffles per feature (default 3).
	Repeats int `yaml:"repeats" json:"repeats"`
}

// DriftConfig sets the population stability warnings.
type DriftConfig struct {
	// Threshold: a PSI above it is a significant shift (default 0.2).
	Threshold float64 `yaml:"threshold" json:"threshold"`
	// Moderate: a PSI above it is a moderate shift (default 0.1).
	Moderate float64 `yaml:"moderate" json:"moderate"`
}

// RetentionConfig sets the retention figures.
type RetentionConfig struct {
	// Cohort is "quarter" (default) or "month": the signup period that
	// groups customers into cohorts.
	Cohort string `yaml:"cohort" json:"cohort"`
	// SegmentFeature is the categorical feature the churn rate is broken
	// down by (default "segment", else the first categorical feature).
	SegmentFeature string `yaml:"segment_feature" json:"segment_feature,omitempty"`
	// HighShare and MediumShare split the evaluated rows of each as-of
	// date into the risk tiers of the Kaplan-Meier curves by time to
	// churn: the highest HighShare of churn probabilities are high risk,
	// the next MediumShare medium, the rest low (defaults 0.05 and 0.15,
	// predict's default tiers; set them to your predict config's
	// tiers.*.max_share). MediumShare is a pointer because 0 (no medium
	// tier) is a valid setting; nil means the default.
	HighShare   float64  `yaml:"high_share" json:"high_share"`
	MediumShare *float64 `yaml:"medium_share" json:"medium_share"`
	// MinGroup is the fewest customers a Kaplan-Meier group needs (default
	// 30): smaller plans and segments are merged into "other", smaller
	// cohorts left out (a note says which).
	MinGroup int `yaml:"min_group" json:"min_group"`
	// CurvePoints is the most points a Kaplan-Meier curve keeps in
	// report.json and draws in report.html (default 100, about 5 pixels
	// apart in a chart; close steps are merged).
	CurvePoints int `yaml:"curve_points" json:"curve_points"`
}

// VerdictConfig holds the thresholds of the verdict.
type VerdictConfig struct {
	// MinAUC: below it the model is not to be trusted (default 0.65).
	MinAUC float64 `yaml:"min_auc" json:"min_auc"`
	// MaxECE: above it the probabilities are poorly calibrated (default
	// 0.05).
	MaxECE float64 `yaml:"max_ece" json:"max_ece"`
	// MaxAUCSpread: a backtest whose AUCs span more than this is unstable
	// (default 0.1).
	MaxAUCSpread float64 `yaml:"max_auc_spread" json:"max_auc_spread"`
	// LeakShare: a static feature with at least this share of the gain, or
	// this AUC drop when permuted divided by 10, may leak (default 0.15).
	LeakShare float64 `yaml:"leak_share" json:"leak_share"`
	// MinPositives: fewer evaluated churners than this make the numbers
	// uncertain (default 30).
	MinPositives int `yaml:"min_positives" json:"min_positives"`
	// MaxAUC: a ROC AUC above it, on the evaluated rows or in the model's
	// own validation, is near perfect: a probable leak, and the model is
	// not to be trusted (default 0.99; 1 turns the check off).
	MaxAUC float64 `yaml:"max_auc" json:"max_auc"`
	// StaticShare: static features (today's values) carrying more than
	// this share of the gain together are a probable leak, and the model
	// is not to be trusted (default 0.5; 1 turns the check off).
	StaticShare float64 `yaml:"static_share" json:"static_share"`
}

// Row selections.
const (
	RowsHoldout = "holdout"
	RowsAll     = "all"
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	var c Config
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills zero fields with defaults.
func (c *Config) EnsureDefaults() {
	defInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defF := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	defS := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	defInt(&c.Workers, 2)
	defS(&c.Rows, RowsHoldout)
	defInt(&c.Bootstrap.Resamples, 500)
	defF(&c.Bootstrap.Level, 0.95)
	defInt(&c.Bootstrap.Customers, 20000)
	defInt(&c.Calibration.Bins, 10)
	defS(&c.Calibration.Binning, "quantile")
	defInt(&c.Capacity, 100)
	defF(&c.Threshold, 0.3)
	defF(&c.Cost.MissedChurner, 1000)
	defF(&c.Cost.Intervention, 50)
	defF(&c.Cost.SuccessRate, 0.25)
	defInt(&c.Segments.MinRows, 100)
	defInt(&c.Segments.MinPositives, 10)
	defInt(&c.Segments.MaxLevels, 20)
	defInt(&c.Backtest.Origins, 4)
	defInt(&c.Backtest.Every, 1)
	defInt(&c.Permutation.Rows, 5000)
	defInt(&c.Permutation.Repeats, 3)
	defF(&c.Drift.Threshold, 0.2)
	defF(&c.Drift.Moderate, 0.1)
	defS(&c.Retention.Cohort, "quarter")
	defF(&c.Retention.HighShare, 0.05)
	if c.Retention.MediumShare == nil {
		v := defaultMediumShare
		c.Retention.MediumShare = &v
	}
	defInt(&c.Retention.MinGroup, 30)
	defInt(&c.Retention.CurvePoints, 100)
	defInt(&c.TopAccounts, 20)
	defInt(&c.Reasons, 3)
	defF(&c.Verdict.MinAUC, 0.65)
	defF(&c.Verdict.MaxECE, 0.05)
	defF(&c.Verdict.MaxAUCSpread, 0.1)
	defF(&c.Verdict.LeakShare, 0.15)
	defInt(&c.Verdict.MinPositives, 30)
	defF(&c.Verdict.MaxAUC, 0.99)
	defF(&c.Verdict.StaticShare, 0.5)
}

// Validate reports settings that cannot work, all at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	in := func(name string, v, lo, hi float64) {
		if math.IsNaN(v) || v < lo || v > hi {
			bad("%s %v: want %v..%v", name, v, lo, hi)
		}
	}
	if c.Workers < 1 || c.Workers > 256 {
		bad("workers %d: want 1..256", c.Workers)
	}
	if c.Rows != RowsHoldout && c.Rows != RowsAll {
		bad("rows %q: want holdout or all", c.Rows)
	}
	if c.Bootstrap.Resamples < 20 || c.Bootstrap.Resamples > 100000 {
		bad("bootstrap.resamples %d: want 20..100000", c.Bootstrap.Resamples)
	}
	in("bootstrap.level", c.Bootstrap.Level, 0.5, 0.999)
	if c.Bootstrap.Customers < 100 {
		bad("bootstrap.customers %d: want at least 100", c.Bootstrap.Customers)
	}
	if c.Calibration.Bins < 2 || c.Calibration.Bins > 100 {
		bad("calibration.bins %d: want 2..100", c.Calibration.Bins)
	}
	if c.Calibration.Binning != "quantile" && c.Calibration.Binning != "uniform" {
		bad("calibration.binning %q: want quantile or uniform", c.Calibration.Binning)
	}
	if c.Capacity < 1 {
		bad("capacity %d: want at least 1", c.Capacity)
	}
	in("threshold", c.Threshold, 1e-9, 1)
	in("cost.missed_churner", c.Cost.MissedChurner, 1e-9, 1e15)
	in("cost.intervention", c.Cost.Intervention, 0, 1e15)
	in("cost.success_rate", c.Cost.SuccessRate, 1e-9, 1)
	if c.Segments.MinRows < 1 || c.Segments.MinPositives < 0 || c.Segments.MaxLevels < 1 {
		bad("segments: min_rows and max_levels must be at least 1, min_positives at least 0")
	}
	if c.Backtest.Origins < 1 || c.Backtest.Origins > 100 {
		bad("backtest.origins %d: want 1..100", c.Backtest.Origins)
	}
	if c.Backtest.Every < 1 || c.Backtest.Every > 366 {
		bad("backtest.every %d: want 1..366 days", c.Backtest.Every)
	}
	if c.Permutation.Rows < 50 || c.Permutation.Repeats < 1 || c.Permutation.Repeats > 100 {
		bad("permutation: rows must be at least 50 and repeats 1..100")
	}
	in("drift.moderate", c.Drift.Moderate, 1e-9, 100)
	in("drift.threshold", c.Drift.Threshold, c.Drift.Moderate, 100)
	if c.Retention.Cohort != "quarter" && c.Retention.Cohort != "month" {
		bad("retention.cohort %q: want quarter or month", c.Retention.Cohort)
	}
	in("retention.high_share", c.Retention.HighShare, 1e-9, 1)
	in("retention.medium_share", c.Retention.MediumShareOr(), 0, 1-c.Retention.HighShare)
	if c.Retention.MinGroup < 1 {
		bad("retention.min_group %d: want at least 1", c.Retention.MinGroup)
	}
	if c.Retention.CurvePoints < 2 || c.Retention.CurvePoints > 100000 {
		bad("retention.curve_points %d: want 2..100000", c.Retention.CurvePoints)
	}
	if c.TopAccounts < 1 || c.TopAccounts > 10000 || c.Reasons < 1 || c.Reasons > 20 {
		bad("top_accounts must be 1..10000 and reasons 1..20")
	}
	in("verdict.min_auc", c.Verdict.MinAUC, 0, 1)
	in("verdict.max_ece", c.Verdict.MaxECE, 0, 1)
	in("verdict.max_auc_spread", c.Verdict.MaxAUCSpread, 0, 1)
	in("verdict.leak_share", c.Verdict.LeakShare, 0, 1)
	in("verdict.max_auc", c.Verdict.MaxAUC, 0.5, 1)
	in("verdict.static_share", c.Verdict.StaticShare, 0.01, 1)
	return errors.Join(errs...)
}

// LoadConfig reads a YAML config file over the defaults. Unknown keys are
// errors naming the line, so typos do not pass silently.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return textutil.ParseConfig[Config](path, raw)
}

// defaultMediumShare is RetentionConfig.MediumShare's default, predict's
// default medium tier.
const defaultMediumShare = 0.15

// MediumShareOr returns the medium tier's share: MediumShare, or its
// default when unset.
func (c *RetentionConfig) MediumShareOr() float64 {
	if c.MediumShare == nil {
		return defaultMediumShare
	}
	return *c.MediumShare
}
