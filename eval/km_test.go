package eval

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
)

// kmHistory is a customer's history for the lifetime tests.
func kmHistory(id, signup, churn string, events [][2]string, orders ...string) *data.History {
	h := &data.History{Customer: data.Customer{ID: id, SignupDate: optDay(signup), ChurnDate: optDay(churn), Plan: "pro", Segment: "smb"}}
	for _, e := range events {
		h.ChurnEvents = append(h.ChurnEvents, data.ChurnEvent{ChurnDate: optDay(e[0]), ReactivatedAt: optDay(e[1])})
	}
	for _, o := range orders {
		h.Orders = append(h.Orders, data.Order{TS: day(o).Start() + 3600e6})
	}
	return h
}

func optDay(s string) data.Date {
	if s == "" {
		return data.NoDate
	}
	return day(s)
}

// TestLifetimeOf checks the churn seen for a customer from signup and
// from an as-of date: churns after the data end are not seen (censored
// exactly at the data end), reactivations end a spell, bad rows are left
// out.
func TestLifetimeOf(t *testing.T) {
	end := day("2024-12-31")
	byDate := &features.LabelConfig{Mode: features.LabelChurnDate, Horizon: 30, DataEnd: end}
	byEvent := &features.LabelConfig{Mode: features.LabelChurnEvents, Horizon: 30, DataEnd: end}
	byOrder := &features.LabelConfig{Mode: features.LabelInactivity, Horizon: 30, DataEnd: end}
	cases := []struct {
		name  string
		h     *data.History
		lc    *features.LabelConfig
		ok    bool
		from  string // origin; "" is the signup
		want  string // churn day seen, or the censoring day
		churn bool
	}{
		{"churned", kmHistory("a", "2024-01-01", "2024-03-01", nil), byDate, true, "", "2024-03-01", true},
		{"still there: censored at the data end", kmHistory("a", "2024-01-01", "", nil), byDate, true, "", "2024-12-31", false},
		{"churned on the data end", kmHistory("a", "2024-01-01", "2024-12-31", nil), byDate, true, "", "2024-12-31", true},
		{"churn after the data end is not seen", kmHistory("a", "2024-01-01", "2025-01-01", nil), byDate, true, "", "2024-12-31", false},
		{"churn on the signup day", kmHistory("a", "2024-01-01", "2024-01-01", nil), byDate, true, "", "2024-01-01", true},
		{"churn before signup", kmHistory("a", "2024-02-01", "2024-01-01", nil), byDate, false, "", "", false},
		{"no signup", kmHistory("a", "", "2024-03-01", nil), byDate, false, "", "", false},
		{"signup after the data end", kmHistory("a", "2025-01-05", "", nil), byDate, false, "", "", false},
		{"first event", kmHistory("a", "2024-01-01", "", [][2]string{{"2024-06-01", "2024-07-01"}, {"2024-09-01", ""}}), byEvent, true, "", "2024-06-01", true},
		{"after a reactivation: the next event", kmHistory("a", "2024-01-01", "", [][2]string{{"2024-09-01", ""}, {"2024-06-01", "2024-07-01"}}), byEvent, true, "2024-07-01", "2024-09-01", true},
		{"as-of inside a spell: churned at once", kmHistory("a", "2024-01-01", "", [][2]string{{"2024-06-01", "2024-07-01"}}), byEvent, true, "2024-06-15", "2024-06-15", true},
		{"reactivated the same day: never gone", kmHistory("a", "2024-01-01", "", [][2]string{{"2024-06-01", "2024-06-01"}}), byEvent, true, "", "2024-12-31", false},
		{"event after the data end", kmHistory("a", "2024-01-01", "", [][2]string{{"2025-02-01", ""}}), byEvent, true, "", "2024-12-31", false},
		// Horizon 30 days. Orders on 01-10, 01-20 (10 days later: not
		// lapsed), 03-01 (41 days after 01-20: lapsed on 02-19 until
		// 02-29), 05-01 (lapsed 03-31 … 04-30), 12-20 (lapsed on 2025-01-19,
		// after the data end: not seen).
		{"inactivity: first lapse", kmHistory("a", "", "", nil, "2024-01-20", "2024-01-10", "2024-03-01", "2024-12-20"), byOrder, true, "", "2024-02-19", true},
		{"inactivity: inside a lapse", kmHistory("a", "", "", nil, "2024-01-10", "2024-01-20", "2024-03-01", "2024-12-20"), byOrder, true, "2024-02-25", "2024-02-25", true},
		{"inactivity: back, then the next lapse", kmHistory("a", "", "", nil, "2024-01-10", "2024-01-20", "2024-03-01", "2024-05-01", "2024-12-20"), byOrder, true, "2024-03-01", "2024-03-31", true},
		{"inactivity: last lapse after the data end", kmHistory("a", "", "", nil, "2024-01-10", "2024-01-20", "2024-12-20"), byOrder, true, "2024-12-20", "2024-12-31", false},
		{"inactivity: lapse on the data end", kmHistory("a", "2024-01-01", "", nil, "2024-12-01"), byOrder, true, "2024-12-01", "2024-12-31", true},
		{"inactivity: no orders", kmHistory("a", "2024-01-01", "", nil), byOrder, false, "", "", false},
		{"snapshot labels have no dates", kmHistory("a", "2024-01-01", "2024-03-01", nil), &features.LabelConfig{Mode: features.LabelSnapshot, DataEnd: end}, false, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, ok := lifetimeOf(c.h, c.lc, nil)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			from := l.signup
			if c.from != "" {
				from = day(c.from)
			}
			d, churned := l.churnAfter(from)
			if d != day(c.want) || churned != c.churn {
				t.Errorf("churnAfter(%s) = %s, %v; want %s, %v", from, d, churned, c.want, c.churn)
			}
		})
	}
}

