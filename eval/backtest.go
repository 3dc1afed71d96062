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
// as-of dates (origins), a model is retrained with the evaluated model's
// parameters on the rows whose label window had ended by the origin
// (as_of + gap + horizon ≤ origin) and evaluated on the rows at the
// origin. It shows how stable the model's quality is over time.
type Backtest struct {
	Skipped bool     `json:"skipped"`
	Note    string   `json:"note"`
	Origins []Origin `json:"origins"`
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
	Rows           int    `json:"rows"`
	Positives      int    `json:"positives"`
	ROCAUC         Num    `json:"roc_auc"`
	PRAUC          Num    `json:"pr_auc"`
	LogLoss        Num    `json:"log_loss"`
	Brier          Num    `json:"brier"`
	BaseRate       Num    `json:"base_rate"`
	// Validation is the retrained model's own validation method (oot or
	// kfold); Note says why an origin was skipped.
	Validation string `json:"validation,omitempty"`
	Skipped    bool   `json:"skipped"`
	Note       string `json:"note,omitempty"`
}

func backtest(ctx context.Context, m *train.Model, t *features.Table, cfg Config, log *slog.Logger) (Backtest, error) {
	bt := Backtest{Origins: []Origin{}, AUCMean: nan(), AUCStd: nan(), AUCMin: nan(), AUCMax: nan(), PRAUCMean: nan()}
	if cfg.Backtest.Disabled {
		bt.Skipped, bt.Note = true, "disabled by configuration"
		return bt, nil
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
	p := m.Manifest.Params
	p.SearchBudget = 0 // the chosen setting only
	p.Threads = cfg.Workers
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
		fm, err := fitOrigin(ctx, t.Rows(trainRows), p, log)
		if err != nil {
			if ctx.Err() != nil {
				return bt, ctx.Err()
			}
			or.Skipped, or.Note = true, "retraining failed: "+err.Error()
			bt.Origins = append(bt.Origins, or)
			continue
		}
		sc, err := fm.Score(ctx, t, test, false)
		or.Validation = fm.Manifest.Validation.Method
		fm.Close()
		if err != nil {
			return bt, err
		}
		y := make([]float64, len(test))
		for k, i := range test {
			y[k] = t.Label[i]
		}
		or.ROCAUC = Num(metrics.AUC(sc.Prob, y, nil))
		or.PRAUC = Num(metrics.AveragePrecision(sc.Prob, y, nil))
		or.LogLoss = Num(metrics.LogLoss(sc.Prob, y, nil))
		or.Brier = Num(metrics.Brier(sc.Prob, y, nil))
		or.BaseRate = Num(metrics.BaseRate(y, nil))
		aucs = append(aucs, or.ROCAUC.F())
		praucs = append(praucs, or.PRAUC.F())
		log.Info("backtest origin", "as_of", or.AsOf, "train_rows", or.TrainRows, "rows", or.Rows, "auc", fmt.Sprintf("%.4f", or.ROCAUC.F()))
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
	return bt, nil
}

// fitOrigin retrains with p, falling back to k-fold validation when the
// rows cannot be split out of time (too few dates before the origin).
func fitOrigin(ctx context.Context, t *features.Table, p train.Params, log *slog.Logger) (*train.Model, error) {
	quiet := slog.New(slog.DiscardHandler)
	m, err := train.Fit(ctx, t, p, train.FitOptions{Logger: quiet})
	if err == nil || ctx.Err() != nil || errors.Is(err, train.ErrNoLabels) {
		return m, err
	}
	if p.Validation == train.ValidationKFold {
		return nil, err
	}
	log.Debug("backtest: out-of-time split failed, using k-fold", "err", err)
	p.Validation = train.ValidationKFold
	return train.Fit(ctx, t, p, train.FitOptions{Logger: quiet})
}
