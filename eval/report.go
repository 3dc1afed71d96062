package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

// SchemaVersion is the version of report.json's layout. It changes when a
// key is renamed or removed or its meaning changes; new keys may appear
// without a change.
const SchemaVersion = 1

// Errors about the input, for callers to tell them apart.
var (
	ErrNoLabels     = errors.New("no labelled rows")
	ErrOneClass     = errors.New("labels have one class only")
	ErrSpecMismatch = errors.New("the model cannot score this feature table")
)

// Options are the inputs of Run. Model and Table are required; the caller
// owns them (Run does not close models) and Run does not modify them.
type Options struct {
	Model *train.Model
	Table *features.Table
	// Baseline is the previous champion, compared on the same rows; nil
	// means none. A champion whose feature spec differs from the table's
	// is reported as unavailable, not an error.
	Baseline *train.Model
	Config   Config
	// Inputs names the inputs in the report (paths, or any label).
	Inputs Inputs
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
	// Explain, when set, renders a feature of a row in business words for
	// the accounts to call (the commands pass predict.Explainer's Text).
	Explain func(t *features.Table, row, feature int) string
	// Group, when set, places each account to call in the retention
	// experiment: called with the account's customer id and the spec
	// index of the feature with its largest positive contribution (-1
	// when none), it returns the account's play and group,
	// data.GroupTreat or data.GroupControl. Control accounts are listed
	// marked "control — do not contact" and not counted as accounts to
	// call. The commands pass predict.Config.AccountGroup; nil counts
	// every listed account as one to call. It is called from Run's
	// goroutine only.
	Group func(customerID string, topFeature int) (play, group string)
	// Population, when set, is what the drift section compares with the
	// model's training reference instead of the evaluated rows: the
	// nightly job passes tonight's scoring snapshot and its probabilities.
	Population *Population
	// Now is the clock for the report's generation time in report.html's
	// footer (default time.Now); fix it (churn eval --now, churn run
	// --now) for byte-identical reports.
	Now func() time.Time
	// AsOf is the run's as-of date, on which the backtest runs when due
	// (Config.Backtest.Every); nil means the table's latest as-of date.
	AsOf *data.Date
	// Evaluate, when set, chooses the evaluated rows by customer: the
	// labelled rows of the customers it reports true for (the nightly job
	// passes its holdout, so every model is judged on exactly the same
	// rows), instead of the rows the model's training keys do not hold.
	// It applies with rows: holdout (the default).
	Evaluate func(customerID string) bool
	// Dataset, when set, is the dataset the table was built from: the
	// retention section reads the customers' signup and churn dates from
	// it for its Kaplan-Meier curves (Retention.Survival), with the
	// table's label definition and data end. nil leaves the curves out.
	Dataset *data.Dataset
}

// Population is a feature table of rows to check for drift, with the
// model's calibrated probability for each row.
type Population struct {
	Table *features.Table
	Prob  []float64
	// Label names it in the report, e.g. "scoring snapshot 2024-10-01".
	Label string
}

// Inputs names what was evaluated.
type Inputs struct {
	Model         string `json:"model"`
	Features      string `json:"features"`
	BaselineModel string `json:"baseline_model,omitempty"`
}

