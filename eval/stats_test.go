package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestRankMetrics checks AUC and average precision with ties against
// values worked out by hand, and the weighted one-pass version against
// internal/metrics and against duplicated rows.
func TestRankMetrics(t *testing.T) {
	for _, tt := range []struct {
		name    string
		p, y    []float64
		auc, ap float64
	}{
		// Pairs (pos, neg): (.9,.8)=1 (.9,.3)=1 (.8,.8)=½ (.8,.3)=1 → 3.5/4.
		// AP: .9 is a positive at precision 1; the tied block {.8, .8}
		// adds the second positive at precision 2/3 → (1 + 2/3)/2.
		{"ties", []float64{0.9, 0.8, 0.8, 0.3}, []float64{1, 0, 1, 0}, 0.875, 5.0 / 6},
		{"perfect", []float64{0.9, 0.7, 0.2, 0.1}, []float64{1, 1, 0, 0}, 1, 1},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []float64{1, 0, 0, 1}, 0.5, 0.5},
		{"reversed", []float64{0.1, 0.2, 0.8, 0.9}, []float64{1, 1, 0, 0}, 0, 5.0 / 12},
	} {
		t.Run(tt.name, func(t *testing.T) {
			auc, ap := newRanking(tt.p).rankMetrics(tt.y, nil)
			if !near(auc, tt.auc) || !near(ap, tt.ap) {
				t.Errorf("AUC, AP = %v, %v; want %v, %v", auc, ap, tt.auc, tt.ap)
			}
			if m := metrics.AUC(tt.p, tt.y, nil); !near(m, tt.auc) {
				t.Errorf("metrics.AUC = %v", m)
			}
		})
	}
	t.Run("weights are duplicated rows", func(t *testing.T) {
		p := []float64{0.9, 0.8, 0.8, 0.6, 0.3, 0.3, 0.1}
		y := []float64{1, 0, 1, 1, 0, 0, 1}
		w := []float64{2, 0, 1, 3, 1, 2, 1}
		var dp, dy []float64
		for i := range p {
			for range int(w[i]) {
				dp, dy = append(dp, p[i]), append(dy, y[i])
			}
		}
		s := newScored(p, y, calibrationEdges(p, 3, "quantile"))
		got := s.metricsW(w)
		if want := metrics.AUC(dp, dy, nil); !near(got[mAUC], want) {
			t.Errorf("AUC %v, want %v", got[mAUC], want)
		}
		if want := metrics.AveragePrecision(dp, dy, nil); !near(got[mPRAUC], want) {
			t.Errorf("AP %v, want %v", got[mPRAUC], want)
		}
		if want := metrics.LogLoss(p, y, w); !near(got[mLogLoss], want) {
			t.Errorf("log loss %v, want %v", got[mLogLoss], want)
		}
		if want := metrics.Brier(dp, dy, nil); !near(got[mBrier], want) {
			t.Errorf("Brier %v, want %v", got[mBrier], want)
		}
		if want := metrics.BaseRate(dy, nil); !near(got[mBaseRate], want) {
			t.Errorf("base rate %v, want %v", got[mBaseRate], want)
		}
		u := newScored(p, y, calibrationEdges(nil, 10, "uniform"))
		if got, want := u.metricsW(nil)[mECE], metrics.ECE(p, y, nil, 10); !near(got, want) {
			t.Errorf("ECE %v, want metrics.ECE %v", got, want)
		}
	})
}

// TestDeciles checks lift and gains on a toy ranking of 20 rows where the
// ranks 1, 2 and 5 churned: base rate 0.15, decile 1 (ranks 1–2) has rate
// 1 and lift 6.67 and catches 2 of 3 churners; decile 3 (ranks 5–6) has
// lift 3.33.
func TestDeciles(t *testing.T) {
	p := make([]float64, 20)
	y := make([]float64, 20)
	for i := range p {
		p[i] = float64(20 - i)
	}
	y[0], y[1], y[4] = 1, 1, 1
	d := deciles(newRanking(p), y)
	if len(d) != 10 || d[0].Rows != 2 || d[0].Positives != 2 || !near(d[0].Lift.F(), 1/0.15) || !near(d[0].CumCapture.F(), 2.0/3) {
		t.Fatalf("decile 1 = %+v", d[0])
	}
	if !near(d[2].Lift.F(), 0.5/0.15) || d[2].CumPositives != 3 || !near(d[2].CumLift.F(), 0.5/0.15) || !near(d[9].CumCapture.F(), 1) {
		t.Errorf("decile 3 = %+v, decile 10 = %+v", d[2], d[9])
	}
	if d[0].MaxScore != 20 || d[0].MinScore != 19 {
		t.Errorf("scores %v–%v", d[0].MinScore, d[0].MaxScore)
	}
}

