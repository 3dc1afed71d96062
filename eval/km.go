package eval

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
)

// Survival holds the retention section's Kaplan-Meier curves of time to
// churn, in days: from signup by signup cohort, plan and segment (every
// customer of the dataset), and from the as-of date by the model's risk
// tier (the evaluated rows). Customers still there at the last day a
// churn can be seen are censored there.
type Survival struct {
	// Available is false without the dataset (Options.Dataset) or churn
	// dates; Notes say why.
	Available bool `json:"available"`
	// Source is the label mode whose churn definition is used.
	Source string `json:"source"`
	// DataEnd is the table's data end: churns after it are not seen, and
	// customers still there are censored at it.
	DataEnd string `json:"data_end"`
	// Level is the confidence level of the bands and median intervals.
	Level Num `json:"level"`
	// Customers counts those in the signup curves; Skipped those left
	// out (no signup day, signup after DataEnd, churn before signup).
	Customers int `json:"customers"`
	Skipped   int `json:"skipped"`
	// Groupings: cohort, plan, segment (from signup) and risk_tier (from
	// the as-of date).
	Groupings []SurvivalGrouping `json:"groupings"`
	Notes     []string           `json:"notes"`
}

// SurvivalGrouping is one set of Kaplan-Meier curves.
type SurvivalGrouping struct {
	// By is cohort, plan, segment or risk_tier; Origin is signup or as_of
	// (time is counted from it).
	By     string `json:"by"`
	Origin string `json:"origin"`
	// Groups are in display order: cohorts by period, plans and segments
	// by size (other last), tiers high, medium, low.
	Groups []SurvivalGroup `json:"groups"`
	// Charted names the groups drawn in the chart (at most MaxCurves):
	// cohorts spread evenly from the oldest to the newest, the largest
	// plans and segments, every tier.
	Charted []string `json:"charted"`
	Note    string   `json:"note,omitempty"`
}

// SurvivalGroup is the Kaplan-Meier curve of one group.
type SurvivalGroup struct {
	Name string `json:"name"`
	// Subjects are customers (rows of the evaluated table for risk
	// tiers: a customer evaluated at several dates counts at each);
	// Churned those whose churn was seen.
	Subjects int `json:"subjects"`
	Churned  int `json:"churned"`
	// Median is the days until half had churned, with its confidence
	// interval (null when the curve or band does not reach 50 %).
	Median      Num `json:"median_days"`
	MedianLower Num `json:"median_lower"`
	MedianUpper Num `json:"median_upper"`
	// At365 is the share still there after 365 days, with its band
	// (null when nobody was followed that long), from the full curve.
	At365 Interval `json:"survival_365d"`
	// Curve holds the curve's steps, at most retention.curve_points (close steps
	// merged: each point is the last step of its stretch, with the
	// stretch's events and censorings).
	Curve []SurvivalPoint `json:"curve"`
}

// SurvivalPoint is a point of a Kaplan-Meier curve.
type SurvivalPoint struct {
	Days     int `json:"days"`
	AtRisk   int `json:"at_risk"`
	Events   int `json:"events"`
	Censored int `json:"censored"`
	Survival Num `json:"survival"`
	Lower    Num `json:"lower"`
	Upper    Num `json:"upper"`
}

// MaxCurves is the most curves one Kaplan-Meier chart draws.
const MaxCurves = 6

// Risk tiers of the time-to-churn curves.
const (
	TierHigh   = "high"
	TierMedium = "medium"
	TierLow    = "low"
)

// SurvivalCounts gathers subjects for a Kaplan-Meier curve: per whole
// day since the origin, how many churned and how many were censored. The
// zero value is empty and ready; memory grows with distinct days, not
// subjects. It is not safe for concurrent use.
type SurvivalCounts struct{ h kmHist }

// Add counts a subject followed for days (≥ 0) who churned then, or was
// censored then when !churned.
func (c *SurvivalCounts) Add(days int, churned bool) {
	if c.h == nil {
		c.h = kmHist{}
	}
	c.h.add(int32(days), churned)
}

