package review

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/predict"
)

var fixedNow = func() time.Time { return time.Date(2024, 12, 1, 3, 0, 0, 0, time.UTC) }

func runFixture(t *testing.T, f *fixture, mod func(*Options)) *Review {
	t.Helper()
	opt := Options{Dataset: f.open(t), Out: f.out, AsOf: day("2024-12-01"), Config: Config{MinPerArm: 2}, Now: fixedNow}
	if mod != nil {
		mod(&opt)
	}
	rep, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func findPlay(t *testing.T, rep *Review, name string) Play {
	t.Helper()
	for _, p := range rep.Plays {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no play %s in %+v", name, rep.Plays)
	return Play{}
}

// TestFixtureRuns checks the past runs' realised and estimated metrics
// against the labels worked out by hand (see newFixture).
func TestFixtureRuns(t *testing.T) {
	f := newFixture(t)
	rep := runFixture(t, f, nil)
	if rep.AsOf != "2024-12-01" || rep.DataEnd != "2024-11-30" || rep.Label.Mode != "churn_events" || rep.Label.HorizonDays != 90 {
		t.Fatalf("review as of %s, data end %s, label %+v", rep.AsOf, rep.DataEnd, rep.Label)
	}
	if len(rep.Runs) != 2 {
		t.Fatalf("%d runs", len(rep.Runs))
	}
	closed, open := rep.Runs[0], rep.Runs[1]
	if closed.Status != "closed" || closed.WindowEnd != "2024-05-30" || open.Status != "open" || open.WindowEnd != "2024-12-30" {
		t.Fatalf("runs %s %s %s, %s %s %s", closed.AsOf, closed.Status, closed.WindowEnd, open.AsOf, open.Status, open.WindowEnd)
	}
	// Run 2024-03-01: 40 rows, churners C01, C05, C09, C11 within 90 days.
	var p, y []float64
	for _, r := range f.runs[day("2024-03-01")] {
		p = append(p, r["churn_probability"].(float64))
		switch r["customer_id"] {
		case "C01", "C05", "C09", "C11":
			y = append(y, 1)
		default:
			y = append(y, 0)
		}
	}
	if closed.Rows != 40 || closed.MeasuredRows != 40 || closed.Churned != 4 || closed.ModelVersion != "m-2024-03-01" {
		t.Errorf("closed run: rows %d, measured %d, churned %d, model %s", closed.Rows, closed.MeasuredRows, closed.Churned, closed.ModelVersion)
	}
	if !near(closed.ROCAUC.F(), metrics.AUC(p, y, nil), 1e-6) || !near(closed.PRAUC.F(), metrics.AveragePrecision(p, y, nil), 1e-6) {
		t.Errorf("realised AUC %v, PR AUC %v; want %v, %v", closed.ROCAUC, closed.PRAUC, metrics.AUC(p, y, nil), metrics.AveragePrecision(p, y, nil))
	}
	if lo, hi := closed.ROCAUCCI[0], closed.ROCAUCCI[1]; !(lo <= closed.ROCAUC && closed.ROCAUC <= hi && lo < hi) {
		t.Errorf("AUC interval %v does not hold %v", closed.ROCAUCCI, closed.ROCAUC)
	}
	// The top 4 rows (top tenth) hold C01 and … : 1 churner? C01 only; base rate 4/40.
	if !near(closed.TopDecileLift.F(), (1.0/4)/(4.0/40), 1e-9) || !near(closed.PrecisionAtCapacity.F(), 4.0/40, 1e-9) {
		t.Errorf("lift %v, precision at capacity %v", closed.TopDecileLift, closed.PrecisionAtCapacity)
	}
	// Tier cut: high and medium are C01…C16; churners among them C01, C05, C09, C11.
	if c := closed.Confusion; c == nil || c.Flagged != 16 || c.TP != 4 || c.FP != 12 || c.FN != 0 || c.TN != 24 {
		t.Errorf("confusion %+v", c)
	}
	sorted := &scoredRows{p: p, tier: make([]int8, len(p))}
	sorted.sortByRank()
	if want := expectedAUC(sorted.p); !near(closed.EstimatedROCAUC.F(), want, 1e-6) {
		t.Errorf("estimated AUC %v, want %v", closed.EstimatedROCAUC, want)
	}
	if !near(closed.EstimatedPrecisionAtCapacity.F(), metrics.Mean(p), 1e-6) {
		t.Errorf("estimated precision at capacity %v, want the mean probability %v (capacity above the rows)", closed.EstimatedPrecisionAtCapacity, metrics.Mean(p))
	}
	// The open run has estimates only.
	if open.Rows != 35 || open.ROCAUC.Valid() || open.Confusion != nil || !open.EstimatedROCAUC.Valid() || !(open.EstimatedROCAUCCI[0] < open.EstimatedROCAUC) {
		t.Errorf("open run %+v", open)
	}
	if rep.EstimateCheck.ClosedRuns != 1 {
		t.Errorf("estimate check %+v", rep.EstimateCheck)
	}
	var high Tier
	for _, tr := range rep.Calibration {
		if tr.Tier == "high" {
			high = tr
		}
	}
	if high.Measured != 3 || high.Churned != 1 || !near(high.ChurnRate.F(), 1.0/3, 1e-9) {
		t.Errorf("pooled high tier %+v", high)
	}
}

// TestFixturePlays checks units (first per customer and play, earliest
// source first), intent-to-treat and per-protocol figures, segments, saved
// customers and the run × play rows against the fixture's hand counts.
func TestFixturePlays(t *testing.T) {
	f := newFixture(t)
	rep := runFixture(t, f, nil)
	z := zScore(0.95)
	usage := findPlay(t, rep, "usage")
	// Treat C01…C08 (C01, C05 churn); control C09 (its interventions unit
	// of 2024-02-01 comes first; churns 2024-03-20), C10 (churns after its
	// window), C11 (churns), C12.
	if usage.Treated != 8 || usage.Control != 4 || usage.ChurnedTreated != 2 || usage.ChurnedControl != 2 || usage.TreatedOpen != 0 {
		t.Fatalf("usage %+v", usage)
	}
	d, lo, hi := newcombe(2, 4, 2, 8, z)
	if !near(usage.Uplift.F(), d, 1e-9) || !near(usage.UpliftCI[0].F(), lo, 1e-6) || !near(usage.UpliftCI[1].F(), hi, 1e-6) {
		t.Errorf("uplift %v %v, want %v [%v, %v]", usage.Uplift, usage.UpliftCI, d, lo, hi)
	}
	rr, rlo, rhi := katz(2, 8, 2, 4, z)
	if !near(usage.RelativeRiskReduction.F(), 1-rr, 1e-9) || !near(usage.RRRCI[0].F(), 1-rhi, 1e-6) || !near(usage.RRRCI[1].F(), 1-rlo, 1e-6) {
		t.Errorf("RRR %v %v", usage.RelativeRiskReduction, usage.RRRCI)
	}
	// MRR of the treated: annual revenue 1200·i / 12 for i = 1…8.
	if usage.MRRKnown != 8 || !near(usage.MRRTreated.F(), 100*36, 1e-9) || !near(usage.MRRSaved.F(), 0.25*3600, 1e-6) || !near(usage.CustomersSaved.F(), 2, 1e-9) {
		t.Errorf("usage revenue %+v", usage)
	}
	if usage.Verdict != "inconclusive" || usage.NoEvidence {
		t.Errorf("usage verdict %s", usage.Verdict)
	}
	// Per protocol: C01 and C02 reached within their window; C03 not
	// reached, C04 only after it.
	pp := usage.PerProtocol
	if pp == nil || !pp.Biased || pp.Contacted != 2 || pp.NotContacted != 6 || pp.ControlContacted != 0 || !near(pp.ChurnRateContacted.F(), 0.5, 1e-9) {
		t.Errorf("per protocol %+v", pp)
	}
	// Segments with two units in each arm: usage × renewal (C02, C04, C06,
	// C08 against C10, C12).
	if len(usage.Segments) != 1 || usage.SegmentsLeftOut != 2 || usage.Segments[0].ReasonCategory != "usage" || usage.Segments[0].LifecycleStage != "renewal" ||
		usage.Segments[0].Treated != 4 || usage.Segments[0].Control != 2 {
		t.Errorf("segments %+v, %d left out", usage.Segments, usage.SegmentsLeftOut)
	}
	support := findPlay(t, rep, "support")
	if support.Treated != 0 || support.Control != 0 || support.TreatedOpen != 2 || support.ControlOpen != 2 || support.Verdict != "too_few" || support.Uplift.Valid() {
		t.Errorf("support %+v", support)
	}
	if o := rep.Overall; o.Treated != 8 || o.Control != 4 || o.TreatedOpen != 2 || o.ControlOpen != 2 {
		t.Errorf("overall %+v", o)
	}
	// Saved: treated, high tier (C01…C03), stayed: C03 (MRR 300), C02 (200).
	s := rep.Saved
	if s.Customers != 2 || !near(s.MRR.F(), 500, 1e-9) || len(s.Listed) != 2 || s.Listed[0].CustomerID != "C03" || s.Listed[1].CustomerID != "C02" || s.Listed[0].Play != "usage" || s.Listed[0].AsOf != "2024-03-01" {
		t.Errorf("saved %+v", s)
	}
	in := rep.Inputs
	if in.Partitions != 2 || in.PredictionRows != 75 || in.TargetedRows != 19 || in.InterventionRows != 6 || in.InterventionUnits != 1 || in.Units != 16 || in.Customers != 40 {
		t.Errorf("inputs %+v", in)
	}
	type key struct{ asOf, source, play string }
	got := map[key][4]int{}
	for _, pr := range rep.playRuns {
		got[key{pr.AsOf, pr.Source, pr.Play}] = [4]int{pr.Treated, pr.Control, pr.TreatedOpen, pr.ControlOpen}
	}
	want := map[key][4]int{
		{"2024-03-01", "predictions", "usage"}:   {8, 3, 0, 0},
		{"2024-10-01", "predictions", "support"}: {0, 0, 2, 2},
		{"2024-02-01", "interventions", "usage"}: {0, 1, 0, 0},
	}
	if len(got) != len(want) {
		t.Errorf("run × play rows %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("run × play %v: %v, want %v", k, got[k], w)
		}
	}
	if !strings.Contains(rep.Headline, "Review 2024-12-01") {
		t.Errorf("headline %q", rep.Headline)
	}
}

// TestAsOf checks "as if today were DATE": an earlier review date leaves
// later partitions out, caps the outcomes and keeps windows open.
func TestAsOf(t *testing.T) {
	f := newFixture(t)
	rep := runFixture(t, f, func(o *Options) { o.AsOf = day("2024-05-01") })
	if rep.DataEnd != "2024-04-30" || len(rep.Runs) != 1 || rep.Runs[0].Status != "open" || rep.Inputs.LaterPartitions != 1 {
		t.Fatalf("as of 2024-05-01: data end %s, %d runs, later %d", rep.DataEnd, len(rep.Runs), rep.Inputs.LaterPartitions)
	}
	usage := findPlay(t, rep, "usage")
	// C09's unit of 2024-02-01: window ends 2024-05-01, after the data end.
	if usage.Treated+usage.Control != 0 || usage.TreatedOpen != 8 || usage.ControlOpen != 4 {
		t.Errorf("usage as of 2024-05-01 %+v", usage)
	}
	// A review date after every window: the 2024-10-01 run closes too.
	rep = runFixture(t, f, func(o *Options) { o.AsOf, o.Label.DataEnd = day("2025-01-01"), day("2024-12-31") })
	if rep.Runs[1].Status != "closed" || rep.Runs[1].Churned != 1 { // C20 churns 2024-11-20
		t.Errorf("as of 2025-01-01: run %+v", rep.Runs[1])
	}
	// No review date: the day after the data's last day (an intervention
	// of 2024-12-20).
	rep = runFixture(t, f, func(o *Options) { o.AsOf = data.NoDate })
	if rep.AsOf != "2024-12-21" || rep.DataEnd != "2024-12-20" {
		t.Errorf("default review date %s, data end %s", rep.AsOf, rep.DataEnd)
	}
}

// TestDeterministic checks that the same inputs give the same bytes,
// whatever the number of workers, and that Write publishes every file.
func TestDeterministic(t *testing.T) {
	f := newFixture(t)
	var outs [][]byte
	for _, workers := range []int{1, 2, 4} {
		rep := runFixture(t, f, func(o *Options) { o.Config.Workers = workers })
		js, err := rep.JSON()
		if err != nil {
			t.Fatal(err)
		}
		html, err := rep.HTML()
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, append(append(js, html...), rep.Markdown()...))
	}
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			a, b := string(outs[0]), string(outs[i])
			k := 0
			for k < len(a) && k < len(b) && a[k] == b[k] {
				k++
			}
			t.Fatalf("two reviews of the same inputs differ at byte %d: %q vs %q", k, a[max(0, k-200):min(len(a), k+100)], b[max(0, k-200):min(len(b), k+100)])
		}
	}
	rep := runFixture(t, f, nil)
	for i := 0; i < 2; i++ { // the second write replaces the first
		if err := rep.Write(f.out, "test", nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{filepath.Join(ReportDir(f.out, day("2024-12-01")), JSONFile), filepath.Join(ReportDir(f.out, day("2024-12-01")), HTMLFile),
		filepath.Join(ReportDir(f.out, day("2024-12-01")), MarkdownFile), filepath.Join(ReportDir(f.out, day("2024-12-01")), SavedFile),
		filepath.Join(PlaysPartition(f.out, day("2024-12-01")), PlaysFile)} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(f.out, predict.StagingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging left behind: %v", err)
	}
	again := runFixture(t, f, nil) // the review's own files do not change the review
	a, _ := again.JSON()
	b, _ := rep.JSON()
	if !bytes.Equal(a, b) {
		t.Error("a review reads its own output")
	}
}

// TestPartitionsWithoutGroups checks that partitions written before
// control groups existed (no play, treatment_group or other optional
// columns) read as runs without units.
func TestPartitionsWithoutGroups(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	var cols []predict.Column
	for _, c := range predict.PredictionColumns {
		switch c.Name {
		case "customer_id", "as_of", "churn_probability", "risk_tier", "rank":
			cols = append(cols, c)
		}
	}
	writePartition(t, out, day("2024-03-01"), cols, f.runs[day("2024-03-01")])
	rep := runFixture(t, f, func(o *Options) { o.Out = out })
	if len(rep.Runs) != 1 || rep.Runs[0].Targeted != 0 || rep.Runs[0].Churned != 4 || rep.Inputs.TargetedRows != 0 {
		t.Fatalf("runs %+v, inputs %+v", rep.Runs, rep.Inputs)
	}
	// The interventions' unit (C09, control) is the only one.
	if usage := findPlay(t, rep, "usage"); usage.Control != 1 || usage.Treated != 0 {
		t.Errorf("usage %+v", usage)
	}
}

// TestErrors checks that bad inputs fail with errors that say where.
func TestErrors(t *testing.T) {
	t.Run("probability out of range", func(t *testing.T) {
		f := newFixture(t)
		rows := f.runs[day("2024-03-01")]
		rows[5]["churn_probability"] = 1.5
		writePartition(t, f.out, day("2024-03-01"), predict.PredictionColumns, rows)
		_, err := Run(context.Background(), Options{Dataset: f.open(t), Out: f.out, AsOf: day("2024-12-01")})
		var ie *data.InputError
		if !errors.As(err, &ie) || ie.Column != "churn_probability" || ie.Row != 1 || !strings.Contains(ie.File, "as_of=2024-03-01") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unknown treatment group", func(t *testing.T) {
		f := newFixture(t)
		rows := f.runs[day("2024-03-01")]
		rows[0]["treatment_group"] = "holdout"
		writePartition(t, f.out, day("2024-03-01"), predict.PredictionColumns, rows)
		_, err := Run(context.Background(), Options{Dataset: f.open(t), Out: f.out, AsOf: day("2024-12-01")})
		var ie *data.InputError
		if !errors.As(err, &ie) || ie.Column != "treatment_group" || ie.Value != "holdout" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("nothing to review", func(t *testing.T) {
		dir := t.TempDir()
		writeContractTable(t, dir, data.Customers, []row{{"customer_id": "C1", "signup_date": day("2023-01-01")}})
		writeContractTable(t, dir, data.ChurnEvents, []row{{"customer_id": "C1", "churn_date": day("2024-01-01")}})
		ds, err := data.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer ds.Close()
		if _, err := Run(context.Background(), Options{Dataset: ds, Out: t.TempDir()}); !errors.Is(err, ErrNothingToReview) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("label without a window", func(t *testing.T) {
		f := newFixture(t)
		_, err := Run(context.Background(), Options{Dataset: f.open(t), Out: f.out, Label: features.LabelConfig{Mode: features.LabelNone}})
		if !errors.Is(err, ErrNoWindow) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		f := newFixture(t)
		bad := -0.5
		_, err := Run(context.Background(), Options{Dataset: f.open(t), Out: f.out, Config: Config{UsefulRRR: &bad}})
		if err == nil || !strings.Contains(err.Error(), "useful_rrr") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		f := newFixture(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Run(ctx, Options{Dataset: f.open(t), Out: f.out}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestSampledRuns checks that a run larger than max_rows is measured on a
// hash sample of its customers, whose realised metrics stay close to the
// whole run's.
func TestSampledRuns(t *testing.T) {
	f := newFixture(t)
	all := runFixture(t, f, nil)
	sampled := runFixture(t, f, func(o *Options) { o.Config.MaxRows = 1000 })
	if all.Runs[0].MeasuredRows != 40 || sampled.Runs[0].MeasuredRows != 40 {
		t.Errorf("a run smaller than max_rows was sampled: %d, %d rows", all.Runs[0].MeasuredRows, sampled.Runs[0].MeasuredRows)
	}
	if got := sampleCut(40_000, 1000); got == math.MaxUint64 {
		t.Error("a run larger than max_rows is kept whole")
	}
}

// TestPlaySurvival checks the usage play's Kaplan-Meier curves against the
// fixture worked out by hand: treated C01…C08 from 2024-03-01 (C01 churns
// after 31 days, C05 after 75, six censored at the data end 2024-11-30,
// 274 days); control C09 from 2024-02-01 (churns after 48 days), C10, C11
// and C12 from 2024-03-01 (106 and 40 days; C12 censored at 274).
func TestPlaySurvival(t *testing.T) {
	f := newFixture(t)
	rep := runFixture(t, f, nil)
	usage := findPlay(t, rep, "usage")
	if len(usage.Survival) != 2 {
		t.Fatalf("survival %+v", usage.Survival)
	}
	tr, co := usage.Survival[0], usage.Survival[1]
	type pt struct {
		days, atRisk, events, censored int
		s                              float64
	}
	check := func(g eval.SurvivalGroup, name string, n, churned int, want []pt) {
		t.Helper()
		if g.Name != name || g.Subjects != n || g.Churned != churned || len(g.Curve) != len(want) {
			t.Fatalf("%s: %+v", name, g)
		}
		for k, w := range want {
			p := g.Curve[k]
			if p.Days != w.days || p.AtRisk != w.atRisk || p.Events != w.events || p.Censored != w.censored || !near(p.Survival.F(), w.s, 1e-6) {
				t.Errorf("%s point %d: %+v, want %+v", name, k, p, w)
			}
		}
	}
	check(tr, "treated", 8, 2, []pt{{31, 8, 1, 0, 7.0 / 8}, {75, 7, 1, 0, 0.75}, {274, 6, 0, 6, 0.75}})
	check(co, "control", 4, 3, []pt{{40, 4, 1, 0, 0.75}, {48, 3, 1, 0, 0.5}, {106, 2, 1, 0, 0.25}, {274, 1, 0, 1, 0.25}})
	if tr.Median.Valid() || co.Median.F() != 48 {
		t.Errorf("medians: treated %v, control %v", tr.Median, co.Median)
	}
	// The open support play: followed to the data end, nobody churned.
	support := findPlay(t, rep, "support")
	if len(support.Survival) != 2 || support.Survival[0].Subjects != 2 || support.Survival[0].Churned != 0 || support.Survival[0].Curve[0].Days != 60 {
		t.Errorf("support survival %+v", support.Survival)
	}
	// review.html draws "all plays": control adds C15 and C16 (support,
	// from 2024-10-01, censored after 60 days), so its median is C10's 106.
	html, err := rep.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte(`<svg class="chart" id="survival"`)) || !bytes.Contains(html, []byte("control 106 [40, –]")) {
		t.Error("review.html lacks the survival chart or its medians")
	}
}
