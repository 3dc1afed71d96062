package predict

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/textutil"
)

// Config is the predict configuration file (YAML): how customers are put in
// risk tiers, how reasons are computed, the playbook, the alert rules, the
// webhook and the output layout. The zero value of a field means its
// default (EnsureDefaults); Validate reports settings that cannot work.
type Config struct {
	Tiers   Tiers         `yaml:"tiers"`
	Reasons ReasonsConfig `yaml:"reasons"`
	// PlaybookFile names a playbook YAML file whose entries override the
	// built-in playbook (relative paths are relative to the config file).
	// Empty means the built-in playbook alone.
	PlaybookFile string `yaml:"playbook"`
	// Playbook is the playbook in force: set by LoadConfig (built-in merged
	// with PlaybookFile) or by EnsureDefaults (built-in).
	Playbook *Playbook `yaml:"-"`
	// Alerts lists the alert rules. Nil (the key absent) means the default
	// rules (DefaultAlertRules); an empty list means no alerts.
	Alerts []AlertRule `yaml:"alerts"`
	// Control holds out a share of the customers each play targets as a
	// control group (docs/playbook.md#control-groups).
	Control ControlConfig `yaml:"control"`
	// RankBy orders the customers (the rank column, the tiers' capacity,
	// the alerts): RankByRisk (default) by churn probability,
	// RankBySavedMRR by expected_mrr_saved when the model directory holds
	// a trusted uplift model (docs/playbook.md#ranking-by-who-can-be-saved);
	// without one the run ranks by risk and says why.
	RankBy  string        `yaml:"rank_by"`
	Webhook WebhookConfig `yaml:"webhook"`
	Output  OutputConfig  `yaml:"output"`
	// Sinks are databases that get the rows of every published partition
	// after the Parquet files (the system of record) are in place:
	// PostgreSQL (predict/pgsink, docs/bi.md).
	Sinks []SinkConfig `yaml:"sinks"`
}

// SinkConfig is one database the predictions, alerts and run manifest are
// loaded into after the partition is published (docs/bi.md).
type SinkConfig struct {
	// URL is a PostgreSQL connection URL without a password, e.g.
	// postgres://churn@db.internal:5432/analytics?sslmode=require. The
	// password comes from PasswordEnv, else PGPASSWORD, else PGPASSFILE
	// (~/.pgpass): never from the URL, which ends up in logs and configs.
	URL string `yaml:"url"`
	// Schema holds the tables predictions, alerts and runs and the view
	// latest_predictions (default churn).
	Schema string `yaml:"schema"`
	// PasswordEnv names an environment variable holding the password
	// (default: PGPASSWORD or PGPASSFILE, as libpq reads them).
	PasswordEnv string `yaml:"password_env"`
}

// ValidateSinks reports the sinks' settings that cannot work.
func (c *Config) ValidateSinks() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, sk := range c.Sinks {
		if err := CheckSinkURL(sk.URL); err != nil {
			bad("sinks[%d].url: %v", i, err)
		}
		if sk.Schema != "" && !sqlName.MatchString(sk.Schema) {
			bad("sinks[%d].schema %q: want a lower-case name of letters, digits and _", i, sk.Schema)
		}
		if sk.PasswordEnv != "" && !envName.MatchString(sk.PasswordEnv) {
			bad("sinks[%d].password_env %q: want the name of an environment variable", i, sk.PasswordEnv)
		}
	}
	return errors.Join(errs...)
}

// DefaultSinkSchema is the schema of a sink without one.
const DefaultSinkSchema = "churn"

// sqlName is what a sink's schema name may be: a plain lower-case
// PostgreSQL identifier, so it never needs quoting.
var sqlName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CheckSinkURL reports what is wrong with a sink URL: not postgres:// or
// postgresql://, no host, or a password in it.
func CheckSinkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("%s: want a postgres:// URL, e.g. postgres://churn@db:5432/analytics", Redact(raw))
	}
	if _, set := u.User.Password(); set {
		return fmt.Errorf("%s: the password must not be in the URL (URLs end up in logs, shell history and manifests): set PGPASSWORD, a PGPASSFILE, or sinks[].password_env", Redact(raw))
	}
	if strings.Contains(strings.ToLower(u.RawQuery), "password=") {
		return fmt.Errorf("%s: the password must not be in the URL: set PGPASSWORD, a PGPASSFILE, or sinks[].password_env", Redact(raw))
	}
	return nil
}

// Redact returns a sink URL fit for logs: any password and query
// parameter values that could hold secrets are masked.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, set := u.User.Password(); set {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

// Rankings: what rank_by accepts.
const (
	RankByRisk     = "risk"
	RankBySavedMRR = "saved_mrr"
)

