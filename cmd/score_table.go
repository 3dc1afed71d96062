package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

func init() { register(newScoreTableCmd) }

// ScoreTableOptions are the inputs of churn score-table.
type ScoreTableOptions struct {
	Model         string
	Features      string
	Out           string
	Contributions string
	IO            IO
}

func newScoreTableCmd(stdio IO) *cobra.Command {
	o := &ScoreTableOptions{IO: stdio}
	c := &cobra.Command{
		Use:   "score-table --model DIR --features FILE.parquet --out FILE.parquet",
		Short: "Score an existing feature table: probabilities and per-feature contributions",
		Long: `Scores every row of a feature table made by churn features (or built
elsewhere with the same feature spec) with a trained model. The output has
customer_id, as_of, label (when the table has one), churn_probability
(calibrated), margin (the model's logit) and, unless --contributions none,
one contrib_<feature> column per feature plus contrib_bias: each feature's
contribution to the margin, summing with the bias to the margin. Exact
contributions are XGBoost's TreeSHAP values (or coefficient × standardised
value for logistic regression); approx uses Saabas contributions for trees,
about half the cost. Both are computed in Go and equal XGBoost's own to the
bit. A table whose feature spec differs from the model's is refused with
the differences named.

When the table has labels, stdout also gets ROC AUC, PR AUC, log loss and
Brier score on the labelled rows and the share of them the model trained on
(from its training keys); churn eval makes the full report.`,
		Example: `  churn score-table --model models/v1 --features features.parquet --out scores.parquet
  churn score-table --model models/v1 --features big.parquet --out scores.parquet --contributions approx`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScoreTable(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Model, "model", "", "model directory made by churn train (required)")
	f.StringVar(&o.Features, "features", "", "feature table to score (required)")
	f.StringVar(&o.Out, "out", "", "output .parquet file (required; written atomically)")
	f.StringVar(&o.Contributions, "contributions", "exact", "per-feature contributions: exact, approx or none")
	c.MarkFlagRequired("model")
	c.MarkFlagRequired("features")
	c.MarkFlagRequired("out")
	return c
}

func runScoreTable(ctx context.Context, o *ScoreTableOptions) error {
	method := map[string]train.ContribMethod{"exact": train.ContribExact, "approx": train.ContribApprox, "none": train.ContribNone}
	cm, ok := method[o.Contributions]
	if !ok {
		return usageErrorf("--contributions %q: want exact, approx or none", o.Contributions)
	}
	if !strings.HasSuffix(o.Out, ".parquet") {
		return usageErrorf("--out %q: the scores are written as a .parquet file", o.Out)
	}
	start := time.Now()
	m, err := train.Load(o.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	tab, err := features.ReadTable(ctx, o.Features)
	if err != nil {
		return err
	}
	if err := m.CheckTable(tab); err != nil {
		return fmt.Errorf("%s: %w", o.Features, err)
	}
	s, err := m.ScoreWith(ctx, tab, nil, train.ScoreOptions{Contrib: cm})
	if err != nil {
		return err
	}
	spec := m.Manifest.Spec
	cols := []data.ColumnSpec{
		{Name: "customer_id", Type: data.TypeString},
		{Name: "as_of", Type: data.TypeDate, Optional: true},
		{Name: "label", Type: data.TypeInt64, Optional: true},
		{Name: "churn_probability", Type: data.TypeFloat64},
		{Name: "margin", Type: data.TypeFloat64},
	}
	n := tab.Len()
	vecs := []data.Vec{data.NewVec(data.TypeString), data.NewVec(data.TypeDate), data.NewVec(data.TypeInt64), data.NewVec(data.TypeFloat64), data.NewVec(data.TypeFloat64)}
	for i := 0; i < n; i++ {
		vecs[0].AppendUnique(tab.IDs[i])
		if tab.AsOf[i] == data.NoDate {
			vecs[1].AppendNull()
		} else {
			vecs[1].AppendDate(tab.AsOf[i])
		}
		if math.IsNaN(tab.Label[i]) {
			vecs[2].AppendNull()
		} else {
			vecs[2].AppendInt(int64(tab.Label[i]))
		}
		vecs[3].AppendFloat(s.Prob[i])
		vecs[4].AppendFloat(s.Margin[i])
	}
	if cm != train.ContribNone {
		names := append(spec.Names(), "bias")
		for j, name := range names {
			cols = append(cols, data.ColumnSpec{Name: "contrib_" + name, Type: data.TypeFloat64})
			v := data.NewVec(data.TypeFloat64)
			v.Grow(n)
			for i := 0; i < n; i++ {
				v.AppendFloat(s.Contrib[i][j])
			}
			vecs = append(vecs, v)
		}
	}
	f, err := data.CreateAtomic(o.Out)
	if err != nil {
		return err
	}
	defer f.Abort()
	w, err := data.NewWriter(f, cols, data.WriterOptions{Metadata: map[string]string{"churn.scores.contributions": cm.String()}, ChurnVersion: Version()})
	if err != nil {
		return err
	}
	if err := w.Write(n, vecs); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	slog.Info("scored", "rows", n, "contributions", cm.String(), "seconds", time.Since(start).Seconds())
	if _, err = fmt.Fprintf(o.IO.Out, "scores\t%s (%d rows, contributions: %s)\n", o.Out, n, cm); err != nil {
		return err
	}
	return printTableMetrics(o, m, tab, s.Prob)
}

// printTableMetrics prints, when the table has labels, the model's metrics
// on the labelled rows and the share of them the model trained on.
func printTableMetrics(o *ScoreTableOptions, m *train.Model, tab *features.Table, prob []float64) error {
	var p, y []float64
	trained := 0
	keys := m.Manifest.TrainingKeys
	for i, l := range tab.Label {
		if math.IsNaN(l) {
			continue
		}
		p, y = append(p, prob[i]), append(y, l)
		if keys != nil && keys.Has(tab.IDs[i], tab.AsOf[i]) {
			trained++
		}
	}
	if len(y) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	pos := 0
	for _, v := range y {
		pos += int(v)
	}
	fmt.Fprintf(tw, "labelled rows\t%d (%d churned, base rate %.4f)\n", len(y), pos, metrics.BaseRate(y, nil))
	fmt.Fprintf(tw, "ROC AUC\t%s\n", metricString(metrics.AUC(p, y, nil)))
	fmt.Fprintf(tw, "PR AUC\t%s\n", metricString(metrics.AveragePrecision(p, y, nil)))
	fmt.Fprintf(tw, "log loss\t%s\n", metricString(metrics.LogLoss(p, y, nil)))
	fmt.Fprintf(tw, "Brier\t%s\n", metricString(metrics.Brier(p, y, nil)))
	if keys != nil {
		share := float64(trained) / float64(len(y))
		note := "held out: the model did not train on them (about 1% is the training-key sketch's false-positive rate)"
		if share > eval.InSampleShare {
			note = "in-sample: these numbers are optimistic"
		}
		fmt.Fprintf(tw, "training rows\t%.0f%% of the labelled rows (%s)\n", 100*share, note)
	}
	fmt.Fprintf(tw, "for the full report\tchurn eval --model %s --features %s --out DIR (intervals, calibration, baselines, backtest)\n", o.Model, o.Features)
	return tw.Flush()
}

func metricString(x float64) string {
	if math.IsNaN(x) {
		return "undefined (one class)"
	}
	return fmt.Sprintf("%.4f", x)
}