// TestSurvivalAccCounts builds the histograms from hand-made customers:
// ties count together, the censoring time is data end − signup exactly,
// and risk-tier rows are timed from their as-of date.
func TestSurvivalAccCounts(t *testing.T) {
	lc := &features.LabelConfig{Mode: features.LabelChurnDate, Horizon: 30, DataEnd: day("2024-12-31")}
	tab := &features.Table{IDs: []string{"a", "b", "b"}, AsOf: []data.Date{day("2024-02-01"), day("2024-02-01"), day("2024-03-01")}}
	tr := &tierRows{t: tab, rows: []tierRow{{row: 0, tier: 0}, {row: 1, tier: 2}, {row: 2, tier: 2}}}
	acc := newSurvivalAcc(lc, "quarter", tr)
	for _, h := range []*data.History{
		kmHistory("a", "2024-01-01", "2024-03-01", nil), // 60 days
		kmHistory("b", "2024-01-01", "", nil),           // censored at 365 days
		kmHistory("c", "2024-02-01", "2024-03-31", nil), // 59 days
		kmHistory("d", "2024-01-02", "2024-03-01", nil), // 59 days: a tie with c
		kmHistory("e", "2024-04-01", "2025-02-01", nil), // after the data end: censored at 274 days
		kmHistory("f", "", "2024-03-01", nil),           // no signup: skipped
	} {
		acc.add(h)
	}
	if acc.ok != 5 || acc.bad != 1 {
		t.Fatalf("ok %d, bad %d", acc.ok, acc.bad)
	}
	q1, _ := cohortOf(day("2024-01-01"), 0, "quarter")
	q2, _ := cohortOf(day("2024-04-01"), 0, "quarter")
	want := map[int]kmHist{q1: {60: {1, 0}, 59: {2, 0}, 365: {0, 1}}, q2: {274: {0, 1}}}
	for k, h := range want {
		if !mapsEqual(acc.cohorts[k], h) {
			t.Errorf("cohort %s: %v, want %v", cohortName(k, "quarter"), acc.cohorts[k], h)
		}
	}
	if got := acc.plans["pro"]; got.size() != 5 {
		t.Errorf("plan pro holds %d customers", got.size())
	}
	// a: high at 02-01, churned 03-01 (29 days); b: low at 02-01 and
	// 03-01, censored at 334 and 305 days.
	if !mapsEqual(acc.tiers[0], kmHist{29: {1, 0}}) || !mapsEqual(acc.tiers[2], kmHist{334: {0, 1}, 305: {0, 1}}) || len(acc.tiers[1]) != 0 {
		t.Errorf("tiers %v", acc.tiers)
	}
	// The curve of the ties: 4 at risk, 2 churn at 59 days.
	c := acc.cohorts[q1].curve(0.95)
	if p := c.Points[0]; p.Time != 59 || p.AtRisk != 4 || p.Events != 2 || math.Abs(p.Survival-0.5) > 1e-12 {
		t.Errorf("first point %+v", p)
	}
}

