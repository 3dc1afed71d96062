package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

func init() { register(newEvalCmd) }

// EvalOptions are the inputs of churn eval.
type EvalOptions struct {
	Model    string
	Features string
	// Data is the dataset the feature table was built from ("" means
	// none): the report's retention section then has Kaplan-Meier curves
	// of time to churn.
	Data          string
	Out           string
	BaselineModel string
	ConfigFile    string
	// PredictConfig is the predict config whose playbook and control
	// experiment place the accounts to call in their groups ("" means
	// the defaults).
	PredictConfig string
	// Flags that override the config file when given.
	Seed      uint64
	Capacity  int
	Threshold float64
	Resamples int
	Origins   int
	Rows      string
	// AsOf is the run's as-of date (YYYY-MM-DD) on which the backtest's
	// schedule (backtest.every) is decided; "" means the table's latest
	// as-of date.
	AsOf string
	// Now is the clock for the report's generation time (--now); nil
	// means time.Now.
	Now func() time.Time
	IO  IO

	changed func(name string) bool
}

func newEvalCmd(stdio IO) *cobra.Command {
	o := &EvalOptions{IO: stdio}
	c := &cobra.Command{
		Use:   "eval --model DIR --features FILE.parquet --out DIR",
		Short: "Evaluate a churn model: verdict, metrics, baselines, backtest, drift and accounts to call",
		Long: `Scores a feature table with a model and writes an evaluation report to --out:
report.html (one self-contained page with charts), report.json (every number,
keys documented in docs/eval.md) and report.md (a short summary).

On the labelled rows it measures ROC AUC, PR AUC, log loss, Brier score and
calibration error with bootstrap intervals (customers resampled), lift and
gains, precision and recall at a capacity, a threshold and a cost-based
threshold, calibration, per-segment metrics; compares the model with the base
rate, a rule-based health score and --baseline-model on the same rows;
retrains at the latest as-of dates (rolling-origin backtest); ranks features by
gain and permutation importance; computes retention (CRR, GRR, NRR; with
--data, Kaplan-Meier curves of time to churn by signup cohort, plan, segment
and risk tier, with median time to churn), drift
(PSI against the training data) and lists the accounts to call with reasons;
accounts in a control group of the predict config's experiment
(--predict-config, docs/playbook.md) are marked "control — do not contact" and
not counted as accounts to call.

With backtest.every N (days) in the config, the backtest runs only on as-of
dates whose day number since 1970-01-01 is a multiple of N: --as-of gives the
run's date (default: the table's latest as-of date).

By default rows at as-of dates the model was trained on are left out
(config rows: all keeps them). Settings come from --config (YAML, see
docs/eval.md); the flags below override it. stdout gets where the report is and
the verdict.`,
		Example: `  churn eval --model models/m1 --features features.parquet --out reports/m1
  churn eval --model models/m2 --features features.parquet --out reports/m2 --baseline-model models/m1
  churn eval --model models/m1 --features features.parquet --out reports/m1 --config eval.yaml --capacity 50
  churn eval --model models/m1 --features features.parquet --data data/ --out reports/m1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.changed = func(name string) bool { return cmd.Flags().Changed(name) }
			return runEval(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Model, "model", "", "model directory made by churn train (required)")
	f.StringVar(&o.Features, "features", "", "feature table made by churn features, with labels (required)")
	f.StringVar(&o.Out, "out", "", "report directory to write (required; replaced atomically)")
	f.StringVar(&o.Data, "data", "", "dataset directory the feature table was built from: adds Kaplan-Meier curves of time to churn (docs/eval.md)")
	f.StringVar(&o.BaselineModel, "baseline-model", "", "previous champion model directory to compare with")
	f.StringVar(&o.ConfigFile, "config", "", "YAML file of evaluation settings (docs/eval.md)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the bootstrap and permutation importance")
	f.IntVar(&o.Capacity, "capacity", 100, "accounts the team can contact per as-of date")
	f.Float64Var(&o.Threshold, "threshold", 0.3, "probability threshold for precision and recall")
	f.IntVar(&o.Resamples, "resamples", 500, "bootstrap resamples")
	f.IntVar(&o.Origins, "origins", 4, "backtest origins (latest labelled as-of dates)")
	f.StringVar(&o.PredictConfig, "predict-config", envOr("CHURN_PREDICT_CONFIG", ""), "predict config YAML whose playbook and control groups mark the accounts to call held out as control (env CHURN_PREDICT_CONFIG; default: the built-in playbook, control share 0.1)")
	f.StringVar(&o.AsOf, "as-of", "", "the run's as-of date YYYY-MM-DD, for the backtest's schedule (default: the table's latest as-of date)")
	addNowFlag(f, &o.Now)
	f.StringVar(&o.Rows, "rows", eval.RowsHoldout, "evaluated rows: holdout (leave out the model's training dates) or all")
	c.MarkFlagRequired("model")
	c.MarkFlagRequired("features")
	c.MarkFlagRequired("out")
	return c
}

// evalConfig merges defaults, the config file and the flags given.
func evalConfig(o *EvalOptions) (eval.Config, error) {
	cfg := eval.DefaultConfig()
	if o.ConfigFile != "" {
		var err error
		if cfg, err = eval.LoadConfig(o.ConfigFile); err != nil {
			return cfg, err // the file's content: a failure (1), like every config file's
		}
	}
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	if changed("seed") {
		cfg.Seed = o.Seed
	}
	if changed("capacity") {
		cfg.Capacity = o.Capacity
	}
	if changed("threshold") {
		cfg.Threshold = o.Threshold
	}
	if changed("resamples") {
		cfg.Bootstrap.Resamples = o.Resamples
	}
	if changed("origins") {
		cfg.Backtest.Origins = o.Origins
	}
	if changed("rows") {
		cfg.Rows = o.Rows
	}
	if err := cfg.Validate(); err != nil {
		return cfg, &UsageError{Err: err} // the file was valid: a flag is not
	}
	return cfg, nil
}

func runEval(ctx context.Context, o *EvalOptions) error {
	start := time.Now()
	cfg, err := evalConfig(o)
	if err != nil {
		return err
	}
	var asOf *data.Date
	if o.AsOf != "" {
		d, err := data.ParseDate(o.AsOf)
		if err != nil {
			return usageErrorf("--as-of: %v", err)
		}
		asOf = &d
	}
	pcfg := &predict.Config{}
	if o.PredictConfig != "" {
		if pcfg, err = predict.LoadConfig(o.PredictConfig); err != nil {
			return fmt.Errorf("--predict-config: %w", err)
		}
	}
	pcfg.EnsureDefaults()
	m, err := train.Load(o.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	var base *train.Model
	if o.BaselineModel != "" {
		if base, err = train.Load(o.BaselineModel); err != nil {
			return fmt.Errorf("--baseline-model: %w", err)
		}
		defer base.Close()
	}
	tab, err := features.ReadTable(ctx, o.Features)
	if err != nil {
		return err
	}
	var ds *data.Dataset
	if o.Data != "" {
		if ds, err = data.Open(o.Data); err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		defer ds.Close()
		if fp, err := ds.Fingerprint(); err == nil && tab.Spec.Input.Fingerprint != "" && fp != tab.Spec.Input.Fingerprint {
			slog.Warn("--data is not the dataset the feature table was built from (or it changed since): the Kaplan-Meier curves describe it as it is now", "data", o.Data)
		}
	}
	rep, err := eval.Run(ctx, eval.Options{
		Model: m, Table: tab, Baseline: base, Config: cfg, Logger: slog.Default(), Now: o.Now, AsOf: asOf, Dataset: ds,
		Explain: predict.NewExplainer(m.Manifest.Spec).Text, Group: pcfg.AccountGroup(m.Manifest.Spec),
		Inputs: eval.Inputs{Model: filepath.Base(filepath.Clean(o.Model)), Features: filepath.Base(o.Features), BaselineModel: baseName(o.BaselineModel)},
	})
	if err != nil {
		return fmt.Errorf("%s with %s: %w", o.Features, o.Model, err)
	}
	if err := rep.Write(o.Out); err != nil {
		return err
	}
	slog.Info("report written", "out", o.Out, "seconds", time.Since(start).Seconds())
	fmt.Fprintf(o.IO.Out, "report   %s\n", filepath.Join(o.Out, eval.HTMLFile))
	fmt.Fprintf(o.IO.Out, "data     %s, %s\n", filepath.Join(o.Out, eval.JSONFile), filepath.Join(o.Out, eval.MarkdownFile))
	fmt.Fprintf(o.IO.Out, "verdict  %s\n", rep.Verdict.Headline)
	for _, f := range rep.Verdict.Findings {
		if f.Severity == "warning" || f.Severity == "critical" {
			fmt.Fprintf(o.IO.Out, "%-8s %s\n", f.Severity, f.Message)
		}
	}
	return nil
}

func baseName(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(filepath.Clean(p))
}