// Report is the evaluation of a model on a feature table. Every number of
// report.json is a field here; see docs/eval.md for each key.
type Report struct {
	SchemaVersion     int                `json:"schema_version"`
	Verdict           Verdict            `json:"verdict"`
	Inputs            Inputs             `json:"inputs"`
	Model             ModelInfo          `json:"model"`
	Data              DataInfo           `json:"data"`
	Config            Config             `json:"config"`
	Metrics           Metrics            `json:"metrics"`
	Curves            Curves             `json:"curves"`
	Deciles           []Decile           `json:"deciles"`
	TopDecile         TopDecile          `json:"top_decile"`
	Capacity          Capacity           `json:"capacity"`
	Threshold         ThresholdResult    `json:"threshold"`
	Cost              CostResult         `json:"cost"`
	Calibration       Calibration        `json:"calibration"`
	ScoreDistribution ScoreDistribution  `json:"score_distribution"`
	Segments          []SegmentBreakdown `json:"segments"`
	Baselines         []Baseline         `json:"baselines"`
	Backtest          Backtest           `json:"backtest"`
	Importance        Importance         `json:"importance"`
	Retention         Retention          `json:"retention"`
	Drift             Drift              `json:"drift"`
	TopAccounts       TopAccounts        `json:"top_accounts"`
	// Review is the periodic review's summary (SetReview; the nightly
	// job's reports), absent otherwise.
	Review *ReviewSummary `json:"review,omitempty"`

	// Elapsed is how long Run took (not written: it differs between runs).
	Elapsed time.Duration `json:"-"`
	// Generated is when the report was made (Options.Now), shown in the
	// HTML footer only.
	Generated time.Time `json:"-"`
}

// ModelInfo describes a model artifact.
type ModelInfo struct {
	Algo              string   `json:"algo"`
	Rounds            int      `json:"rounds"`
	ChurnVersion      string   `json:"churn_version"`
	Calibration       string   `json:"calibration"`
	Features          int      `json:"features"`
	Seed              uint64   `json:"seed"`
	TrainingRows      int      `json:"training_rows"`
	TrainingPositives int      `json:"training_positives"`
	TrainingAsOf      []string `json:"training_as_of"`
	// TrainingLeftOut lists the rows of the training table the model was
	// not fitted on, and why.
	TrainingLeftOut  []train.LeftOut `json:"training_left_out"`
	Validation       ValidationInfo  `json:"validation"`
	InputFingerprint string          `json:"input_fingerprint"`
}

// ValidationInfo is the model's own held-out validation, from its
// manifest.
type ValidationInfo struct {
	Method    string   `json:"method"`
	Rows      int      `json:"rows"`
	ValidAsOf []string `json:"valid_as_of"`
	ROCAUC    Num      `json:"roc_auc"`
	PRAUC     Num      `json:"pr_auc"`
	LogLoss   Num      `json:"log_loss"`
}

