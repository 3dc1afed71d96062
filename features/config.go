package features

import (
	"errors"
	"fmt"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/clv"
)

// Config holds the feature windows and thresholds. The zero value of a field
// means its default (see EnsureDefaults). Feature names carry the window
// lengths they were computed with, e.g. tickets_30d.
type Config struct {
	// Windows in days.
	Short  int `yaml:"short" json:"short"`   // default 30
	Medium int `yaml:"medium" json:"medium"` // default 90
	Long   int `yaml:"long" json:"long"`     // default 180
	// TrendWeeks is the number of whole weeks before T used for trends
	// (default 12).
	TrendWeeks int `yaml:"trend_weeks" json:"trend_weeks"`
	// OnboardingDays: customers younger than this are in onboarding (90).
	OnboardingDays int `yaml:"onboarding_days" json:"onboarding_days"`
	// RenewalDays: customers this close to contract end are in the renewal
	// window (90).
	RenewalDays int `yaml:"renewal_days" json:"renewal_days"`
	// LowCSAT is the highest CSAT rating that counts as low (2).
	LowCSAT int64 `yaml:"low_csat" json:"low_csat"`
	// DetractorMax is the highest NPS score that counts as a detractor (6).
	DetractorMax int64 `yaml:"detractor_max" json:"detractor_max"`
	// Groups limits the feature groups computed; empty means all groups the
	// dataset supports.
	Groups []string `yaml:"groups" json:"groups,omitempty"`
	// Lifetime sets the BG/NBD and Gamma-Gamma features (p_alive,
	// expected_purchases_<H>d, clv) and the defaults of churn lifetime.
	Lifetime LifetimeConfig `yaml:"lifetime" json:"lifetime"`
}

// LifetimeConfig sets the horizons of the probability-model features of
// order-based businesses (docs/lifetime.md). It is defined once, here: the
// feature table, the model's spec and the churn lifetime command's flag
// defaults all read it.
type LifetimeConfig struct {
	// HorizonDays is the horizon of expected purchases, in days (default
	// 90): the feature expected_purchases_<HorizonDays>d.
	HorizonDays int `yaml:"horizon_days" json:"horizon_days"`
	// CLVMonths is the horizon of the customer lifetime value, in months
	// of 52/12 weeks (default 12).
	CLVMonths int `yaml:"clv_months" json:"clv_months"`
	// AnnualDiscount is the yearly discount rate of the lifetime value
	// (0.10 = 10 %, the default); nil means the default, since 0 (no
	// discounting) is a valid setting.
	AnnualDiscount *float64 `yaml:"annual_discount" json:"annual_discount"`
}

// Lifetime defaults.
const (
	DefaultLifetimeHorizonDays    = 90
	DefaultLifetimeCLVMonths      = 12
	DefaultLifetimeAnnualDiscount = 0.10
)

// EnsureDefaults fills unset fields with defaults.
func (l *LifetimeConfig) EnsureDefaults() {
	if l.HorizonDays == 0 {
		l.HorizonDays = DefaultLifetimeHorizonDays
	}
	if l.CLVMonths == 0 {
		l.CLVMonths = DefaultLifetimeCLVMonths
	}
	if l.AnnualDiscount == nil {
		d := DefaultLifetimeAnnualDiscount
		l.AnnualDiscount = &d
	}
}

// Discount returns the annual discount rate (the default when unset).
func (l *LifetimeConfig) Discount() float64 {
	if l.AnnualDiscount == nil {
		return DefaultLifetimeAnnualDiscount
	}
	return *l.AnnualDiscount
}

// Validate reports settings that cannot work.
func (l *LifetimeConfig) Validate() error {
	var errs []error
	if l.HorizonDays <= 0 {
		errs = append(errs, fmt.Errorf("lifetime.horizon_days must be positive (got %d)", l.HorizonDays))
	}
	if l.CLVMonths <= 0 || l.CLVMonths > 1200 {
		errs = append(errs, fmt.Errorf("lifetime.clv_months must be 1..1200 (got %d)", l.CLVMonths))
	}
	if d := l.Discount(); !(d >= 0 && d < 10) {
		errs = append(errs, fmt.Errorf("lifetime.annual_discount must be a rate in [0, 10) such as 0.10 for 10%% a year (got %v)", d))
	}
	return errors.Join(errs...)
}

// horizonWeeks is HorizonDays in weeks, the BG/NBD time unit.
func (l *LifetimeConfig) horizonWeeks() float64 { return float64(l.HorizonDays) / 7 }

