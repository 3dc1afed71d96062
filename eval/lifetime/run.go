package lifetime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/internal/clv"
)

// SchemaVersion is the version of lifetime.json and customers.parquet.
const SchemaVersion = 1

// FrequencyBuckets is the number of calibration frequency buckets of the
// holdout check: 0, 1, …, FrequencyBuckets−2 repeat purchases and
// "FrequencyBuckets−1 or more".
const FrequencyBuckets = 8

// Report is the result of churn lifetime: lifetime.json, and what
// customers.parquet and report.html are made from.
type Report struct {
	SchemaVersion int         `json:"schema_version"`
	Settings      Settings    `json:"settings"`
	Data          DataSummary `json:"data"`
	BGNBD         BGNBDResult `json:"bgnbd"`
	GammaGamma    GGResult    `json:"gamma_gamma"`
	// Holdout is the calibration/holdout check; nil when the holdout
	// period is empty (the as-of date is the day after the data's end).
	Holdout *Holdout `json:"holdout"`
	// CLV, PAlive and ExpectedPurchases describe the distribution of the
	// per-customer results over the fitted customers.
	CLV               Distribution `json:"clv"`
	PAlive            Distribution `json:"p_alive"`
	ExpectedPurchases Distribution `json:"expected_purchases"`
	KaplanMeier       KMSummary    `json:"kaplan_meier"`

	cust   customers
	scores scores
	// clvHist is the CLV histogram of the report.
	clvHist histogram
}

// Settings are the run's settings as lifetime.json records them.
type Settings struct {
	AsOf string `json:"as_of"`
	// CalibrationEnd is the calibration period's last day (as-of − 1),
	// the day T and recency are measured to.
	CalibrationEnd string  `json:"calibration_end"`
	HoldoutEnd     string  `json:"holdout_end"` // exclusive
	Events         string  `json:"events"`
	HorizonDays    int     `json:"horizon_days"`
	CLVMonths      int     `json:"clv_months"`
	AnnualDiscount float64 `json:"annual_discount"`
	// TimeUnit is the unit of recency, T and the parameters' rates.
	TimeUnit string `json:"time_unit"`
}

// DataSummary counts what the pass over the data saw.
type DataSummary struct {
	Customers int64 `json:"customers"`
	// Fitted customers had a purchase before the as-of date; the others
	// (NoPurchaseBeforeAsOf: no purchase at all, or only later ones) are
	// in neither the fit nor customers.parquet.
	Fitted               int    `json:"fitted"`
	NoPurchaseBeforeAsOf int64  `json:"no_purchase_before_as_of"`
	RepeatCustomers      int    `json:"repeat_customers"`
	PurchaseEvents       int64  `json:"purchase_events"`
	FirstPurchase        string `json:"first_purchase"`
	LastPurchase         string `json:"last_purchase"`
}

// Params4 are BG/NBD's four parameters (or their standard errors).
type Params4 struct {
	R     eval.Num `json:"r"`
	Alpha eval.Num `json:"alpha"`
	A     eval.Num `json:"a"`
	B     eval.Num `json:"b"`
}

// BGNBDResult is the BG/NBD fit as lifetime.json records it.
type BGNBDResult struct {
	Params4
	SE            Params4  `json:"se"`
	LogLikelihood eval.Num `json:"log_likelihood"`
	Customers     int      `json:"customers"`
	Iterations    int      `json:"iterations"`
	Converged     bool     `json:"converged"`
}

// Params3 are Gamma-Gamma's three parameters (or their standard errors).
type Params3 struct {
	P     eval.Num `json:"p"`
	Q     eval.Num `json:"q"`
	Gamma eval.Num `json:"gamma"`
}

