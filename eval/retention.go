package eval

import (
	"fmt"
	"math"
	"slices"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// Retention holds retention figures derived from the feature table (every
// row, not only the evaluated ones). A table's rows at an as-of date are
// the customers who were customers then (signed up before it and not
// churned on or before it), so the rows at consecutive dates give the
// customer base over time.
type Retention struct {
	// Periods compare consecutive as-of dates; empty for a table with one
	// date (Note says so).
	Periods []RetentionPeriod `json:"periods"`
	// Revenue reports whether GRR and NRR were computed (from the mrr
	// feature, when it is point-in-time).
	Revenue bool `json:"revenue"`
	// CohortBy is quarter or month; Cohorts group customers by signup
	// period (as_of − tenure_days).
	CohortBy string   `json:"cohort_by"`
	Cohorts  []Cohort `json:"cohorts"`
	// SegmentFeature is the categorical feature of BySegment ("" when the
	// table has none).
	SegmentFeature string         `json:"segment_feature"`
	BySegment      []SegmentChurn `json:"by_segment"`
	// Survival holds the Kaplan-Meier curves of time to churn.
	Survival Survival `json:"survival"`
	Notes    []string `json:"notes"`
}

// RetentionPeriod is retention between two consecutive as-of dates.
type RetentionPeriod struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Start and End count the customers (rows) at From and To; New those
	// at To but not at From; Retained those at both (End − New).
	Start    int `json:"start"`
	End      int `json:"end"`
	New      int `json:"new"`
	Retained int `json:"retained"`
	// CRR = (End − New) / Start × 100.
	CRR Num `json:"crr"`
	// Revenue (when Retention.Revenue): StartMRR sums mrr at From over
	// the customers at From; RetainedMRR sums mrr at To over those still
	// there; GrossMRR sums min(mrr at To, mrr at From) over them.
	// NRR = RetainedMRR / StartMRR × 100 (expansion counts),
	// GRR = GrossMRR / StartMRR × 100 (at most 100). A missing mrr
	// counts as 0.
	StartMRR    Num `json:"start_mrr"`
	EndMRR      Num `json:"end_mrr"`
	RetainedMRR Num `json:"retained_mrr"`
	GrossMRR    Num `json:"gross_mrr"`
	GRR         Num `json:"grr"`
	NRR         Num `json:"nrr"`
}

// Cohort is the churn of customers who signed up in one period.
type Cohort struct {
	Cohort    string `json:"cohort"` // 2024-Q1 or 2024-01
	Customers int    `json:"customers"`
	// LabelledRows and Positives count the cohort's labelled rows (every
	// as-of date); ChurnRate = Positives / LabelledRows is the chance of
	// churning within the label horizon, averaged over the snapshots.
	LabelledRows int `json:"labelled_rows"`
	Positives    int `json:"positives"`
	ChurnRate    Num `json:"churn_rate"`
	// ChurnedCustomers have at least one row labelled 1.
	ChurnedCustomers int `json:"churned_customers"`
}

// SegmentChurn is the churn rate of one level of Retention.SegmentFeature,
// counted like Cohort.
type SegmentChurn struct {
	Level            string `json:"level"`
	Customers        int    `json:"customers"`
	LabelledRows     int    `json:"labelled_rows"`
	Positives        int    `json:"positives"`
	ChurnRate        Num    `json:"churn_rate"`
	ChurnedCustomers int    `json:"churned_customers"`
}

