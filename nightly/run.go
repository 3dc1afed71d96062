package nightly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/eval/review"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/predict/pgsink"
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
	// Version is the churn version recorded in the manifest, the models and
	// the files written.
	Version string
	// Getenv reads the webhook's auth variable (default os.Getenv).
	Getenv func(string) string

	// beforePublish, when set, is called when everything is staged and
	// nothing published (tests look at the output folder then).
	beforePublish func()
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
	// AlertsSkippedControl counts the alerts withheld from control
	// customers (not in Alerts).
	AlertsSkippedControl int `json:"alerts_skipped_control"`
	// Experiment is tonight's control-group split: the experiment (seed,
	// cohort, share) the predictions' treatment_group belongs to, and how
	// many customers each play targeted and held out (nil before scoring).
	Experiment *predict.ExperimentInfo `json:"experiment,omitempty"`
	// Review is the periodic review run with tonight's predictions (nil
	// when it failed: see Warnings).
	Review   *ReviewInfo `json:"review,omitempty"`
	Outputs  RunOutputs  `json:"outputs"`
	Warnings []string    `json:"warnings,omitempty"`

	// Top lists tonight's riskiest customers (not written to the file).
	Top []predict.Prediction `json:"-"`
}

// RunInputs names the inputs.
type RunInputs struct {
	Data        string   `json:"data"`
	Fingerprint string   `json:"fingerprint"`
	Snapshots   []string `json:"training_snapshots"`
	// SnapshotRows are the rows computed (customers × snapshot dates);
	// TrainingRows those kept by the sample (training and evaluation).
	SnapshotRows  int64                `json:"snapshot_rows"`
	TrainingRows  int64                `json:"training_rows"`
	Sample        features.SampleStats `json:"sample"`
	DataEnd       string               `json:"data_end"`
	ValidationErr int                  `json:"validation_errors"`
	ValidationWrn int                  `json:"validation_warnings"`
}

// RunOutputs names what the run published (nothing when it failed before
// publishing). The predictions, alerts and report folders are published
// together and all hold this run's output.
type RunOutputs struct {
	Predictions string `json:"predictions,omitempty"`
	Alerts      string `json:"alerts,omitempty"`
	Report      string `json:"report,omitempty"`
	// Review is review.html, published right after the others (absent
	// when the review failed).
	Review   string `json:"review,omitempty"`
	Registry string `json:"registry,omitempty"`
	// ScoredWith is the model version the predictions and alerts hold
	// (model_version in their rows and _manifest.json).
	ScoredWith string `json:"scored_with,omitempty"`
	// Evaluated is the model version the report evaluates: the challenger
	// (its inputs.model), compared with Previous.
	Evaluated string `json:"evaluated,omitempty"`
	// Sinks are the databases the predictions were loaded into
	// (predict.sinks): the URL without password and the dates loaded.
	Sinks []SinkOutput `json:"sinks,omitempty"`
}

// SinkOutput is one sink's load in the run manifest.
type SinkOutput struct {
	Sink   string `json:"sink"`
	Loaded int    `json:"dates_loaded"`
}

// ReviewInfo is the periodic review of a run (churn review,
// docs/review.md): its one-line headline and where it is.
type ReviewInfo struct {
	Headline string `json:"headline"`
	// HTML is review.html's path once published ("" when publishing it
	// failed).
	HTML string `json:"html,omitempty"`
	// Plays counts the plays reviewed; Works those whose uplift interval
	// lies above zero.
	Plays int `json:"plays"`
	Works int `json:"works"`
}

// Step is one stage of the run with its timing.
type Step struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// PeakRSSMB is the process's peak resident memory so far, in MiB, at
	// the end of the step (the peak of the step when it grew in it).
	PeakRSSMB int64  `json:"peak_rss_mb"`
	Note      string `json:"note,omitempty"`
}

// PromotionLog records the champion/challenger comparison. The metrics
// are null when undefined (or, for the champion, not compared).
type PromotionLog struct {
	Metric     string   `json:"metric"`
	Margin     float64  `json:"margin"`
	Challenger eval.Num `json:"challenger"`
	Champion   eval.Num `json:"champion"`
	Rows       int      `json:"rows"`
	Reason     string   `json:"reason"`
}

