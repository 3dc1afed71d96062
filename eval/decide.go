package eval

import (
	"math"
	"slices"

	"github.com/churnlab/churn/data"
)

// Decile is one tenth of the evaluated rows ranked by decreasing score
// (ties broken by table order): decile 1 holds the highest scores.
type Decile struct {
	Decile    int `json:"decile"`
	Rows      int `json:"rows"`
	Positives int `json:"positives"`
	// ChurnRate is Positives/Rows; Lift is ChurnRate over the base rate.
	ChurnRate Num `json:"churn_rate"`
	Lift      Num `json:"lift"`
	// Cumulative over deciles 1..Decile: churners, share of all churners
	// caught (cumulative gains) and lift.
	CumPositives int `json:"cum_positives"`
	CumCapture   Num `json:"cum_capture"`
	CumLift      Num `json:"cum_lift"`
	MinScore     Num `json:"min_score"`
	MaxScore     Num `json:"max_score"`
}

// deciles splits the ranking into ten groups of rows: decile k (0-based)
// takes ranked positions [k·n/10, (k+1)·n/10).
func deciles(r *ranking, y []float64) []Decile {
	n := len(r.order)
	var posTot float64
	for _, v := range y {
		posTot += v
	}
	base := posTot / float64(n)
	out := make([]Decile, 0, 10)
	cum := 0
	for k := 0; k < 10; k++ {
		lo, hi := k*n/10, (k+1)*n/10
		d := Decile{Decile: k + 1, Rows: hi - lo, MinScore: nan(), MaxScore: nan()}
		for _, i := range r.order[lo:hi] {
			if y[i] == 1 {
				d.Positives++
			}
		}
		if hi > lo {
			d.MaxScore, d.MinScore = Num(r.p[r.order[lo]]), Num(r.p[r.order[hi-1]])
		}
		cum += d.Positives
		d.CumPositives = cum
		d.ChurnRate = ratio(float64(d.Positives), float64(d.Rows))
		d.Lift = ratio(d.ChurnRate.F(), base)
		d.CumCapture = ratio(float64(cum), posTot)
		d.CumLift = ratio(float64(cum)/float64(hi), base)
		out = append(out, d)
	}
	return out
}

func ratio(a, b float64) Num {
	if b == 0 {
		return nan()
	}
	return Num(a / b)
}

// Confusion counts rows by decision and outcome.
type Confusion struct {
	TP int `json:"tp"` // flagged, churned
	FP int `json:"fp"` // flagged, stayed
	FN int `json:"fn"` // not flagged, churned
	TN int `json:"tn"` // not flagged, stayed
}

func confusionAt(p, y []float64, t float64) Confusion {
	var c Confusion
	for i := range p {
		switch flagged, churned := p[i] >= t, y[i] == 1; {
		case flagged && churned:
			c.TP++
		case flagged:
			c.FP++
		case churned:
			c.FN++
		default:
			c.TN++
		}
	}
	return c
}

func (c Confusion) precision() Num { return ratio(float64(c.TP), float64(c.TP+c.FP)) }
func (c Confusion) recall() Num    { return ratio(float64(c.TP), float64(c.TP+c.FN)) }

// ThresholdResult is the decision "flag every account with a probability of
// at least Threshold".
type ThresholdResult struct {
	Threshold Num       `json:"threshold"`
	Flagged   int       `json:"flagged"`
	Precision Num       `json:"precision"`
	Recall    Num       `json:"recall"`
	F1        Num       `json:"f1"`
	Confusion Confusion `json:"confusion"`
}

func thresholdResult(p, y []float64, t float64) ThresholdResult {
	c := confusionAt(p, y, t)
	r := ThresholdResult{Threshold: Num(t), Flagged: c.TP + c.FP, Precision: c.precision(), Recall: c.recall(), Confusion: c}
	r.F1 = ratio(2*float64(c.TP), float64(2*c.TP+c.FP+c.FN))
	return r
}

// Capacity is precision and recall when the team contacts the top K
// accounts of each as-of date (each date is one scoring run).
type Capacity struct {
	K int `json:"k"`
	// Totals over the dates: accounts contacted, churners among them
	// (caught) and churners at those dates.
	Contacted int            `json:"contacted"`
	Caught    int            `json:"caught"`
	Churners  int            `json:"churners"`
	Precision Num            `json:"precision"` // Caught / Contacted
	Recall    Num            `json:"recall"`    // Caught / Churners
	Lift      Num            `json:"lift"`      // Precision / base rate
	PerAsOf   []CapacityDate `json:"per_as_of"`
}

// CapacityDate is Capacity at one as-of date.
type CapacityDate struct {
	AsOf      string `json:"as_of"`
	Rows      int    `json:"rows"`
	Contacted int    `json:"contacted"`
	Caught    int    `json:"caught"`
	Churners  int    `json:"churners"`
	Precision Num    `json:"precision"`
	Recall    Num    `json:"recall"`
}