// GGResult is the Gamma-Gamma fit as lifetime.json records it.
type GGResult struct {
	Params3
	SE            Params3  `json:"se"`
	LogLikelihood eval.Num `json:"log_likelihood"`
	// Customers counts the repeat customers with spend that were fitted.
	Customers  int  `json:"customers"`
	Iterations int  `json:"iterations"`
	Converged  bool `json:"converged"`
	// PopulationMeanSpend is p·γ/(q−1), the expected spend per purchase of
	// a customer without repeat purchases (null when q ≤ 1).
	PopulationMeanSpend eval.Num `json:"population_mean_spend"`
}

// Holdout is the calibration/holdout check (Fader, Hardie and Lee 2005,
// figure 4): per calibration frequency, the mean number of purchase days
// in the holdout period, actual and expected by BG/NBD.
type Holdout struct {
	Weeks   eval.Num        `json:"weeks"`
	Buckets []HoldoutBucket `json:"buckets"`
	// Totals over all fitted customers.
	ActualTotal   int      `json:"actual_total"`
	ExpectedTotal eval.Num `json:"expected_total"`
}

// HoldoutBucket is one row of the check.
type HoldoutBucket struct {
	Frequency    string   `json:"frequency"` // "0" … "6", "7+"
	Customers    int      `json:"customers"`
	ActualMean   eval.Num `json:"actual_mean"`
	ExpectedMean eval.Num `json:"expected_mean"`
}

// Distribution summarizes a per-customer result.
type Distribution struct {
	Mean  eval.Num `json:"mean"`
	Total eval.Num `json:"total"`
	P10   eval.Num `json:"p10"`
	P25   eval.Num `json:"p25"`
	P50   eval.Num `json:"p50"`
	P75   eval.Num `json:"p75"`
	P90   eval.Num `json:"p90"`
	P99   eval.Num `json:"p99"`
	Max   eval.Num `json:"max"`
}

// scores are the per-customer results, aligned with customers.
type scores struct {
	pAlive, probNone, expected, spend, clv []float64
}