// TestCost checks the cost-based threshold on a toy example: a churner is
// worth 1000, an intervention costs 100 and keeps half the churners, so
// contacting pays from p = 100 / (0.5 × 1000) = 0.2.
func TestCost(t *testing.T) {
	p := []float64{0.9, 0.8, 0.3, 0.1}
	y := []float64{1, 0, 1, 0}
	c := costResult(newRanking(p), y, CostConfig{MissedChurner: 1000, Intervention: 100, SuccessRate: 0.5}, 2)
	// Contacts 0.9, 0.8, 0.3: two churners kept half the time
	// (2 × 500) for 3 × 100.
	want := CostResult{Threshold: 0.2, Contacted: 3, Savings: 700, ExpectedSavings: 700, SavingsPerAsOf: 350, BestThreshold: 0.3, BestSavings: 700, BestContacted: 3, ContactAllSavings: 600,
		Confusion: Confusion{TP: 2, FP: 1, FN: 0, TN: 1}}
	if !near(c.Threshold.F(), 0.2) || c.Contacted != want.Contacted || !near(c.Savings.F(), 700) || !near(c.ExpectedSavings.F(), 700) ||
		!near(c.SavingsPerAsOf.F(), 350) || c.BestThreshold != want.BestThreshold || !near(c.BestSavings.F(), 700) || c.BestContacted != 3 ||
		!near(c.ContactAllSavings.F(), 600) || c.Confusion != want.Confusion {
		t.Errorf("got %+v", c)
	}
	// When no contact pays, the best threshold is null (+Inf).
	c = costResult(newRanking(p), y, CostConfig{MissedChurner: 100, Intervention: 100, SuccessRate: 0.5}, 1)
	if c.Contacted != 0 || !math.IsInf(c.BestThreshold.F(), 1) || c.BestSavings != 0 {
		t.Errorf("nothing pays: %+v", c)
	}
}

func TestCapacityAndThreshold(t *testing.T) {
	d1, d2 := day("2024-01-01"), day("2024-02-01")
	p := []float64{0.9, 0.1, 0.5, 0.7, 0.8, 0.2}
	y := []float64{1, 1, 0, 1, 0, 0}
	asOf := []data.Date{d1, d1, d1, d2, d2, d2}
	c := capacityAt(p, y, asOf, 1)
	// d1: top is 0.9 (churned) of 2 churners; d2: top is 0.8 (stayed).
	if c.Contacted != 2 || c.Caught != 1 || c.Churners != 3 || !near(c.Precision.F(), 0.5) || !near(c.Recall.F(), 1.0/3) || len(c.PerAsOf) != 2 || c.PerAsOf[0].Caught != 1 || c.PerAsOf[1].Caught != 0 {
		t.Errorf("capacity = %+v", c)
	}
	th := thresholdResult(p, y, 0.5)
	if th.Confusion != (Confusion{TP: 2, FP: 2, FN: 1, TN: 1}) || !near(th.Precision.F(), 0.5) || !near(th.F1.F(), 4.0/7) {
		t.Errorf("threshold = %+v", th)
	}
}

// TestPSI checks the index by hand: shares (0.5, 0.5) → (0.25, 0.75) give
// −0.25·ln 0.5 + 0.25·ln 1.5 = 0.27465.
func TestPSI(t *testing.T) {
	if got, want := PSI([]float64{0.5, 0.5}, []float64{0.25, 0.75}), 0.25*math.Log(2)+0.25*math.Log(1.5); !near(got, want) || !near(math.Round(got*1e5)/1e5, 0.27465) {
		t.Errorf("PSI = %v, want %v", got, want)
	}
	if got := PSI([]float64{0.2, 0.3, 0.5}, []float64{0.2, 0.3, 0.5}); got != 0 {
		t.Errorf("PSI of equal shares = %v", got)
	}
	// An empty bin is floored at 1e-4 instead of making the index infinite.
	if got := PSI([]float64{0.5, 0.5, 0}, []float64{0.5, 0.4, 0.1}); math.IsInf(got, 0) || got < 0.5 {
		t.Errorf("PSI with an empty reference bin = %v", got)
	}
	for _, tt := range []struct {
		psi  float64
		want string
	}{{0.05, "stable"}, {0.1, "stable"}, {0.15, "moderate"}, {0.2, "moderate"}, {0.21, "high"}} {
		if got := driftStatus(tt.psi, DriftConfig{Threshold: 0.2, Moderate: 0.1}); got != tt.want {
			t.Errorf("status(%v) = %s, want %s", tt.psi, got, tt.want)
		}
	}
	// Bins from a reference: numeric edges and categorical levels.
	ref := &train.Distribution{Name: "x", Edges: []float64{1, 2}, Shares: []float64{0.25, 0.25, 0.25, 0.25}}
	vals := []float64{0, 1.5, 2.5, 3, math.NaN(), 5, 6, 7}
	counts := make([]float64, len(ref.Shares))
	for _, v := range vals {
		counts[ref.Bin(v)]++
	}
	it := driftItem(ref, counts, float64(len(vals)), DriftConfig{Threshold: 0.2, Moderate: 0.1})
	if want := []Num{0.125, 0.125, 0.625, 0.125}; !slices.Equal(it.Actual, want) {
		t.Errorf("actual shares %v, want %v", it.Actual, want)
	}
	if want := PSI([]float64{0.25, 0.25, 0.25, 0.25}, []float64{0.125, 0.125, 0.625, 0.125}); !near(it.PSI.F(), want) || it.Status != "high" {
		t.Errorf("PSI %v (%s), want %v", it.PSI, it.Status, want)
	}
}