// Group returns the Kaplan-Meier curve of the subjects counted, named
// name, with bands and median interval at level (e.g. 0.95), keeping at
// most points points (at least 2).
func (c *SurvivalCounts) Group(name string, level float64, points int) SurvivalGroup {
	return survivalGroup(name, c.h, level, max(points, 2))
}

// SurvivalGroupsChart draws groups' curves (at most MaxCurves, in order)
// as a SurvivalChart, on an axis in months when they span more than 18
// months; xlabel names the origin in days ("days since signup"), "days"
// becoming "months" then.
func SurvivalGroupsChart(id, title, xlabel string, groups []SurvivalGroup) template.HTML {
	sc := SurvivalChart{ID: id, Title: title, XLabel: xlabel}
	end := 0
	for _, gr := range groups[:min(len(groups), MaxCurves)] {
		if n := len(gr.Curve); n > 0 {
			end = max(end, gr.Curve[n-1].Days)
		}
		sc.Curves = append(sc.Curves, SurvivalSeries{Name: fmt.Sprintf("%s (%d)", gr.Name, gr.Subjects), Curve: gr.kmCurve()})
	}
	if end > 548 {
		sc.XScale, sc.XLabel = DaysPerMonth, strings.Replace(sc.XLabel, "days", "months", 1)
	}
	return sc.SVG()
}

// kmHist counts, per day since the origin, the events and censorings of
// one group: all a Kaplan-Meier curve needs.
type kmHist map[int32][2]float64

func (h kmHist) add(days int32, event bool) {
	v := h[days]
	if event {
		v[0]++
	} else {
		v[1]++
	}
	h[days] = v
}

func (h kmHist) merge(o kmHist) {
	for d, v := range o {
		w := h[d]
		h[d] = [2]float64{w[0] + v[0], w[1] + v[1]}
	}
}

func (h kmHist) size() int {
	n := 0.0
	for _, v := range h {
		n += v[0] + v[1]
	}
	return int(n)
}

// curve is the Kaplan-Meier estimate of h: one weighted subject per day
// with events and one per day with censorings.
func (h kmHist) curve(level float64) metrics.KMCurve {
	days := make([]int32, 0, len(h))
	for d := range h {
		days = append(days, d)
	}
	slices.Sort(days)
	var t, w []float64
	var ev []bool
	for _, d := range days {
		v := h[d]
		for k, n := range v {
			if n > 0 {
				t, ev, w = append(t, float64(d)), append(ev, k == 0), append(w, n)
			}
		}
	}
	return metrics.KaplanMeier(t, ev, w, level)
}

// survivalAcc gathers the histograms of one scan shard.
type survivalAcc struct {
	lc       *features.LabelConfig
	cohortBy string
	cohorts  map[int]kmHist
	plans    map[string]kmHist
	segments map[string]kmHist
	tiers    [3]kmHist
	tierRows *tierRows
	ok, bad  int
	scratch  lifetimeScratch
}

func newSurvivalAcc(lc *features.LabelConfig, cohortBy string, tr *tierRows) *survivalAcc {
	return &survivalAcc{lc: lc, cohortBy: cohortBy, cohorts: map[int]kmHist{}, plans: map[string]kmHist{}, segments: map[string]kmHist{},
		tiers: [3]kmHist{{}, {}, {}}, tierRows: tr}
}

func histOf[K comparable](m map[K]kmHist, k K) kmHist {
	h := m[k]
	if h == nil {
		h = kmHist{}
		m[k] = h
	}
	return h
}

// add counts the customer of h.
func (a *survivalAcc) add(h *data.History) {
	l, ok := lifetimeOf(h, a.lc, &a.scratch)
	if !ok {
		a.bad++
	} else {
		a.ok++
		d, churned := l.churnAfter(l.signup)
		days := int32(d - l.signup)
		c, _ := cohortOf(l.signup, 0, a.cohortBy)
		histOf(a.cohorts, c).add(days, churned)
		levelHist(a.plans, h.Customer.Plan).add(days, churned)
		levelHist(a.segments, h.Customer.Segment).add(days, churned)
	}
	if a.tierRows == nil {
		return
	}
	for _, r := range a.tierRows.of(h.Customer.ID) {
		T := a.tierRows.t.AsOf[r.row]
		if !ok || T > l.end {
			continue
		}
		d, churned := l.churnAfter(T)
		a.tiers[r.tier].add(int32(d-T), churned)
	}
}