func modelInfo(m *train.Model) ModelInfo {
	mf := &m.Manifest
	v := mf.Validation
	mi := ModelInfo{
		Algo: mf.Algo, Rounds: mf.Rounds, ChurnVersion: mf.ChurnVersion, Calibration: mf.Calibrator.Method, Features: len(mf.Spec.Features), Seed: mf.Seed,
		TrainingRows: mf.Training.Rows, TrainingPositives: mf.Training.Positives, TrainingAsOf: orEmpty(mf.Training.AsOf), TrainingLeftOut: mf.Training.LeftOut,
		Validation:       ValidationInfo{Method: v.Method, Rows: v.ValidRows, ValidAsOf: orEmpty(v.ValidAsOf), ROCAUC: Num(v.AUC), PRAUC: Num(v.PRAUC), LogLoss: Num(v.LogLoss)},
		InputFingerprint: mf.InputStamp.Fingerprint,
	}
	if mi.TrainingLeftOut == nil {
		mi.TrainingLeftOut = []train.LeftOut{}
	}
	return mi
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DataInfo describes the feature table and the evaluated rows.
type DataInfo struct {
	Rows           int `json:"rows"`
	LabelledRows   int `json:"labelled_rows"`
	UnlabelledRows int `json:"unlabelled_rows"`
	// CensoredRows are labelled rows whose label window ends after the
	// data end: only churners can be labelled there (1), so they are left
	// out of every metric. Counted in LabelledRows.
	CensoredRows int `json:"censored_rows"`
	// Selection is holdout (labelled rows at as-of dates the model did
	// not train on) or all (every labelled row).
	Selection     string `json:"selection"`
	EvaluatedRows int    `json:"evaluated_rows"`
	Positives     int    `json:"positives"`
	Customers     int    `json:"customers"`
	// ExcludedTrainingRows are labelled rows left out because the model
	// trained at their as-of dates.
	ExcludedTrainingRows int `json:"excluded_training_rows"`
	// TrainingShare is the share of the labelled rows whose customer and
	// as-of date are among the model's training keys (its sketch reports
	// about 1% of other keys too); null for models without the sketch.
	TrainingShare Num `json:"training_share"`
	// InSample is true when a material share (over InSampleShare) of the
	// evaluated rows were training rows (for models without a training
	// key sketch: same as-of dates, or a dateless table from the same
	// input): the metrics are then optimistic.
	InSample       bool     `json:"in_sample"`
	AsOf           []string `json:"as_of"`
	EvaluatedAsOf  []string `json:"evaluated_as_of"`
	LabelMode      string   `json:"label_mode"`
	HorizonDays    int      `json:"horizon_days"`
	GapDays        int      `json:"gap_days"`
	DataEnd        string   `json:"data_end"`
	Fingerprint    string   `json:"fingerprint"`
	StaticFeatures []string `json:"static_features"`
}

// Metrics are the model's metrics on the evaluated rows with bootstrap
// intervals.
type Metrics struct {
	ROCAUC    Interval      `json:"roc_auc"`
	PRAUC     Interval      `json:"pr_auc"` // average precision
	LogLoss   Interval      `json:"log_loss"`
	Brier     Interval      `json:"brier"`
	ECE       Interval      `json:"ece"`
	BaseRate  Interval      `json:"base_rate"`
	Bootstrap BootstrapInfo `json:"bootstrap"`
}

// BootstrapInfo describes how the intervals were made and how precise
// they are.
type BootstrapInfo struct {
	Resamples int    `json:"resamples"`
	Level     Num    `json:"level"`
	Seed      uint64 `json:"seed"`
	Unit      string `json:"unit"` // customer: customers are resampled with all their rows
	Clusters  int    `json:"clusters"`
	// Customers is how many customers each resample draws: Clusters, or
	// the seeded sample of bootstrap.customers of them; Scale is
	// √(Customers / Clusters), the factor that scales the intervals'
	// distances from the estimates to all customers (1 without a sample).
	Customers int `json:"customers"`
	Scale     Num `json:"scale"`
	// AUCEndSE is the Monte Carlo standard error of the ROC AUC interval's
	// ends (from the number of resamples), a measure of their precision.
	AUCEndSE Num `json:"auc_end_se"`
	// Undefined counts resamples where the AUC was undefined (one class);
	// they are left out of the AUC interval.
	Undefined int `json:"undefined"`
	// Description says it in words, for the report.
	Description string `json:"description"`
}

// Curves are the model's ROC and precision-recall curves (at most 200
// points each).
type Curves struct {
	ROC []ROCPoint `json:"roc"`
	PR  []PRPoint  `json:"pr"`
}

// TopDecile sums up the first decile.
type TopDecile struct {
	Lift    Num `json:"lift"`
	Capture Num `json:"capture"` // share of all churners in the top decile
}

// Calibration is the reliability diagram.
type Calibration struct {
	Binning string   `json:"binning"`
	Bins    []CalBin `json:"bins"`
}

// CalBin is one bin of predicted probabilities [Lo, Hi).
type CalBin struct {
	Lo        Num `json:"lo"`
	Hi        Num `json:"hi"`
	Rows      int `json:"rows"`
	Positives int `json:"positives"`
	MeanProb  Num `json:"mean_prob"`
	ChurnRate Num `json:"churn_rate"`
}

// ScoreDistribution is the histogram of probabilities per class: Edges has
// one more value than the shares; shares are of each class's rows.
type ScoreDistribution struct {
	Edges       []Num `json:"edges"`
	Churned     []Num `json:"churned"`
	Stayed      []Num `json:"stayed"`
	ChurnedRows int   `json:"churned_rows"`
	StayedRows  int   `json:"stayed_rows"`
	MeanChurned Num   `json:"mean_churned"`
	MeanStayed  Num   `json:"mean_stayed"`
}

// Baseline is a simpler predictor measured on the same rows.
type Baseline struct {
	// Name is base_rate, health_score or champion.
	Name        string `json:"name"`
	Description string `json:"description"`
	Available   bool   `json:"available"`
	Note        string `json:"note,omitempty"`
	ROCAUC      Num    `json:"roc_auc"`
	PRAUC       Num    `json:"pr_auc"`
	// LogLoss and Brier are null for scores that are not probabilities.
	LogLoss           Num `json:"log_loss"`
	Brier             Num `json:"brier"`
	TopDecileLift     Num `json:"top_decile_lift"`
	TopDecileCapture  Num `json:"top_decile_capture"`
	CapacityPrecision Num `json:"capacity_precision"`
	CapacityRecall    Num `json:"capacity_recall"`
	// AUCGain is the model's AUC minus this baseline's, with a paired
	// bootstrap interval (same resamples).
	AUCGain Interval   `json:"auc_gain"`
	ROC     []ROCPoint `json:"roc"`
	// Rules are the health score's rules that the table's features allow.
	Rules []HealthRule `json:"rules,omitempty"`
	// Model describes the champion.
	Model *ModelInfo `json:"model,omitempty"`
}

// Run evaluates o.Model on o.Table. It returns ErrSpecMismatch when the
// model cannot score the table, ErrNoLabels when no row has a label and
// ErrOneClass when the evaluated labels are all 0 or all 1 (wrapped with
// details).
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Model == nil || o.Table == nil {
		return nil, errors.New("eval: a model and a feature table are required")
	}
	cfg := o.Config
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid eval config: %w", err)
	}
	m, t := o.Model, o.Table
	if err := m.CheckTable(t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpecMismatch, err)
	}
	rep := &Report{SchemaVersion: SchemaVersion, Inputs: o.Inputs, Model: modelInfo(m), Config: cfg}
	sel, err := selectRows(t, m, cfg, o.Evaluate, &rep.Data)
	if err != nil {
		return nil, err
	}
	log.Info("evaluating", "rows", len(sel), "positives", rep.Data.Positives, "selection", rep.Data.Selection)

	// Only the rows the report reads are scored: the evaluated ones and
	// those at the latest as-of date (the accounts to call).
	latest, latestRows := latestRows(t)
	p, latestProb, err := scoreRows(ctx, m, t, sel, latestRows)
	if err != nil {
		return nil, err
	}
	y := make([]float64, len(sel))
	asOf := make([]data.Date, len(sel))
	for k, i := range sel {
		y[k], asOf[k] = t.Label[i], t.AsOf[i]
	}
	edges := calibrationEdges(p, cfg.Calibration.Bins, cfg.Calibration.Binning)
	s := newScored(p, y, edges)

	// Baselines' scores on the same rows.
	trainRate := float64(m.Manifest.Training.Positives) / float64(max(m.Manifest.Training.Rows, 1))
	constant := make([]float64, len(sel))
	for k := range constant {
		constant[k] = trainRate
	}
	rules := applicableRules(t.Spec)
	health := healthScore(t, sel, rules)
	others := []*ranking{newRanking(constant), newRanking(health)}
	var champ []float64
	champNote := ""
	if o.Baseline != nil {
		if err := o.Baseline.CheckTable(t); err != nil {
			champNote = "the champion was not scored: " + err.Error()
			log.Warn("baseline model skipped", "reason", err)
		} else {
			sc, err := o.Baseline.Score(ctx, t, sel, false)
			if err != nil {
				return nil, fmt.Errorf("score the baseline model: %w", err)
			}
			champ = sc.Prob
			others = append(others, newRanking(champ))
		}
	}

	// Bootstrap, clustered by customer.
	cluster, nClusters := clusters(t, sel)
	rep.Data.Customers = nClusters
	boot, err := bootstrapIntervals(ctx, s, others, cluster, nClusters, cfg)
	if err != nil {
		return nil, err
	}
	point := s.metricsW(nil)
	iv := boot.interval
	rep.Metrics = Metrics{
		ROCAUC: iv(mAUC, point[mAUC]), PRAUC: iv(mPRAUC, point[mPRAUC]), LogLoss: iv(mLogLoss, point[mLogLoss]),
		Brier: iv(mBrier, point[mBrier]), ECE: iv(mECE, point[mECE]), BaseRate: iv(mBaseRate, point[mBaseRate]),
		Bootstrap: boot.info,
	}
	log.Info("metrics", "auc", fmt.Sprintf("%.4f", point[mAUC]), "pr_auc", fmt.Sprintf("%.4f", point[mPRAUC]), "ece", fmt.Sprintf("%.4f", point[mECE]))

	rep.Curves.ROC, rep.Curves.PR = s.rank.curves(y)
	rep.Deciles = deciles(s.rank, y)
	rep.TopDecile = TopDecile{Lift: rep.Deciles[0].Lift, Capture: rep.Deciles[0].CumCapture}
	rep.Capacity = capacityAt(p, y, asOf, cfg.Capacity)
	rep.Threshold = thresholdResult(p, y, cfg.Threshold)
	rep.Cost = costResult(s.rank, y, cfg.Cost, len(rep.Data.EvaluatedAsOf))
	rep.Calibration = calibration(s, edges, cfg.Calibration.Binning)
	rep.ScoreDistribution = scoreDistribution(p, y)
	rep.Segments = segments(t, sel, p, y, cfg.Segments)

	// Baselines.
	gain := func(j int) Interval {
		a, _ := others[j].rankMetrics(y, nil)
		return iv(numMetrics+j, point[mAUC]-a)
	}
	base := rankBaseline(BaselineBaseRate, fmt.Sprintf("predicts the training base rate (%.4f) for every account", trainRate), others[0], y, asOf, cfg)
	base.AUCGain = gain(0)
	base.LogLoss, base.Brier = Num(metrics.LogLoss(constant, y, nil)), Num(metrics.Brier(constant, y, nil))
	hs := rankBaseline(BaselineHealthScore, "rule-based health score: risk points for warning signs (docs/eval.md)", others[1], y, asOf, cfg)
	hs.AUCGain, hs.Rules = gain(1), rules
	if len(rules) == 0 {
		hs.Available, hs.Note = false, "no feature of the table is used by a health score rule"
	}
	rep.Baselines = []Baseline{base, hs}
	if o.Baseline != nil {
		mi := modelInfo(o.Baseline)
		if champ == nil {
			rep.Baselines = append(rep.Baselines, Baseline{Name: BaselineChampion, Description: "the previous champion model", Note: champNote, Model: &mi,
				ROCAUC: nan(), PRAUC: nan(), LogLoss: nan(), Brier: nan(), TopDecileLift: nan(), TopDecileCapture: nan(), CapacityPrecision: nan(), CapacityRecall: nan(),
				AUCGain: Interval{nan(), nan(), nan()}, ROC: []ROCPoint{}})
		} else {
			c := rankBaseline(BaselineChampion, "the previous champion model", others[2], y, asOf, cfg)
			c.AUCGain, c.Model = gain(2), &mi
			c.LogLoss, c.Brier = Num(metrics.LogLoss(champ, y, nil)), Num(metrics.Brier(champ, y, nil))
			rep.Baselines = append(rep.Baselines, c)
		}
	}

	runAsOf := latest
	if o.AsOf != nil {
		runAsOf = *o.AsOf
	}
	if rep.Backtest, err = backtest(ctx, m, t, cfg, runAsOf, log); err != nil {
		return nil, err
	}
	if rep.Importance, err = importance(ctx, m, t, sel, p, cfg); err != nil {
		return nil, err
	}
	rep.Retention = retention(t, cfg.Retention)
	var tiers *tierRows
	if o.Dataset != nil {
		tiers = riskTiers(t, sel, p, cfg.Retention.HighShare, cfg.Retention.MediumShareOr())
	}
	if rep.Retention.Survival, err = survival(ctx, o.Dataset, t, tiers, cfg); err != nil {
		return nil, err
	}
	if pop := o.Population; pop == nil {
		rep.Drift = drift(&m.Manifest, t, sel, p, cfg.Drift)
	} else {
		if err := m.CheckTable(pop.Table); err != nil {
			return nil, fmt.Errorf("drift population: %w", err)
		}
		if len(pop.Prob) != pop.Table.Len() {
			return nil, fmt.Errorf("drift population: %d probabilities for %d rows", len(pop.Prob), pop.Table.Len())
		}
		all := make([]int, pop.Table.Len())
		for i := range all {
			all[i] = i
		}
		rep.Drift = drift(&m.Manifest, pop.Table, all, pop.Prob, cfg.Drift)
		rep.Drift.Population = pop.Label
	}
	if rep.TopAccounts, err = topAccounts(ctx, m, t, latest, latestRows, latestProb, cfg, &o); err != nil {
		return nil, err
	}
	rep.Verdict = verdict(rep, cfg)
	rep.Elapsed = time.Since(start)
	now := o.Now
	if now == nil {
		now = time.Now
	}
	rep.Generated = now().UTC()
	return rep, nil
}