func retention(t *features.Table, cfg RetentionConfig) Retention {
	r := Retention{CohortBy: cfg.Cohort, Periods: []RetentionPeriod{}, Cohorts: []Cohort{}, BySegment: []SegmentChurn{}, Notes: []string{}}
	byDate := map[data.Date][]int{}
	for i, d := range t.AsOf {
		byDate[d] = append(byDate[d], i)
	}
	dates := make([]data.Date, 0, len(byDate))
	for d := range byDate {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	mrr := -1
	if def, ok := t.Spec.Lookup("mrr"); ok && def.Kind != features.Categorical {
		if def.Static {
			r.Notes = append(r.Notes, "mrr is today's value from the customers table (no subscription history), so revenue retention is not computed")
		} else {
			mrr = slices.Index(t.Spec.Names(), "mrr")
		}
	} else {
		r.Notes = append(r.Notes, "the table has no mrr feature, so revenue retention is not computed")
	}
	// Customers are numbered once, so that the per-row work below indexes
	// slices instead of hashing ids.
	cust, n := customerIndex(t)
	r.Revenue = mrr >= 0 && len(dates) > 1
	if len(dates) < 2 || dates[0] == data.NoDate {
		r.Notes = append(r.Notes, "the table has a single as-of date (snapshot data): customer retention over time cannot be computed")
	} else {
		at := newCustomerRows(n)
		for k := 1; k < len(dates); k++ {
			r.Periods = append(r.Periods, period(t, cust, at, byDate[dates[k-1]], byDate[dates[k]], dates[k-1], dates[k], mrr))
		}
	}
	r.Cohorts = cohorts(t, cust, cfg.Cohort, &r.Notes)
	r.SegmentFeature, r.BySegment = segmentChurn(t, cust, cfg.SegmentFeature)
	return r
}

// customerIndex numbers the customers of t in order of appearance: the
// number of row i's customer, and how many there are.
func customerIndex(t *features.Table) ([]int32, int) {
	ids := map[string]int32{}
	cust := make([]int32, t.Len())
	for i, id := range t.IDs {
		c, ok := ids[id]
		if !ok {
			c = int32(len(ids))
			ids[id] = c
		}
		cust[i] = c
	}
	return cust, len(ids)
}

// customerRows holds, per customer, its row at the start and at the end of
// a period (-1: none), reset after each period.
type customerRows struct{ start, end []int }

func newCustomerRows(n int) *customerRows {
	at := &customerRows{start: make([]int, n), end: make([]int, n)}
	for c := range n {
		at.start[c], at.end[c] = -1, -1
	}
	return at
}

func period(t *features.Table, cust []int32, at *customerRows, from, to []int, d0, d1 data.Date, mrr int) RetentionPeriod {
	p := RetentionPeriod{From: d0.String(), To: d1.String()}
	defer func() {
		for _, i := range from {
			at.start[cust[i]] = -1
		}
		for _, i := range to {
			at.end[cust[i]] = -1
		}
	}()
	for _, i := range from {
		c := cust[i]
		if at.start[c] < 0 {
			p.Start++
		}
		at.start[c] = i
	}
	for _, i := range to {
		c := cust[i]
		if at.end[c] < 0 {
			p.End++
			if at.start[c] < 0 {
				p.New++
			}
		}
		at.end[c] = i
	}
	p.Retained = p.End - p.New
	p.CRR = ratio(100*float64(p.End-p.New), float64(p.Start))
	p.StartMRR, p.EndMRR, p.RetainedMRR, p.GrossMRR, p.GRR, p.NRR = nan(), nan(), nan(), nan(), nan(), nan()
	if mrr < 0 {
		return p
	}
	v := func(i int) float64 {
		x := t.Num[mrr][i]
		if math.IsNaN(x) {
			return 0
		}
		return x
	}
	var s, e, ret, gross float64
	for _, i := range from {
		s += v(i)
	}
	for _, i := range to {
		e += v(i)
	}
	// Sum in a fixed order (the table's) for reproducible floats.
	for _, i := range from {
		if j := at.end[cust[i]]; j >= 0 {
			ret += v(j)
			gross += math.Min(v(j), v(i))
		}
	}
	p.StartMRR, p.EndMRR, p.RetainedMRR, p.GrossMRR = Num(s), Num(e), Num(ret), Num(gross)
	p.NRR, p.GRR = ratio(100*ret, s), ratio(100*gross, s)
	return p
}

// cohortOf returns the signup period of a customer, as_of − tenure_days,
// as a number that sorts like its name (cohortName): year×12 + month − 1,
// or year×4 + quarter − 1.
func cohortOf(asOf data.Date, tenure float64, by string) (int, bool) {
	if asOf == data.NoDate || math.IsNaN(tenure) {
		return 0, false
	}
	tm := asOf.AddDays(-int(math.Round(tenure))).Time()
	if by == "month" {
		return tm.Year()*12 + int(tm.Month()) - 1, true
	}
	return tm.Year()*4 + (int(tm.Month())-1)/3, true
}

// cohortName names a cohort: 2024-01 or 2024-Q1.
func cohortName(k int, by string) string {
	if by == "month" {
		return fmt.Sprintf("%04d-%02d", k/12, k%12+1)
	}
	return fmt.Sprintf("%04d-Q%d", k/4, k%4+1)
}

// churnCount counts a group's rows and (distinct) customers.
type churnCount struct {
	customers []int32 // with repeats: distinct counts them
	churned   []int32
	labelled  int
	positives int
}

func (c *churnCount) add(t *features.Table, cust []int32, i int) {
	c.customers = append(c.customers, cust[i])
	if y := t.Label[i]; !math.IsNaN(y) {
		c.labelled++
		if y == 1 {
			c.positives++
			c.churned = append(c.churned, cust[i])
		}
	}
}

// distinct returns the number of distinct values of xs, sorting it.
func distinct(xs []int32) int {
	slices.Sort(xs)
	return len(slices.Compact(xs))
}

func cohorts(t *features.Table, cust []int32, by string, notes *[]string) []Cohort {
	ti := slices.Index(t.Spec.Names(), "tenure_days")
	if ti < 0 || t.Num[ti] == nil {
		*notes = append(*notes, "the table has no tenure_days feature, so signup cohorts are not computed")
		return []Cohort{}
	}
	counts := map[int]*churnCount{}
	missing := 0
	for i := range t.IDs {
		c, ok := cohortOf(t.AsOf[i], t.Num[ti][i], by)
		if !ok {
			missing++
			continue
		}
		if counts[c] == nil {
			counts[c] = &churnCount{}
		}
		counts[c].add(t, cust, i)
	}
	if missing > 0 {
		*notes = append(*notes, fmt.Sprintf("%d rows without an as-of date or tenure are in no cohort", missing))
	}
	keys := make([]int, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Cohort, 0, len(keys))
	for _, k := range keys {
		c := counts[k]
		out = append(out, Cohort{Cohort: cohortName(k, by), Customers: distinct(c.customers), LabelledRows: c.labelled, Positives: c.positives,
			ChurnRate: ratio(float64(c.positives), float64(c.labelled)), ChurnedCustomers: distinct(c.churned)})
	}
	return out
}

func segmentChurn(t *features.Table, cust []int32, want string) (string, []SegmentChurn) {
	col := -1
	for _, name := range []string{want, "segment"} {
		if d, ok := t.Spec.Lookup(name); ok && name != "" && d.Kind == features.Categorical {
			col = slices.Index(t.Spec.Names(), name)
			break
		}
	}
	if col < 0 {
		for i, d := range t.Spec.Features {
			if d.Kind == features.Categorical {
				col = i
				break
			}
		}
	}
	if col < 0 {
		return "", []SegmentChurn{}
	}
	counts := map[string]*churnCount{}
	for i := range t.IDs {
		l := t.Cat[col][i]
		if l == "" {
			l = "(missing)"
		}
		if counts[l] == nil {
			counts[l] = &churnCount{}
		}
		counts[l].add(t, cust, i)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]SegmentChurn, 0, len(keys))
	for _, k := range keys {
		c := counts[k]
		out = append(out, SegmentChurn{Level: k, Customers: distinct(c.customers), LabelledRows: c.labelled, Positives: c.positives,
			ChurnRate: ratio(float64(c.positives), float64(c.labelled)), ChurnedCustomers: distinct(c.churned)})
	}
	return t.Spec.Features[col].Name, out
}
