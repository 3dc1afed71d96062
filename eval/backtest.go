package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

// Backtest is the rolling-origin backtest: at each of the latest labelled
// as-of dates (origins), a model is refitted with the evaluated model's
// parameters and its number of rounds on the rows whose label window had
// ended by the origin (as_of + gap + horizon ≤ origin) and evaluated on the
// rows at the origin. It shows how stable the model's quality is over time.
type Backtest struct {
	Skipped bool   `json:"skipped"`
	Note    string `json:"note"`
	// Every is backtest.every (days); AsOf the run's as-of date it was
	// scheduled on, NextAsOf the next as-of date it is due ("" when it
	// runs every run or was not scheduled).
	Every    int    `json:"every"`
	AsOf     string `json:"as_of"`
	NextAsOf string `json:"next_as_of"`
	// Rounds is the number of boosting rounds of every refit: the
	// evaluated model's (0 for logistic regression). Calibration is the
	// evaluated model's calibration method, refitted at each origin on the
	// rows of CalibrationShare of the customers, who are left out of the
	// refit ("none": no calibration, every row refits).
	Rounds           int      `json:"rounds"`
	Calibration      string   `json:"calibration"`
	CalibrationShare Num      `json:"calibration_share"`
	Origins          []Origin `json:"origins"`
	// Summary over the evaluated origins.
	AUCMean   Num `json:"auc_mean"`
	AUCStd    Num `json:"auc_std"`
	AUCMin    Num `json:"auc_min"`
	AUCMax    Num `json:"auc_max"`
	PRAUCMean Num `json:"pr_auc_mean"`
}

// Origin is the backtest at one as-of date.
type Origin struct {
	AsOf           string `json:"as_of"`
	TrainRows      int    `json:"train_rows"`
	TrainPositives int    `json:"train_positives"`
	TrainAsOfFrom  string `json:"train_as_of_from"`
	TrainAsOfTo    string `json:"train_as_of_to"`
	// Calibration is the calibration of the refit's probabilities:
	// Backtest.Calibration, fitted on CalibrationRows of TrainRows that
	// are left out of the refit, or none (Note says why when the model is
	// calibrated).
	Calibration     string `json:"calibration"`
	CalibrationRows int    `json:"calibration_rows"`
	Rows            int    `json:"rows"`
	Positives       int    `json:"positives"`
	ROCAUC          Num    `json:"roc_auc"`
	PRAUC           Num    `json:"pr_auc"`
	LogLoss         Num    `json:"log_loss"`
	Brier           Num    `json:"brier"`
	BaseRate        Num    `json:"base_rate"`
	// Validation is the refit's own validation method: none (the rounds
	// are the evaluated model's). Note says why an origin was skipped or
	// left uncalibrated.
	Validation string `json:"validation,omitempty"`
	Skipped    bool   `json:"skipped"`
	Note       string `json:"note,omitempty"`
}

// backtestDue reports whether the backtest runs on as-of date d when it
// runs every `every` days: when d's day number since 1970-01-01 is a
// multiple of every. next is the next as-of date after d it runs on.
func backtestDue(d data.Date, every int) (due bool, next data.Date) {
	r := (int(d)%every + every) % every
	return r == 0, d.AddDays(every - r)
}

