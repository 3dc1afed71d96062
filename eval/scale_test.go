package eval

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

// TestBacktestDue checks the schedule rule: due when the day number since
// 1970-01-01 is a multiple of every (Thursdays for 7), next the following
// such day, before 1970 too.
func TestBacktestDue(t *testing.T) {
	tests := []struct {
		name  string
		date  string
		every int
		due   bool
		next  string
	}{
		{"every run", "2024-11-01", 1, true, "2024-11-02"},
		{"weekly on a Thursday", "2024-11-07", 7, true, "2024-11-14"},
		{"weekly on a Friday", "2024-11-01", 7, false, "2024-11-07"},
		{"weekly on a Wednesday", "2024-11-06", 7, false, "2024-11-07"},
		{"fortnightly", "2024-11-14", 14, false, "2024-11-21"},
		{"before 1970, due", "1969-12-25", 7, true, "1970-01-01"},
		{"before 1970, not due", "1969-12-31", 7, false, "1970-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, next := backtestDue(day(tt.date), tt.every)
			if due != tt.due || next.String() != tt.next {
				t.Errorf("backtestDue(%s, %d) = %v, %s; want %v, %s", tt.date, tt.every, due, next, tt.due, tt.next)
			}
		})
	}
}

// TestBacktestEvery checks that the backtest runs only when due, says when
// it was skipped and when it runs next, and that each origin is one refit
// with the evaluated model's rounds, calibrated on customers left out of
// the refit.
func TestBacktestEvery(t *testing.T) {
	f := loadFixture(t)
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name    string
		every   int
		asOf    string
		skipped bool
		next    string
	}{
		{"every run", 1, "2024-11-01", false, ""},
		{"weekly, due", 7, "2024-11-07", false, "2024-11-14"},
		{"weekly, not due", 7, "2024-11-01", true, "2024-11-07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := goldenConfig()
			cfg.Backtest.Every = tt.every
			bt, err := backtest(context.Background(), f.model, f.table, cfg, day(tt.asOf), log)
			if err != nil {
				t.Fatal(err)
			}
			if bt.Skipped != tt.skipped || bt.NextAsOf != tt.next || bt.AsOf != tt.asOf || bt.Every != tt.every {
				t.Fatalf("skipped %v, as of %q, next %q, every %d; want %v, %q, %q, %d (note %q)", bt.Skipped, bt.AsOf, bt.NextAsOf, bt.Every, tt.skipped, tt.asOf, tt.next, tt.every, bt.Note)
			}
			if tt.skipped {
				if want := "not due on " + tt.asOf; !strings.HasPrefix(bt.Note, want) || !strings.Contains(bt.Note, "next on "+tt.next) || len(bt.Origins) != 0 {
					t.Errorf("note %q, %d origins; want %q…, the next date, no origins", bt.Note, len(bt.Origins), want)
				}
				return
			}
			if tt.next != "" && !strings.Contains(bt.Note, "next on "+tt.next) {
				t.Errorf("note %q does not say when the backtest runs next", bt.Note)
			}
			mf := f.model.Manifest
			if bt.Rounds != mf.Rounds || bt.Calibration != mf.Calibrator.Method || bt.CalibrationShare.F() != mf.Params.ValidShare {
				t.Errorf("rounds %d, calibration %q on %v; want the model's %d, %q on %v", bt.Rounds, bt.Calibration, bt.CalibrationShare, mf.Rounds, mf.Calibrator.Method, mf.Params.ValidShare)
			}
			if len(bt.Origins) != 4 {
				t.Fatalf("%d origins, want 4", len(bt.Origins))
			}
			for _, o := range bt.Origins {
				if o.Skipped || o.Validation != train.ValidationNone || o.Calibration != mf.Calibrator.Method || o.CalibrationRows == 0 || o.CalibrationRows >= o.TrainRows || !o.ROCAUC.Valid() || !o.LogLoss.Valid() {
					t.Errorf("origin %+v: want one refit without validation, calibrated on some of its rows", o)
				}
			}
		})
	}
}