// DefaultControlShare is the control share when control.share is not
// set: one targeted customer in ten is held out.
const DefaultControlShare = 0.1

// ControlConfig is the retention experiment: every customer a play targets
// (high and medium tiers) is assigned to treat or control by
// data.Experiment{Seed, Cohort, Share}.Group(play, customer_id), a hash,
// so a customer stays in its group for the experiment's life and a review
// recomputes the split from the data alone. Control customers are never
// alerted nor sent to the webhook.
type ControlConfig struct {
	// Share is the control share of the targeted customers, in [0, 1].
	// Nil (the key absent) means DefaultControlShare; 0 turns control
	// groups off (every targeted customer is treated, treatment_group is
	// still written).
	Share *float64 `yaml:"share" json:"share"`
	// Seed is the experiment's seed (default 0). Keep it fixed for the
	// experiment's life: another seed reshuffles the groups.
	Seed int64 `yaml:"seed" json:"seed"`
	// Cohort names the experiment (default ""): a new cohort rotates the
	// groups, e.g. "2025q1" for a new quarter's experiment. It must not
	// hold control characters (the hash separates its fields with NUL).
	Cohort string `yaml:"cohort" json:"cohort"`
}

// Experiment returns the control-group split of c; an unset Share counts
// as DefaultControlShare, as EnsureDefaults sets it.
func (c ControlConfig) Experiment() data.Experiment {
	share := DefaultControlShare
	if c.Share != nil {
		share = *c.Share
	}
	return data.Experiment{Seed: c.Seed, Cohort: c.Cohort, Share: share}
}

// Tiers says how customers are put in the high, medium and low risk tiers.
// Customers are taken in rank order (highest probability first, ties by
// customer_id): the first ones go to high while they meet the high rule and
// high has room, the next ones to medium likewise, and everyone else to low.
// A tier's capacity caps it and its min_probability floors it; when both
// are set both apply (the tier holds at most the capacity, and nobody below
// the floor).
type Tiers struct {
	High   TierRule `yaml:"high" json:"high"`
	Medium TierRule `yaml:"medium" json:"medium"`
}

// TierRule bounds one tier. A rule with no bound at all takes its default
// (high: the top 5% of scored customers; medium: the next 15%).
type TierRule struct {
	// MaxAccounts caps the tier at this many customers (0: no count cap).
	MaxAccounts int `yaml:"max_accounts" json:"max_accounts,omitempty"`
	// MaxShare caps the tier at this share of the scored customers,
	// rounded down (0: no share cap). With MaxAccounts, the smaller cap
	// applies.
	MaxShare float64 `yaml:"max_share" json:"max_share,omitempty"`
	// MinProbability is the lowest calibrated churn probability the tier
	// accepts (nil: no floor).
	MinProbability *float64 `yaml:"min_probability" json:"min_probability,omitempty"`
}

func (r TierRule) unset() bool {
	return r.MaxAccounts == 0 && r.MaxShare == 0 && r.MinProbability == nil
}

// capacity returns the most customers the tier may hold out of n scored.
func (r TierRule) capacity(n int) int {
	c := n
	if r.MaxAccounts > 0 {
		c = min(c, r.MaxAccounts)
	}
	if r.MaxShare > 0 {
		c = min(c, int(math.Floor(r.MaxShare*float64(n)+1e-9)))
	}
	return c
}

func (r TierRule) admits(p float64) bool {
	return r.MinProbability == nil || p >= *r.MinProbability
}

// Reason methods: what reasons.method accepts, and (exact, approx, none)
// what a run and each of its rows record in reason_method.
const (
	ReasonsAuto   = "auto"
	ReasonsExact  = "exact"
	ReasonsApprox = "approx"
	ReasonsNone   = "none"
)

// ReasonsConfig says how the contributions behind reasons are computed.
type ReasonsConfig struct {
	// Method is one of:
	//   - auto (default): exact, unless ExactMaxCustomers is set and the
	//     dataset holds more customers than it; then approx.
	//   - exact: SHAP values (TreeSHAP for trees, XGBoost's pred_contribs),
	//     for every customer.
	//   - approx: Saabas contributions (XGBoost's approx_contribs), about
	//     half the cost of exact ones with churn's explainer.
	//   - none: no reasons: the reason columns are empty and actions come
	//     from the playbook's "none" category (or low_risk).
	// Logistic regression's contributions are exact whatever the method,
	// except none.
	Method string `yaml:"method"`
	// ExactMaxCustomers makes auto use approx above this many customers
	// in the dataset (default 0: no limit). Exact reasons cost about
	// 25 µs of CPU a customer (bench/README.md), so auto computes them
	// for everyone unless this is set.
	ExactMaxCustomers int `yaml:"exact_max_customers"`
}

