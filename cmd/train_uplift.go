package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/nightly"
	"github.com/churnlab/churn/train"
)

// runTrainUplift is churn train --uplift: it fits the uplift model on the
// dataset's experiment units and writes it into the model directory.
func runTrainUplift(ctx context.Context, o *TrainOptions) error {
	start := time.Now()
	model, err := train.Load(o.Model)
	if err != nil {
		return err
	}
	defer model.Close()
	ds, err := data.Open(o.Data)
	if err != nil {
		return err
	}
	defer ds.Close()
	m, dropped, err := nightly.FitUplift(ctx, ds, model, nightly.UpliftOptions{Out: o.Out, Workers: o.Workers, Logger: slog.Default(), ChurnVersion: Version(),
		Params: train.UpliftParams{Boost: o.Params, MinArmUnits: o.MinArmUnits, Bootstrap: o.Bootstrap}})
	if err != nil {
		return err
	}
	defer m.Close()
	dir := filepath.Join(o.Model, train.UpliftDir)
	if err := m.Save(dir); err != nil {
		return err
	}
	slog.Info("uplift model trained", "model", dir, "seconds", time.Since(start).Seconds())
	return printUpliftSummary(o.IO.Out, dir, &m.Card, dropped)
}

func printUpliftSummary(w io.Writer, dir string, c *train.UpliftCard, dropped int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	v := &c.Validation
	fmt.Fprintf(tw, "uplift model\t%s (T-learner: %d rounds treated, %d control)\n", dir, c.TreatRounds, c.ControlRounds)
	fmt.Fprintf(tw, "units\t%d with closed windows: %d treated (%d churned), %d control (%d churned)\n",
		c.Units.Treated+c.Units.Control, c.Units.Treated, c.Units.ChurnedTreated, c.Units.Control, c.Units.ChurnedControl)
	if c.OpenUnits > 0 || dropped > 0 {
		fmt.Fprintf(tw, "left out\t%d with open windows, %d not customers on their date\n", c.OpenUnits, dropped)
	}
	var plays []string
	for _, p := range c.Plays {
		plays = append(plays, fmt.Sprintf("%s %d/%d", p.Play, p.Treated, p.Control))
	}
	fmt.Fprintf(tw, "plays (treated/control)\t%s\n", strings.Join(plays, ", "))
	fmt.Fprintf(tw, "validation\tout of time from %s: %d units (%d treated, %d control), by boosters fitted on %d earlier units",
		v.ValidFrom, v.ValidUnits.Treated+v.ValidUnits.Control, v.ValidUnits.Treated, v.ValidUnits.Control, v.TrainUnits.Treated+v.TrainUnits.Control)
	if v.PurgedUnits > 0 {
		fmt.Fprintf(tw, " (%d left out: their window reaches %s)", v.PurgedUnits, v.ValidFrom)
	}
	fmt.Fprintln(tw)
	fmt.Fprintf(tw, "Qini coefficient\t%.4f (95%% interval %.4f to %.4f); random targeting 0\n", v.Qini, v.QiniCI[0], v.QiniCI[1])
	fmt.Fprintf(tw, "risk ranking\tQini %.4f (by %s); gain %.4f (95%% interval %.4f to %.4f)\n", v.QiniRisk, v.RiskScore, v.QiniGain, v.QiniGainCI[0], v.QiniGainCI[1])
	fmt.Fprintf(tw, "AUUC\t%.4f (risk ranking %.4f)\n", v.AUUC, v.AUUCRisk)
	fmt.Fprintf(tw, "verdict\t%s\n", v.Verdict)
	return tw.Flush()
}
