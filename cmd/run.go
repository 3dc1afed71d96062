package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/nightly"
)

func init() { register(newRunCmd) }

// RunOptions are the inputs of churn run.
type RunOptions struct {
	Config string
	AsOf   string
	// Now is the clock for run ids, scored_at and report footers (--now);
	// nil means time.Now.
	Now        func() time.Time
	Data       string
	Out        string
	Registry   string
	NoProgress bool
	IO         IO
}

func newRunCmd(stdio IO) *cobra.Command {
	o := &RunOptions{IO: stdio}
	c := &cobra.Command{
		Use:   "run --config churn.yaml --as-of DATE",
		Short: "Run the nightly job: train, evaluate, promote, score, report",
		Long: `Runs the nightly churn job for one as-of date:

  1. validate the input dataset (errors stop the run before anything is written)
  2. build the training snapshots (labels never look at or past the as-of date)
  3. train a challenger model
  4. evaluate it against the champion on the same validation rows
  5. promote it in the model registry only if it wins by the configured margin
  6. score tonight's customers with the champion: predictions and alerts
  7. review every run of predictions so far and the plays' control groups
     (churn review; a review that fails is a warning, not a failed run)
  8. write the evaluation report, with a drift check of tonight's customers
     and the review's section

A lock in the output folder stops two runs from overlapping; every run
leaves out/runs/<run id>/manifest.json (inputs, versions, timings, outcome).
Settings: flags > CHURN_* environment variables (CHURN_DATA, CHURN_OUT,
CHURN_REGISTRY, CHURN_HORIZON_DAYS, CHURN_SNAPSHOTS, CHURN_SEED,
CHURN_THREADS) > the config file > defaults. See docs/nightly.md.`,
		Example: `  churn run --config churn.yaml --as-of 2024-12-01
  churn run --config churn.yaml --as-of "$(date -u +%F)" --log-format json
  churn run --data demo/data --out demo/out --registry demo/models --as-of 2024-12-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runNightly(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Config, "config", "", "config file (churn.yaml); optional when --data, --out and --registry are given")
	f.StringVar(&o.AsOf, "as-of", "", "as-of date YYYY-MM-DD (required): score the customers of that day")
	addNowFlag(f, &o.Now)
	f.StringVar(&o.Data, "data", "", "input dataset directory (overrides the config)")
	f.StringVar(&o.Out, "out", "", "output directory (overrides the config)")
	f.StringVar(&o.Registry, "registry", "", "model registry directory (overrides the config)")
	f.BoolVar(&o.NoProgress, "no-progress", false, "no progress bar, even on a terminal")
	c.MarkFlagRequired("as-of")
	return c
}

func runNightly(ctx context.Context, o *RunOptions) error {
	asOf, err := data.ParseDate(o.AsOf)
	if err != nil {
		return usageErrorf("--as-of: %v", err)
	}
	now := clockOr(o.Now)
	cfg, err := nightly.LoadConfig(o.Config)
	if err != nil {
		return err
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return &UsageError{Err: err}
	}
	// Flags win over the environment and the file.
	for _, p := range []struct {
		val string
		dst *string
	}{{o.Data, &cfg.Data}, {o.Out, &cfg.Out}, {o.Registry, &cfg.Registry}} {
		if p.val != "" {
			*p.dst = p.val
		}
	}
	var progress *os.File
	if !o.NoProgress && IsTerminal(o.IO.ErrOut) {
		progress = o.IO.ErrOut.(*os.File)
	}
	opt := nightly.Options{Config: cfg, AsOf: asOf, Now: now, Logger: slog.Default(), Version: Version()}
	if progress != nil {
		opt.Progress = progress
	}
	mf, err := nightly.Run(ctx, opt)
	if err != nil {
		if mf != nil {
			fmt.Fprintf(o.IO.ErrOut, "churn: run %s failed; manifest in %s\n", mf.RunID, cfg.Out+"/runs/"+mf.RunID+"/manifest.json")
		}
		return err
	}
	return printRun(o.IO, cfg, mf)
}

func printRun(stdio IO, cfg *nightly.Config, mf *nightly.Manifest) error {
	w := stdio.Out
	fmt.Fprintf(w, "churn run %s: %s\n", mf.RunID, mf.Outcome)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	promo := "kept"
	if mf.Promoted {
		promo = "promoted"
	}
	fmt.Fprintf(tw, "champion\t%s (%s; challenger %s)\n", mf.Champion, promo, mf.Challenger)
	if mf.Promotion != nil {
		fmt.Fprintf(tw, "why\t%s\n", mf.Promotion.Reason)
	}
	fmt.Fprintf(tw, "verdict\t%s: %s\n", mf.Verdict, mf.Headline)
	fmt.Fprintf(tw, "scored\t%d customers: %d high, %d medium, %d low risk; %d alerts\n", mf.Scored, mf.Tiers.High, mf.Tiers.Medium, mf.Tiers.Low, mf.Alerts)
	if mf.Experiment != nil {
		fmt.Fprintf(tw, "control groups\t%s\n", controlSummary(*mf.Experiment, mf.AlertsSkippedControl))
	}
	fmt.Fprintf(tw, "predictions\t%s\n", mf.Outputs.Predictions)
	fmt.Fprintf(tw, "alerts\t%s\n", mf.Outputs.Alerts)
	fmt.Fprintf(tw, "report\t%s\n", mf.Outputs.Report)
	if mf.Review != nil {
		fmt.Fprintf(tw, "review\t%s\n", mf.Review.Headline)
		if mf.Outputs.Review != "" {
			fmt.Fprintf(tw, "\t%s\n", mf.Outputs.Review)
		}
	}
	fmt.Fprintf(tw, "manifest\t%s/runs/%s/manifest.json\n", cfg.Out, mf.RunID)
	for _, warn := range mf.Warnings {
		fmt.Fprintf(tw, "warning\t%s\n", warn)
	}
	tw.Flush()
	if len(mf.Top) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nRiskiest customers:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\tcustomer\tchurn risk\ttier\ttop reason\tnext step\towner\n")
	for _, p := range mf.Top {
		reason := ""
		if len(p.Reasons) > 0 {
			reason = p.Reasons[0].Text
		}
		fmt.Fprintf(tw, "%d\t%s\t%.0f%%\t%s\t%s\t%s\t%s\n", p.Rank, p.CustomerID, p.Probability*100, p.Tier, clip(reason, 60), clip(nextStep(p), 50), p.OwnerRole)
	}
	return tw.Flush()
}
