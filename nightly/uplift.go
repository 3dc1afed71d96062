package nightly

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

// ErrNoUnits marks a dataset and output folder without experiment units:
// no predictions partition with treatment groups and no interventions row
// with a group.
var ErrNoUnits = errors.New("no experiment units")

// UpliftOptions are the inputs of FitUplift besides the dataset and the
// churn model.
type UpliftOptions struct {
	// Out is predict's output folder, whose predictions partitions'
	// targeted rows are units too ("": the interventions table only).
	Out string
	// Params are the uplift learner's settings (zero values: defaults).
	Params train.UpliftParams
	// Workers computes features (0: CPUs).
	Workers int
	// Logger receives progress (nil: discarded).
	Logger *slog.Logger
	// ChurnVersion is recorded in the card.
	ChurnVersion string
}

// FitUplift fits the uplift model of the churn model on the experiment
// units of ds (and of the predictions under opt.Out): the units' features
// as of their dates (data before each date only), the churn model's
// probabilities as the risk-ranking baseline, and train.FitUplift. It
// returns the model and how many units were left out because the customer
// was not a customer on the unit's date. It fails with ErrNoUnits when
// there are none, and train.ErrTooFewUnits when an arm is too small.
func FitUplift(ctx context.Context, ds *data.Dataset, model *train.Model, opt UpliftOptions) (*train.UpliftModel, int, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	units, err := experimentUnits(ctx, ds, opt.Out)
	if err != nil {
		return nil, 0, err
	}
	if len(units) == 0 {
		return nil, 0, &data.InputError{File: ds.Dir, Err: fmt.Errorf("%w: no predictions partition with treatment groups, and no interventions rows with a group (treat or control); docs/playbook.md#ranking-by-who-can-be-saved", ErrNoUnits)}
	}
	u, dropped, err := unitTable(ctx, ds, model.Manifest.Spec, units, opt.Workers)
	if err != nil {
		return nil, 0, err
	}
	if dropped > 0 {
		log.Warn("experiment units left out: the customer was not a customer on the unit's date", "units", dropped)
	}
	// Risk ranking, the baseline: the churn model's probabilities.
	sc, err := model.Score(ctx, u.Table, nil, false)
	if err != nil {
		return nil, 0, err
	}
	u.Risk = sc.Prob
	m, err := train.FitUplift(ctx, u, opt.Params, train.UpliftOptions{Logger: log, ChurnVersion: opt.ChurnVersion})
	if err != nil {
		return nil, 0, err
	}
	return m, dropped, nil
}

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