// selectRows picks the evaluated rows and fills d.
func selectRows(t *features.Table, m *train.Model, cfg Config, evaluate func(string) bool, d *DataInfo) ([]int, error) {
	ls := t.Spec.Label
	*d = DataInfo{Rows: t.Len(), LabelMode: string(ls.Mode), HorizonDays: ls.HorizonDay, GapDays: ls.GapDays, DataEnd: ls.DataEnd,
		Fingerprint: t.Spec.Input.Fingerprint, StaticFeatures: orEmpty(t.Spec.StaticNames()), AsOf: []string{}, EvaluatedAsOf: []string{}}
	// A row was a training row when its key is in the model's training
	// key sketch; models without one trained at their training dates.
	trained := map[string]bool{}
	for _, s := range m.Manifest.Training.AsOf {
		trained[s] = true
	}
	keys := m.Manifest.TrainingKeys
	wasTrained := func(i int) bool { return trained[dateString(t.AsOf[i])] }
	if keys != nil {
		wasTrained = func(i int) bool { return keys.Has(t.IDs[i], t.AsOf[i]) }
	}
	if evaluate != nil {
		// The caller knows the held-out customers: exactly their rows.
		wasTrained = func(i int) bool { return !evaluate(t.IDs[i]) }
	}
	d.TrainingShare = nan()
	var labelled, hold []int
	known := observed(t)
	for i, y := range t.Label {
		if math.IsNaN(y) {
			continue
		}
		if !known(i) {
			d.CensoredRows++
			continue
		}
		labelled = append(labelled, i)
		if !wasTrained(i) {
			hold = append(hold, i)
		}
	}
	d.LabelledRows = len(labelled) + d.CensoredRows
	d.UnlabelledRows = t.Len() - d.LabelledRows
	d.AsOf = distinctDates(t, nil)
	if len(labelled) == 0 {
		if d.CensoredRows > 0 {
			return nil, fmt.Errorf("%w: the %d labelled rows all have label windows that end after the data end %s (only early churners are labelled there, which would bias every metric); use earlier as-of dates", ErrNoLabels, d.CensoredRows, ls.DataEnd)
		}
		return nil, fmt.Errorf("%w: every one of the %d rows has a null label (build the table with labels: as-of dates whose label window ends by the data end, and not --label none)", ErrNoLabels, t.Len())
	}
	share := float64(len(labelled)-len(hold)) / float64(len(labelled))
	if keys != nil {
		d.TrainingShare = Num(share)
	}
	sel := labelled
	d.Selection = RowsAll
	switch {
	case cfg.Rows == RowsHoldout && (keys != nil || len(trained) > 0) && len(hold) < len(labelled) && twoClasses(t, hold):
		sel, d.Selection = hold, RowsHoldout
		d.ExcludedTrainingRows = len(labelled) - len(hold)
	case keys != nil:
		d.InSample = share > InSampleShare
	default:
		d.InSample = len(hold) < len(labelled) ||
			(len(trained) == 0 && d.Fingerprint != "" && d.Fingerprint == m.Manifest.InputStamp.Fingerprint)
	}
	d.EvaluatedRows = len(sel)
	for _, i := range sel {
		d.Positives += int(t.Label[i])
	}
	d.EvaluatedAsOf = distinctDates(t, sel)
	if d.Positives == 0 || d.Positives == len(sel) {
		return nil, fmt.Errorf("%w: all %d evaluated rows are labelled %v; AUC and calibration need churned and retained customers", ErrOneClass, len(sel), t.Label[sel[0]])
	}
	return sel, nil
}