// TestRetention checks CRR, GRR and NRR by hand. At d1 the customers are
// A, B, C, D (mrr 100, 100, 200, 0); at d2 A, B, E (150, 50, 300).
// CRR = (3 − 1 new) / 4 = 50%; NRR = (150 + 50) / 400 = 50%;
// GRR = (min(150,100) + min(50,100)) / 400 = 37.5%.
func TestRetention(t *testing.T) {
	spec := &features.Spec{Label: features.LabelSpec{HorizonDay: 90}, Features: []features.Def{
		{Name: "mrr", Kind: features.Numeric}, {Name: "tenure_days", Kind: features.Numeric}, {Name: "segment", Kind: features.Categorical},
	}}
	d1, d2 := day("2024-04-01"), day("2024-05-01")
	tab := &features.Table{Spec: spec,
		IDs:   []string{"A", "B", "C", "D", "A", "B", "E"},
		AsOf:  []data.Date{d1, d1, d1, d1, d2, d2, d2},
		Label: []float64{0, 0, 1, 1, 0, math.NaN(), 0},
		Num: [][]float64{
			{100, 100, 200, math.NaN(), 150, 50, 300},
			{400, 10, 100, 45, 430, 40, 5}, // signups 2023-02-26, 2024-03-22, 2023-12-23, 2024-02-16, …, 2024-04-26
			nil},
		Cat: [][]string{nil, nil, {"smb", "smb", "ent", "", "smb", "smb", "ent"}},
	}
	r := retention(tab, RetentionConfig{Cohort: "quarter"})
	if len(r.Periods) != 1 || !r.Revenue {
		t.Fatalf("retention = %+v", r)
	}
	p := r.Periods[0]
	if p.Start != 4 || p.End != 3 || p.New != 1 || p.Retained != 2 || !near(p.CRR.F(), 50) {
		t.Errorf("customers: %+v", p)
	}
	if !near(p.StartMRR.F(), 400) || !near(p.EndMRR.F(), 500) || !near(p.RetainedMRR.F(), 200) || !near(p.NRR.F(), 50) || !near(p.GRR.F(), 37.5) {
		t.Errorf("revenue: %+v", p)
	}
	var got []string
	for _, c := range r.Cohorts {
		got = append(got, c.Cohort)
	}
	if want := []string{"2023-Q1", "2023-Q4", "2024-Q1", "2024-Q2"}; !slices.Equal(got, want) {
		t.Errorf("cohorts %v, want %v", got, want)
	}
	if q1 := r.Cohorts[2]; q1.Customers != 2 || q1.LabelledRows != 2 || q1.Positives != 1 || q1.ChurnedCustomers != 1 || !near(q1.ChurnRate.F(), 0.5) {
		t.Errorf("2024-Q1 cohort = %+v", q1)
	}
	if r.SegmentFeature != "segment" || len(r.BySegment) != 3 || r.BySegment[0].Level != "(missing)" || r.BySegment[1].Level != "ent" || r.BySegment[1].Positives != 1 {
		t.Errorf("by segment = %+v", r.BySegment)
	}
	// A static mrr gives no revenue retention.
	spec.Features[0].Static = true
	if r := retention(tab, RetentionConfig{Cohort: "month"}); r.Revenue || r.Periods[0].NRR.Valid() || !strings.Contains(strings.Join(r.Notes, " "), "today's value") || r.Cohorts[0].Cohort != "2023-02" {
		t.Errorf("static mrr: %+v", r)
	}
}