// ErrInput marks a run stopped by bad input before anything was published.
var ErrInput = errors.New("input validation failed")

// ErrNoModel marks a run that has no model it may score with: no champion
// yet and a challenger that must not be promoted. Nothing is published.
var ErrNoModel = errors.New("no model to score with")

// stepNames are the stages, for the progress bar.
var stepNames = []string{"validate inputs", "training snapshots", "train challenger", "evaluate", "decide", "train uplift", "score", "review", "report", "publish"}

// Run runs the nightly job. The returned manifest is also written to
// out/runs/<run id>/manifest.json, on failure too (errors in the
// configuration are found before anything is written, and return no
// manifest).
//
// Nothing is published until every output is ready: the model registry
// is changed, and the predictions, alerts and report appear, only in the
// last step, which puts every output back if one cannot be published.
// The registry is locked from reading the champion to promoting, so runs
// sharing a registry compare against, promote and score with the champion
// they report.
func Run(ctx context.Context, opt Options) (*Manifest, error) {
	c := opt.Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	// Every part of the predict configuration (rules, playbook, webhook,
	// tiers) is compiled now, before any side effect; the rules are checked
	// again against the models' features once they are known.
	if err := predict.Check(c.Predict, nil, opt.AsOf, getenv); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
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
	lk, err := acquireRunLock(c.Out, opt.AsOf.String(), start)
	if err != nil {
		return nil, err
	}
	defer func() {
		if uerr := lk.Unlock(); uerr != nil {
			log.Warn("release the run lock", "error", uerr)
		}
	}()
	runDir := filepath.Join(c.Out, "runs", runID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, err
	}
	bar := newProgress(opt.Progress, stepNames)
	j := &job{c: c, opt: opt, log: log, mf: mf, runDir: runDir, now: now, bar: bar, getenv: getenv, reg: &Registry{Dir: c.Registry}}
	err = j.run(ctx)
	bar.finish(err)
	mf.Finished = now().UTC().Format(time.RFC3339)
	if err == nil {
		mf.Outcome = "ok"
	} else {
		mf.Error = err.Error()
	}
	if werr := writeJSON(filepath.Join(runDir, "manifest.json"), mf); werr != nil {
		err = errors.Join(err, fmt.Errorf("write the run manifest: %w", werr))
	}
	if perr := pruneRuns(filepath.Join(c.Out, "runs"), c.KeepRuns); perr != nil {
		log.Warn("prune old run folders", "error", perr)
	}
	return mf, err
}

// ErrConfig marks a configuration that cannot work; nothing was written.
var ErrConfig = errors.New("invalid configuration")

type job struct {
	c      *Config
	opt    Options
	log    *slog.Logger
	mf     *Manifest
	runDir string
	now    func() time.Time
	bar    *progress
	getenv func(string) string
	reg    *Registry
}

