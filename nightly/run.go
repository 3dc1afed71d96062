package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

// Options are the inputs of Run.
type Options struct {
	Config *Config
	AsOf   data.Date
	// Now is the clock (default time.Now): run ids, scored_at and the lock
	// use it; fix it for reproducible files.
	Now func() time.Time
	// Progress, when set, receives a progress bar (a terminal).
	Progress io.Writer
	Logger   *slog.Logger
	// Version is the churn version recorded in the manifest.
	Version string
}

// Manifest records a run: inputs, versions, timings and outcome. It is
// written to out/runs/<run id>/manifest.json whether the run succeeds or
// fails.
type Manifest struct {
	RunID    string            `json:"run_id"`
	AsOf     string            `json:"as_of"`
	Started  string            `json:"started"`
	Finished string            `json:"finished"`
	Outcome  string            `json:"outcome"` // ok or failed
	Error    string            `json:"error,omitempty"`
	Inputs   RunInputs         `json:"inputs"`
	Versions map[string]string `json:"versions"`
	Steps    []Step            `json:"steps"`
	// Challenger is the version trained tonight; Champion the version
	// that scored (after promotion); Promoted says whether it changed.
	Challenger string             `json:"challenger,omitempty"`
	Champion   string             `json:"champion,omitempty"`
	Previous   string             `json:"previous_champion,omitempty"`
	Promoted   bool               `json:"promoted"`
	Promotion  *PromotionLog      `json:"promotion,omitempty"`
	Verdict    string             `json:"verdict,omitempty"`
	Headline   string             `json:"headline,omitempty"`
	Drifting   []string           `json:"drifting,omitempty"`
	Scored     int64              `json:"scored"`
	Tiers      predict.TierCounts `json:"tiers"`
	Alerts     int                `json:"alerts"`
	Outputs    RunOutputs         `json:"outputs"`
	Warnings   []string           `json:"warnings,omitempty"`

	// Top lists tonight's riskiest customers (not written to the file).
	Top []predict.Prediction `json:"-"`
}

// RunInputs names the inputs.
type RunInputs struct {
	Data          string   `json:"data"`
	Fingerprint   string   `json:"fingerprint"`
	Snapshots     []string `json:"training_snapshots"`
	TrainingRows  int64    `json:"training_rows"`
	DataEnd       string   `json:"data_end"`
	ValidationErr int      `json:"validation_errors"`
	ValidationWrn int      `json:"validation_warnings"`
}

// RunOutputs names what the run wrote.
type RunOutputs struct {
	Predictions string `json:"predictions,omitempty"`
	Alerts      string `json:"alerts,omitempty"`
	Report      string `json:"report,omitempty"`
	Registry    string `json:"registry,omitempty"`
}

// Step is one stage of the run with its timing.
type Step struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Note    string  `json:"note,omitempty"`
}

// PromotionLog records the champion/challenger comparison.
type PromotionLog struct {
	Metric     string  `json:"metric"`
	Margin     float64 `json:"margin"`
	Challenger float64 `json:"challenger"`
	Champion   float64 `json:"champion,omitempty"`
	Rows       int     `json:"rows"`
	Reason     string  `json:"reason"`
}

// ErrInput marks a run stopped by bad input before anything was published.
var ErrInput = errors.New("input validation failed")

// stepNames are the stages, for the progress bar.
var stepNames = []string{"validate inputs", "training snapshots", "train challenger", "evaluate", "promote", "score", "report"}

