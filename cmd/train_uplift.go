package cmd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

// upliftUnit is one unit of a retention experiment: a customer assigned to
// a group of a play on a date (the review's unit: docs/playbook.md).
type upliftUnit struct {
	id, play, group string
	date            data.Date
}

// experimentUnits returns the experiment units of the predictions
// partitions under out (their targeted rows: treatment_group not null; no
// folder when out is "") and of the dataset's interventions rows that name
// a group. A customer counts once per play, at its first unit: the
// earliest date, a prediction before an intervention on one date, then
// the first row (churn review's rule). They come in customer_id, play
// order.
func experimentUnits(ctx context.Context, ds *data.Dataset, out string) ([]upliftUnit, error) {
	var units []upliftUnit
	if out != "" {
		var err error
		if units, err = predictionUnits(ctx, out); err != nil {
			return nil, err
		}
	}
	rows, err := ds.ReadInterventions(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if r.Group == "" {
			continue // not part of an experiment
		}
		units = append(units, upliftUnit{id: r.CustomerID, play: r.Play, group: r.Group, date: r.TS.Date()})
	}
	return firstUnits(units), nil
}

// predictionsUnitTable is what predictionUnits reads of a predictions file.
var predictionsUnitTable = &data.Table{Name: "predictions", Columns: []data.Column{
	{Name: "customer_id", Type: data.TypeString, Required: true},
	{Name: "play", Type: data.TypeString},
	{Name: "treatment_group", Type: data.TypeString},
}}

// predictionUnits returns the targeted rows of every complete predictions
// partition under out as units dated the partition's as-of date, oldest
// partition first. Partitions from before control groups (no
// treatment_group column) have none.
func predictionUnits(ctx context.Context, out string) ([]upliftUnit, error) {
	dates, err := predict.Partitions(out, predict.PredictionsDir)
	if err != nil {
		return nil, err
	}
	var units []upliftUnit
	for _, d := range dates {
		err := predict.EachBatch(ctx, predict.PartitionDir(out, predict.PredictionsDir, d), predictionsUnitTable, func(b *data.Batch) error {
			id, play, group := &b.Cols[0], &b.Cols[1], &b.Cols[2]
			for r := 0; r < b.N; r++ {
				if !group.IsNull(r) {
					units = append(units, upliftUnit{id: strings.Clone(id.Str(r)), play: strings.Clone(play.Str(r)), group: strings.Clone(group.Str(r)), date: d})
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return units, nil
}

// firstUnits keeps each (customer, play)'s earliest unit, in customer_id,
// play order; units of one date keep their given order (predictions
// first).
func firstUnits(units []upliftUnit) []upliftUnit {
	slices.SortStableFunc(units, func(a, b upliftUnit) int {
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		if c := strings.Compare(a.play, b.play); c != 0 {
			return c
		}
		return int(a.date) - int(b.date)
	})
	return slices.CompactFunc(units, func(a, b upliftUnit) bool { return a.id == b.id && a.play == b.play })
}

// unitTable builds the uplift model's units: one row per experiment unit
// with the churn model's features as of the unit's date (from data before
// that date only, features.BuildAt) and the training label as the outcome
// (NaN while its window is open). Units whose customer is not a customer
// on their date are dropped and counted.
func unitTable(ctx context.Context, ds *data.Dataset, spec *features.Spec, units []upliftUnit, workers int) (train.UpliftUnits, int, error) {
	lc, err := features.ResolveLabel(ds, features.LabelConfig{Mode: spec.Label.Mode, Horizon: spec.Label.HorizonDay, Gap: spec.Label.GapDays})
	if err != nil {
		return train.UpliftUnits{}, 0, err
	}
	keys := make([]features.Key, len(units))
	for k, u := range units {
		keys[k] = features.Key{CustomerID: u.id, AsOf: u.date}
	}
	at, err := features.BuildAt(ctx, ds, spec, lc, keys, workers)
	if err != nil {
		return train.UpliftUnits{}, 0, err
	}
	var rows []int
	var out train.UpliftUnits
	dropped := 0
	for _, u := range units {
		i := at.Lookup(u.id, u.date)
		if i < 0 {
			dropped++
			continue
		}
		rows = append(rows, i)
		out.Play = append(out.Play, u.play)
		out.Treated = append(out.Treated, u.group == data.GroupTreat)
	}
	out.Table = at.Rows(rows)
	return out, dropped, nil
}

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
	units, err := experimentUnits(ctx, ds, o.Out)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		return &data.InputError{File: ds.Dir, Err: fmt.Errorf("no experiment units: no predictions partition under --out with treatment groups, and no interventions rows with a group (treat or control); docs/playbook.md#ranking-by-who-can-be-saved")}
	}
	u, dropped, err := unitTable(ctx, ds, model.Manifest.Spec, units, o.Workers)
	if err != nil {
		return err
	}
	if dropped > 0 {
		slog.Warn("experiment units left out: the customer was not a customer on the unit's date", "units", dropped)
	}
	// Risk ranking, the baseline: the churn model's probabilities.
	sc, err := model.Score(ctx, u.Table, nil, false)
	if err != nil {
		return err
	}
	u.Risk = sc.Prob
	p := train.UpliftParams{Boost: o.Params, MinArmUnits: o.MinArmUnits, Bootstrap: o.Bootstrap}
	m, err := train.FitUplift(ctx, u, p, train.UpliftOptions{Logger: slog.Default(), ChurnVersion: Version()})
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