func mapsEqual(a, b kmHist) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRiskTiers: tiers are cut per as-of date by probability, ties by row.
func TestRiskTiers(t *testing.T) {
	tab := &features.Table{}
	var p []float64
	for d, date := range []string{"2024-01-01", "2024-02-01"} {
		for i := range 20 {
			tab.IDs = append(tab.IDs, string(rune('A'+i)))
			tab.AsOf = append(tab.AsOf, day(date))
			p = append(p, float64((i*7+d*3)%20)/20) // a permutation of 0..19 per date
		}
	}
	sel := make([]int, len(p))
	for i := range sel {
		sel[i] = i
	}
	tr := riskTiers(tab, sel, p, 0.05, 0.15)
	count := map[data.Date][3]int{}
	for _, r := range tr.rows {
		c := count[tab.AsOf[r.row]]
		c[r.tier]++
		count[tab.AsOf[r.row]] = c
	}
	for d, c := range count {
		if c != [3]int{1, 3, 16} {
			t.Errorf("%s: tiers %v, want 1 high, 3 medium, 16 low", d, c)
		}
	}
	for _, r := range tr.rows {
		if r.tier == 0 && p[r.row] != 0.95 {
			t.Errorf("high tier holds p = %v", p[r.row])
		}
	}
	if got := tr.of("C"); len(got) != 2 || tab.AsOf[got[0].row] > tab.AsOf[got[1].row] || tab.IDs[got[1].row] != "C" {
		t.Errorf("rows of C: %+v", got)
	}
	if got := tr.of("ZZ"); len(got) != 0 {
		t.Errorf("rows of an unknown id: %+v", got)
	}
}

// TestThinCurve: at most n points, the last one exact, events and
// censorings kept.
func TestThinCurve(t *testing.T) {
	var pts []metrics.KMPoint
	s := 1.0
	for d := 1; d <= 1000; d++ {
		s *= 0.999
		pts = append(pts, metrics.KMPoint{Time: float64(d), AtRisk: float64(2001 - d), Events: 1, Censored: 1, Survival: s, Lower: s - 0.01, Upper: s + 0.01})
	}
	got := thinCurve(pts, 50)
	if len(got) != 50 {
		t.Fatalf("%d points", len(got))
	}
	ev, cen := 0, 0
	for _, p := range got {
		ev += p.Events
		cen += p.Censored
	}
	last := got[len(got)-1]
	if ev != 1000 || cen != 1000 || last.Days != 1000 || last.Survival != Num(s) || got[0].AtRisk != 2000 {
		t.Errorf("events %d, censored %d, last %+v, first %+v", ev, cen, last, got[0])
	}
	if short := thinCurve(pts[:10], 50); len(short) != 10 || short[3].Days != 4 {
		t.Errorf("a short curve is kept whole: %+v", short)
	}
}

