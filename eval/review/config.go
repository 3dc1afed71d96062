package review

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/churnlab/churn/internal/textutil"
)

// Config holds the review's settings, usually from a YAML file (LoadConfig,
// or the review section of the nightly job's churn.yaml). A zero field
// means its default (EnsureDefaults); Validate reports settings that cannot
// work. The label (mode, horizon, gap) is not here: it is the training
// label's (Options.Label).
type Config struct {
	// Seed drives every random choice: the bootstrap resamples, the label
	// simulations and the rows they are drawn from (default 1).
	Seed uint64 `yaml:"seed" json:"seed"`
	// Level is the coverage of every interval (default 0.95).
	Level float64 `yaml:"level" json:"level"`
	// Resamples is the number of bootstrap resamples of a closed run and
	// of label simulations of an open one (default 200).
	Resamples int `yaml:"resamples" json:"resamples"`
	// SampleRows bounds the cost of the resampling: a run with more rows
	// is resampled on a seeded sample of this many rows and the interval's
	// distances from the estimate are scaled by √(SampleRows / rows) to
	// the whole run (default 2000).
	SampleRows int `yaml:"sample_rows" json:"sample_rows"`
	// MaxRows bounds the rows a closed run's realised metrics are
	// measured on: with more customers than MaxRows in the data, runs are
	// measured on a seeded hash sample of about MaxRows of its customers
	// (those of them a run scored), the same customers in every run
	// (default 50000). Estimates use every row.
	MaxRows int `yaml:"max_rows" json:"max_rows"`
	// Capacity is how many accounts the team contacts per run: precision
	// at capacity is measured (or expected) on the top Capacity rows of
	// each run (default 100).
	Capacity int `yaml:"capacity" json:"capacity"`
	// MinPerArm is the fewest closed units an arm (treat or control) needs
	// for a play to get a verdict and for a segment (reason category ×
	// lifecycle stage) to be listed (default 30).
	MinPerArm int `yaml:"min_per_arm" json:"min_per_arm"`
	// UsefulRRR is the smallest relative risk reduction worth a play's
	// cost: a play whose interval's upper end is below it is flagged "no
	// evidence it works" (default 0.05, a 5% lower churn rate than
	// control; 0 flags only plays whose interval lies below zero). Nil
	// means the default.
	UsefulRRR *float64 `yaml:"useful_rrr" json:"useful_rrr"`
	// SavedListed is how many saved customers review.json, review.md and
	// review.html list, by monthly revenue (default 100); the Parquet
	// table holds them all.
	SavedListed int `yaml:"saved_listed" json:"saved_listed"`
	// Workers bounds the goroutines reading partitions (default 2). It
	// does not change the review, so review.json does not record it.
	Workers int `yaml:"workers" json:"-"`
}

// DefaultUsefulRRR is UsefulRRR's default.
const DefaultUsefulRRR = 0.05

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	var c Config
	c.EnsureDefaults()
	return c
}

// EnsureDefaults fills zero fields with defaults.
func (c *Config) EnsureDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Level == 0 {
		c.Level = 0.95
	}
	def(&c.Resamples, 200)
	def(&c.SampleRows, 2000)
	def(&c.MaxRows, 50000)
	def(&c.Capacity, 100)
	def(&c.MinPerArm, 30)
	def(&c.SavedListed, 100)
	def(&c.Workers, 2)
	if c.UsefulRRR == nil {
		u := DefaultUsefulRRR
		c.UsefulRRR = &u
	}
}

// Validate reports settings that cannot work, all at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if math.IsNaN(c.Level) || c.Level < 0.5 || c.Level > 0.999 {
		bad("level %v: want 0.5..0.999", c.Level)
	}
	if c.Resamples < 20 || c.Resamples > 100000 {
		bad("resamples %d: want 20..100000", c.Resamples)
	}
	if c.SampleRows < 100 {
		bad("sample_rows %d: want at least 100", c.SampleRows)
	}
	if c.MaxRows < 1000 {
		bad("max_rows %d: want at least 1000", c.MaxRows)
	}
	if c.Capacity < 1 {
		bad("capacity %d: want at least 1", c.Capacity)
	}
	if c.MinPerArm < 1 {
		bad("min_per_arm %d: want at least 1", c.MinPerArm)
	}
	if u := c.UsefulRRR; u != nil && (math.IsNaN(*u) || *u < 0 || *u >= 1) {
		bad("useful_rrr %v: want 0 ≤ useful_rrr < 1 (a relative risk reduction)", *u)
	}
	if c.SavedListed < 0 {
		bad("saved_listed %d: want 0 or more", c.SavedListed)
	}
	if c.Workers < 1 || c.Workers > 256 {
		bad("workers %d: want 1..256", c.Workers)
	}
	return errors.Join(errs...)
}

// LoadConfig reads a YAML config file over the defaults. Unknown keys are
// errors naming the file and line ("review.yaml:3: invalid YAML: field
// x not found"), so typos do not pass silently; the file's values are
// never echoed.
func LoadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return parseConfig(path, raw)
}

// parseConfig is LoadConfig of the file's content raw.
func parseConfig(path string, raw []byte) (Config, error) {
	return textutil.ParseConfig[Config](path, raw)
}