// TestBootstrap checks that the intervals contain the point estimates,
// depend only on the seed (not on the number of workers), and change with
// it.
func TestBootstrap(t *testing.T) {
	f := loadFixture(t)
	var rows []int
	for i, y := range f.table.Label {
		if !math.IsNaN(y) {
			rows = append(rows, i)
		}
	}
	sc, err := f.model.Score(context.Background(), f.table, rows, false)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]float64, len(rows))
	for k, i := range rows {
		y[k] = f.table.Label[i]
	}
	s := newScored(sc.Prob, y, calibrationEdges(sc.Prob, 10, "quantile"))
	cl, n := clusters(f.table, rows)
	run := func(seed uint64, workers int) *bootstrapResult {
		b, err := bootstrap(context.Background(), s, nil, cl, n, 300, seed, workers)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := run(5, 1), run(5, 2), run(6, 2)
	point := s.metricsW(nil)
	for m := 0; m < numMetrics; m++ {
		if !slices.Equal(a.vals[m], b.vals[m]) {
			t.Errorf("metric %d: resamples depend on the number of workers", m)
		}
		if slices.Equal(a.vals[m], c.vals[m]) {
			t.Errorf("metric %d: another seed gave the same resamples", m)
		}
		lo, hi, undefined := percentileInterval(a.vals[m], 0.95)
		if undefined > 0 || !(lo < hi) {
			t.Errorf("metric %d: interval %v–%v, %d undefined", m, lo, hi, undefined)
		}
		if m != mECE && (point[m] < lo || point[m] > hi) { // ECE is biased upwards under resampling: Run widens its interval
			t.Errorf("metric %d: point %v outside %v–%v", m, point[m], lo, hi)
		}
	}
}

func TestHealthRules(t *testing.T) {
	spec := fixtureSpec(nil)
	rules := applicableRules(spec)
	var names []string
	for _, r := range rules {
		names = append(names, r.Feature)
	}
	if want := []string{"nps_detractor", "utilisation", "escalations_90d", "cancel_page_views_30d", "training_views_90d", "days_to_renewal"}; !slices.Equal(names, want) {
		t.Errorf("rules for %v", names)
	}
	tab := &features.Table{Spec: spec, Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features))}
	row := map[string]float64{"nps_detractor": 1, "utilisation": 0.3, "escalations_90d": 0, "cancel_page_views_30d": 2, "training_views_90d": math.NaN(), "days_to_renewal": 90}
	for i, d := range spec.Features {
		if d.Kind == features.Categorical {
			tab.Cat[i] = []string{""}
		} else {
			v, ok := row[d.Name]
			if !ok {
				v = math.NaN()
			}
			tab.Num[i] = []float64{v}
		}
	}
	// detractor 2 + low utilisation 2 + cancel page 3 + renewal 1; a
	// missing value meets no condition.
	if got := healthScore(tab, []int{0}, rules); got[0] != 8 {
		t.Errorf("health score %v, want 8", got[0])
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	c, err := LoadConfig(write("capacity: 50\ncost:\n  missed_churner: 2400\nbacktest:\n  origins: 6\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Capacity != 50 || c.Cost.MissedChurner != 2400 || c.Cost.Intervention != 50 || c.Backtest.Origins != 6 || c.Bootstrap.Resamples != 500 {
		t.Errorf("config = %+v", c)
	}
	if _, err := LoadConfig(write("")); err != nil {
		t.Errorf("empty file: %v", err)
	}
	// 0 is a valid medium share (no medium tier), not "use the default".
	for yaml, want := range map[string]float64{"": 0.15, "retention:\n  medium_share: 0\n": 0, "retention:\n  medium_share: 0.3\n": 0.3} {
		c, err := LoadConfig(write(yaml))
		if err != nil {
			t.Fatalf("%q: %v", yaml, err)
		}
		if got := c.Retention.MediumShareOr(); got != want {
			t.Errorf("%q: medium share %v, want %v", yaml, got, want)
		}
	}
	for _, tt := range []struct{ yaml, want string }{
		{"capacty: 5\n", "c.yaml:1: invalid YAML: field capacty not found"},
		{"threshold: 2\n", "threshold 2: want"},
		{"calibration:\n  binning: log\n", "calibration.binning \"log\""},
		{"rows: some\n", "rows \"some\""},
		{"bootstrap:\n  customers: 50\n", "bootstrap.customers 50"},
		{"backtest:\n  every: -7\n", "backtest.every -7"},
		{"backtest:\n  every: 400\n", "backtest.every 400"},
		{"retention:\n  medium_share: -0.1\n", "retention.medium_share"},
	} {
		if _, err := LoadConfig(write(tt.yaml)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.yaml, err, tt.want)
		}
	}
}

