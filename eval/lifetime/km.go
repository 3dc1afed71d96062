package lifetime

import (
	"fmt"
	"slices"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
)

// MaxCohorts is the most signup cohorts the Kaplan-Meier summary shows
// (with "all", as many curves as eval's charts draw): the cohort width
// grows (month, quarter, year) until they fit; past that the latest
// MaxCohorts years are shown.
const MaxCohorts = eval.MaxCurves - 1

// KMLevel is the confidence level of the Kaplan-Meier bands.
const KMLevel = 0.95

// KMPoints is the most points lifetime.json keeps of a curve.
const KMPoints = 100

// KMSummary is the Kaplan-Meier retention of the fitted customers, by
// signup cohort, as lifetime.json records it. Time runs from each
// customer's first purchase (or signup, when earlier), in days.
type KMSummary struct {
	// Definition says what the event ("churn") is: churn dates recorded
	// in the data, or a lapse of HorizonDays without a purchase.
	Definition string `json:"definition"`
	// CohortBy is month, quarter or year (of the signup date).
	CohortBy string `json:"cohort_by"`
	// Cohorts are "all" (every fitted customer), then the signup cohorts
	// in time when there are several: eval's curve summary (median with
	// its interval, survival at 365 days, up to KMPoints points).
	Cohorts []eval.SurvivalGroup `json:"cohorts"`
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
// of their signup cohorts (eval's Kaplan-Meier summaries).
func kaplanMeier(c *customers, lapseDays int, useChurn bool) KMSummary {
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
	var all eval.SurvivalCounts
	per := make(map[int]*eval.SurvivalCounts, len(keys))
	for _, k := range keys {
		per[k] = new(eval.SurvivalCounts)
	}
	for i, d := range c.kmDays {
		all.Add(int(d), c.kmEvent[i])
		if sc := per[cohort[i]]; sc != nil {
			sc.Add(int(d), c.kmEvent[i])
		}
	}
	sum.Cohorts = append(sum.Cohorts, all.Group("all", KMLevel, KMPoints))
	if len(keys) > 1 {
		for _, k := range keys {
			sum.Cohorts = append(sum.Cohorts, per[k].Group(cohortName(k, sum.CohortBy), KMLevel, KMPoints))
		}
	}
	return sum
}