// Run reads the dataset once and fits, scores and checks the models. It
// fails with a clear error when the purchase table is missing, when nobody
// bought before the as-of date, or when the as-of date (or holdout end)
// lies after the data's end.
func Run(ctx context.Context, opt Options) (*Report, error) {
	o := &opt
	if err := o.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	useChurn := o.Dataset.Has(data.ChurnEvents) || o.Dataset.Table(data.Customers).HasColumn("churn_date")
	sc, err := scan(ctx, o, o.HorizonDays, useChurn)
	if err != nil {
		return nil, err
	}
	o.Logger.Info("lifetime: data read", "customers", sc.all, "fitted", len(sc.ids), "events", sc.events, "seconds", time.Since(start).Seconds())
	if !sc.last.Valid() {
		return nil, fmt.Errorf("the %s table has no purchase events", o.Events)
	}
	if len(sc.ids) == 0 {
		return nil, fmt.Errorf("as-of %s: %w: the first purchase is on %s", o.AsOf, ErrNoPurchases, sc.first)
	}
	dataEnd := sc.last + 1
	if o.AsOf > dataEnd {
		return nil, fmt.Errorf("as-of %s is after the data's end: the last purchase is on %s (as-of may be at most %s)", o.AsOf, sc.last, dataEnd)
	}
	holdoutEnd := o.HoldoutEnd
	if !holdoutEnd.Valid() {
		holdoutEnd = dataEnd
	} else if holdoutEnd > dataEnd {
		return nil, fmt.Errorf("holdout end %s is after the data's end: the last purchase is on %s (the holdout may end at %s at most)", holdoutEnd, sc.last, dataEnd)
	}
	r := &Report{
		SchemaVersion: SchemaVersion,
		Settings: Settings{AsOf: o.AsOf.String(), CalibrationEnd: (o.AsOf - 1).String(), HoldoutEnd: holdoutEnd.String(), Events: o.Events,
			HorizonDays: o.HorizonDays, CLVMonths: o.CLVMonths, AnnualDiscount: o.AnnualDiscount, TimeUnit: "weeks"},
		Data: DataSummary{Customers: sc.all, Fitted: len(sc.ids), NoPurchaseBeforeAsOf: sc.noPurchase, PurchaseEvents: sc.events,
			FirstPurchase: sc.first.String(), LastPurchase: sc.last.String()},
		cust: sc.customers,
	}
	for _, s := range sc.sum {
		if s.Frequency > 0 {
			r.Data.RepeatCustomers++
		}
	}
	fitStart := time.Now()
	bg, err := clv.FitBGNBD(ctx, sc.sum, nil)
	if err != nil {
		if errors.Is(err, clv.ErrFit) {
			return nil, fmt.Errorf("fit BG/NBD to %d customers: %w (the purchases may not follow BG/NBD: regular ones, such as monthly invoices, or a calibration period too short to see dropout, have no finite optimum)", len(sc.sum), err)
		}
		return nil, fmt.Errorf("fit BG/NBD: %w", err)
	}
	gg, err := clv.FitGammaGamma(ctx, sc.sum, nil)
	if err != nil {
		return nil, fmt.Errorf("fit Gamma-Gamma to the %d repeat customers: %w", r.Data.RepeatCustomers, err)
	}
	o.Logger.Info("lifetime: models fitted", "bgnbd_ll", bg.LogLikelihood, "gamma_gamma_ll", gg.LogLikelihood, "seconds", time.Since(fitStart).Seconds())
	r.BGNBD = BGNBDResult{Params4: params4(bg.BGNBD), SE: params4(bg.SE), LogLikelihood: eval.Num(bg.LogLikelihood),
		Customers: bg.Customers, Iterations: bg.Iterations, Converged: bg.Converged}
	r.GammaGamma = GGResult{Params3: params3(gg.GammaGamma), SE: params3(gg.SE), LogLikelihood: eval.Num(gg.LogLikelihood),
		Customers: gg.Customers, Iterations: gg.Iterations, Converged: gg.Converged, PopulationMeanSpend: eval.Num(math.NaN())}
	if gg.Q > 1 {
		r.GammaGamma.PopulationMeanSpend = eval.Num(gg.P * gg.Gamma / (gg.Q - 1))
	}
	holdoutWeeks := float64(holdoutEnd-o.AsOf) / 7
	var expHoldout []float64
	r.scores, expHoldout, err = score(ctx, bg.BGNBD, gg.GammaGamma, sc.sum, o, holdoutWeeks)
	if err != nil {
		return nil, err
	}
	if holdoutWeeks > 0 {
		r.Holdout = holdoutCheck(sc.sum, sc.holdout, expHoldout, holdoutWeeks)
	}
	r.CLV = distribution(r.scores.clv)
	r.PAlive = distribution(r.scores.pAlive)
	r.ExpectedPurchases = distribution(r.scores.expected)
	r.clvHist = clvHistogram(r.scores.clv)
	r.KaplanMeier = kaplanMeier(&sc.customers, o.HorizonDays, useChurn)
	o.Logger.Info("lifetime: done", "seconds", time.Since(start).Seconds())
	return r, nil
}

func params4(m clv.BGNBD) Params4 {
	return Params4{R: eval.Num(m.R), Alpha: eval.Num(m.Alpha), A: eval.Num(m.A), B: eval.Num(m.B)}
}

func params3(m clv.GammaGamma) Params3 {
	return Params3{P: eval.Num(m.P), Q: eval.Num(m.Q), Gamma: eval.Num(m.Gamma)}
}