// TestBacktestUncalibratedOrigin checks that an origin whose calibration
// customers have one class (a small table) is refitted on every training
// row and reported uncalibrated, not skipped.
func TestBacktestUncalibratedOrigin(t *testing.T) {
	f := loadFixture(t)
	cfg := goldenConfig()
	tab := *f.table
	tab.Label = slices.Clone(tab.Label)
	calib := features.Holdout{Share: f.model.Manifest.Params.ValidShare, Seed: calibrationSeed(cfg.Seed)}
	for i, id := range tab.IDs {
		if calib.HeldOut(id) && tab.Label[i] == 1 {
			tab.Label[i] = 0
		}
	}
	bt, err := backtest(context.Background(), f.model, &tab, cfg, day("2024-11-01"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if bt.Skipped || len(bt.Origins) != 4 {
		t.Fatalf("backtest skipped %v with %d origins: %s", bt.Skipped, len(bt.Origins), bt.Note)
	}
	for _, o := range bt.Origins {
		if o.Skipped || o.Calibration != train.CalibrationNone || o.CalibrationRows != 0 || !strings.HasPrefix(o.Note, "not calibrated:") || !o.LogLoss.Valid() {
			t.Errorf("origin %+v: want evaluated, uncalibrated, with a note", o)
		}
	}
}

// TestRefitFixedRounds checks the refit's parameters: the evaluated
// model's, with its number of rounds, no validation split, no early
// stopping, no search and the evaluation's workers.
func TestRefitFixedRounds(t *testing.T) {
	mf := train.Manifest{Rounds: 123, Params: train.Params{Rounds: 500, EarlyStopping: 30, SearchBudget: 8, Threads: 4, Validation: train.ValidationOOT, Calibration: "auto"}}
	p := refitParams(&mf, 2)
	if p.Rounds != 123 || p.EarlyStopping != -1 || p.SearchBudget != 0 || p.Threads != 2 || p.Validation != train.ValidationNone || p.Calibration != train.CalibrationNone {
		t.Errorf("refit params %+v", p)
	}
	p.EnsureDefaults()
	if err := p.Validate(); err != nil {
		t.Errorf("refit params invalid: %v", err)
	}
}

// TestSplitRows checks that the backtest's calibration customers are
// disjoint from the customers it refits on, with every row of a customer on
// one side.
func TestSplitRows(t *testing.T) {
	f := loadFixture(t)
	rows := make([]int, f.table.Len())
	for i := range rows {
		rows[i] = i
	}
	fit, cal := splitRows(f.table, rows, &features.Holdout{Share: 0.2, Seed: 1})
	if len(fit)+len(cal) != len(rows) || len(cal) == 0 || len(fit) == 0 {
		t.Fatalf("%d fit + %d calibration rows of %d", len(fit), len(cal), len(rows))
	}
	side := map[string]bool{}
	for _, i := range cal {
		side[f.table.IDs[i]] = true
	}
	for _, i := range fit {
		if side[f.table.IDs[i]] {
			t.Fatalf("customer %s both fits and calibrates", f.table.IDs[i])
		}
	}
	if share := float64(len(side)) / 600; share < 0.15 || share > 0.25 {
		t.Errorf("%.2f of the customers calibrate, want about 0.2", share)
	}
}

// TestCalibrationCustomersIndependent checks that the backtest's
// calibration customers are a fair share of a table that is itself a
// customer holdout made with the eval seed: the same hash and seed would
// pick nested customers (four in five of a 25% holdout for a 20% share).
func TestCalibrationCustomersIndependent(t *testing.T) {
	const seed = 1
	table := features.Holdout{Share: 0.25, Seed: seed}
	calib := features.Holdout{Share: 0.2, Seed: calibrationSeed(seed)}
	in, cal := 0, 0
	for c := range 40000 {
		id := fmt.Sprintf("C%05d", c)
		if !table.HeldOut(id) {
			continue
		}
		in++
		if calib.HeldOut(id) {
			cal++
		}
	}
	if share := float64(cal) / float64(in); share < 0.18 || share > 0.22 {
		t.Errorf("%d of the table's %d customers calibrate (%.3f), want about 0.2", cal, in, share)
	}
}

// syntheticScored makes scored rows of n customers with k rows each whose
// scores rank their labels imperfectly, and a second (weaker) score.
func syntheticScored(n, k int, seed uint64) (*scored, *ranking, []int) {
	r := rand.New(rand.NewPCG(seed, 1))
	var p, q, y []float64
	var cluster []int
	for c := range n {
		z := r.NormFloat64()
		for range k {
			risk := z + 0.7*r.NormFloat64()
			label := 0.0
			if r.Float64() < metrics.Sigmoid(1.5*risk-2.5) {
				label = 1
			}
			p = append(p, metrics.Sigmoid(risk+0.5*r.NormFloat64()-2))
			q = append(q, risk+2*r.NormFloat64())
			y = append(y, label)
			cluster = append(cluster, c)
		}
	}
	return newScored(p, y, calibrationEdges(p, 10, "quantile")), newRanking(q), cluster
}

// TestBootstrapSample checks the bounded bootstrap: with more customers
// than bootstrap.customers, resamples of a sample give intervals close to
// those of every customer (scaled to all of them), and the report states
// how they were made and how precise they are; with fewer, nothing
// changes.
func TestBootstrapSample(t *testing.T) {
	const n = 6000
	s, other, cluster := syntheticScored(n, 3, 7)
	others := []*ranking{other}
	run := func(customers int) *intervals {
		cfg := DefaultConfig()
		cfg.Bootstrap.Resamples = 400
		cfg.Bootstrap.Customers = customers
		iv, err := bootstrapIntervals(context.Background(), s, others, cluster, n, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return iv
	}
	full, sampled := run(n), run(1500)
	if i := full.info; i.Customers != n || i.Scale != 1 || !strings.HasPrefix(i.Description, "400 resamples of all 6000 customers") {
		t.Errorf("full: %+v", i)
	}
	if i := sampled.info; i.Customers != 1500 || i.Clusters != n || math.Abs(i.Scale.F()-0.5) > 1e-12 ||
		!strings.HasPrefix(i.Description, "400 resamples of a seeded sample of 1500 of the 6000 customers") || !strings.Contains(i.Description, "= 0.500 to all customers") {
		t.Errorf("sampled: %+v", i)
	}
	for _, i := range []BootstrapInfo{full.info, sampled.info} {
		if !(i.AUCEndSE > 0 && i.AUCEndSE < 0.01) || !strings.Contains(i.Description, "precise to ±") {
			t.Errorf("AUC end precision %v in %q", i.AUCEndSE, i.Description)
		}
	}
	point := s.metricsW(nil)
	a, _ := other.rankMetrics(s.y, nil)
	estimates := append(point[:], point[mAUC]-a)
	for k, v := range estimates {
		f, g := full.interval(k, v), sampled.interval(k, v)
		if !(g.Lo <= g.Value && g.Value <= g.Hi) {
			t.Errorf("metric %d: sampled interval %v–%v excludes %v", k, g.Lo, g.Hi, g.Value)
		}
		wf, wg := f.Hi.F()-f.Lo.F(), g.Hi.F()-g.Lo.F()
		// The sample's width estimates the full one's: within 25% here
		// (ECE's widening to the estimate aside).
		if k != mECE && math.Abs(wg/wf-1) > 0.25 {
			t.Errorf("metric %d: sampled width %.5f, full %.5f", k, wg, wf)
		}
	}
	// Without a sample, the intervals are the plain percentile intervals.
	for k, v := range estimates {
		lo, hi, _ := percentileInterval(full.boot.vals[k], 0.95)
		if got := full.interval(k, v); k != mECE && (got.Lo.F() != lo || got.Hi.F() != hi) {
			t.Errorf("metric %d: %v–%v, want the percentiles %v–%v", k, got.Lo, got.Hi, lo, hi)
		}
	}
}

// TestScoreRows checks that scoring only the rows the report reads (the
// evaluated rows and the latest date's, overlapping) gives each row the
// probability it has when the whole table is scored.
func TestScoreRows(t *testing.T) {
	f := loadFixture(t)
	all, err := f.model.Score(context.Background(), f.table, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	_, latest := latestRows(f.table)
	var a []int
	for i := 0; i < f.table.Len(); i += 3 {
		a = append(a, i)
	}
	for _, tt := range []struct {
		name string
		a, b []int
	}{{"overlapping", a, latest}, {"first empty", nil, latest}, {"second empty", a, nil}} {
		t.Run(tt.name, func(t *testing.T) {
			pa, pb, err := scoreRows(context.Background(), f.model, f.table, tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				rows []int
				p    []float64
			}{{tt.a, pa}, {tt.b, pb}} {
				if len(c.p) != len(c.rows) {
					t.Fatalf("%d probabilities for %d rows", len(c.p), len(c.rows))
				}
				for k, i := range c.rows {
					if c.p[k] != all.Prob[i] {
						t.Fatalf("row %d: %v, scored with the table %v", i, c.p[k], all.Prob[i])
					}
				}
			}
		})
	}
}

// TestTopAccountsTies checks that the accounts to call rank by probability,
// ties in table order.
func TestTopAccountsTies(t *testing.T) {
	f := loadFixture(t)
	latest, rows := latestRows(f.table)
	if latest != day("2024-11-01") || len(rows) == 0 {
		t.Fatalf("latest %s, %d rows", latest, len(rows))
	}
	prob := make([]float64, len(rows))
	for k := range prob {
		prob[k] = 0.5 // all tied: the first rows of the table win
	}
	prob[len(prob)-1] = 0.9
	cfg := goldenConfig()
	ta, err := topAccounts(context.Background(), f.model, f.table, latest, rows, prob, cfg, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{f.table.IDs[rows[len(rows)-1]], f.table.IDs[rows[0]], f.table.IDs[rows[1]]}
	for k, id := range want {
		if ta.Accounts[k].CustomerID != id {
			t.Errorf("rank %d: %s, want %s", k+1, ta.Accounts[k].CustomerID, id)
		}
	}
	if ta.Rows != len(rows) || ta.AsOf != "2024-11-01" || ta.Accounts[0].Probability != 0.9 {
		t.Errorf("top accounts %+v", ta)
	}
}