// UnmarshalYAML accepts the short form `reasons: approx` as well as the
// mapping `reasons: {method: approx, exact_max_customers: 50000}`.
func (r *ReasonsConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		r.Method = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: reasons is auto, exact, approx, none or a mapping with method and exact_max_customers", n.Line)
	}
	// A custom unmarshaler does not inherit KnownFields: check the keys here.
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i]; k.Value {
		case "method", "exact_max_customers":
		default:
			return fmt.Errorf("line %d: field %s not found in reasons (known: method, exact_max_customers)", k.Line, k.Value)
		}
	}
	type plain ReasonsConfig
	return n.Decode((*plain)(r))
}

// OutputConfig shapes the written files.
type OutputConfig struct {
	// RowsPerFile splits the predictions of a date into files of at most
	// this many rows (default 500,000), written in parallel.
	RowsPerFile int `yaml:"rows_per_file"`
	// RowGroupRows is the Parquet row-group size (default 131,072).
	RowGroupRows int `yaml:"row_group_rows"`
	// Compression is snappy (default), zstd or none.
	Compression string `yaml:"compression"`
}

// WebhookConfig configures the optional POST of the alerts. An empty URL
// disables it.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// AuthEnv names the environment variable holding the value of the auth
	// header (e.g. "Bearer abc…"); empty sends no auth header. The value is
	// never logged.
	AuthEnv string `yaml:"auth_env"`
	// AuthHeader is the header that carries it (default Authorization).
	AuthHeader string `yaml:"auth_header"`
	// Timeout bounds one attempt (default 10s).
	Timeout Duration `yaml:"timeout"`
	// MaxAttempts is the number of tries per request (default 5).
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait before the second attempt (default 1s); each
	// further wait doubles, up to MaxBackoff (default 30s).
	Backoff    Duration `yaml:"backoff"`
	MaxBackoff Duration `yaml:"max_backoff"`
	// BatchSize is the most alerts per request (default 1,000).
	BatchSize int `yaml:"batch_size"`
	// Required makes a failed delivery fail the run (exit status 1) after
	// the outputs are written (default true). With false the failure is
	// logged and reported, and the run succeeds.
	Required *bool `yaml:"required"`
}

// IsRequired reports whether a failed delivery fails the run.
func (w *WebhookConfig) IsRequired() bool { return w.Required == nil || *w.Required }

// Duration is a time.Duration written as "10s", "1m30s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 10s or 1m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// EnsureDefaults fills zero fields with defaults.
func (c *Config) EnsureDefaults() {
	if c.Tiers.High.unset() {
		c.Tiers.High.MaxShare = 0.05
	}
	if c.Tiers.Medium.unset() {
		c.Tiers.Medium.MaxShare = 0.15
	}
	if c.Reasons.Method == "" {
		c.Reasons.Method = ReasonsAuto
	}
	for i := range c.Sinks {
		if c.Sinks[i].Schema == "" {
			c.Sinks[i].Schema = DefaultSinkSchema
		}
	}
	if c.Playbook == nil {
		c.Playbook = DefaultPlaybook()
	}
	if c.Alerts == nil {
		c.Alerts = DefaultAlertRules()
	}
	if c.RankBy == "" {
		c.RankBy = RankByRisk
	}
	if c.Control.Share == nil {
		share := DefaultControlShare
		c.Control.Share = &share
	}
	o := &c.Output
	if o.RowsPerFile == 0 {
		o.RowsPerFile = 500_000
	}
	if o.RowGroupRows == 0 {
		o.RowGroupRows = 1 << 17
	}
	if o.Compression == "" {
		o.Compression = "snappy"
	}
	w := &c.Webhook
	if w.AuthHeader == "" {
		w.AuthHeader = "Authorization"
	}
	if w.Timeout == 0 {
		w.Timeout = Duration(10 * time.Second)
	}
	if w.MaxAttempts == 0 {
		w.MaxAttempts = 5
	}
	if w.Backoff == 0 {
		w.Backoff = Duration(time.Second)
	}
	if w.MaxBackoff == 0 {
		w.MaxBackoff = Duration(30 * time.Second)
	}
	if w.BatchSize == 0 {
		w.BatchSize = 1000
	}
}

var ruleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Validate reports every setting that cannot work. Alert conditions are
// checked against a model's fields when the run compiles them.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, t := range []struct {
		name string
		r    TierRule
	}{{"high", c.Tiers.High}, {"medium", c.Tiers.Medium}} {
		if t.r.MaxAccounts < 0 {
			bad("tiers.%s.max_accounts must not be negative (got %d)", t.name, t.r.MaxAccounts)
		}
		if t.r.MaxShare < 0 || t.r.MaxShare > 1 || math.IsNaN(t.r.MaxShare) {
			bad("tiers.%s.max_share must be between 0 and 1 (got %g)", t.name, t.r.MaxShare)
		}
		if p := t.r.MinProbability; p != nil && (*p < 0 || *p > 1 || math.IsNaN(*p)) {
			bad("tiers.%s.min_probability must be between 0 and 1 (got %g)", t.name, *p)
		}
	}
	if h, m := c.Tiers.High.MinProbability, c.Tiers.Medium.MinProbability; h != nil && m != nil && *m > *h {
		bad("tiers.medium.min_probability (%g) is above tiers.high.min_probability (%g)", *m, *h)
	}
	if c.RankBy != RankByRisk && c.RankBy != RankBySavedMRR {
		bad("rank_by %q: want risk or saved_mrr", c.RankBy)
	}
	switch c.Reasons.Method {
	case ReasonsAuto, ReasonsExact, ReasonsApprox, ReasonsNone:
	default:
		bad("reasons.method %q: want auto, exact, approx or none", c.Reasons.Method)
	}
	if c.Reasons.ExactMaxCustomers < 0 {
		bad("reasons.exact_max_customers must not be negative (0: no limit)")
	}
	if c.Playbook != nil {
		if err := c.Playbook.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	seen := map[string]bool{}
	for i, r := range c.Alerts {
		switch {
		case !ruleName.MatchString(r.Name):
			bad("alerts[%d]: name %q must be lower case letters, digits and _ (starting with a letter)", i, r.Name)
		case seen[r.Name]:
			bad("alerts[%d]: rule %q is given twice", i, r.Name)
		}
		seen[r.Name] = true
		if strings.TrimSpace(r.When) == "" {
			bad("alert rule %q: when is empty; give a condition such as tier == \"high\"", r.Name)
		}
	}
	if p := c.Control.Share; p != nil && !(*p >= 0 && *p <= 1) {
		bad("control.share must be between 0 and 1 (got %g; 0 turns control groups off)", *p)
	}
	if strings.IndexFunc(c.Control.Cohort, unicode.IsControl) >= 0 {
		bad("control.cohort %q must not hold control characters", c.Control.Cohort)
	}
	o := c.Output
	if o.RowsPerFile < 1 {
		bad("output.rows_per_file must be at least 1 (got %d)", o.RowsPerFile)
	}
	if o.RowGroupRows < 1 {
		bad("output.row_group_rows must be at least 1 (got %d)", o.RowGroupRows)
	}
	switch o.Compression {
	case "snappy", "zstd", "none":
	default:
		bad("output.compression %q: want snappy, zstd or none", o.Compression)
	}
	if err := c.ValidateSinks(); err != nil {
		errs = append(errs, err)
	}
	if w := c.Webhook; w.URL != "" {
		if err := checkWebhookURL(w.URL); err != nil {
			bad("webhook.url: %v", err)
		}
		if w.Timeout < 0 || w.Backoff < 0 || w.MaxBackoff < 0 {
			bad("webhook: timeout and backoffs must not be negative")
		}
		if w.MaxAttempts < 1 || w.MaxAttempts > 20 {
			bad("webhook.max_attempts must be between 1 and 20 (got %d)", w.MaxAttempts)
		}
		if w.BatchSize < 1 {
			bad("webhook.batch_size must be at least 1 (got %d)", w.BatchSize)
		}
		if w.AuthEnv != "" && !envName.MatchString(w.AuthEnv) {
			bad("webhook.auth_env %q is not an environment variable name", w.AuthEnv)
		}
	}
	return errors.Join(errs...)
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ConfigError locates a problem in a config or playbook file.
type ConfigError struct {
	File string
	Line int // 0 when unknown
	Err  error
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// LoadConfig reads a config file, merges its playbook file (if any) over
// the built-in playbook, fills defaults and validates. Unknown keys are
// errors.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, b)
}

// ParseConfig is LoadConfig of bytes read from name (used in messages and
// to resolve a relative playbook path).
func ParseConfig(name string, src []byte) (*Config, error) {
	var c Config
	if len(bytes.TrimSpace(src)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, yamlError(name, err)
		}
	}
	if c.PlaybookFile != "" {
		p := c.PlaybookFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(name), p)
		}
		pb, err := LoadPlaybook(p)
		if err != nil {
			return nil, err
		}
		c.Playbook = pb
	}
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, &ConfigError{File: name, Err: err}
	}
	return &c, nil
}

// yamlError turns a yaml.v3 error into a ConfigError with the line.
func yamlError(file string, err error) error {
	line, msg := textutil.YAMLError(err)
	return &ConfigError{File: file, Line: line, Err: msg}
}