func TestNumJSON(t *testing.T) {
	for _, tt := range []struct {
		x    float64
		want string
	}{{math.NaN(), "null"}, {math.Inf(1), "null"}, {0.1234567, "0.123457"}, {-1e-9, "0"}, {12345.5, "12345.5"}, {2, "2"}} {
		b, _ := Num(tt.x).MarshalJSON()
		if string(b) != tt.want {
			t.Errorf("%v → %s, want %s", tt.x, b, tt.want)
		}
	}
}

// TestDriftCounterStreams checks that counting a population in batches
// gives the same drift as counting it whole.
func TestDriftCounterStreams(t *testing.T) {
	spec := &features.Spec{Features: []features.Def{{Name: "x", Kind: features.Numeric}, {Name: "plan", Kind: features.Categorical}}}
	mf := &train.Manifest{Reference: []train.Distribution{
		{Name: "x", Edges: []float64{1, 2}, Shares: []float64{0.3, 0.3, 0.3, 0.1}},
		{Name: "plan", Levels: []string{"a", features.OtherLevel}, Shares: []float64{0.5, 0.4, 0.1}},
		{Name: train.ScoreName, Edges: []float64{0.5}, Shares: []float64{0.8, 0.2, 0}},
	}}
	tab := &features.Table{Spec: spec, IDs: make([]string, 6), Num: [][]float64{{0, 1.5, 2.5, math.NaN(), 3, 0.5}, nil}, Cat: [][]string{nil, {"a", "b", "", "a", "a", "c"}}}
	prob := []float64{0.1, 0.2, 0.7, 0.9, 0.3, 0.4}
	whole, err := DriftOf(mf, &Population{Table: tab, Prob: prob, Label: "p"}, DriftConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewDriftCounter(mf, spec, DriftConfig{})
	c.Add(tab, []int{0, 1, 2}, prob[:3])
	c.Add(tab, []int{3, 4, 5}, prob[3:])
	parts := c.Drift("p")
	a, _ := json.Marshal(whole)
	b, _ := json.Marshal(parts)
	if string(a) != string(b) {
		t.Errorf("batched drift differs:\n%s\n%s", a, b)
	}
	if whole.Rows != 6 || len(whole.Features) != 2 {
		t.Errorf("drift = %+v", whole)
	}
}

// TestDriftCounterWeights: a sample's rows count by their weights, as the
// training reference counts them: a table with integer weights drifts as
// the table with each row repeated that many times.
func TestDriftCounterWeights(t *testing.T) {
	spec := &features.Spec{Features: []features.Def{{Name: "x", Kind: features.Numeric}, {Name: "plan", Kind: features.Categorical}}}
	mf := &train.Manifest{Reference: []train.Distribution{
		{Name: "x", Edges: []float64{1, 2}, Shares: []float64{0.3, 0.3, 0.3, 0.1}},
		{Name: "plan", Levels: []string{"a", features.OtherLevel}, Shares: []float64{0.5, 0.4, 0.1}},
		{Name: train.ScoreName, Edges: []float64{0.5}, Shares: []float64{0.8, 0.2, 0}},
	}}
	xs, plans, prob, ws := []float64{0, 1.5, 2.5, math.NaN()}, []string{"a", "b", "", "a"}, []float64{0.1, 0.7, 0.2, 0.9}, []float64{3, 1, 2, 1}
	weighted := &features.Table{Spec: spec, IDs: make([]string, 4), Num: [][]float64{xs, nil}, Cat: [][]string{nil, plans}, Weight: ws}
	rep := &features.Table{Spec: spec, Num: [][]float64{nil, nil}, Cat: [][]string{nil, nil}}
	var repProb []float64
	for i, w := range ws {
		for k := 0; k < int(w); k++ {
			rep.IDs = append(rep.IDs, "")
			rep.Num[0] = append(rep.Num[0], xs[i])
			rep.Cat[1] = append(rep.Cat[1], plans[i])
			repProb = append(repProb, prob[i])
		}
	}
	a, err := DriftOf(mf, &Population{Table: weighted, Prob: prob, Label: "p"}, DriftConfig{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := DriftOf(mf, &Population{Table: rep, Prob: repProb, Label: "p"}, DriftConfig{})
	if err != nil {
		t.Fatal(err)
	}
	a.Rows, b.Rows = 0, 0 // rows counted differ; shares do not
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("weighted drift differs from repeated rows':\n%s\n%s", ja, jb)
	}
}
