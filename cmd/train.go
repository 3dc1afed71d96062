package cmd

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

func init() { register(newTrainCmd) }

// TrainOptions are the inputs of churn train.
type TrainOptions struct {
	Features   string
	Model      string
	ParamsFile string
	Params     train.Params
	// Holdout keeps a share of the customers (by a hash of customer_id with
	// HoldoutSeed) out of the fit; 0 fits every customer.
	Holdout     float64
	HoldoutSeed uint64
	// Uplift fits the uplift model on the experiment units of Data and
	// writes it into Model's uplift/ folder (Model holds the churn model);
	// Features is then not used. MinArmUnits and Bootstrap are its
	// settings (0: the defaults of train.UpliftParams); Workers computes
	// the units' features.
	Uplift bool
	Data   string
	// Out is the predict/run output folder whose predictions partitions'
	// targeted rows are experiment units too ("" for none).
	Out         string
	MinArmUnits int
	Bootstrap   int
	Workers     int
	IO          IO
}

func newTrainCmd(stdio IO) *cobra.Command {
	return newTrainCmdWith(stdio, runTrain)
}

// newTrainCmdWith builds the command with run doing the work, so tests can
// stop before it. The parameter flags start at train.DefaultParams: the
// defaults are defined once, by train.Params.EnsureDefaults.
func newTrainCmdWith(stdio IO, run func(context.Context, *TrainOptions) error) *cobra.Command {
	o := &TrainOptions{IO: stdio, Params: train.DefaultParams()}
	c := &cobra.Command{
		Use:   "train --features FILE.parquet --model DIR | train --uplift --data DIR --model DIR",
		Short: "Train, validate and calibrate a churn model on a feature table",
		Long: `Fits a classifier on the labelled rows of a feature table (rows with a null
label are skipped), validates it out of time when the table has several
as-of dates (the latest snapshots validate; earlier rows whose label window
overlaps them are left out of that fit) or by k-fold grouped by customer
otherwise, calibrates its probabilities on held-out rows (Platt or isotonic,
whichever has the lower log loss), refits the final model on every labelled
row with the validated number of rounds, and writes the model artifact
directory: model.json (feature spec, encoder, calibrator, parameters,
validation metrics, importance, a sketch of the training rows' keys,
versions) and booster.json (XGBoost's own JSON model, which Python/R/JVM
XGBoost can open).

--holdout keeps a share of the customers (chosen by a hash of customer_id
and --holdout-seed) out of the fit: churn eval and churn score-table on the
same table then measure the model on those customers only (the model's
training keys tell them apart).

--uplift fits the uplift model instead (docs/playbook.md#ranking-by-who-can-be-saved):
the experiment units (the targeted rows of the predictions partitions under
--out, and the interventions rows of --data with a group: a customer once per
play, at its first date) get the churn model's features as of their date and
the training label as outcome; two XGBoost classifiers, one on the
treated and one on the control units, are validated out of time by the
Qini coefficient against random targeting and ranking by the churn model's
risk, and written to DIR/uplift/ with the verdict. predict uses the model
only when it is trusted. The booster flags (--rounds, --eta, --max-depth,
--seed, ...) apply to both classifiers.

Parameters come from flags, or a YAML/JSON file (--params) whose keys are
the flag names with underscores; flags given explicitly win over the file.`,
		Example: `  churn train --features train.parquet --model models/v1
  churn train --features train.parquet --model models/lr --algo logreg
  churn train --features train.parquet --model models/v2 --rounds 400 --eta 0.05 --search-budget 10
  churn train --features train.parquet --model models/v3 --positive-weight auto
  churn train --features all.parquet --model models/v4 --holdout 0.2 && churn eval --model models/v4 --features all.parquet --out reports/v4
  churn train --uplift --data demo/data --model models/v1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.ParamsFile != "" {
				if err := mergeParamsFile(cmd, o); err != nil {
					return err
				}
			}
			if o.Uplift {
				if err := o.checkUplift(cmd); err != nil {
					return err
				}
				return run(cmd.Context(), o)
			}
			if o.Features == "" {
				return usageErrorf("--features is required (or --uplift with --data)")
			}
			for _, name := range []string{"data", "out", "min-arm-units", "bootstrap", "workers"} {
				if cmd.Flags().Changed(name) {
					return usageErrorf("--%s applies to --uplift only", name)
				}
			}
			if o.Holdout != 0 {
				if err := (features.Holdout{Share: o.Holdout}).Validate(); err != nil {
					return usageErrorf("--holdout: %v", err)
				}
			} else if cmd.Flags().Changed("holdout-seed") {
				return usageErrorf("--holdout-seed needs --holdout")
			}
			return run(cmd.Context(), o)
		},
	}
	f := c.Flags()
	p := &o.Params
	d := train.DefaultParams()
	f.StringVar(&o.Features, "features", "", "feature table made by churn features (required without --uplift)")
	f.StringVar(&o.Model, "model", "", "model directory to write (required; replaced atomically); with --uplift the churn model's, whose uplift/ is written")
	f.BoolVar(&o.Uplift, "uplift", false, "fit the uplift model on the experiment units of --data into MODEL/uplift/")
	f.StringVar(&o.Data, "data", "", "--uplift: the dataset (outcomes, features, interventions)")
	f.StringVar(&o.Out, "out", "", "--uplift: predict's output folder, whose predictions partitions' targeted rows are units too")
	f.IntVar(&o.MinArmUnits, "min-arm-units", 0, "--uplift: least units each arm needs among training and validation units (0: 50)")
	f.IntVar(&o.Bootstrap, "bootstrap", 0, "--uplift: resamples behind the verdict's intervals (0: 500)")
	f.IntVar(&o.Workers, "workers", 0, "--uplift: feature workers (default: CPUs)")
	f.StringVar(&o.ParamsFile, "params", "", "YAML or JSON file of parameters")
	f.Float64Var(&o.Holdout, "holdout", 0, "share of customers kept out of the fit, for churn eval on the same table (0: none)")
	f.Uint64Var(&o.HoldoutSeed, "holdout-seed", 0, "seed of the holdout's hash of customer_id")
	f.StringVar(&p.Algo, "algo", d.Algo, "learner: xgboost or logreg")
	f.Uint64Var(&p.Seed, "seed", d.Seed, "random seed: same data and seed give the same model")
	f.IntVar(&p.Threads, "threads", d.Threads, "XGBoost threads")
	f.IntVar(&p.Rounds, "rounds", d.Rounds, "most boosting rounds; the number used is chosen on held-out rows")
	f.IntVar(&p.MaxDepth, "max-depth", d.MaxDepth, "tree depth")
	f.Float64Var(&p.Eta, "eta", d.Eta, "learning rate")
	f.Var(floatPtr{&p.MinChildWeight}, "min-child-weight", "minimum hessian in a leaf")
	f.Float64Var(&p.Subsample, "subsample", d.Subsample, "row share sampled per tree")
	f.Float64Var(&p.ColsampleByTree, "colsample-bytree", d.ColsampleByTree, "column share sampled per tree")
	f.Var(floatPtr{&p.Lambda}, "lambda", "L2 penalty on leaf weights")
	f.Float64Var(&p.Alpha, "alpha", d.Alpha, "L1 penalty on leaf weights")
	f.IntVar(&p.EarlyStopping, "early-stopping", d.EarlyStopping, "stop after this many rounds without validation improvement (-1: off)")
	f.Float64Var(&p.L2, "l2", d.L2, "logreg: L2 penalty (scikit-learn's C = 1/l2)")
	f.IntVar(&p.MaxIter, "max-iter", d.MaxIter, "logreg: L-BFGS iterations")
	f.Var(&p.PositiveWeight, "positive-weight", "weight of churned rows, or auto: negatives/positives")
	f.StringVar(&p.Calibration, "calibration", d.Calibration, "auto, none, platt or isotonic")
	f.StringVar(&p.Validation, "validation", d.Validation, "auto, oot or kfold")
	f.IntVar(&p.Folds, "folds", d.Folds, "folds for k-fold validation")
	f.Float64Var(&p.ValidShare, "valid-share", d.ValidShare, "least share of rows in the out-of-time validation")
	f.IntVar(&p.SearchBudget, "search-budget", d.SearchBudget, "extra hyperparameter settings to try (random search)")
	c.MarkFlagRequired("model")
	return c
}

// floatPtr is a flag bound to an optional number (nil: the default, which
// the flag starts at).
type floatPtr struct{ p **float64 }

func (f floatPtr) String() string {
	if f.p == nil || *f.p == nil {
		return ""
	}
	return strconv.FormatFloat(**f.p, 'g', -1, 64)
}

func (f floatPtr) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*f.p = &x
	return nil
}

func (f floatPtr) Type() string { return "float" }

// mergeParamsFile reads --params and applies each value whose flag was not
// given on the command line.
func mergeParamsFile(cmd *cobra.Command, o *TrainOptions) error {
	raw, err := os.ReadFile(o.ParamsFile)
	if err != nil {
		return err
	}
	var m map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%s: %w", o.ParamsFile, err)
	}
	for k, v := range m {
		name := strings.ReplaceAll(k, "_", "-")
		fl := cmd.Flags().Lookup(name)
		if fl == nil || name == "features" || name == "model" || name == "params" {
			return usageErrorf("%s: unknown parameter %q", o.ParamsFile, k)
		}
		if fl.Changed {
			continue
		}
		if err := fl.Value.Set(fmt.Sprint(v)); err != nil {
			return usageErrorf("%s: %s: %v", o.ParamsFile, k, err)
		}
	}
	return nil
}

// checkUplift reports flags that --uplift does not take or needs.
func (o *TrainOptions) checkUplift(cmd *cobra.Command) error {
	if o.Data == "" {
		return usageErrorf("--uplift needs --data (the dataset with the interventions table)")
	}
	for _, name := range []string{"features", "holdout", "holdout-seed"} {
		if cmd.Flags().Changed(name) {
			return usageErrorf("--%s does not apply to --uplift", name)
		}
	}
	return nil
}

func runTrain(ctx context.Context, o *TrainOptions) error {
	if o.Uplift {
		return runTrainUplift(ctx, o)
	}
	start := time.Now()
	tab, err := features.ReadTable(ctx, o.Features)
	if err != nil {
		return err
	}
	fo := train.FitOptions{Logger: slog.Default(), ChurnVersion: Version()}
	if o.Holdout > 0 {
		fo.Holdout = &features.Holdout{Share: o.Holdout, Seed: o.HoldoutSeed}
	}
	m, err := train.Fit(ctx, tab, o.Params, fo)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := m.Save(o.Model); err != nil {
		return err
	}
	slog.Info("model trained", "model", o.Model, "seconds", time.Since(start).Seconds())
	return printModelSummary(o.IO, o.Model, &m.Manifest)
}

func printModelSummary(stdio IO, dir string, mf *train.Manifest) error {
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
	v := mf.Validation
	fmt.Fprintf(tw, "model\t%s (%s", dir, mf.Algo)
	if mf.Rounds > 0 {
		fmt.Fprintf(tw, ", %d rounds", mf.Rounds)
	}
	fmt.Fprintf(tw, ")\n")
	fmt.Fprintf(tw, "trained on\t%d rows, %d churned, at %d as-of dates (every labelled row)\n", mf.Training.Rows, mf.Training.Positives, max(1, len(mf.Training.AsOf)))
	for _, lo := range mf.Training.LeftOut {
		fmt.Fprintf(tw, "left out\t%d rows: %s\n", lo.Rows, lo.Reason)
	}
	switch v.Method {
	case train.ValidationOOT:
		fmt.Fprintf(tw, "validation\tout of time on %s: %d rows, by a model fitted on %d earlier rows", strings.Join(v.ValidAsOf, ", "), v.ValidRows, v.TrainRows)
		if v.PurgedRows > 0 {
			fmt.Fprintf(tw, " (%d rows left out: their label window reaches %s)", v.PurgedRows, v.ValidAsOf[0])
		}
		fmt.Fprintln(tw)
	default:
		fmt.Fprintf(tw, "validation\t%d-fold by customer: %d rows out of fold\n", v.Folds, v.ValidRows)
	}
	auc := fmt.Sprintf("%.4f", v.AUC)
	if v.AUCStd > 0 {
		auc += fmt.Sprintf(" ± %.4f over folds", v.AUCStd)
	}
	fmt.Fprintf(tw, "ROC AUC\t%s\n", auc)
	fmt.Fprintf(tw, "PR AUC\t%.4f (base rate %.4f)\n", v.PRAUC, v.BaseRate)
	fmt.Fprintf(tw, "log loss / Brier\t%.4f / %.4f (calibrated: %s)\n", v.LogLoss, v.Brier, mf.Calibrator.Method)
	fmt.Fprintf(tw, "top features\t")
	for i, imp := range mf.Importance {
		if i == 5 {
			break
		}
		if i > 0 {
			fmt.Fprintf(tw, ", ")
		}
		static := ""
		if d, ok := mf.Spec.Lookup(imp.Feature); ok && d.Static {
			static = ", static"
		}
		fmt.Fprintf(tw, "%s (%.0f%%%s)", imp.Feature, imp.Share*100, static)
	}
	fmt.Fprintln(tw)
	if limit := eval.DefaultConfig().Verdict.MaxAUC; v.AUC > limit {
		fmt.Fprintf(tw, "warning\tvalidation AUC %.4f is near perfect (above %.2f): a feature probably encodes the outcome; churn eval will not trust this model\n", v.AUC, limit)
	}
	return tw.Flush()
}
