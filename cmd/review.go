package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval/review"
	"github.com/churnlab/churn/features"
)

func init() { register(newReviewCmd) }

// ReviewOptions are the inputs of churn review.
type ReviewOptions struct {
	Data       string
	Out        string
	AsOf       string // YYYY-MM-DD; "" means the day after the data's end
	Horizon    int    // days; 0 means the models' horizon (else 90)
	ConfigFile string
	// Now is the clock for the page's footer (--now); nil means time.Now.
	Now func() time.Time
	IO  IO
}

func newReviewCmd(stdio IO) *cobra.Command { return reviewCmd(stdio, runReview) }

// reviewCmd builds churn review; runF does the work (tests may stop there).
func reviewCmd(stdio IO, runF func(context.Context, *ReviewOptions) error) *cobra.Command {
	o := &ReviewOptions{IO: stdio}
	c := &cobra.Command{
		Use:   "review --data DIR --out OUT [--as-of DATE] [--horizon DAYS] [--config FILE]",
		Short: "The periodic review: did past predictions come true, did each play work, whom did they save",
		Long: `Reviews every published predictions partition under OUT (OUT/predictions/
as_of=DATE, from churn predict or churn run) against the churn outcomes in the
data and its interventions table, and answers:

  1. Did past predictions come true? Runs whose outcome window has closed get
     their realised ROC AUC, PR AUC, top-decile lift and calibration by tier,
     with bootstrap intervals; runs still open get estimates from their
     calibrated probabilities (expected AUC, confusion matrix at the tier cut,
     precision at capacity) with their uncertainty.
  2. Did each play work? Churn of treated against control customers (intent to
     treat; each customer once per play, from its first assignment): uplift and
     relative risk reduction with 95% intervals, customers and monthly revenue
     saved, "no evidence it works" flags, per-protocol figures (marked biased),
     segments by reason category and lifecycle stage, uplift by decile of risk.
  3. Which treated high-risk customers stayed (the saved customers list).

--as-of reviews as if today were DATE: only outcomes before it count, and a
window is closed only when it ended before it. Output, published atomically:
  OUT/review/as_of=DATE/review.html, review.json, review.md, saved_customers.parquet
  OUT/review_plays/as_of=DATE/plays.parquet   (one row per run × play, for BI)

The outcome is training's label: the label mode and horizon of the models that
scored the partitions (their _manifest.json) unless --horizon is given.
Settings (intervals, thresholds) come from --config (YAML, see docs/review.md).
Exit status: 0 ok, 1 bad data or nothing to review, 2 usage mistakes.`,
		Example: `  churn review --data demo/data --out demo/out
  churn review --data demo/data --out demo/out --as-of 2024-12-01 --config review.yaml
  duckdb -c "SELECT play, sum(treated), sum(churned_treated), sum(control), sum(churned_control) FROM 'demo/out/review_plays/as_of=2024-12-01/plays.parquet' GROUP BY play"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Data, "data", "", "dataset directory: customers, churn outcomes, interventions (required)")
	f.StringVar(&o.Out, "out", "", "output directory holding predictions/ (required); the review is written there")
	f.StringVar(&o.AsOf, "as-of", "", "review as if today were this date YYYY-MM-DD (default: the day after the data's last day)")
	f.IntVar(&o.Horizon, "horizon", 0, "outcome window in days (default: the horizon of the models that scored the partitions, else 90)")
	f.StringVar(&o.ConfigFile, "config", "", "YAML file of review settings (docs/review.md)")
	addNowFlag(f, &o.Now)
	c.MarkFlagRequired("data")
	c.MarkFlagRequired("out")
	return c
}

func runReview(ctx context.Context, o *ReviewOptions) error {
	start := time.Now()
	asOf := data.NoDate
	if o.AsOf != "" {
		d, err := data.ParseDate(o.AsOf)
		if err != nil {
			return usageErrorf("--as-of: %v", err)
		}
		asOf = d
	}
	if o.Horizon < 0 {
		return usageErrorf("--horizon %d: want a positive number of days", o.Horizon)
	}
	cfg := review.DefaultConfig()
	if o.ConfigFile != "" {
		var err error
		if cfg, err = review.LoadConfig(o.ConfigFile); err != nil {
			return err
		}
	}
	ds, err := data.Open(o.Data)
	if err != nil {
		return err
	}
	defer ds.Close()
	rep, err := review.Run(ctx, review.Options{Dataset: ds, Out: o.Out, AsOf: asOf, Label: features.LabelConfig{Horizon: o.Horizon},
		Config: cfg, Now: clockOr(o.Now), Logger: slog.Default()})
	if err != nil {
		return err
	}
	if err := rep.Write(o.Out, Version(), slog.Default()); err != nil {
		return err
	}
	d, _ := data.ParseDate(rep.AsOf)
	dir := review.ReportDir(o.Out, d)
	slog.Info("review written", "dir", dir, "seconds", time.Since(start).Seconds())
	w := o.IO.Out
	fmt.Fprintf(w, "review   %s\n", filepath.Join(dir, review.HTMLFile))
	fmt.Fprintf(w, "data     %s, %s, %s\n", filepath.Join(dir, review.JSONFile), filepath.Join(dir, review.MarkdownFile), filepath.Join(dir, review.SavedFile))
	fmt.Fprintf(w, "plays    %s\n", filepath.Join(review.PlaysPartition(o.Out, d), review.PlaysFile))
	fmt.Fprintf(w, "headline %s\n", rep.Headline)
	return nil
}
