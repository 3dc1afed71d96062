package predict

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// Options are the inputs of Run.
type Options struct {
	// Dataset is the opened input dataset (required). Run does not close it.
	Dataset *data.Dataset
	// Model is the loaded model (required). Run does not close it.
	Model *train.Model
	// Uplift is the uplift model of the model's directory (nil: none). A
	// trusted one whose feature spec matches the model's fills
	// expected_uplift and expected_mrr_saved, and lets rank_by saved_mrr
	// rank by them; any other is ignored, with the reason logged and
	// recorded in the manifest. Run does not close it.
	Uplift *train.UpliftModel
	// ModelVersion is written in every row; "" means ModelFingerprint(Model).
	ModelVersion string
	// AsOf is the as-of date (required): features use data strictly before
	// it, and customers are those who are customers on it.
	AsOf data.Date
	// Out is the output folder (required); predictions go to
	// Out/predictions/as_of=DATE and alerts to Out/alerts/as_of=DATE.
	Out string
	// Config is the predict configuration; zero fields take their
	// defaults. Run validates it.
	Config Config
	// Now is the clock for scored_at (default time.Now); tests fix it so
	// the output is byte-identical.
	Now func() time.Time
	// Workers computes features in parallel (default GOMAXPROCS).
	Workers int
	// Logger receives progress and warnings (default slog.Default()).
	Logger *slog.Logger
	// Getenv reads the webhook's auth variable (default os.Getenv).
	Getenv func(string) string
	// HTTPClient posts to the webhook (default a plain http.Client; the
	// timeout comes from the config).
	HTTPClient *http.Client
	// Top is the number of riskiest customers returned in Result.Top
	// (default 10).
	Top int
	// Observe, when set, is called with each batch of scored customers —
	// their features and calibrated probabilities, in customer order, one
	// batch at a time — before anything is written. The nightly job counts
	// them for its drift check instead of computing the features again.
	// The table is only valid during the call.
	Observe func(t *features.Table, prob []float64)

	// ChurnVersion is recorded in the files and the webhook's User-Agent
	// ("" records "dev").
	ChurnVersion string

	// webhookSleep replaces the backoff wait in tests.
	webhookSleep func(context.Context, time.Duration) error
}

// Result describes a finished run.
type Result struct {
	AsOf data.Date
	// Rows is the number of customers scored.
	Rows  int64
	Tiers TierCounts
	// PredictionsDir and AlertsDir are the written partitions; Files the
	// prediction files in them.
	PredictionsDir string
	Files          []string
	AlertsDir      string
	// Alerts counts the alerts, in total and per rule (in config order).
	Alerts       int
	AlertsByRule []RuleCount
	// AlertsSkippedControl counts the alerts not raised because the
	// customer is in a control group (not in Alerts).
	AlertsSkippedControl int
	// Experiment is the control-group split of the run.
	Experiment ExperimentInfo
	// SkippedRules lists default alert rules that name a feature the model
	// lacks, with the reason.
	SkippedRules []string
	// ReasonsMethod is exact, approx or none: how every row's reasons
	// were computed (the rows' reason_method).
	ReasonsMethod string
	ModelVersion  string
	// RankBy is how the customers were ranked: risk or saved_mrr (only
	// with a trusted uplift model, whatever the config asks).
	RankBy string
	// Uplift describes the uplift model given (nil when none).
	Uplift *UpliftInfo
	// Previous is the as-of date of the run compared with (NoDate when
	// none) and PreviousMatched the customers found in it.
	Previous        data.Date
	PreviousMatched int64
	// ActiveRule is the label mode that decided who is a customer at AsOf.
	ActiveRule string
	// Top lists the riskiest customers, rank 1 first.
	Top      []Prediction
	Webhook  WebhookResult
	Features features.Stats
	ScoredAt time.Time
}

// TierCounts counts customers per risk tier.
type TierCounts struct {
	High   int64 `json:"high"`
	Medium int64 `json:"medium"`
	Low    int64 `json:"low"`
}

// RuleCount is the number of alerts of one rule.
type RuleCount struct {
	Rule   string `json:"rule"`
	Alerts int    `json:"alerts"`
}

// Prediction is one customer's prediction as written.
type Prediction struct {
	CustomerID  string
	Probability float64
	Tier        string
	Rank        int64
	// RevenueAtRisk is Probability × annual revenue, or × CLV when the
	// annual revenue is unknown (revenueAtRisk); NaN when both are.
	RevenueAtRisk float64
	// PAlive and CLV are the p_alive and clv features of an order-based
	// model (NaN when the model has none, or they are missing).
	PAlive, CLV float64
	Reasons     []Reason
	// ReasonMethod is how the reasons were computed: exact, approx or
	// none.
	ReasonMethod      string
	Action, OwnerRole string
	// ExpectedUplift is the expected reduction of the churn probability
	// from the customer's play and ExpectedMRRSaved that times the MRR
	// (NaN when no trusted uplift model was used, or the revenue is
	// unknown).
	ExpectedUplift, ExpectedMRRSaved float64
	// Play is the play that targets the customer ("" in the low tier) and
	// Group its treatment group there: data.GroupTreat,
	// data.GroupControl (never contact because of churn), or "" when not
	// targeted.
	Play, Group         string
	Owner               string
	LifecycleStage      string
	PreviousProbability float64 // NaN when none
}

// customerScore is what is kept per customer between scoring and writing:
// a few hundred bytes, not the feature row.
type customerScore struct {
	id       string
	prob     float64
	annual   float64 // 12 × MRR; NaN when unknown
	pAlive   float64 // the p_alive feature; NaN when absent or missing
	clv      float64 // the clv feature; NaN when absent or missing
	owner    string
	stage    string
	reasons  [MaxReasons]reasonRef
	prevProb float64 // NaN when none
	uplift   float64 // expected_uplift; NaN when not computed
	prevTier int8    // -1 when none
	tier     int8
	alerted  bool // an alert was raised (never for control customers)
	group    int8 // groupNone, groupTreat or groupControl
	rank     int32
}