// TestReportSurvival checks the fixture report's curves against the
// fixture's own customers: every customer with a signup before their
// churn is in the signup curves, the tiers cover the evaluated rows and
// separate (high churns first), and without the dataset the section
// says why it is missing.
func TestReportSurvival(t *testing.T) {
	r := runFixtureCached(t)
	s := r.Retention.Survival
	f := loadFixture(t)
	bad := 0
	for _, c := range f.customers {
		if c.churn != data.NoDate && c.churn < c.signup {
			bad++
		}
	}
	if !s.Available || s.Customers != len(f.customers)-bad || s.Skipped != bad || s.DataEnd != "2024-12-31" {
		t.Fatalf("survival: available %v, %d customers, %d skipped (want %d), data end %s", s.Available, s.Customers, s.Skipped, bad, s.DataEnd)
	}
	by := map[string]SurvivalGrouping{}
	for _, g := range s.Groupings {
		by[g.By] = g
		if len(g.Charted) > MaxCurves {
			t.Errorf("%s charts %d curves", g.By, len(g.Charted))
		}
	}
	tiers := by["risk_tier"]
	rows := 0
	for _, g := range tiers.Groups {
		rows += g.Subjects
	}
	if rows != r.Data.EvaluatedRows || len(tiers.Groups) != 3 {
		t.Fatalf("tier curves hold %d rows in %d tiers, want %d", rows, len(tiers.Groups), r.Data.EvaluatedRows)
	}
	high, low := tiers.Groups[0], tiers.Groups[2]
	if !(high.Median.Valid() && high.Median.F() < 120) || low.Median.Valid() {
		t.Errorf("high-risk median %v days, low-risk %v: the tiers should separate", high.Median, low.Median)
	}
	plans := 0
	for _, g := range by["plan"].Groups {
		plans += g.Subjects
	}
	if plans != s.Customers {
		t.Errorf("plans hold %d customers, want %d", plans, s.Customers)
	}
	html, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{`id="km-cohort"`, `id="km-plan"`, `id="km-segment"`, `id="km-risk_tier"`, `<h3 id="survival">`} {
		if !bytes.Contains(html, []byte(id)) {
			t.Errorf("report.html lacks %s", id)
		}
	}

	// The same curves whatever the number of scan shards.
	ds := writeFixtureDataset(t, f.customers)
	var js [2][]byte
	for k, workers := range []int{1, 3} {
		cfg := goldenConfig()
		cfg.Workers = workers
		s, err := survival(t.Context(), ds, f.table, nil, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if js[k], err = json.Marshal(s); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(js[0], js[1]) {
		t.Error("1 and 3 workers give different curves")
	}

	none, err := survival(t.Context(), nil, f.table, nil, goldenConfig())
	if err != nil || none.Available || len(none.Notes) != 1 || none.Groupings == nil {
		t.Errorf("without a dataset: %+v, %v", none, err)
	}
	// Snapshot labels have no dates: a note, no curves, no error.
	snap := *f.table
	spec := *f.table.Spec
	spec.Label.Mode = features.LabelSnapshot
	snap.Spec = &spec
	if s, err := survival(t.Context(), ds, &snap, nil, goldenConfig()); err != nil || s.Available || len(s.Groupings) != 0 || len(s.Notes) != 1 || s.Source != "snapshot" {
		t.Errorf("snapshot labels: %+v, %v", s, err)
	}
}

// TestTimeToChurn: the exported form of the lifetime rules, as churn
// review uses it, and SurvivalCounts' curve.
func TestTimeToChurn(t *testing.T) {
	lc := &features.LabelConfig{Mode: features.LabelChurnDate, Horizon: 30, DataEnd: day("2024-12-31")}
	var sc SurvivalCounts
	for _, c := range []struct {
		h             *data.History
		T             string
		days          int
		churned, okay bool
	}{
		{kmHistory("a", "2024-01-01", "2024-03-01", nil), "2024-02-01", 29, true, true},
		{kmHistory("b", "2024-01-01", "", nil), "2024-02-01", 334, false, true},
		{kmHistory("c", "2024-01-01", "2025-03-01", nil), "2024-12-01", 30, false, true},
		{kmHistory("d", "2024-01-01", "", nil), "2025-01-01", 0, false, false},
		{kmHistory("e", "", "", nil), "2024-02-01", 0, false, false},
	} {
		days, churned, ok := TimeToChurn(c.h, lc, day(c.T))
		if days != c.days || churned != c.churned || ok != c.okay {
			t.Errorf("%s from %s: %d days, churned %v, ok %v; want %d, %v, %v", c.h.Customer.ID, c.T, days, churned, ok, c.days, c.churned, c.okay)
		}
		if ok {
			sc.Add(days, churned)
		}
	}
	g := sc.Group("all", 0.95, 10)
	if g.Subjects != 3 || g.Churned != 1 || len(g.Curve) != 3 || g.Curve[0].Days != 29 || math.Abs(g.Curve[0].Survival.F()-2.0/3) > 1e-6 {
		t.Errorf("group %+v", g)
	}
	var empty SurvivalCounts
	if g := empty.Group("none", 0.95, 10); g.Subjects != 0 || len(g.Curve) != 0 || g.Median.Valid() {
		t.Errorf("empty group %+v", g)
	}
}