// Run runs the nightly job. The returned manifest is also written to
// out/runs/<run id>/manifest.json, on failure too.
func Run(ctx context.Context, opt Options) (*Manifest, error) {
	c := opt.Config
	c.EnsureDefaults()
	c.resolve()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	start := now().UTC()
	runID := opt.AsOf.String() + "_" + start.Format("20060102T150405Z")
	mf := &Manifest{RunID: runID, AsOf: opt.AsOf.String(), Started: start.Format(time.RFC3339), Outcome: "failed",
		Inputs: RunInputs{Data: c.Data}, Versions: versions(opt.Version)}
	lk, err := acquireLock(c.Out, opt.AsOf.String(), start)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	runDir := filepath.Join(c.Out, "runs", runID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	bar := newProgress(opt.Progress, stepNames)
	j := &job{c: c, opt: opt, log: log, mf: mf, runDir: runDir, now: now, bar: bar, reg: &Registry{Dir: c.Registry}}
	err = j.run(ctx)
	bar.finish(err)
	mf.Finished = now().UTC().Format(time.RFC3339)
	if err == nil {
		mf.Outcome = "ok"
	} else {
		mf.Error = err.Error()
	}
	if werr := writeJSON(filepath.Join(runDir, "manifest.json"), mf); werr != nil && err == nil {
		err = werr
	}
	pruneRuns(filepath.Join(c.Out, "runs"), c.KeepRuns)
	return mf, err
}

type job struct {
	c      *Config
	opt    Options
	log    *slog.Logger
	mf     *Manifest
	runDir string
	now    func() time.Time
	bar    *progress
	reg    *Registry
}

func (j *job) step(name string, f func() (string, error)) error {
	j.bar.start(name)
	t := time.Now()
	note, err := f()
	j.mf.Steps = append(j.mf.Steps, Step{Name: name, Seconds: round3(time.Since(t).Seconds()), Note: note})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	j.log.Info("step done", "step", name, "seconds", round3(time.Since(t).Seconds()), "note", note)
	return nil
}

func (j *job) run(ctx context.Context) error {
	c, asOf := j.c, j.opt.AsOf
	var ds *data.Dataset
	defer func() {
		if ds != nil {
			ds.Close()
		}
	}()
	// 1. Validate: errors stop the run before anything is published.
	err := j.step("validate inputs", func() (string, error) {
		rep, err := data.Validate(ctx, c.Data, data.ValidateOptions{AsOf: asOf.Time(), Now: j.now()})
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInput, err)
		}
		j.mf.Inputs.ValidationErr, j.mf.Inputs.ValidationWrn = rep.Errors, rep.Warnings
		if !rep.OK {
			var msgs []string
			for _, p := range rep.Problems {
				if p.Severity == data.SevError && len(msgs) < 5 {
					loc := p.File
					if p.Row > 0 {
						loc += fmt.Sprintf(":%d", p.Row)
					}
					if p.Column != "" {
						loc += " column " + p.Column
					}
					msgs = append(msgs, loc+": "+p.Message)
				}
			}
			return "", fmt.Errorf("%w: %d errors in %s (run churn validate %s --as-of %s for all of them): %s", ErrInput, rep.Errors, c.Data, c.Data, asOf, strings.Join(msgs, "; "))
		}
		if ds, err = data.Open(c.Data); err != nil {
			return "", fmt.Errorf("%w: %v", ErrInput, err)
		}
		j.mf.Inputs.Fingerprint, err = ds.Fingerprint()
		return fmt.Sprintf("%d warnings", rep.Warnings), err
	})
	if err != nil {
		return err
	}

	// 2. Training snapshots: every StepDays back from the last date whose
	// label window ends before tonight. Labels never look at or past the
	// as-of date, whatever the data holds.
	fc, _ := c.featureConfig()
	lc := *c.labelConfig()
	lc.DataEnd = asOf.AddDays(-1)
	last := asOf.AddDays(-(lc.Horizon + lc.Gap))
	var dates []data.Date
	for k := c.Training.Snapshots - 1; k >= 0; k-- {
		dates = append(dates, last.AddDays(-k*c.Training.StepDays))
	}
	for _, d := range dates {
		j.mf.Inputs.Snapshots = append(j.mf.Inputs.Snapshots, d.String())
	}
	j.mf.Inputs.DataEnd = lc.DataEnd.String()
	trainPath := filepath.Join(j.runDir, "training_features.parquet")
	err = j.step("training snapshots", func() (string, error) {
		_, st, err := features.BuildFile(ctx, ds, features.BuildOptions{AsOf: dates, Config: fc, Label: lc, Writer: data.WriterOptions{ChurnVersion: j.opt.Version}}, trainPath)
		if err != nil {
			return "", err
		}
		j.mf.Inputs.TrainingRows = st.Rows
		return fmt.Sprintf("%d rows, %d labelled, %d churned, %d dates from %s", st.Rows, st.Labelled, st.Positives, len(dates), dates[0]), nil
	})
	if err != nil {
		return err
	}
	table, err := features.ReadTable(ctx, trainPath)
	if err != nil {
		return err
	}

	// 3. Challenger.
	var challenger *train.Model
	err = j.step("train challenger", func() (string, error) {
		var err error
		if challenger, err = train.Fit(ctx, table, c.Training.Params, train.FitOptions{Logger: j.log, ChurnVersion: j.opt.Version}); err != nil {
			return "", err
		}
		j.mf.Challenger, err = VersionOf(asOf, challenger)
		v := challenger.Manifest.Validation
		return fmt.Sprintf("%s: %s validation AUC %.4f", j.mf.Challenger, v.Method, v.AUC), err
	})
	if err != nil {
		return err
	}
	defer challenger.Close()

	// 4. Evaluate against the champion on the same rows.
	prev, err := j.reg.Champion()
	if err != nil {
		return err
	}
	j.mf.Previous = prev
	var champion *train.Model
	if prev != "" {
		if champion, err = j.reg.Load(prev); err != nil {
			return fmt.Errorf("load champion %s: %w", prev, err)
		}
		defer champion.Close()
	}
	var rep *eval.Report
	err = j.step("evaluate", func() (string, error) {
		var err error
		rep, err = eval.Run(ctx, eval.Options{Model: challenger, Table: table, Baseline: champion, Config: c.Eval,
			Explain: predict.NewExplainer(challenger.Manifest.Spec).Text,
			Inputs:  eval.Inputs{Model: "challenger " + j.mf.Challenger, Features: fmt.Sprintf("training snapshots %s … %s", dates[0], dates[len(dates)-1]), BaselineModel: prev},
			Logger:  j.log})
		if err != nil {
			return "", err
		}
		return rep.Verdict.Level + ": " + rep.Verdict.Headline, nil
	})
	if err != nil {
		return err
	}

	// 5. Promote only on a win by the margin.
	scorer, scoreVersion := champion, prev
	err = j.step("promote", func() (string, error) {
		if err := j.reg.Add(j.mf.Challenger, challenger, j.card(challenger, rep)); err != nil {
			return "", err
		}
		if err := j.reg.Record(Event{Event: "added", Version: j.mf.Challenger, AsOf: asOf.String(), RunID: j.mf.RunID}); err != nil {
			return "", err
		}
		win, pl := j.decide(rep, prev)
		j.mf.Promotion = pl
		if win && j.mf.Challenger != prev {
			if err := j.reg.Promote(j.mf.Challenger); err != nil {
				return "", err
			}
			j.mf.Promoted = true
			scorer, scoreVersion = challenger, j.mf.Challenger
			ev := Event{Event: "promoted", Version: j.mf.Challenger, AsOf: asOf.String(), RunID: j.mf.RunID, Previous: prev, Metric: pl.Metric, Value: pl.Challenger, Baseline: pl.Champion, Reason: pl.Reason}
			return "promoted: " + pl.Reason, j.reg.Record(ev)
		}
		ev := Event{Event: "kept", Version: prev, AsOf: asOf.String(), RunID: j.mf.RunID, Previous: j.mf.Challenger, Metric: pl.Metric, Value: pl.Champion, Baseline: pl.Challenger, Reason: pl.Reason}
		return "kept " + prev + ": " + pl.Reason, j.reg.Record(ev)
	})
	if err != nil {
		return err
	}
	j.mf.Champion = scoreVersion
	j.mf.Outputs.Registry = c.Registry

	// 6. Score tonight's customers with the champion. A required webhook
	// that failed fails the run, but only after the report is written too:
	// the predictions are already published.
	var res *predict.Result
	var webhookErr error
	// Tonight's customers are counted for the drift check as they are
	// scored, against the scoring champion's training data.
	driftCount := eval.NewDriftCounter(&scorer.Manifest, scorer.Manifest.Spec, c.Eval.Drift)
	observe := func(t *features.Table, prob []float64) { driftCount.Add(t, nil, prob) }
	err = j.step("score", func() (string, error) {
		var err error
		res, err = predict.Run(ctx, predict.Options{Dataset: ds, Model: scorer, ModelVersion: scoreVersion, AsOf: asOf, Out: c.Out, Config: c.Predict, Now: j.now, Logger: j.log, Observe: observe, ChurnVersion: j.opt.Version})
		if err != nil {
			var we *predict.WebhookError
			if !errors.As(err, &we) || res == nil {
				return "", err
			}
			webhookErr = err
			j.mf.Warnings = append(j.mf.Warnings, err.Error())
		}
		j.mf.Scored, j.mf.Tiers, j.mf.Alerts, j.mf.Top = res.Rows, res.Tiers, res.Alerts, res.Top
		j.mf.Outputs.Predictions, j.mf.Outputs.Alerts = res.PredictionsDir, res.AlertsDir
		return fmt.Sprintf("%d customers: %d high, %d medium, %d low; %d alerts", res.Rows, res.Tiers.High, res.Tiers.Medium, res.Tiers.Low, res.Alerts), nil
	})
	if err != nil {
		return err
	}

	// 7. Report: the challenger's evaluation, with tonight's population
	// checked for drift against the scoring champion's training data.
	err = j.step("report", func() (string, error) {
		d := driftCount.Drift(fmt.Sprintf("customers scored as of %s, against the training data of %s", asOf, scoreVersion))
		rep.SetDrift(d)
		j.mf.Verdict, j.mf.Headline, j.mf.Drifting = rep.Verdict.Level, rep.Verdict.Headline, d.Drifting
		dir := filepath.Join(c.Out, "reports", "as_of="+asOf.String())
		if err := rep.Write(dir); err != nil {
			return "", err
		}
		j.mf.Outputs.Report = filepath.Join(dir, "report.html")
		if len(d.Drifting) > 0 {
			j.log.Warn("drift", "features", strings.Join(d.Drifting, ", "), "threshold", c.Eval.Drift.Threshold)
			j.mf.Warnings = append(j.mf.Warnings, "drift above the threshold: "+strings.Join(d.Drifting, ", "))
		}
		return rep.Verdict.Level, nil
	})
	if err != nil {
		return err
	}
	return webhookErr
}