// ModelFingerprint returns "sha256:" and 12 hex digits of the model's
// manifest (model.json content), the default model version.
func ModelFingerprint(m *train.Model) string {
	b, _ := json.Marshal(&m.Manifest)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// Run scores every customer of the dataset who is a customer at opt.AsOf
// and writes the predictions and alerts partitions. It computes
// everything before writing anything: bad input fails the run with nothing
// written. Both partitions are staged in Out/_staging and published
// together (a partition of the same date is replaced atomically; if the
// second cannot be published, the first is put back). After they are
// published, the alerts are posted to the webhook if one is configured; a
// failed delivery returns the Result together with a *WebhookError when
// the webhook is required.
func Run(ctx context.Context, opt Options) (*Result, error) {
	return runWith(ctx, opt, (*plan).scoreAll)
}

// runWith is Run with the per-customer records made by score (see stage).
func runWith(ctx context.Context, opt Options, score func(*plan, context.Context) (*scoring, features.Stats, error)) (*Result, error) {
	if opt.Out == "" {
		return nil, errors.New("predict: an output folder is required")
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	txn, err := BeginStaging(opt.Out, log)
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	st, err := stage(ctx, opt, txn, score)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := txn.Commit(); err != nil {
		return nil, err
	}
	log.Info("published", "predictions", st.Result.PredictionsDir, "alerts", st.Result.AlertsDir)
	return st.Result, st.Deliver(ctx)
}

// BeginStaging removes what interrupted runs left in out/_staging and
// starts a transaction there, outside the folders readers glob.
func BeginStaging(out string, log *slog.Logger) (*data.Txn, error) {
	root := filepath.Join(out, StagingDir)
	removed, err := data.CleanStaging(root)
	for _, dir := range removed {
		log.Info("removed the staging folder of an interrupted run", "dir", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("clean %s: %w", root, err)
	}
	return data.BeginTxn(root)
}

// StagingDir is the folder under the output folder where partitions are
// built before they are moved into place. It lies outside predictions/ and
// alerts/, so readers globbing predictions/*/*.parquet never see a
// partition being written (DuckDB's globs include hidden folders, so a
// hidden sibling would not do).
const StagingDir = "_staging"

// Staged is a scored run whose partitions are staged but not published:
// commit the transaction given to Stage, then call Deliver.
type Staged struct {
	// Result describes the run; its paths are where the partitions will be
	// once the transaction is committed.
	Result *Result

	hook     *webhook
	cfg      WebhookConfig
	payloads [][]byte
	counts   []int
	log      *slog.Logger
}

// Deliver posts the alerts to the webhook, if one is configured, and
// records the outcome in Result.Webhook. Call it after the partitions are
// published. The error is a *WebhookError when a required webhook failed;
// a webhook that is not required only logs its failure.
func (s *Staged) Deliver(ctx context.Context) error {
	res, log := s.Result, s.log
	if s.hook == nil {
		return nil
	}
	if len(s.payloads) == 0 {
		res.Webhook = WebhookResult{Configured: true, URL: redactURL(s.cfg.URL), Required: s.cfg.IsRequired()}
		log.Info("webhook: no alerts to send", "url", res.Webhook.URL)
		return nil
	}
	res.Webhook = s.hook.send(ctx, s.payloads, s.counts)
	if err := res.Webhook.Err; err != nil {
		if res.Webhook.Required {
			return err
		}
		log.Warn("webhook delivery failed (webhook.required is false; the run succeeds)", "error", err)
		return nil
	}
	log.Info("webhook delivered", "url", res.Webhook.URL, "alerts", res.Webhook.Alerts, "requests", res.Webhook.Sent, "attempts", res.Webhook.Attempts)
	return nil
}

// Check compiles and checks everything of cfg that scoring with a model of
// spec as of asOf would use, without reading data or writing anything:
// tiers, reasons, output, the playbook, every alert rule (syntax, names
// and types against spec's features and the prediction fields) and the
// webhook (URL and auth variable, read with getenv; nil means os.Getenv).
// A nil spec checks the rules against the prediction fields only, taking
// any other name for a feature. The nightly job calls it before any side
// effect; Stage calls it too.
func Check(cfg Config, spec *features.Spec, asOf data.Date, getenv func(string) string) error {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("predict config: %w", err)
	}
	if _, err := compileRules(cfg.Alerts, spec, asOf); err != nil {
		return err
	}
	if _, err := webhookAuth(cfg.Webhook, getenv); err != nil {
		return err
	}
	return checkSinkAuth(cfg.Sinks, getenv)
}

// checkSinkAuth reports a sink whose password variable is not set: checked
// before the hours of work, not after them.
func checkSinkAuth(sinks []SinkConfig, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	for i, sk := range sinks {
		if sk.PasswordEnv != "" && getenv(sk.PasswordEnv) == "" {
			return fmt.Errorf("sinks[%d] (%s): the environment variable %s (password_env) is not set", i, Redact(sk.URL), sk.PasswordEnv)
		}
	}
	return nil
}

// webhookAuth returns the value of the webhook's auth variable ("" when
// none is configured).
func webhookAuth(w WebhookConfig, getenv func(string) string) (string, error) {
	if w.URL == "" || w.AuthEnv == "" {
		return "", nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	auth := getenv(w.AuthEnv)
	if auth == "" {
		return "", fmt.Errorf("webhook: the environment variable %s (webhook.auth_env) is not set", w.AuthEnv)
	}
	return auth, nil
}

// Stage scores every customer of the dataset who is a customer at
// opt.AsOf and writes the predictions and alerts partitions into txn;
// nothing is published until txn is committed. opt.Out decides the final
// paths.
func Stage(ctx context.Context, opt Options, txn *data.Txn) (*Staged, error) {
	return stage(ctx, opt, txn, (*plan).scoreAll)
}

// stage is Stage with the per-customer records made by score: computed
// from the dataset (Stage), or read from shards (Merge) or given (Publish).
// Everything global — the previous run, ranks, tiers, control groups,
// alerts, the files — happens here, after score.
func stage(ctx context.Context, opt Options, txn *data.Txn, score func(*plan, context.Context) (*scoring, features.Stats, error)) (*Staged, error) {
	if err := requireInputs(&opt); err != nil {
		return nil, err
	}
	if opt.Out == "" || txn == nil {
		return nil, errors.New("predict: an output folder and a staging transaction are required")
	}
	p, err := newPlan(ctx, opt, planStage)
	if err != nil {
		return nil, err
	}
	sc, stats, err := score(p, ctx)
	if err != nil {
		return nil, err
	}
	return p.finish(ctx, txn, sc, stats)
}

// planMode says what a plan prepares besides scoring.
type planMode int

const (
	planScore planMode = iota // scoring only (Scorer)
	planShard                 // scoring and the dataset's fingerprint (WriteShard)
	planStage                 // everything: also the webhook and the previous run
)

// plan is a run prepared: the checked config, the model, the builder, the
// compiled rules and what the outputs need, before any customer is scored.
type plan struct {
	opt          Options
	cfg          Config
	log          *slog.Logger
	now          func() time.Time
	churnVersion string
	workers      int
	version      string
	spec         *features.Spec
	lc           features.LabelConfig
	builder      *features.Builder
	rules        *ruleSet
	hook         *webhook
	prev         *previousRun
	fingerprint  string
	customers    int64 // rows of the customers table
	method       string
	contrib      train.ContribMethod
	up           *UpliftInfo
	upModel      *train.UpliftModel
	rankBy       string
}

// newPlan checks opt and prepares the run. Every check that needs no
// customer is done here, so bad settings fail before any work.
func newPlan(ctx context.Context, opt Options, mode planMode) (*plan, error) {
	if err := requireInputs(&opt); err != nil {
		return nil, err
	}
	p := &plan{opt: opt, cfg: opt.Config, log: opt.Logger, now: opt.Now, churnVersion: opt.ChurnVersion, workers: opt.Workers}
	cfg := &p.cfg
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("predict config: %w", err)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	log := p.log
	if p.now == nil {
		p.now = time.Now
	}
	if p.churnVersion == "" {
		p.churnVersion = "dev"
	}
	if p.workers <= 0 {
		p.workers = runtime.GOMAXPROCS(0)
	}
	ds, model := opt.Dataset, opt.Model
	p.spec = model.Manifest.Spec
	spec := p.spec
	if p.version = opt.ModelVersion; p.version == "" {
		p.version = ModelFingerprint(model)
	}

	// Everything that can be checked before the work is checked first.
	if err := checkTables(ds, spec); err != nil {
		return nil, err
	}
	lc, fallback := activeRule(ds, spec)
	if fallback != "" {
		log.Warn(fallback)
	}
	p.lc = lc
	var err error
	if p.builder, err = features.NewBuilder(ds, spec, lc); err != nil {
		return nil, fmt.Errorf("the dataset %s cannot provide the model's features: %w", ds.Dir, err)
	}
	if fit, _ := spec.LifetimeAt(opt.AsOf); len(spec.Lifetime) > 0 && fit == nil {
		log.Warn("the as-of date is before the model's first lifetime fit: p_alive, expected purchases and clv are missing for every customer", "as_of", opt.AsOf.String(), "first_fit", spec.Lifetime[0].AsOf)
	}
	if p.rules, err = compileRules(cfg.Alerts, spec, opt.AsOf); err != nil {
		return nil, err
	}
	if mode == planStage {
		if err := checkSinkAuth(cfg.Sinks, opt.Getenv); err != nil {
			return nil, err
		}
		for _, s := range p.rules.skipped {
			log.Info("default alert rule skipped", "rule", s)
		}
		if cfg.Webhook.URL != "" {
			auth, err := webhookAuth(cfg.Webhook, opt.Getenv)
			if err != nil {
				return nil, err
			}
			p.hook = newWebhook(cfg.Webhook, auth, opt.HTTPClient, log, p.churnVersion)
			if opt.webhookSleep != nil {
				p.hook.sleep = opt.webhookSleep
			}
		}
	}
	warnStale(ds, opt.AsOf, log)
	if mode == planStage {
		if p.prev, err = readPrevious(ctx, opt.Out, opt.AsOf); err != nil {
			return nil, err
		}
	}
	if mode >= planShard {
		if p.fingerprint, err = ds.Fingerprint(); err != nil {
			return nil, fmt.Errorf("fingerprint the dataset: %w", err)
		}
	}
	p.customers = ds.Table(data.Customers).NumRows()
	p.method, p.contrib = reasonsMethod(cfg.Reasons, p.customers, model.Manifest.Algo)

	p.up, p.upModel = upliftFor(opt.Uplift, spec)
	p.rankBy = cfg.RankBy
	if mode == planStage {
		switch up := p.up; {
		case up == nil:
		case up.Note != "":
			log.Warn("uplift model ignored: "+up.Note, "verdict", up.Verdict)
		case up.Used:
			log.Info("uplift model", "qini", up.Qini, "qini_risk", up.QiniRisk, "valid_from", up.ValidFrom)
		}
	}
	if p.rankBy == RankBySavedMRR && p.upModel == nil {
		p.rankBy = RankByRisk
		if mode == planStage {
			log.Warn("rank_by saved_mrr needs a trusted uplift model (churn train --uplift): ranking by risk")
		}
	}
	return p, nil
}

// requireInputs checks the options every run needs.
func requireInputs(opt *Options) error {
	if opt.Dataset == nil || opt.Model == nil {
		return errors.New("predict: Options.Dataset and Options.Model are required")
	}
	if !opt.AsOf.Valid() {
		return errors.New("predict: an as-of date is required")
	}
	return nil
}

// newScoring returns an empty scoring with room for capacity customers.
func (p *plan) newScoring(capacity int64) *scoring {
	spec := p.spec
	return &scoring{
		spec: spec, rend: newRenderer(spec, p.cfg.Playbook), rules: p.rules, method: p.method, uplift: p.upModel,
		mrr: featureIndex(spec, "mrr", features.Numeric), stage: featureIndex(spec, "lifecycle_stage", features.Categorical),
		pAlive: featureIndex(spec, "p_alive", features.Numeric), clv: featureIndex(spec, "clv", features.Numeric),
		owners: map[string]string{},
		recs:   make([]customerScore, 0, capacity),
	}
}

func (p *plan) scoreOptions() train.ScoreOptions {
	return train.ScoreOptions{Contrib: p.contrib, Workers: p.workers}
}

// scoreAll scores every customer of the dataset.
func (p *plan) scoreAll(ctx context.Context) (*scoring, features.Stats, error) {
	return p.score(ctx, nil, p.customers)
}

// score computes the per-customer records — features → model → reasons,
// batch by batch in customer order — of the customers keep chooses (nil:
// all of them), about capacity of them.
func (p *plan) score(ctx context.Context, keep func(string) bool, capacity int64) (*scoring, features.Stats, error) {
	ds, log, opt := p.opt.Dataset, p.log, &p.opt
	log.Info("scoring", "data", ds.Dir, "as_of", opt.AsOf.String(), "customers", p.customers, "model", p.version, "reasons", p.method, "active_rule", p.lc.Mode)
	// Every customer chosen may be scored: one allocation instead of a
	// doubling slice (which would hold up to twice the records).
	sc := p.newScoring(capacity)
	start, lastLog := time.Now(), time.Now()
	so := p.scoreOptions()
	run := features.RunOptions{Dates: []data.Date{opt.AsOf}, Workers: p.workers, KeepCustomers: true, Keep: keep}
	stats, err := p.builder.RunWith(ctx, run, func(bt *features.Batch) error {
		if err := sc.add(ctx, opt.Model, so, bt, opt.Observe); err != nil {
			return err
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			log.Info("scoring", "customers_scored", len(sc.recs), "of", p.customers, "seconds", time.Since(start).Seconds())
		}
		return nil
	})
	if err != nil {
		return nil, stats, err
	}
	if !slices.IsSortedFunc(sc.recs, func(a, b customerScore) int { return strings.Compare(a.id, b.id) }) {
		return nil, stats, errors.New("predict: internal error: feature batches were not in customer order")
	}
	log.Info("scored", "customers", len(sc.recs), "seconds", time.Since(start).Seconds())
	return sc, stats, nil
}

// finish does the global work on the scored customers (sc, sorted by
// customer_id): the previous run, ranks, tiers, control groups, alerts,
// and writes the partitions into txn.
func (p *plan) finish(ctx context.Context, txn *data.Txn, sc *scoring, stats features.Stats) (*Staged, error) {
	opt, cfg, log, ds := &p.opt, &p.cfg, p.log, p.opt.Dataset
	if len(sc.recs) == 0 {
		return nil, fmt.Errorf("no customer of %s is a customer on %s (label mode %s): nothing to score; is the date inside the data?", ds.Dir, opt.AsOf, p.lc.Mode)
	}
	scoredAt := p.now().UTC().Truncate(time.Microsecond)
	prev, rules, rankBy, method, version := p.prev, p.rules, p.rankBy, p.method, p.version

	// Compare, rank, tier, alert.
	matched := sc.joinPrevious(prev)
	order := sc.rank()
	tiers := assignTiers(sc.recs, order, cfg.Tiers)
	if p.upModel != nil {
		sc.untargetedUplift()
	}
	if rankBy == RankBySavedMRR {
		order, tiers = sc.rankBySaved(cfg.Tiers)
	}
	exp := sc.assignGroups(cfg.Control.Experiment(), method)
	log.Info("control groups", "share", exp.Share, "seed", exp.Seed, "cohort", exp.Cohort, "targeted", exp.Targeted, "control", exp.Control)
	alerts, skipped, err := sc.evaluate(ctx, order)
	if err != nil {
		return nil, err
	}
	if skipped.alerts > 0 {
		log.Info("alerts skipped for control customers (never contacted because of churn)", "alerts", skipped.alerts, "customers", skipped.customers)
	}

	run := &output{
		sc: sc, cfg: cfg, order: order, asOf: opt.AsOf, version: version,
		scoredAt: data.TimestampOf(scoredAt), pb: cfg.Playbook, workers: p.workers, churnVersion: p.churnVersion, method: method,
		skippedControl: skipped.alerts,
	}
	if prev != nil {
		run.prevAsOf = prev.asOf
	} else {
		run.prevAsOf = data.NoDate
	}
	res := &Result{
		AsOf: opt.AsOf, Rows: int64(len(sc.recs)), Tiers: tiers, ReasonsMethod: method, ModelVersion: version,
		Previous: run.prevAsOf, PreviousMatched: matched, ActiveRule: string(p.lc.Mode), Features: stats, ScoredAt: scoredAt,
		SkippedRules: rules.skipped, Experiment: exp, AlertsSkippedControl: skipped.alerts, RankBy: rankBy, Uplift: p.up,
	}
	for ri, r := range rules.rules {
		n := 0
		for _, a := range alerts {
			if int(a.rule) == ri {
				n++
			}
		}
		res.AlertsByRule = append(res.AlertsByRule, RuleCount{Rule: r.Name, Alerts: n})
	}
	res.Alerts = len(alerts)

	man := &Manifest{
		SchemaVersion: SchemaVersion, AsOf: opt.AsOf.String(), Rows: res.Rows, SortedBy: "rank",
		ModelVersion: version, Model: modelInfo(opt.Model), ReasonsMethod: method, Tiers: tiers, TierRules: cfg.Tiers,
		ActiveRule: string(p.lc.Mode), Alerts: res.Alerts, AlertsByRule: res.AlertsByRule, AlertsSkippedControl: skipped.alerts,
		Experiment: exp, RankBy: rankBy, Uplift: p.up,
		Input:    InputInfo{Dataset: ds.Dir, Fingerprint: p.fingerprint, Customers: stats.Customers, Rows: tableRows(ds)},
		ScoredAt: scoredAt.Format(time.RFC3339Nano), ChurnVersion: p.churnVersion, ConfigSHA256: configHash(cfg),
	}
	if prev != nil {
		man.Previous = &PreviousInfo{AsOf: prev.asOf.String(), Rows: int64(len(prev.ids)), Matched: matched}
	}

	// Write: predictions, then alerts, both staged in txn.
	if res.PredictionsDir, res.Files, err = run.writePredictions(ctx, txn, opt.Out, man); err != nil {
		return nil, err
	}
	log.Info("predictions staged", "dir", res.PredictionsDir, "rows", res.Rows, "files", len(res.Files))
	payloads, counts, dir, err := run.writeAlerts(ctx, txn, opt.Out, alerts, rules, cfg.Webhook.BatchSize)
	if err != nil {
		return nil, err
	}
	res.AlertsDir = dir
	log.Info("alerts staged", "dir", dir, "alerts", res.Alerts)
	res.Top = run.top(opt.Top)
	return &Staged{Result: res, hook: p.hook, cfg: cfg.Webhook, payloads: payloads, counts: counts, log: log}, nil
}

// reasonsMethod resolves the configured method for a dataset of customers
// customers and a model of algorithm algo: the method recorded (exact,
// approx or none) and the contributions that compute it. Linear
// contributions are exact, so logistic regression's approx is exact.
func reasonsMethod(rc ReasonsConfig, customers int64, algo string) (string, train.ContribMethod) {
	method := rc.Method
	if method == ReasonsAuto {
		method = ReasonsExact
		if rc.ExactMaxCustomers > 0 && customers > int64(rc.ExactMaxCustomers) {
			method = ReasonsApprox
		}
	}
	if method == ReasonsApprox && algo == train.AlgoLogReg {
		method = ReasonsExact
	}
	switch method {
	case ReasonsExact:
		return method, train.ContribExact
	case ReasonsApprox:
		return method, train.ContribApprox
	}
	return ReasonsNone, train.ContribNone
}

// checkTables reports tables the model's features were computed from that
// the dataset lacks: without them a feature would be missing or computed
// from another source (e.g. MRR from today's customers row instead of the
// subscription history).
func checkTables(ds *data.Dataset, spec *features.Spec) error {
	users := map[string][]string{}
	for _, d := range spec.Features {
		for _, alt := range d.Needs {
			for _, item := range alt {
				t, _, _ := strings.Cut(item, ".")
				if t == data.Customers || !slices.Contains(spec.Tables, t) || slices.Contains(users[t], d.Name) {
					continue
				}
				users[t] = append(users[t], d.Name)
			}
		}
	}
	var missing []string
	for _, t := range data.TableNames() {
		if len(users[t]) > 0 && !ds.Has(t) {
			missing = append(missing, fmt.Sprintf("%s (used by %s)", t, strings.Join(users[t], ", ")))
		}
	}
	if len(missing) > 0 {
		return &data.InputError{File: ds.Dir, Err: fmt.Errorf("the dataset lacks tables the model was trained with: %s", strings.Join(missing, "; "))}
	}
	return nil
}

// activeRule returns the label config that decides who is a customer at
// the as-of date: the model's label mode, or mode none (churned by
// churn_date or churn events when present) when the dataset lacks the
// mode's source. The message says why it fell back.
func activeRule(ds *data.Dataset, spec *features.Spec) (features.LabelConfig, string) {
	lc := features.LabelConfig{Mode: spec.Label.Mode, Horizon: spec.Label.HorizonDay, Gap: spec.Label.GapDays, DataEnd: data.NoDate}
	if lc.Horizon <= 0 {
		lc.Horizon = 90
	}
	cust := ds.Table(data.Customers)
	ok := true
	switch lc.Mode {
	case features.LabelChurnEvents:
		ok = ds.Has(data.ChurnEvents)
	case features.LabelChurnDate:
		ok = cust.HasColumn("churn_date")
	case features.LabelSnapshot:
		ok = cust.HasColumn("churned")
	case features.LabelInactivity:
		ok = ds.Has(data.Orders)
	case features.LabelNone:
	default:
		ok = false
	}
	if ok {
		return lc, ""
	}
	msg := fmt.Sprintf("the model's label mode %s needs data this dataset lacks; customers are taken as active unless customers.churn_date or churn_events says they left", lc.Mode)
	lc.Mode = features.LabelNone
	return lc, msg
}

// warnStale logs when the data ends well before the as-of date: recent
// activity would be missing and customers would look inactive.
func warnStale(ds *data.Dataset, asOf data.Date, log *slog.Logger) {
	end := data.NoDate
	for _, tf := range ds.Tables() {
		if tf.Table.Time == "" || tf.Table.Name == data.ChurnEvents {
			continue
		}
		if d, ok := ds.MaxDate(tf.Table.Name, tf.Table.Time); ok && d > end {
			end = d
		}
	}
	if end != data.NoDate && asOf > end.AddDays(7) {
		log.Warn("the data ends well before the as-of date: recent activity is missing, so customers look less active than they are", "data_end", end.String(), "as_of", asOf.String(), "days", int(asOf-end))
	}
}

func featureIndex(spec *features.Spec, name string, kind features.Kind) int {
	for i, d := range spec.Features {
		if d.Name == name && d.Kind == kind {
			return i
		}
	}
	return -1
}

// scoring accumulates the scored customers, in customer order.
type scoring struct {
	spec   *features.Spec
	rend   *renderer
	rules  *ruleSet
	method string // reasons method: exact, approx or none
	// uplift scores expected_uplift (nil: not computed).
	uplift *train.UpliftModel
	mrr    int // index of the mrr feature, -1 when absent
	stage  int // index of lifecycle_stage, -1 when absent
	// pAlive and clv index the lifetime features (-1 when absent).
	pAlive, clv int
	recs        []customerScore
	// Values of the features alert rules read: len(rules.feats) per
	// customer, numbers in nums (NaN for categorical ones) and strings in
	// strs (only when a rule reads a categorical feature).
	nums   []float64
	strs   []string
	owners map[string]string // interned owner names
}

var stageNames = map[string]string{
	features.StageOnboarding: features.StageOnboarding, features.StageActive: features.StageActive,
	features.StageRenewal: features.StageRenewal, features.StagePastEnd: features.StagePastEnd,
}

func (s *scoring) add(ctx context.Context, m *train.Model, so train.ScoreOptions, bt *features.Batch, observe func(*features.Table, []float64)) error {
	if bt.N == 0 {
		return nil
	}
	tab := bt.Table(s.spec)
	scores, err := m.ScoreWith(ctx, tab, nil, so)
	if err != nil {
		return err
	}
	if observe != nil {
		observe(tab, scores.Prob)
	}
	nf := len(s.spec.Features)
	hasStr := false
	for _, fi := range s.rules.feats {
		if tab.Cat[fi] != nil {
			hasStr = true
		}
	}
	first := len(s.recs)
	for r := 0; r < tab.Len(); r++ {
		cs := customerScore{id: strings.Clone(tab.IDs[r]), prob: scores.Prob[r], annual: math.NaN(), pAlive: math.NaN(), clv: math.NaN(), prevProb: math.NaN(), prevTier: -1, uplift: math.NaN()}
		if scores.Contrib != nil {
			s.rend.top(scores.Contrib[r][:nf], tableRow{r: s.rend, tab: tab, row: r}, &cs.reasons)
		} else {
			for j := range cs.reasons {
				cs.reasons[j] = reasonRef{feat: -1}
			}
		}
		mrr := math.NaN()
		if s.mrr >= 0 {
			mrr = tab.Num[s.mrr][r]
		}
		var c *data.Customer
		if r < len(bt.Customers) {
			c = &bt.Customers[r]
		}
		if math.IsNaN(mrr) && c != nil {
			mrr = c.MRR
		}
		cs.annual = annualRevenue(mrr)
		if s.pAlive >= 0 {
			cs.pAlive = tab.Num[s.pAlive][r]
		}
		if s.clv >= 0 {
			cs.clv = tab.Num[s.clv][r]
		}
		if s.stage >= 0 {
			v := tab.Cat[s.stage][r]
			if n, ok := stageNames[v]; ok {
				cs.stage = n
			} else if v != "" {
				cs.stage = strings.Clone(v)
			}
		}
		if c != nil && c.Owner != "" {
			o, ok := s.owners[c.Owner]
			if !ok {
				o = strings.Clone(c.Owner)
				s.owners[o] = o
			}
			cs.owner = o
		}
		for _, fi := range s.rules.feats {
			if tab.Cat[fi] != nil {
				s.nums = append(s.nums, math.NaN())
			} else {
				s.nums = append(s.nums, tab.Num[fi][r])
			}
			if hasStr {
				if tab.Cat[fi] != nil {
					s.strs = append(s.strs, s.rend.internString(tab.Cat[fi][r]))
				} else {
					s.strs = append(s.strs, "")
				}
			}
		}
		s.recs = append(s.recs, cs)
	}
	return s.addUplift(ctx, tab, s.recs[first:])
}

// addUplift sets the expected uplift of recs, the batch of tab's rows, when
// an uplift model is used: the customer's churn probability times the
// relative risk reduction the model expects from its play
// (train.UpliftScores.RRR). The play is the one that targets it
// (categoryOf); the low tier's, whom no play targets, is cleared once the
// tiers are known (untargetedUplift).
func (s *scoring) addUplift(ctx context.Context, tab *features.Table, recs []customerScore) error {
	if s.uplift == nil {
		return nil
	}
	plays := make([]string, len(recs))
	for r := range recs {
		plays[r] = categoryOf(&recs[r], s.rend.cat, s.method)
	}
	us, err := s.uplift.Score(ctx, tab, plays, nil)
	if err != nil {
		return fmt.Errorf("uplift: %w", err)
	}
	for r := range recs {
		recs[r].uplift = recs[r].prob * us.RRR[r]
	}
	return nil
}

// annualRevenue is 12 × MRR, or NaN (unknown, so revenue_at_risk is null)
// when the MRR is missing, not finite or negative: a negative MRR is a
// data error (churn validate flags it), never a negative revenue at risk.
func annualRevenue(mrr float64) float64 {
	if math.IsNaN(mrr) || math.IsInf(mrr, 0) || mrr < 0 {
		return math.NaN()
	}
	return 12 * mrr
}

// revenueAtRisk is what the customer's churn would cost: the churn
// probability × the annual revenue (12 × MRR) when it is known, else — an
// order-based business without MRR — × the customer's lifetime value (the
// clv feature: expected discounted spend over the CLV horizon); NaN when
// neither is known.
func (cs *customerScore) revenueAtRisk() float64 {
	if !math.IsNaN(cs.annual) {
		return cs.prob * cs.annual
	}
	if math.IsNaN(cs.clv) || math.IsInf(cs.clv, 0) || cs.clv < 0 {
		return math.NaN()
	}
	return cs.prob * cs.clv
}

// joinPrevious fills the previous probability and tier of each customer
// from the previous run (both sorted by customer_id) and returns how many
// customers it found.
func (s *scoring) joinPrevious(p *previousRun) int64 {
	if p == nil {
		return 0
	}
	var n int64
	j := 0
	for i := range s.recs {
		id := s.recs[i].id
		for j < len(p.ids) && p.ids[j] < id {
			j++
		}
		if j < len(p.ids) && p.ids[j] == id {
			s.recs[i].prevProb, s.recs[i].prevTier = p.prob[j], p.tier[j]
			n++
		}
	}
	return n
}

// rank orders the customers by probability (highest first), ties by
// customer_id, sets their rank and returns the order.
func (s *scoring) rank() []int32 {
	order := make([]int32, len(s.recs))
	for i := range order {
		order[i] = int32(i)
	}
	recs := s.recs
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(recs[b].prob, recs[a].prob); c != 0 {
			return c
		}
		return strings.Compare(recs[a].id, recs[b].id)
	})
	for k, i := range order {
		recs[i].rank = int32(k + 1)
	}
	return order
}

// savedMRR is a customer's expected MRR saved: expected uplift × MRR, NaN
// when either is unknown.
func savedMRR(cs *customerScore) float64 { return cs.uplift * cs.annual / 12 }

// savedOrZero is savedMRR with unknown as 0, for ranking.
func savedOrZero(cs *customerScore) float64 {
	if x := savedMRR(cs); !math.IsNaN(x) {
		return x
	}
	return 0
}

// untargetedUplift clears the expected uplift of the low tier's
// customers: no play targets them, and the uplift model, fitted on
// customers that plays targeted, does not speak for them.
func (s *scoring) untargetedUplift() {
	for i := range s.recs {
		if s.recs[i].tier == tierLow {
			s.recs[i].uplift = math.NaN()
		}
	}
}

// rankBySaved reorders the customers for rank_by saved_mrr once risk has
// tiered them: the targeted ones (high and medium) first, by expected MRR
// saved (highest first; unknown counts as 0), then probability, then
// customer_id; the low tier after them in risk order. It sets the ranks,
// refills high from the targeted customers in that order (those its rule
// admits, up to its capacity: as many as risk put there), leaves the other
// targeted customers in medium, and returns the order and the counts.
func (s *scoring) rankBySaved(t Tiers) ([]int32, TierCounts) {
	order := make([]int32, len(s.recs))
	for i := range order {
		order[i] = int32(i)
	}
	recs := s.recs
	slices.SortFunc(order, func(a, b int32) int {
		ra, rb := &recs[a], &recs[b]
		if ta, tb := ra.tier != tierLow, rb.tier != tierLow; ta != tb {
			if ta {
				return -1
			}
			return 1
		} else if ta {
			if c := cmp.Compare(savedOrZero(rb), savedOrZero(ra)); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(rb.prob, ra.prob); c != 0 {
			return c
		}
		return strings.Compare(ra.id, rb.id)
	})
	cap := t.High.capacity(len(order))
	var tc TierCounts
	for k, i := range order {
		cs := &recs[i]
		cs.rank = int32(k + 1)
		switch {
		case cs.tier == tierLow:
			tc.Low++
		case int(tc.High) < cap && t.High.admits(cs.prob):
			cs.tier = tierHigh
			tc.High++
		default:
			cs.tier = tierMedium
			tc.Medium++
		}
	}
	return order, tc
}

// assignTiers puts customers in tiers in rank order: high while they meet
// the high rule and high has room, then medium likewise, then low.
func assignTiers(recs []customerScore, order []int32, t Tiers) TierCounts {
	n := len(order)
	k := 0
	fill := func(rule TierRule, tier int8) int64 {
		cap := rule.capacity(n)
		var c int64
		for k < n && int(c) < cap && rule.admits(recs[order[k]].prob) {
			recs[order[k]].tier = tier
			k++
			c++
		}
		return c
	}
	var tc TierCounts
	tc.High = fill(t.High, tierHigh)
	tc.Medium = fill(t.Medium, tierMedium)
	for ; k < n; k++ {
		recs[order[k]].tier = tierLow
		tc.Low++
	}
	return tc
}

// alertRef is one alert: a rule and a customer (index into recs).
type alertRef struct {
	rule int32
	rec  int32
}

// skippedAlerts counts the alerts withheld from control customers.
type skippedAlerts struct {
	alerts    int // alerts that fired for control customers
	customers int // control customers with at least one
}

// evaluate runs every rule over every customer in rank order and returns
// the alerts, rule by rule (in config order), each rule's in rank order.
// Control customers get none: what fired for them is only counted.
func (s *scoring) evaluate(ctx context.Context, order []int32) ([]alertRef, skippedAlerts, error) {
	var skipped skippedAlerts
	rs := s.rules
	if len(rs.rules) == 0 {
		return nil, skipped, nil
	}
	k := len(rs.feats)
	env := map[string]any{}
	perRule := make([][]alertRef, len(rs.rules))
	var machine vm.VM
	for n, i := range order {
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, skipped, err
			}
		}
		cs := &s.recs[i]
		s.fillEnv(env, cs, int(i), k)
		fired := 0
		for ri := range rs.rules {
			r := &rs.rules[ri]
			out, err := machine.Run(r.prog, env)
			if err != nil {
				return nil, skipped, &RuleError{Rule: r.Name, Err: fmt.Errorf("customer %s: %v", cs.id, err)}
			}
			if b, _ := out.(bool); !b {
				continue
			}
			fired++
			if cs.group != groupControl {
				perRule[ri] = append(perRule[ri], alertRef{rule: int32(ri), rec: i})
				cs.alerted = true
			}
		}
		if fired > 0 && cs.group == groupControl {
			skipped.alerts += fired
			skipped.customers++
		}
	}
	var all []alertRef
	for _, a := range perRule {
		all = append(all, a...)
	}
	return all, skipped, nil
}