// capacityAt ranks the rows of each as-of date by p (ties by row order) and
// takes the top k of each.
func capacityAt(p, y []float64, asOf []data.Date, k int) Capacity {
	groups := map[data.Date][]int{}
	for i, d := range asOf {
		groups[d] = append(groups[d], i)
	}
	dates := make([]data.Date, 0, len(groups))
	for d := range groups {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	c := Capacity{K: k}
	var pos float64
	for _, v := range y {
		pos += v
	}
	for _, d := range dates {
		rows := groups[d]
		slices.SortStableFunc(rows, func(a, b int) int {
			switch {
			case p[a] > p[b]:
				return -1
			case p[a] < p[b]:
				return 1
			}
			return 0
		})
		cd := CapacityDate{AsOf: dateString(d), Rows: len(rows), Contacted: min(k, len(rows))}
		for j, i := range rows {
			if y[i] == 1 {
				cd.Churners++
				if j < k {
					cd.Caught++
				}
			}
		}
		cd.Precision = ratio(float64(cd.Caught), float64(cd.Contacted))
		cd.Recall = ratio(float64(cd.Caught), float64(cd.Churners))
		c.Contacted += cd.Contacted
		c.Caught += cd.Caught
		c.Churners += cd.Churners
		c.PerAsOf = append(c.PerAsOf, cd)
	}
	c.Precision = ratio(float64(c.Caught), float64(c.Contacted))
	c.Recall = ratio(float64(c.Caught), float64(c.Churners))
	c.Lift = ratio(c.Precision.F(), pos/float64(len(y)))
	return c
}

func dateString(d data.Date) string {
	if d == data.NoDate {
		return ""
	}
	return d.String()
}

// CostResult is the cost-based decision. Contacting an account with churn
// probability p saves p × SuccessRate × MissedChurner and costs
// Intervention, so it pays when p ≥ Threshold = Intervention /
// (SuccessRate × MissedChurner). Savings are counted against contacting
// no one: each churner contacted and kept saves MissedChurner, each
// contact costs Intervention.
type CostResult struct {
	MissedChurner Num    `json:"missed_churner"`
	Intervention  Num    `json:"intervention"`
	SuccessRate   Num    `json:"success_rate"`
	Formula       string `json:"formula"`
	// Threshold is the break-even probability (may exceed 1: then no
	// contact pays).
	Threshold Num       `json:"threshold"`
	Contacted int       `json:"contacted"`
	Precision Num       `json:"precision"`
	Recall    Num       `json:"recall"`
	Confusion Confusion `json:"confusion"`
	// Savings is realised on the evaluated rows' outcomes:
	// SuccessRate × MissedChurner × TP − Intervention × (TP + FP).
	Savings Num `json:"savings"`
	// ExpectedSavings is what the model expects for the same contacts:
	// Σ over contacted rows of (p × SuccessRate × MissedChurner −
	// Intervention). Close to Savings when the model is calibrated.
	ExpectedSavings Num `json:"expected_savings"`
	// SavingsPerAsOf is Savings divided by the number of as-of dates:
	// the saving of one scoring run.
	SavingsPerAsOf Num `json:"savings_per_as_of"`
	// BestThreshold is the score cut with the highest realised savings on
	// these rows (hindsight: optimistic), BestSavings those savings and
	// BestContacted the accounts it contacts.
	BestThreshold Num `json:"best_threshold"`
	BestSavings   Num `json:"best_savings"`
	BestContacted int `json:"best_contacted"`
	// ContactAllSavings is the savings of contacting every account.
	ContactAllSavings Num `json:"contact_all_savings"`
}

const costFormula = "contact when p >= intervention / (success_rate * missed_churner); savings = success_rate * missed_churner * TP - intervention * (TP + FP)"

func costResult(r *ranking, y []float64, cfg CostConfig, dates int) CostResult {
	p := r.p
	value := cfg.SuccessRate * cfg.MissedChurner
	t := cfg.Intervention / value
	c := confusionAt(p, y, t)
	res := CostResult{
		MissedChurner: Num(cfg.MissedChurner), Intervention: Num(cfg.Intervention), SuccessRate: Num(cfg.SuccessRate),
		Formula: costFormula, Threshold: Num(t), Contacted: c.TP + c.FP, Precision: c.precision(), Recall: c.recall(), Confusion: c,
		Savings: Num(value*float64(c.TP) - cfg.Intervention*float64(c.TP+c.FP)),
	}
	var exp float64
	for i := range p {
		if p[i] >= t {
			exp += p[i]*value - cfg.Intervention
		}
	}
	res.ExpectedSavings = Num(exp)
	res.SavingsPerAsOf = ratio(res.Savings.F(), float64(max(dates, 1)))
	// Sweep the score cuts (ends of tied blocks).
	best, bestT, bestN := 0.0, math.Inf(1), 0
	var tp, n float64
	k := 0
	for _, end := range r.blocks {
		for ; k < end; k++ {
			n++
			tp += y[r.order[k]]
		}
		if s := value*tp - cfg.Intervention*n; s > best {
			best, bestT, bestN = s, p[r.order[end-1]], int(n)
		}
	}
	res.BestSavings, res.BestThreshold, res.BestContacted = Num(best), Num(bestT), bestN
	res.ContactAllSavings = Num(value*tp - cfg.Intervention*n)
	return res
}