// decide compares challenger and champion on the same validation rows.
func (j *job) decide(rep *eval.Report, prev string) (bool, *PromotionLog) {
	c := j.c
	pl := &PromotionLog{Metric: c.Promotion.Metric, Margin: c.Promotion.Margin, Rows: rep.Data.Rows}
	pick := func(auc, pr, ll float64) float64 {
		switch c.Promotion.Metric {
		case "pr_auc":
			return pr
		case "log_loss":
			return ll
		}
		return auc
	}
	pl.Challenger = round6(pick(float64(rep.Metrics.ROCAUC.Value), float64(rep.Metrics.PRAUC.Value), float64(rep.Metrics.LogLoss.Value)))
	if rep.Verdict.Level == "do_not_trust" {
		pl.Reason = "the challenger's verdict is do_not_trust"
		return false, pl
	}
	if prev == "" {
		pl.Reason = "no champion yet"
		return true, pl
	}
	var champ *eval.Baseline
	for i := range rep.Baselines {
		if rep.Baselines[i].Name == "champion" {
			champ = &rep.Baselines[i]
		}
	}
	if champ == nil || !champ.Available {
		note := "the champion could not be compared"
		if champ != nil && champ.Note != "" {
			note += ": " + champ.Note
		}
		pl.Reason = note + "; the challenger replaces it"
		return true, pl
	}
	pl.Champion = round6(pick(float64(champ.ROCAUC), float64(champ.PRAUC), float64(champ.LogLoss)))
	gain := pl.Challenger - pl.Champion
	if c.Promotion.Metric == "log_loss" {
		gain = -gain
	}
	if gain >= c.Promotion.Margin {
		pl.Reason = fmt.Sprintf("%s %.4f vs %.4f: better by %.4f ≥ margin %.4f", pl.Metric, pl.Challenger, pl.Champion, gain, c.Promotion.Margin)
		return true, pl
	}
	pl.Reason = fmt.Sprintf("%s %.4f vs %.4f: not better by the margin %.4f", pl.Metric, pl.Challenger, pl.Champion, c.Promotion.Margin)
	return false, pl
}