func (j *job) step(name string, f func() (string, error)) error {
	j.bar.start(name)
	t := time.Now()
	note, err := f()
	secs := metrics.Round(time.Since(t).Seconds(), 3)
	j.mf.Steps = append(j.mf.Steps, Step{Name: name, Seconds: secs, PeakRSSMB: peakRSSMB(), Note: note})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	j.log.Info("step done", "step", name, "seconds", secs, "peak_rss_mb", peakRSSMB(), "note", note)
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
	// Staging for everything the run publishes, outside the folders readers
	// glob; what killed runs left there goes first.
	txn, err := predict.BeginStaging(c.Out, j.log)
	if err != nil {
		return err
	}
	defer txn.Abort()
	removeLegacyStaging(c.Out, j.log)

	// 1. Validate: errors stop the run before anything is published.
	err = j.step("validate inputs", func() (string, error) {
		rep, err := data.Validate(ctx, c.Data, data.ValidateOptions{AsOf: asOf.Time(), Now: j.now()})
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrInput, err)
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
			return "", fmt.Errorf("%w: %w", ErrInput, err)
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
	fc, err := c.featureConfig()
	if err != nil {
		return fmt.Errorf("%w: features: %w", ErrConfig, err)
	}
	lc := *c.labelConfig()
	lc.DataEnd = asOf.AddDays(-1)
	// The latest snapshot is the last date whose label window is observed
	// by the day before tonight; dates on or before the data's first day
	// have no history and are left out.
	last := lc.Spec().LastLabelledAsOf(lc.DataEnd)
	first, _ := features.DataRange(ds)
	var dates []data.Date
	for k := c.Training.Snapshots - 1; k >= 0; k-- {
		if d := last.AddDays(-k * c.Training.StepDays); first == data.NoDate || d > first {
			dates = append(dates, d)
		}
	}
	if len(dates) < 2 {
		return fmt.Errorf("%w: the data (from %s) holds fewer than 2 of the %d training snapshots %d days apart that end %s; use fewer snapshots (training.snapshots), a shorter step (training.step_days) or a later as-of date",
			ErrInput, first, c.Training.Snapshots, c.Training.StepDays, last)
	}
	for _, d := range dates {
		j.mf.Inputs.Snapshots = append(j.mf.Inputs.Snapshots, d.String())
	}
	j.mf.Inputs.DataEnd = lc.DataEnd.String()
	// The snapshots are computed in memory and sampled as they come: the
	// held-out customers uniformly (the evaluation rows), the others by
	// label (every churned row while they fit, a seeded share of the
	// rest, weighted back to the population), so memory holds the rows
	// the run keeps, not customers × snapshots.
	var table *features.Table
	err = j.step("training snapshots", func() (string, error) {
		var st features.Stats
		var err error
		table, j.mf.Inputs.Sample, st, err = features.BuildTable(ctx, ds, features.BuildOptions{AsOf: dates, Config: fc, Label: lc, Writer: data.WriterOptions{ChurnVersion: j.opt.Version}}, c.sample())
		if err != nil {
			return "", err
		}
		j.mf.Inputs.SnapshotRows, j.mf.Inputs.TrainingRows = st.Rows, int64(table.Len())
		var kept []string
		for _, s := range j.mf.Inputs.Sample.Strata {
			kept = append(kept, s.String())
		}
		return fmt.Sprintf("%d rows (%d churned) at %d dates from %s; kept %s", st.Rows, st.Positives, len(dates), dates[0], strings.Join(kept, "; ")), nil
	})
	if err != nil {
		return err
	}

	// 3. Challenger. It must be able to score with tonight's configuration
	// before anything depends on it.
	var challenger *train.Model
	err = j.step("train challenger", func() (string, error) {
		var err error
		if challenger, err = train.Fit(ctx, table, c.Training.Params, train.FitOptions{Logger: j.log, ChurnVersion: j.opt.Version, Holdout: c.Training.Holdout.holdout()}); err != nil {
			return "", err
		}
		if j.mf.Challenger, err = VersionOf(asOf, challenger); err != nil {
			return "", err
		}
		if err := predict.Check(c.Predict, challenger.Manifest.Spec, asOf, j.getenv); err != nil {
			return "", fmt.Errorf("%w: the predict configuration does not fit the challenger's features: %w", ErrConfig, err)
		}
		v := challenger.Manifest.Validation
		return fmt.Sprintf("%s: %s validation AUC %.4f", j.mf.Challenger, v.Method, v.AUC), nil
	})
	if challenger != nil {
		defer challenger.Close()
	}
	if err != nil {
		return err
	}

	// 4. Evaluate against the champion on the same rows. The registry stays
	// locked from here until the run has published (or failed), so the
	// champion read now is the one compared with, replaced, and reported.
	unlock, err := j.reg.Lock(ctx, j.mf.RunID, j.log)
	if err != nil {
		return err
	}
	defer unlock()
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
	var heldOut func(string) bool
	if h := c.Training.Holdout.holdout(); h != nil {
		heldOut = h.HeldOut
	}
	err = j.step("evaluate", func() (string, error) {
		var err error
		rep, err = eval.Run(ctx, eval.Options{Model: challenger, Table: table, Baseline: champion, Config: c.Eval, Evaluate: heldOut,
			Explain: predict.NewExplainer(challenger.Manifest.Spec).Text, Group: c.Predict.AccountGroup(challenger.Manifest.Spec),
			Inputs: eval.Inputs{Model: "challenger " + j.mf.Challenger, Features: fmt.Sprintf("training snapshots %s … %s", dates[0], dates[len(dates)-1]), BaselineModel: prev},
			Logger: j.log, Now: j.now, AsOf: &asOf, Dataset: ds})
		if err != nil {
			return "", err
		}
		j.mf.Verdict, j.mf.Headline = rep.Verdict.Level, rep.Verdict.Headline
		return rep.Verdict.Level + ": " + rep.Verdict.Headline, nil
	})
	if err != nil {
		return err
	}

	// 5. Decide, without side effects: promote only on a win by the margin,
	// and never a challenger the evaluation says not to trust.
	scorer, scoreVersion := champion, prev
	var promote bool
	err = j.step("decide", func() (string, error) {
		win, pl := j.decide(rep, prev)
		j.mf.Promotion = pl
		if win && j.mf.Challenger != prev {
			promote, scorer, scoreVersion = true, challenger, j.mf.Challenger
		}
		if scorer == nil {
			return "", fmt.Errorf("%w: %s and the registry %s has no champion yet; nothing was published (%s)", ErrNoModel, pl.Reason, c.Registry, criticalFindings(rep))
		}
		if scorer == champion {
			if err := predict.Check(c.Predict, champion.Manifest.Spec, asOf, j.getenv); err != nil {
				return "", fmt.Errorf("%w: the predict configuration does not fit the champion %s's features: %w", ErrConfig, prev, err)
			}
		}
		if promote {
			return "promote " + j.mf.Challenger + ": " + pl.Reason, nil
		}
		return "keep " + prev + ": " + pl.Reason, nil
	})
	if err != nil {
		return err
	}
	j.mf.Promoted, j.mf.Champion = promote, scoreVersion

	// 6. Score tonight's customers with the chosen model, into staging.
	// Tonight's customers are counted for the drift check as they are
	// scored, against the scoring model's training data.
	// 5b. The uplift model of the scoring model, refitted every night from
	// the experiment units (the interventions table and the published
	// predictions' control groups) when training.uplift asks for it.
	upliftModel, err := j.uplift(ctx, ds, scorer)
	if err != nil {
		return err
	}
	if upliftModel != nil {
		defer upliftModel.Close()
	}

	var staged *predict.Staged
	driftCount := eval.NewDriftCounter(&scorer.Manifest, scorer.Manifest.Spec, c.Eval.Drift)
	observe := func(t *features.Table, prob []float64) { driftCount.Add(t, nil, prob) }
	err = j.step("score", func() (string, error) {
		var err error
		staged, err = predict.Stage(ctx, predict.Options{Dataset: ds, Model: scorer, ModelVersion: scoreVersion, AsOf: asOf, Out: c.Out, Config: c.Predict,
			Now: j.now, Logger: j.log, Observe: observe, ChurnVersion: j.opt.Version, Getenv: j.getenv, Uplift: upliftModel}, txn)
		if err != nil {
			return "", err
		}
		res := staged.Result
		j.mf.Scored, j.mf.Tiers, j.mf.Alerts, j.mf.Top = res.Rows, res.Tiers, res.Alerts, res.Top
		j.mf.AlertsSkippedControl, j.mf.Experiment = res.AlertsSkippedControl, &res.Experiment
		return fmt.Sprintf("%d customers: %d high, %d medium, %d low; %d alerts (%d withheld from %d control customers of %d targeted)",
			res.Rows, res.Tiers.High, res.Tiers.Medium, res.Tiers.Low, res.Alerts, res.AlertsSkippedControl, res.Experiment.Control, res.Experiment.Targeted), nil
	})
	if err != nil {
		return err
	}

	// 7. Review: every predictions partition, tonight's staged one
	// included, against the outcomes and interventions. It is staged in a
	// transaction of its own, published right after the predictions: a
	// review that fails is a warning and never holds back or unpublishes
	// tonight's predictions.
	reportDir := filepath.Join(c.Out, "reports", "as_of="+asOf.String())
	rv, reviewTxn, err := j.review(ctx, ds, txn, staged, &fc)
	if reviewTxn != nil {
		defer reviewTxn.Abort()
	}
	if err != nil {
		return err
	}

	// 8. Report: the challenger's evaluation, with tonight's population
	// checked for drift against the scoring model's training data, and the
	// review's section.
	err = j.step("report", func() (string, error) {
		d := driftCount.Drift(fmt.Sprintf("customers scored as of %s, against the training data of %s", asOf, scoreVersion))
		rep.SetDrift(d)
		if rv != nil {
			rel, err := filepath.Rel(reportDir, filepath.Join(review.ReportDir(c.Out, asOf), review.HTMLFile))
			if err != nil {
				return "", err
			}
			rep.SetReview(rv.Summary(filepath.ToSlash(rel)))
		}
		j.mf.Verdict, j.mf.Headline, j.mf.Drifting = rep.Verdict.Level, rep.Verdict.Headline, d.Drifting
		dir, err := txn.Dir("report", reportDir)
		if err != nil {
			return "", err
		}
		if err := rep.WriteFiles(dir); err != nil {
			return "", err
		}
		if len(d.Drifting) > 0 {
			j.log.Warn("drift", "features", strings.Join(d.Drifting, ", "), "threshold", c.Eval.Drift.Threshold)
			j.mf.Warnings = append(j.mf.Warnings, "drift above the threshold: "+strings.Join(d.Drifting, ", "))
		}
		return rep.Verdict.Level, nil
	})
	if err != nil {
		return err
	}

	// 9. Publish: store the challenger, move every output into place
	// together, then move the champion pointer; then the review. Each published folder
	// names the model version it holds, and so does the manifest.
	err = j.step("publish", func() (string, error) {
		added, err := j.reg.Add(j.mf.Challenger, challenger, j.card(challenger, rep))
		if err != nil {
			return "", err
		}
		if added {
			if err := j.reg.Record(Event{Event: "added", Version: j.mf.Challenger, AsOf: asOf.String(), RunID: j.mf.RunID}); err != nil {
				return "", err
			}
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if j.opt.beforePublish != nil {
			j.opt.beforePublish()
		}
		if err := txn.Commit(); err != nil {
			return "", err
		}
		res := staged.Result
		j.mf.Outputs = RunOutputs{Predictions: res.PredictionsDir, Alerts: res.AlertsDir, Report: filepath.Join(reportDir, eval.HTMLFile), Registry: c.Registry,
			ScoredWith: scoreVersion, Evaluated: j.mf.Challenger}
		if reviewTxn != nil {
			if err := reviewTxn.Commit(); err != nil {
				j.warn("publish the review: %v (the predictions are published)", err)
			} else {
				j.mf.Review.HTML = filepath.Join(review.ReportDir(c.Out, asOf), review.HTMLFile)
				j.mf.Outputs.Review = j.mf.Review.HTML
			}
		}
		pl := j.mf.Promotion
		if promote {
			if err := j.reg.Promote(j.mf.Challenger); err != nil {
				return "", err
			}
			ev := Event{Event: "promoted", Version: j.mf.Challenger, AsOf: asOf.String(), RunID: j.mf.RunID, Previous: prev, Metric: pl.Metric, Value: pl.Challenger, Baseline: pl.Champion, Reason: pl.Reason}
			return "promoted " + j.mf.Challenger, j.reg.Record(ev)
		}
		ev := Event{Event: "kept", Version: prev, AsOf: asOf.String(), RunID: j.mf.RunID, Previous: j.mf.Challenger, Metric: pl.Metric, Value: pl.Champion, Baseline: pl.Challenger, Reason: pl.Reason}
		return "kept " + prev, j.reg.Record(ev)
	})
	if err != nil {
		return err
	}

	// 10. Sinks: the published partition into the databases BI tools
	// read (predict.sinks), with the dates a sink missed since its newest.
	// A failed sink fails the run after everything is published; the
	// webhook still goes out.
	var sinkErr error
	if sinks := c.Predict.Sinks; len(sinks) > 0 {
		sinkErr = j.step("sinks", func() (string, error) {
			results, err := pgsink.AfterRun(ctx, sinks, c.Out, asOf, j.getenv, j.log)
			var done []string
			for _, r := range results {
				if r == nil {
					continue
				}
				for _, l := range r.Loads {
					done = append(done, fmt.Sprintf("%s as_of=%s (%d rows)", r.Sink, l.AsOf, l.Rows))
				}
				j.mf.Outputs.Sinks = append(j.mf.Outputs.Sinks, SinkOutput{Sink: r.Sink, Loaded: len(r.Loads)})
			}
			if err != nil {
				return "", err
			}
			return "loaded " + strings.Join(done, ", "), nil
		})
		if sinkErr != nil {
			j.mf.Warnings = append(j.mf.Warnings, sinkErr.Error())
		}
	}

	// 11. Notify: the webhook, after everything is published. A required
	// webhook that failed fails the run; the outputs stay published.
	if err := staged.Deliver(ctx); err != nil {
		j.mf.Warnings = append(j.mf.Warnings, err.Error())
		return errors.Join(sinkErr, fmt.Errorf("%w (the predictions, alerts and report are published)", err))
	}
	return sinkErr
}

// review runs the periodic review over the published predictions and
// tonight's staged ones (in txn) and stages it in a transaction of its own,
// returned for the publish step to commit. Its step fails the run only
// when the run is interrupted: a review that cannot be made is a warning
// in the manifest, and the review and its transaction are nil then.
func (j *job) review(ctx context.Context, ds *data.Dataset, txn *data.Txn, staged *predict.Staged, fc *features.Config) (*review.Review, *data.Txn, error) {
	c, asOf := j.c, j.opt.AsOf
	var rv *review.Review
	var rtx *data.Txn
	err := j.step("review", func() (string, error) {
		tonight, ok := txn.Staged(staged.Result.PredictionsDir)
		if !ok {
			j.warn("review: tonight's predictions are not staged at %s", staged.Result.PredictionsDir)
			return "skipped: tonight's predictions are not staged", nil
		}
		r, err := review.Run(ctx, review.Options{Dataset: ds, Out: c.Out, AsOf: asOf, Label: *c.labelConfig(), Features: fc, Config: c.Review,
			Staged: map[data.Date]string{asOf: tonight}, Now: j.now, Logger: j.log})
		if err == nil {
			rtx, err = data.BeginTxn(filepath.Join(c.Out, predict.StagingDir))
		}
		if err == nil {
			err = r.Stage(rtx, c.Out, j.opt.Version)
		}
		if err != nil {
			if rtx != nil {
				rtx.Abort()
				rtx = nil
			}
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			j.warn("review failed (the predictions are published without it): %v", err)
			return "failed: " + err.Error(), nil
		}
		rv = r
		info := &ReviewInfo{Headline: r.Headline, Plays: len(r.Plays)}
		for _, p := range r.Plays {
			if p.Verdict == "works" {
				info.Works++
			}
		}
		j.mf.Review = info
		return r.Headline, nil
	})
	return rv, rtx, err
}

// uplift runs the "train uplift" step: with training.uplift on, it fits
// the scoring model's uplift model on the experiment units (FitUplift) for
// tonight's scoring; predict uses it only when it is trusted. No units, or
// too few in an arm, skip the step with a note (nil model); other errors
// fail the run. With training.uplift off the step is skipped.
func (j *job) uplift(ctx context.Context, ds *data.Dataset, scorer *train.Model) (*train.UpliftModel, error) {
	c := j.c
	var m *train.UpliftModel
	err := j.step("train uplift", func() (string, error) {
		if !c.Training.Uplift {
			return "skipped: training.uplift is off", nil
		}
		var err error
		m, _, err = FitUplift(ctx, ds, scorer, UpliftOptions{Out: c.Out, Logger: j.log, ChurnVersion: j.opt.Version})
		switch {
		case errors.Is(err, ErrNoUnits) || errors.Is(err, train.ErrTooFewUnits):
			return "skipped: " + err.Error(), nil
		case err != nil:
			return "", err
		}
		v := &m.Card.Validation
		return fmt.Sprintf("Qini %.4f vs %.4f ranking by risk: %s", v.Qini, v.QiniRisk, v.Verdict), nil
	})
	if err != nil && m != nil {
		m.Close()
		m = nil
	}
	return m, err
}

// warn logs a warning and records it in the manifest.
func (j *job) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	j.log.Warn(msg)
	j.mf.Warnings = append(j.mf.Warnings, msg)
}

// criticalFindings lists the report's critical findings, for messages.
func criticalFindings(rep *eval.Report) string {
	var out []string
	for _, f := range rep.Verdict.Findings {
		if f.Severity == eval.SeverityCritical {
			out = append(out, f.Message)
		}
	}
	if len(out) == 0 {
		return rep.Verdict.Headline
	}
	return strings.Join(out, "; ")
}

// removeLegacyStaging removes what killed runs of older churn versions
// left inside the published folders: hidden siblings named
// .as_of=DATE.tmp-… (the run lock is held, so nobody else is writing).
func removeLegacyStaging(out string, log *slog.Logger) {
	for _, kind := range []string{predict.PredictionsDir, predict.AlertsDir, "reports"} {
		es, err := os.ReadDir(filepath.Join(out, kind))
		if err != nil {
			continue
		}
		for _, e := range es {
			if n := e.Name(); strings.HasPrefix(n, ".as_of=") && (strings.Contains(n, ".tmp-") || strings.Contains(n, ".old-")) {
				p := filepath.Join(out, kind, n)
				if err := os.RemoveAll(p); err != nil {
					log.Warn("remove a stale staging folder", "dir", p, "error", err)
					continue
				}
				log.Info("removed a stale staging folder of an interrupted run", "dir", p)
			}
		}
	}
}

// decide compares challenger and champion on the same validation rows.
// It has no side effects.
func (j *job) decide(rep *eval.Report, prev string) (bool, *PromotionLog) {
	c := j.c
	pl := &PromotionLog{Metric: c.Promotion.Metric, Margin: c.Promotion.Margin, Rows: rep.Data.Rows, Champion: eval.Num(math.NaN())}
	pick := func(auc, pr, ll float64) float64 {
		switch c.Promotion.Metric {
		case "pr_auc":
			return pr
		case "log_loss":
			return ll
		}
		return auc
	}
	challenger := pick(float64(rep.Metrics.ROCAUC.Value), float64(rep.Metrics.PRAUC.Value), float64(rep.Metrics.LogLoss.Value))
	pl.Challenger = eval.Num(challenger)
	if rep.Verdict.Level == eval.LevelDoNotTrust {
		pl.Reason = "the challenger's verdict is " + eval.LevelDoNotTrust
		return false, pl
	}
	if prev == "" {
		pl.Reason = "no champion yet"
		return true, pl
	}
	var champ *eval.Baseline
	for i := range rep.Baselines {
		if rep.Baselines[i].Name == eval.BaselineChampion {
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
	champion := pick(float64(champ.ROCAUC), float64(champ.PRAUC), float64(champ.LogLoss))
	pl.Champion = eval.Num(champion)
	gain := challenger - champion
	if c.Promotion.Metric == "log_loss" {
		gain = -gain
	}
	if gain >= c.Promotion.Margin {
		pl.Reason = fmt.Sprintf("%s %.4f vs %.4f: better by %.4f ≥ margin %.4f", pl.Metric, challenger, champion, gain, c.Promotion.Margin)
		return true, pl
	}
	pl.Reason = fmt.Sprintf("%s %.4f vs %.4f: not better by the margin %.4f", pl.Metric, challenger, champion, c.Promotion.Margin)
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
		Static: mf.Spec.StaticNames(), Sample: j.mf.Inputs.Sample, Label: fmt.Sprintf("%s, churn within %d days", mf.Spec.Label.Mode, mf.Spec.Label.HorizonDay)}
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
func pruneRuns(dir string, keep int) error {
	es, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range es {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(a, b int) bool { return runTime(names[a]) < runTime(names[b]) })
	var errs []error
	for len(names) > keep {
		errs = append(errs, os.RemoveAll(filepath.Join(dir, names[0])))
		names = names[1:]
	}
	return errors.Join(errs...)
}

// runTime is the start-time part of a run id (DATE_TIME), for ordering.
func runTime(id string) string {
	if _, t, ok := strings.Cut(id, "_"); ok {
		return t
	}
	return id
}