// fillEnv sets the prediction fields and features the rules read for one
// customer (index i; k feature values per customer).
func (s *scoring) fillEnv(env map[string]any, cs *customerScore, i, k int) {
	for _, f := range s.rules.fields {
		var v any
		switch f {
		case "customer_id":
			v = cs.id
		case "probability":
			v = cs.prob
		case "tier":
			v = tierNames[cs.tier]
		case "rank":
			v = int64(cs.rank)
		case "annual_revenue":
			v = cs.annual
		case "revenue_at_risk":
			v = cs.revenueAtRisk()

		case "previous_probability":
			v = cs.prevProb
		case "probability_change":
			v = cs.prob - cs.prevProb
		case "has_previous":
			v = cs.prevTier >= 0
		case "previous_tier":
			v = ""
			if cs.prevTier >= 0 {
				v = tierNames[cs.prevTier]
			}
		case "lifecycle_stage":
			v = cs.stage
		case "owner":
			v = cs.owner
		case "top_reason", "top_reason_category":
			v = ""
			if fi := cs.reasons[0].feat; fi >= 0 {
				if f == "top_reason" {
					v = s.spec.Features[fi].Name
				} else {
					v = s.rend.cat[fi]
				}
			}
		default:
			panic("predict: alert field without a value: " + f)
		}
		env[f] = v
	}
	for j, fi := range s.rules.feats {
		d := &s.spec.Features[fi]
		if d.Kind == features.Categorical {
			env[d.Name] = s.strs[i*k+j]
		} else {
			env[d.Name] = s.nums[i*k+j]
		}
	}
}