// clvOptions are the clv.CLV settings.
func (l *LifetimeConfig) clvOptions() clv.CLVOptions {
	return clv.CLVOptions{Months: l.CLVMonths, AnnualDiscount: l.Discount()}
}

// EnsureDefaults fills zero fields with defaults.
func (c *Config) EnsureDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.Short, 30)
	def(&c.Medium, 90)
	def(&c.Long, 180)
	def(&c.TrendWeeks, 12)
	def(&c.OnboardingDays, 90)
	def(&c.RenewalDays, 90)
	if c.LowCSAT == 0 {
		c.LowCSAT = 2
	}
	if c.DetractorMax == 0 {
		c.DetractorMax = 6
	}
	c.Lifetime.EnsureDefaults()
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.Short <= 0 || c.Medium <= c.Short || c.Long <= c.Medium {
		errs = append(errs, fmt.Errorf("windows must satisfy 0 < short < medium < long days (got %d, %d, %d)", c.Short, c.Medium, c.Long))
	}
	if c.TrendWeeks < 3 {
		errs = append(errs, fmt.Errorf("trend_weeks must be at least 3 (got %d)", c.TrendWeeks))
	}
	if c.OnboardingDays < 0 || c.RenewalDays < 0 {
		errs = append(errs, errors.New("onboarding_days and renewal_days must not be negative"))
	}
	if err := c.Lifetime.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, g := range c.Groups {
		if !knownGroup(g) {
			errs = append(errs, fmt.Errorf("unknown feature group %q (known: %v)", g, GroupNames()))
		}
	}
	return errors.Join(errs...)
}

// LabelMode says where labels come from.
type LabelMode string

// Label modes.
const (
	// LabelAuto picks churn_events when the dataset has it, else
	// customers.churn_date, else the customers.churned flag (snapshot),
	// else inactivity when only orders are present.
	LabelAuto LabelMode = "auto"
	// LabelChurnDate: churned if customers.churn_date lies in the window.
	LabelChurnDate LabelMode = "churn_date"
	// LabelChurnEvents: churned if a churn event lies in the window.
	LabelChurnEvents LabelMode = "churn_events"
	// LabelSnapshot: the customers.churned flag, taken as given.
	LabelSnapshot LabelMode = "snapshot"
	// LabelInactivity: churned if no order in the window (non-contractual).
	LabelInactivity LabelMode = "inactivity"
	// LabelNone makes no labels (a table for scoring only). Customers who
	// signed up on or after T, or churned on or before T by churn_date or
	// churn events when present, are still left out.
	LabelNone LabelMode = "none"
)

// LabelConfig says how labels are made. A customer is labelled 1 when it
// churns in (T+Gap, T+Gap+Horizon], 0 when it does not and that window ends
// on or before DataEnd, and unknown (censored) otherwise (see Label and
// LabelSpec.LastDay for each mode's window).
type LabelConfig struct {
	Mode    LabelMode `yaml:"mode" json:"mode"`
	Horizon int       `yaml:"horizon_days" json:"horizon_days"` // default 90
	Gap     int       `yaml:"gap_days" json:"gap_days"`         // default 0
	// DataEnd is the last day the data fully covers. NoDate or the zero
	// value means infer it from the data (the latest date in any table).
	DataEnd data.Date `yaml:"-" json:"data_end"`
}

// Spec is the label settings as recorded in a feature spec (without the
// data end).
func (l *LabelConfig) Spec() LabelSpec {
	return LabelSpec{Mode: l.Mode, HorizonDay: l.Horizon, GapDays: l.Gap}
}

// EnsureDefaults fills zero fields with defaults.
func (l *LabelConfig) EnsureDefaults() {
	if l.Mode == "" {
		l.Mode = LabelAuto
	}
	if l.Horizon == 0 {
		l.Horizon = 90
	}
}

// Validate reports settings that cannot work.
func (l *LabelConfig) Validate() error {
	switch l.Mode {
	case LabelAuto, LabelChurnDate, LabelChurnEvents, LabelSnapshot, LabelInactivity, LabelNone:
	default:
		return fmt.Errorf("unknown label mode %q (want auto, churn_date, churn_events, snapshot, inactivity or none)", l.Mode)
	}
	if l.Horizon <= 0 {
		return fmt.Errorf("horizon must be positive (got %d days)", l.Horizon)
	}
	if l.Gap < 0 {
		return fmt.Errorf("gap must not be negative (got %d days)", l.Gap)
	}
	return nil
}