// levelHist returns the histogram of a customer attribute's level s
// ("(missing)" for ""), cloning s only when the level is new (the scan's
// strings may point into its buffers).
func levelHist(m map[string]kmHist, s string) kmHist {
	if s == "" {
		s = "(missing)"
	}
	if h, ok := m[s]; ok {
		return h
	}
	h := kmHist{}
	m[strings.Clone(s)] = h
	return h
}

func (a *survivalAcc) merge(o *survivalAcc) {
	for k, h := range o.cohorts {
		histOf(a.cohorts, k).merge(h)
	}
	for k, h := range o.plans {
		histOf(a.plans, k).merge(h)
	}
	for k, h := range o.segments {
		histOf(a.segments, k).merge(h)
	}
	for k := range a.tiers {
		a.tiers[k].merge(o.tiers[k])
	}
	a.ok += o.ok
	a.bad += o.bad
}

// tierRow is an evaluated row of the table (its index) and its risk
// tier (0 high, 1 medium, 2 low).
type tierRow struct {
	row  int32
	tier uint8
}

// tierRows holds the evaluated rows sorted by customer id and as-of date,
// for lookups during the scan: 8 bytes a row.
type tierRows struct {
	t    *features.Table
	rows []tierRow
}

// of returns the rows of customer id.
func (tr *tierRows) of(id string) []tierRow {
	ids := tr.t.IDs
	lo, _ := slices.BinarySearchFunc(tr.rows, id, func(r tierRow, id string) int { return strings.Compare(ids[r.row], id) })
	hi := lo
	for hi < len(tr.rows) && ids[tr.rows[hi].row] == id {
		hi++
	}
	return tr.rows[lo:hi]
}