// Manifest is _manifest.json of a predictions partition.
type Manifest struct {
	SchemaVersion int        `json:"schema_version"`
	AsOf          string     `json:"as_of"`
	Rows          int64      `json:"rows"`
	Files         []FileInfo `json:"files"`
	SortedBy      string     `json:"sorted_by"`
	ModelVersion  string     `json:"model_version"`
	Model         ModelInfo  `json:"model"`
	// ReasonsMethod is exact (TreeSHAP, or linear for logistic
	// regression), approx (Saabas) or none, as every row's
	// reason_method.
	ReasonsMethod string     `json:"reasons_method"`
	Tiers         TierCounts `json:"tiers"`
	TierRules     Tiers      `json:"tier_rules"`
	// ActiveRule is the label mode that decided who is a customer.
	ActiveRule   string      `json:"active_rule"`
	Alerts       int         `json:"alerts"`
	AlertsByRule []RuleCount `json:"alerts_by_rule"`
	// AlertsSkippedControl counts the alerts withheld from control
	// customers.
	AlertsSkippedControl int `json:"alerts_skipped_control"`
	// Experiment is the control-group split (docs/playbook.md#control-groups).
	Experiment ExperimentInfo `json:"experiment"`
	// RankBy is how the rows were ranked: risk or saved_mrr.
	RankBy string `json:"rank_by"`
	// Uplift describes the uplift model given to the run (null when
	// none).
	Uplift       *UpliftInfo   `json:"uplift"`
	Previous     *PreviousInfo `json:"previous"`
	Input        InputInfo     `json:"input"`
	ScoredAt     string        `json:"scored_at"`
	ChurnVersion string        `json:"churn_version"`
	ConfigSHA256 string        `json:"config_sha256"`
}