func (j *job) card(m *train.Model, rep *eval.Report) *Card {
	mf := &m.Manifest
	top := mf.Importance
	if len(top) > 10 {
		top = top[:10]
	}
	return &Card{Version: j.mf.Challenger, AsOf: j.opt.AsOf.String(), RunID: j.mf.RunID, Algo: mf.Algo, ChurnVersion: mf.ChurnVersion,
		XGBoost: mf.XGBoostVersion, Input: mf.InputStamp.Fingerprint, Training: mf.Training, Validation: mf.Validation,
		Calibration: mf.Calibrator.Method, TopFeatures: top, Verdict: rep.Verdict.Level, Headline: rep.Verdict.Headline,
		Static: mf.Spec.StaticNames(), Label: fmt.Sprintf("%s, churn within %d days", mf.Spec.Label.Mode, mf.Spec.Label.HorizonDay)}
}

func versions(churn string) map[string]string {
	return map[string]string{"churn": churn, "go": runtime.Version(), "xgboost": train.XGBoostVersion()}
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return data.WriteFileAtomic(path, append(b, '\n'))
}

// pruneRuns keeps the newest keep run folders.
func pruneRuns(dir string, keep int) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var names []string
	for _, e := range es {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(a, b int) bool { return runTime(names[a]) < runTime(names[b]) })
	for len(names) > keep {
		os.RemoveAll(filepath.Join(dir, names[0]))
		names = names[1:]
	}
}

// runTime is the start-time part of a run id (DATE_TIME), for ordering.
func runTime(id string) string {
	if _, t, ok := strings.Cut(id, "_"); ok {
		return t
	}
	return id
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
func round6(x float64) float64 { return float64(int64(x*1e6+0.5)) / 1e6 }