// score computes the per-customer results (clv.ScoreAll) and the expected
// holdout purchases (once per distinct summary, in parallel chunks: each
// depends on its own summary only, so the split of the work does not
// change a bit).
func score(ctx context.Context, bg clv.BGNBD, gg clv.GammaGamma, sum []clv.Summary, o *Options, holdoutWeeks float64) (scores, []float64, error) {
	n := len(sum)
	all := clv.ScoreAll(bg, gg, sum, float64(o.HorizonDays)/7, clv.CLVOptions{Months: o.CLVMonths, AnnualDiscount: o.AnnualDiscount})
	sc := scores{pAlive: make([]float64, n), probNone: make([]float64, n), expected: make([]float64, n), spend: make([]float64, n), clv: make([]float64, n)}
	for i, s := range all {
		sc.pAlive[i], sc.probNone[i], sc.expected[i], sc.spend[i], sc.clv[i] = s.PAlive, s.ProbNoPurchase, s.ExpectedPurchases, s.ExpectedSpend, s.CLV
	}
	hold := make([]float64, n)
	if holdoutWeeks <= 0 {
		return sc, hold, nil
	}
	// E[Y(holdout)] depends on (x, tₓ, T) only, and customers share them
	// (times are whole days / 7): compute it once per distinct triple.
	type key struct{ x, tx, T float64 }
	at := make(map[key]int32, n/4)
	var cells []clv.Summary
	cellOf := make([]int32, n)
	for i, v := range sum {
		k := key{v.Frequency, v.Recency, v.T}
		j, ok := at[k]
		if !ok {
			j = int32(len(cells))
			at[k] = j
			cells = append(cells, clv.Summary{Frequency: v.Frequency, Recency: v.Recency, T: v.T})
		}
		cellOf[i] = j
	}
	per := make([]float64, len(cells))
	const chunk = 4096
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for lo := 0; lo < len(cells); lo += chunk {
		hi := min(lo+chunk, len(cells))
		g.Go(func() error {
			for j := lo; j < hi; j++ {
				if j&63 == 0 && gctx.Err() != nil {
					return gctx.Err()
				}
				per[j] = bg.ExpectedPurchases(holdoutWeeks, cells[j])
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return scores{}, nil, err
	}
	for i := range hold {
		hold[i] = per[cellOf[i]]
	}
	return sc, hold, nil
}

func holdoutCheck(sum []clv.Summary, actual []int32, expected []float64, weeks float64) *Holdout {
	h := &Holdout{Weeks: eval.Num(weeks), Buckets: make([]HoldoutBucket, FrequencyBuckets)}
	act := make([]float64, FrequencyBuckets)
	exp := make([]float64, FrequencyBuckets)
	var expTotal float64
	for i, s := range sum {
		k := min(int(s.Frequency), FrequencyBuckets-1)
		h.Buckets[k].Customers++
		act[k] += float64(actual[i])
		exp[k] += expected[i]
		h.ActualTotal += int(actual[i])
		expTotal += expected[i]
	}
	h.ExpectedTotal = eval.Num(expTotal)
	for k := range h.Buckets {
		b := &h.Buckets[k]
		b.Frequency = fmt.Sprint(k)
		if k == FrequencyBuckets-1 {
			b.Frequency += "+"
		}
		b.ActualMean, b.ExpectedMean = eval.Num(math.NaN()), eval.Num(math.NaN())
		if b.Customers > 0 {
			b.ActualMean = eval.Num(act[k] / float64(b.Customers))
			b.ExpectedMean = eval.Num(exp[k] / float64(b.Customers))
		}
	}
	return h
}

// distribution summarizes xs (not modified).
func distribution(xs []float64) Distribution {
	s := slices.Clone(xs)
	slices.Sort(s)
	var total float64
	for _, x := range s {
		total += x
	}
	q := func(p float64) eval.Num { return eval.Num(quantileSorted(s, p)) }
	d := Distribution{Total: eval.Num(total), Mean: eval.Num(math.NaN()), P10: q(0.1), P25: q(0.25), P50: q(0.5), P75: q(0.75), P90: q(0.9), P99: q(0.99), Max: q(1)}
	if len(s) > 0 {
		d.Mean = eval.Num(total / float64(len(s)))
	}
	return d
}

// quantileSorted is metrics.Quantile on sorted data (linear interpolation
// between order statistics), without its copy and sort.
func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}