// FileInfo describes one written file.
type FileInfo struct {
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// ModelInfo summarises the model.
type ModelInfo struct {
	Algo          string  `json:"algo"`
	Rounds        int     `json:"rounds,omitempty"`
	LabelMode     string  `json:"label_mode"`
	HorizonDays   int     `json:"horizon_days"`
	Features      int     `json:"features"`
	Calibration   string  `json:"calibration"`
	ValidationAUC float64 `json:"validation_auc"`
	TrainedBy     string  `json:"trained_by"`
}

// PreviousInfo describes the run compared with.
type PreviousInfo struct {
	AsOf    string `json:"as_of"`
	Rows    int64  `json:"rows"`
	Matched int64  `json:"matched"`
}

// InputInfo identifies the input dataset.
type InputInfo struct {
	Dataset     string           `json:"dataset"`
	Fingerprint string           `json:"fingerprint"`
	Customers   int64            `json:"customers_scanned"`
	Rows        map[string]int64 `json:"rows"`
}

func modelInfo(m *train.Model) ModelInfo {
	mf := &m.Manifest
	return ModelInfo{
		Algo: mf.Algo, Rounds: mf.Rounds, LabelMode: string(mf.Spec.Label.Mode), HorizonDays: mf.Spec.Label.HorizonDay,
		Features: len(mf.Spec.Features), Calibration: mf.Calibrator.Method, ValidationAUC: mf.Validation.AUC, TrainedBy: mf.ChurnVersion,
	}
}

func tableRows(ds *data.Dataset) map[string]int64 {
	out := map[string]int64{}
	for _, tf := range ds.Tables() {
		out[tf.Table.Name] = tf.NumRows()
	}
	return out
}

// configHash identifies the settings that shape the output.
func configHash(c *Config) string {
	b, _ := json.Marshal(struct {
		Tiers    Tiers
		Reasons  ReasonsConfig
		Playbook *Playbook
		Alerts   []AlertRule
		Control  ControlConfig
		RankBy   string
		Output   OutputConfig
	}{c.Tiers, c.Reasons, c.Playbook, c.Alerts, c.Control, c.RankBy, c.Output})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