// InSampleShare is the share of evaluated rows found among the model's
// training keys above which an evaluation is in-sample: well above the
// sketch's false-positive rate (1%), so that a held-out table is not
// called in-sample by chance.
const InSampleShare = 0.05

// observed reports whether row i's label window (LabelSpec.LastDay) ends
// on or before the table's data end, so that both outcomes could be seen.
// Rows without an as-of date (snapshot labels) count as observed.
func observed(t *features.Table) func(i int) bool {
	ls := t.Spec.Label
	end, err := data.ParseDate(ls.DataEnd)
	if ls.DataEnd == "" || err != nil || ls.Mode == features.LabelSnapshot {
		return func(int) bool { return true }
	}
	return func(i int) bool {
		d := t.AsOf[i]
		return d == data.NoDate || ls.Observed(d, end)
	}
}

func twoClasses(t *features.Table, rows []int) bool {
	pos := 0
	for _, i := range rows {
		pos += int(t.Label[i])
	}
	return pos > 0 && pos < len(rows)
}

// distinctDates lists the as-of dates of rows (nil = all), sorted; a
// dateless table gives [].
func distinctDates(t *features.Table, rows []int) []string {
	seen := map[data.Date]bool{}
	if rows == nil {
		for _, d := range t.AsOf {
			seen[d] = true
		}
	} else {
		for _, i := range rows {
			seen[t.AsOf[i]] = true
		}
	}
	ds := make([]data.Date, 0, len(seen))
	for d := range seen {
		if d != data.NoDate {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	out := make([]string, len(ds))
	for k, d := range ds {
		out[k] = d.String()
	}
	return out
}

// latestRows returns the table's latest as-of date (NoDate for a dateless
// table) and its rows, ascending.
func latestRows(t *features.Table) (data.Date, []int) {
	latest := data.NoDate
	for _, d := range t.AsOf {
		latest = max(latest, d)
	}
	var rows []int
	for i, d := range t.AsOf {
		if d == latest {
			rows = append(rows, i)
		}
	}
	return latest, rows
}

// scoreRows scores the rows of a and of b (each ascending) in one pass over
// their union and returns the probabilities of each, in their order.
func scoreRows(ctx context.Context, m *train.Model, t *features.Table, a, b []int) (pa, pb []float64, err error) {
	union := make([]int, 0, len(a)+len(b))
	for i, j := 0, 0; i < len(a) || j < len(b); {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			union = append(union, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			union = append(union, b[j])
			j++
		default:
			union = append(union, a[i])
			i, j = i+1, j+1
		}
	}
	sc, err := m.Score(ctx, t, union, false)
	if err != nil {
		return nil, nil, err
	}
	pick := func(rows []int) []float64 {
		out := make([]float64, len(rows))
		k := 0
		for r, i := range rows {
			for union[k] != i {
				k++
			}
			out[r] = sc.Prob[k]
		}
		return out
	}
	return pick(a), pick(b), nil
}

// clusters numbers the customers of rows in order of appearance.
func clusters(t *features.Table, rows []int) ([]int, int) {
	ids := map[string]int{}
	out := make([]int, len(rows))
	for k, i := range rows {
		c, ok := ids[t.IDs[i]]
		if !ok {
			c = len(ids)
			ids[t.IDs[i]] = c
		}
		out[k] = c
	}
	return out, len(ids)
}

// rankBaseline measures a baseline's ranking r (of its scores r.p).
func rankBaseline(name, desc string, r *ranking, y []float64, asOf []data.Date, cfg Config) Baseline {
	score := r.p
	b := Baseline{Name: name, Description: desc, Available: true, LogLoss: nan(), Brier: nan()}
	auc, ap := r.rankMetrics(y, nil)
	b.ROCAUC, b.PRAUC = Num(auc), Num(ap)
	dec := deciles(r, y)
	b.TopDecileLift, b.TopDecileCapture = dec[0].Lift, dec[0].CumCapture
	c := capacityAt(score, y, asOf, cfg.Capacity)
	b.CapacityPrecision, b.CapacityRecall = c.Precision, c.Recall
	b.ROC, _ = r.curves(y)
	return b
}

func calibration(s *scored, edges []float64, binning string) Calibration {
	c := Calibration{Binning: binning}
	n := len(edges) + 1
	bins := make([]CalBin, n)
	sumP := make([]float64, n)
	for b := range bins {
		lo, hi := 0.0, 1.0
		if b > 0 {
			lo = edges[b-1]
		}
		if b < len(edges) {
			hi = edges[b]
		}
		bins[b].Lo, bins[b].Hi = Num(lo), Num(hi)
	}
	for i, b := range s.bin {
		bins[b].Rows++
		bins[b].Positives += int(s.y[i])
		sumP[b] += s.p[i]
	}
	for b := range bins {
		bins[b].MeanProb = ratio(sumP[b], float64(bins[b].Rows))
		bins[b].ChurnRate = ratio(float64(bins[b].Positives), float64(bins[b].Rows))
	}
	c.Bins = bins
	return c
}

// scoreDistribution bins probabilities into 20 equal bins from 0 to the
// highest probability rounded up to a multiple of 0.05.
func scoreDistribution(p, y []float64) ScoreDistribution {
	const n = 20
	top := math.Min(1, math.Max(0.05, math.Ceil(slices.Max(p)/0.05)*0.05))
	sd := ScoreDistribution{}
	for b := 0; b <= n; b++ {
		sd.Edges = append(sd.Edges, Num(top*float64(b)/n))
	}
	ch, st := make([]float64, n), make([]float64, n)
	var sumC, sumS float64
	for i := range p {
		b := min(int(p[i]/top*n), n-1)
		if y[i] == 1 {
			ch[b]++
			sd.ChurnedRows++
			sumC += p[i]
		} else {
			st[b]++
			sd.StayedRows++
			sumS += p[i]
		}
	}
	for b := 0; b < n; b++ {
		sd.Churned = append(sd.Churned, ratio(ch[b], float64(sd.ChurnedRows)))
		sd.Stayed = append(sd.Stayed, ratio(st[b], float64(sd.StayedRows)))
	}
	sd.MeanChurned, sd.MeanStayed = ratio(sumC, float64(sd.ChurnedRows)), ratio(sumS, float64(sd.StayedRows))
	return sd
}