// riskTiers assigns the evaluated rows sel (probabilities p) to risk
// tiers within each as-of date: the highest high share of probabilities
// high, the next medium share medium, the rest low; ties broken by row.
func riskTiers(t *features.Table, sel []int, p []float64, high, medium float64) *tierRows {
	byDate := map[data.Date][]int{}
	for k, i := range sel {
		byDate[t.AsOf[i]] = append(byDate[t.AsOf[i]], k)
	}
	rows := make([]tierRow, 0, len(sel))
	for _, ks := range byDate {
		slices.SortStableFunc(ks, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
		nh := int(math.Round(high * float64(len(ks))))
		nm := int(math.Round((high + medium) * float64(len(ks))))
		for r, k := range ks {
			tier := uint8(2)
			switch {
			case r < nh:
				tier = 0
			case r < nm:
				tier = 1
			}
			rows = append(rows, tierRow{row: int32(sel[k]), tier: tier})
		}
	}
	slices.SortFunc(rows, func(a, b tierRow) int {
		return cmp.Or(strings.Compare(t.IDs[a.row], t.IDs[b.row]), cmp.Compare(t.AsOf[a.row], t.AsOf[b.row]))
	})
	return &tierRows{t: t, rows: rows}
}

// survivalInputs returns what the scan reads: the label inputs of the
// mode plus the customers' plan and segment.
func survivalInputs(mode features.LabelMode) data.ScanOptions {
	opt := features.LabelInputs(mode)
	opt.Columns[data.Customers] = append(slices.Clone(opt.Columns[data.Customers]), "plan", "segment")
	return opt
}

// survival scans ds for the customers' lifetimes under the table's label
// definition and builds the Kaplan-Meier curves; tr holds the evaluated
// rows' tiers.
func survival(ctx context.Context, ds *data.Dataset, t *features.Table, tr *tierRows, cfg Config) (Survival, error) {
	s := Survival{Groupings: []SurvivalGrouping{}, Notes: []string{}, Level: Num(cfg.Bootstrap.Level)}
	ls := t.Spec.Label
	s.Source, s.DataEnd = string(ls.Mode), ls.DataEnd
	if ds == nil {
		s.Notes = append(s.Notes, "Kaplan-Meier curves need the customers' signup and churn dates: give the dataset (churn eval --data DIR; the nightly job does)")
		return s, nil
	}
	switch ls.Mode {
	case features.LabelChurnDate, features.LabelChurnEvents, features.LabelInactivity:
	default:
		s.Notes = append(s.Notes, fmt.Sprintf("label mode %s has no churn dates, so no Kaplan-Meier curves", ls.Mode))
		return s, nil
	}
	end, err := data.ParseDate(ls.DataEnd)
	if err != nil || end == data.NoDate {
		s.Notes = append(s.Notes, "the table has no data end, so no Kaplan-Meier curves")
		return s, nil
	}
	lc := features.LabelConfig{Mode: ls.Mode, Horizon: ls.HorizonDay, Gap: ls.GapDays, DataEnd: end}
	shards := ds.Shards(cfg.Workers)
	accs := make([]*survivalAcc, len(shards))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	opt := survivalInputs(ls.Mode)
	for k, r := range shards {
		accs[k] = newSurvivalAcc(&lc, cfg.Retention.Cohort, tr)
		g.Go(func() error {
			_, err := ds.Scan(gctx, r, opt, func(h *data.History) error {
				accs[k].add(h)
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return s, fmt.Errorf("retention curves: %w", err)
	}
	acc := newSurvivalAcc(&lc, cfg.Retention.Cohort, tr)
	for _, a := range accs {
		acc.merge(a)
	}
	return acc.report(s, cfg), nil
}

// report turns the histograms into s's groupings.
func (a *survivalAcc) report(s Survival, cfg Config) Survival {
	lvl, minN, np := cfg.Bootstrap.Level, cfg.Retention.MinGroup, cfg.Retention.CurvePoints
	s.Available = true
	s.Customers, s.Skipped = a.ok, a.bad
	if a.bad > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d customers are in no curve: no signup day (for inactivity labels: no order), signup after %s, or churn before signup", a.bad, s.DataEnd))
	}
	// Cohorts in period order; the small ones left out.
	keys := make([]int, 0, len(a.cohorts))
	for k := range a.cohorts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	co := SurvivalGrouping{By: "cohort", Origin: "signup", Groups: []SurvivalGroup{}}
	var small []string
	for _, k := range keys {
		if a.cohorts[k].size() < minN {
			small = append(small, cohortName(k, a.cohortBy))
			continue
		}
		co.Groups = append(co.Groups, survivalGroup(cohortName(k, a.cohortBy), a.cohorts[k], lvl, np))
	}
	if len(small) > 0 {
		co.Note = fmt.Sprintf("cohorts with fewer than %d customers are left out: %s", minN, strings.Join(small, ", "))
	}
	co.Charted = spread(co.Groups)
	s.Groupings = append(s.Groupings, co)
	for _, g := range []struct {
		by string
		m  map[string]kmHist
	}{{"plan", a.plans}, {"segment", a.segments}} {
		if len(g.m) == 1 && g.m["(missing)"] != nil {
			continue // the dataset has no such column
		}
		s.Groupings = append(s.Groupings, levels(g.by, g.m, minN, lvl, np))
	}
	if a.tierRows != nil {
		tg := SurvivalGrouping{By: "risk_tier", Origin: "as_of", Groups: []SurvivalGroup{}}
		for k, name := range []string{TierHigh, TierMedium, TierLow} {
			if a.tiers[k].size() > 0 {
				tg.Groups = append(tg.Groups, survivalGroup(name, a.tiers[k], lvl, np))
			}
		}
		tg.Charted = firstNames(tg.Groups)
		tg.Note = fmt.Sprintf("evaluated rows by the model's risk tier at their as-of date (top %s high, next %s medium, per date), followed to %s", fmtPct(Num(cfg.Retention.HighShare)), fmtPct(Num(cfg.Retention.MediumShareOr())), s.DataEnd)
		s.Groupings = append(s.Groupings, tg)
	}
	return s
}

// levels makes the grouping of a customer attribute: levels by size
// (then name), those under minN merged into "other" (last).
func levels(by string, m map[string]kmHist, minN int, lvl float64, np int) SurvivalGrouping {
	g := SurvivalGrouping{By: by, Origin: "signup", Groups: []SurvivalGroup{}}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	other, merged := kmHist{}, 0
	var keep []string
	for _, k := range names {
		if m[k].size() < minN {
			other.merge(m[k])
			merged++
			continue
		}
		keep = append(keep, k)
	}
	slices.SortStableFunc(keep, func(a, b string) int { return cmp.Compare(m[b].size(), m[a].size()) })
	for _, k := range keep {
		g.Groups = append(g.Groups, survivalGroup(k, m[k], lvl, np))
	}
	if merged > 0 {
		g.Groups = append(g.Groups, survivalGroup("other", other, lvl, np))
		g.Note = fmt.Sprintf("%d %s values with fewer than %d customers each are merged into other", merged, by, minN)
	}
	g.Charted = firstNames(g.Groups)
	return g
}

// firstNames names the first MaxCurves groups (plans and segments come
// largest first, tiers are three).
func firstNames(gs []SurvivalGroup) []string {
	out := make([]string, 0, min(len(gs), MaxCurves))
	for _, g := range gs[:min(len(gs), MaxCurves)] {
		out = append(out, g.Name)
	}
	return out
}

// spread names MaxCurves cohorts spread evenly from the oldest to the
// newest (all of them when there are few enough), so the chart shows how
// retention changes across signup periods.
func spread(gs []SurvivalGroup) []string {
	n := len(gs)
	if n <= MaxCurves {
		return firstNames(gs)
	}
	out := make([]string, MaxCurves)
	for k := range out {
		out[k] = gs[int(math.Round(float64(k)*float64(n-1)/float64(MaxCurves-1)))].Name
	}
	return out
}

func survivalGroup(name string, h kmHist, lvl float64, np int) SurvivalGroup {
	c := h.curve(lvl)
	g := SurvivalGroup{Name: name, Subjects: int(c.N), Churned: int(c.Events), Median: Num(c.Median), MedianLower: Num(c.MedianLower), MedianUpper: Num(c.MedianUpper),
		At365: Interval{nan(), nan(), nan()}}
	if n := len(c.Points); n > 0 && c.Points[n-1].Time >= 365 {
		s, lo, hi := c.At(365)
		g.At365 = Interval{Num(s), Num(lo), Num(hi)}
	}
	g.Curve = thinCurve(c.Points, np)
	return g
}

// thinCurve returns the points of a curve, merged into at most n: the
// time axis is cut into n equal stretches and each keeps its last point,
// with the stretch's events and censorings and its first point's number
// at risk. The last point stays exact.
func thinCurve(pts []metrics.KMPoint, n int) []SurvivalPoint {
	out := make([]SurvivalPoint, 0, min(len(pts), n))
	if len(pts) == 0 {
		return out
	}
	end := pts[len(pts)-1].Time
	bin := func(t float64) int {
		if len(pts) <= n || end <= 0 {
			return int(t) // every point its own stretch (times are days)
		}
		return min(int(t/end*float64(n)), n-1)
	}
	for k := 0; k < len(pts); {
		b := bin(pts[k].Time)
		sp := SurvivalPoint{AtRisk: int(pts[k].AtRisk)}
		j := k
		for ; j < len(pts) && bin(pts[j].Time) == b; j++ {
			sp.Events += int(pts[j].Events)
			sp.Censored += int(pts[j].Censored)
		}
		last := pts[j-1]
		sp.Days, sp.Survival, sp.Lower, sp.Upper = int(last.Time), Num(last.Survival), Num(last.Lower), Num(last.Upper)
		out = append(out, sp)
		k = j
	}
	return out
}

// kmCurve turns a group's points back into a curve for the charts.
func (g *SurvivalGroup) kmCurve() metrics.KMCurve {
	c := metrics.KMCurve{N: float64(g.Subjects), Events: float64(g.Churned), Median: g.Median.F(), MedianLower: g.MedianLower.F(), MedianUpper: g.MedianUpper.F()}
	for _, p := range g.Curve {
		c.Points = append(c.Points, metrics.KMPoint{Time: float64(p.Days), AtRisk: float64(p.AtRisk), Events: float64(p.Events), Censored: float64(p.Censored),
			Survival: p.Survival.F(), Lower: p.Lower.F(), Upper: p.Upper.F()})
	}
	return c
}
