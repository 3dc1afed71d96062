package lifetime

import (
	"fmt"
	"math"
	"slices"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/internal/metrics"
)

// MaxCohorts is the most signup cohorts the Kaplan-Meier summary shows:
// the cohort width grows (month, quarter, year) until they fit; past that
// the latest MaxCohorts years are shown.
const MaxCohorts = 8

// KMLevel is the confidence level of the Kaplan-Meier bands.
const KMLevel = 0.95

// KMSummary is the Kaplan-Meier retention of the fitted customers, by
// signup cohort, as lifetime.json records it. Time runs from each
// customer's first purchase (or signup, when earlier), in days.
type KMSummary struct {
	// Definition says what the event ("churn") is: churn dates recorded
	// in the data, or a lapse of HorizonDays without a purchase.
	Definition string `json:"definition"`
	// CohortBy is month, quarter or year (of the signup date).
	CohortBy string     `json:"cohort_by"`
	Cohorts  []KMCohort `json:"cohorts"`
}

// KMCohort is one cohort's curve in numbers ("all" is every fitted
// customer).
type KMCohort struct {
	Name        string   `json:"name"`
	Customers   int      `json:"customers"`
	Events      int      `json:"events"`
	MedianDays  eval.Num `json:"median_days"`
	MedianLower eval.Num `json:"median_lower"`
	MedianUpper eval.Num `json:"median_upper"`
	// Survival at 90, 180 and 365 days (null past the cohort's last
	// observed time).
	S90  eval.Num `json:"survival_90d"`
	S180 eval.Num `json:"survival_180d"`
	S365 eval.Num `json:"survival_365d"`
}

// kmCohort is a cohort's curve, for the chart.
type kmCohort struct {
	name  string
	curve metrics.KMCurve
}

// cohortKey returns d's cohort at the given width as a number that orders
// cohorts in time, and cohortName its label.
func cohortKey(d data.Date, by string) int {
	t := d.Time()
	switch by {
	case "month":
		return t.Year()*12 + int(t.Month()) - 1
	case "quarter":
		return t.Year()*4 + (int(t.Month())-1)/3
	}
	return t.Year()
}

func cohortName(k int, by string) string {
	switch by {
	case "month":
		return fmt.Sprintf("%d-%02d", k/12, k%12+1)
	case "quarter":
		return fmt.Sprintf("%d-Q%d", k/4, k%4+1)
	}
	return fmt.Sprint(k)
}

// kaplanMeier estimates the retention curves of all fitted customers and
// of their signup cohorts.
func kaplanMeier(c *customers, lapseDays int, useChurn bool) ([]kmCohort, KMSummary) {
	sum := KMSummary{Definition: fmt.Sprintf("lapsed: the first gap of %d days (the horizon) without a purchase; the event time is the last purchase before the gap plus %d days. A definition of churn for data without contracts, not an observed churn: a lapsed customer may buy again. Customers whose latest gap is still open at the calibration end are censored there.", lapseDays, lapseDays)}
	if useChurn {
		sum.Definition = "churned: the churn date recorded in the data (customers.churn_date, else the first churn event) before the as-of date; customers without one are censored at the calibration end."
	}
	cohort := make([]int, len(c.cohort))
	var keys []int
	for _, by := range []string{"month", "quarter", "year"} {
		sum.CohortBy = by
		for i, d := range c.cohort {
			cohort[i] = cohortKey(d, by)
		}
		keys = slices.Clone(cohort)
		slices.Sort(keys)
		keys = slices.Compact(keys)
		if len(keys) <= MaxCohorts {
			break
		}
	}
	if len(keys) > MaxCohorts {
		keys = keys[len(keys)-MaxCohorts:]
	}
	var out []kmCohort
	add := func(name string, keep func(i int) bool) {
		var t []float64
		var e []bool
		for i := range c.kmDays {
			if keep(i) {
				t = append(t, c.kmDays[i])
				e = append(e, c.kmEvent[i])
			}
		}
		curve := metrics.KaplanMeier(t, e, nil, KMLevel)
		at := func(d float64) eval.Num {
			if n := len(curve.Points); n == 0 || d > maxTime(t) {
				return eval.Num(math.NaN())
			}
			s, _, _ := curve.At(d)
			return eval.Num(s)
		}
		events := 0
		for _, x := range e {
			if x {
				events++
			}
		}
		out = append(out, kmCohort{name: name, curve: curve})
		sum.Cohorts = append(sum.Cohorts, KMCohort{Name: name, Customers: len(t), Events: events,
			MedianDays: eval.Num(curve.Median), MedianLower: eval.Num(curve.MedianLower), MedianUpper: eval.Num(curve.MedianUpper),
			S90: at(90), S180: at(180), S365: at(365)})
	}
	add("all", func(int) bool { return true })
	if len(keys) > 1 {
		for _, k := range keys {
			add(cohortName(k, sum.CohortBy), func(i int) bool { return cohort[i] == k })
		}
	}
	return out, sum
}

func maxTime(t []float64) float64 {
	m := math.Inf(-1)
	for _, x := range t {
		m = math.Max(m, x)
	}
	return m
}