func backtest(ctx context.Context, m *train.Model, t *features.Table, cfg Config, asOf data.Date, log *slog.Logger) (Backtest, error) {
	bt := Backtest{Every: cfg.Backtest.Every, AsOf: dateString(asOf), Origins: []Origin{}, CalibrationShare: nan(),
		AUCMean: nan(), AUCStd: nan(), AUCMin: nan(), AUCMax: nan(), PRAUCMean: nan()}
	if cfg.Backtest.Disabled {
		bt.Skipped, bt.Note = true, "disabled by configuration"
		return bt, nil
	}
	if every := cfg.Backtest.Every; every > 1 && asOf != data.NoDate {
		due, next := backtestDue(asOf, every)
		bt.NextAsOf = next.String()
		if !due {
			bt.Skipped = true
			bt.Note = fmt.Sprintf("not due on %s: the backtest runs every %d days (on as-of dates whose day number since 1970-01-01 is a multiple of %d); next on %s", asOf, every, every, next)
			log.Info("backtest not due", "as_of", asOf.String(), "every_days", every, "next", bt.NextAsOf)
			return bt, nil
		}
	}
	byDate := map[data.Date][]int{}
	known := observed(t)
	for i, y := range t.Label {
		if !math.IsNaN(y) && known(i) {
			byDate[t.AsOf[i]] = append(byDate[t.AsOf[i]], i)
		}
	}
	dates := make([]data.Date, 0, len(byDate))
	for d := range byDate {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	if len(dates) < 2 || dates[0] == data.NoDate {
		bt.Skipped = true
		bt.Note = "the table has labelled rows at a single as-of date (snapshot data): there is no earlier data to retrain on, so no backtest"
		return bt, nil
	}
	ls := t.Spec.Label
	p := refitParams(&m.Manifest, cfg.Workers)
	bt.Rounds = m.Manifest.Rounds
	// Calibrated probabilities need held-out rows: a share of the
	// customers (the model's own validation share), chosen by a seeded
	// hash, calibrate each refit instead of fitting it. Everything used is
	// known at the origin. The hash's seed is derived from the eval seed:
	// the same seed as a holdout that made the table would pick nested
	// customers (the same hash, a lower share), most of such a table.
	bt.Calibration = m.Manifest.Calibrator.Method
	var calib *features.Holdout
	if bt.Calibration != train.CalibrationNone {
		calib = &features.Holdout{Share: m.Manifest.Params.ValidShare, Seed: calibrationSeed(cfg.Seed)}
		bt.CalibrationShare = Num(calib.Share)
	}
	origins := dates[max(0, len(dates)-cfg.Backtest.Origins):]
	var aucs, praucs []float64
	for _, o := range origins {
		if err := ctx.Err(); err != nil {
			return bt, err
		}
		or := Origin{AsOf: o.String(), ROCAUC: nan(), PRAUC: nan(), LogLoss: nan(), Brier: nan(), BaseRate: nan()}
		var trainRows []int
		for _, d := range dates {
			if ls.ClosedBefore(d, o) {
				trainRows = append(trainRows, byDate[d]...)
			}
		}
		slices.Sort(trainRows)
		test := byDate[o]
		or.TrainRows, or.Rows = len(trainRows), len(test)
		for _, i := range trainRows {
			or.TrainPositives += int(t.Label[i])
		}
		for _, i := range test {
			or.Positives += int(t.Label[i])
		}
		if len(trainRows) > 0 {
			first, last := t.AsOf[trainRows[0]], data.NoDate
			for _, i := range trainRows {
				first, last = min(first, t.AsOf[i]), max(last, t.AsOf[i])
			}
			or.TrainAsOfFrom, or.TrainAsOfTo = first.String(), last.String()
		}
		// A split with one class on either side (a small table) leaves the
		// origin uncalibrated: its AUCs stand, its log loss and Brier score
		// are of the raw probabilities, as the note says.
		fitRows, calRows := trainRows, []int(nil)
		or.Calibration = train.CalibrationNone
		if calib != nil {
			f, c := splitRows(t, trainRows, calib)
			if twoClasses(t, f) && twoClasses(t, c) {
				fitRows, calRows = f, c
				or.Calibration, or.CalibrationRows = bt.Calibration, len(c)
			} else {
				or.Note = fmt.Sprintf("not calibrated: the rows of the calibration customers (%d) or of the others (%d) have one class only, so every row refits and the log loss and Brier score are of uncalibrated probabilities", len(c), len(f))
			}
		}
		switch {
		case len(trainRows) == 0:
			or.Skipped, or.Note = true, fmt.Sprintf("no labelled rows whose %d-day label window ended before %s", ls.GapDays+ls.HorizonDay, o)
		case or.TrainPositives == 0 || or.TrainPositives == len(trainRows):
			or.Skipped, or.Note = true, "the training rows have one class only"
		case or.Positives == 0 || or.Positives == len(test):
			or.Skipped, or.Note = true, "the rows at this date have one class only"
		}
		if or.Skipped {
			log.Info("backtest origin skipped", "as_of", or.AsOf, "reason", or.Note)
			bt.Origins = append(bt.Origins, or)
			continue
		}
		prob, err := refit(ctx, m, t, p, fitRows, calRows, test)
		if err != nil {
			if ctx.Err() != nil {
				return bt, ctx.Err()
			}
			var fe *fitError
			if !errors.As(err, &fe) {
				return bt, err
			}
			or.Skipped, or.Note = true, "retraining failed: "+fe.err.Error()
			bt.Origins = append(bt.Origins, or)
			continue
		}
		or.Validation = train.ValidationNone
		y := make([]float64, len(test))
		for k, i := range test {
			y[k] = t.Label[i]
		}
		w := t.Weights(test) // nil for an unsampled table
		or.ROCAUC = Num(metrics.AUC(prob, y, w))
		or.PRAUC = Num(metrics.AveragePrecision(prob, y, w))
		or.LogLoss = Num(metrics.LogLoss(prob, y, w))
		or.Brier = Num(metrics.Brier(prob, y, w))
		or.BaseRate = Num(metrics.BaseRate(y, w))
		aucs = append(aucs, or.ROCAUC.F())
		praucs = append(praucs, or.PRAUC.F())
		log.Info("backtest origin", "as_of", or.AsOf, "train_rows", len(fitRows), "calibration_rows", len(calRows), "rows", or.Rows, "auc", fmt.Sprintf("%.4f", or.ROCAUC.F()))
		bt.Origins = append(bt.Origins, or)
	}
	if len(aucs) == 0 {
		bt.Skipped = true
		bt.Note = "no origin could be evaluated (see the origins' notes)"
		return bt, nil
	}
	bt.AUCMean, bt.PRAUCMean = Num(metrics.Mean(aucs)), Num(metrics.Mean(praucs))
	bt.AUCStd = Num(metrics.StdDev(aucs))
	bt.AUCMin, bt.AUCMax = Num(slices.Min(aucs)), Num(slices.Max(aucs))
	bt.Note = fmt.Sprintf("%d of %d origins evaluated", len(aucs), len(origins))
	if bt.NextAsOf != "" {
		bt.Note += fmt.Sprintf("; the backtest runs every %d days, next on %s", bt.Every, bt.NextAsOf)
	}
	return bt, nil
}

// refitParams are the evaluated model's parameters for one fit with its
// number of rounds: no search, no validation split, no early stopping, no
// calibration (the backtest calibrates itself), workers threads.
func refitParams(mf *train.Manifest, workers int) train.Params {
	p := mf.Params
	p.SearchBudget = 0
	p.Threads = workers
	p.Validation = train.ValidationNone
	p.Calibration = train.CalibrationNone
	p.EarlyStopping = -1
	if mf.Rounds > 0 {
		p.Rounds = mf.Rounds
	}
	return p
}

// calibrationSeed derives the seed of the backtest's calibration customers
// from the eval seed.
func calibrationSeed(seed uint64) uint64 { return seed ^ 0xb7c0ca1b5eed }

// splitRows splits rows into those of customers outside h (to fit) and
// inside it (to calibrate).
func splitRows(t *features.Table, rows []int, h *features.Holdout) (fit, cal []int) {
	in := map[string]bool{}
	for _, i := range rows {
		id := t.IDs[i]
		held, ok := in[id]
		if !ok {
			held = h.HeldOut(id)
			in[id] = held
		}
		if held {
			cal = append(cal, i)
		} else {
			fit = append(fit, i)
		}
	}
	return fit, cal
}

// fitError is a refit that failed on its rows (reported in the origin's
// note, not as the evaluation's error).
type fitError struct{ err error }

func (e *fitError) Error() string { return e.err.Error() }

// refit fits p on fitRows of t, calibrates it on calRows (when any) with
// the evaluated model's calibration method, and returns its calibrated
// probabilities on test.
func refit(ctx context.Context, m *train.Model, t *features.Table, p train.Params, fitRows, calRows, test []int) ([]float64, error) {
	fm, err := train.Fit(ctx, t, p, train.FitOptions{Logger: slog.New(slog.DiscardHandler), Rows: fitRows})
	if err != nil {
		return nil, &fitError{err}
	}
	defer fm.Close()
	sc, err := fm.Score(ctx, t, test, false)
	if err != nil {
		return nil, err
	}
	if len(calRows) == 0 {
		return sc.Prob, nil
	}
	cs, err := fm.Score(ctx, t, calRows, false)
	if err != nil {
		return nil, err
	}
	y := make([]float64, len(calRows))
	for k, i := range calRows {
		y[k] = t.Label[i]
	}
	w := t.Weights(calRows) // a sampled table's rows stand for the population
	var cal train.Calibrator
	switch m.Manifest.Calibrator.Method {
	case train.CalibrationPlatt:
		cal = train.FitPlatt(cs.Margin, y, w)
	case train.CalibrationIsotonic:
		cal = train.FitIsotonic(cs.Margin, y, w)
	default:
		return nil, fmt.Errorf("backtest: unknown calibration method %q", m.Manifest.Calibrator.Method)
	}
	prob := make([]float64, len(test))
	for k, mg := range sc.Margin {
		prob[k] = cal.Apply(mg)
	}
	return prob, nil
}
