package review

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

// The proof tests run on generated data with the simulated retention loop
// (churn generate --interventions): 20,000 customers, generated once per
// test binary.
var (
	loopOnce  sync.Once
	loopDir   string
	loopTruth *synth.GeneratorTruth
	loopErr   error
)

func loopData(t *testing.T) (string, *synth.GeneratorTruth) {
	t.Helper()
	if testing.Short() {
		t.Skip("generates 20,000 customers")
	}
	loopOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			loopErr = err
			return
		}
		loopDir = filepath.Join(dir, "data")
		iv := synth.DefaultInterventions()
		if _, loopErr = synth.Generate(context.Background(), loopDir, synth.Params{Customers: 20000, Months: 24, Seed: 1, Interventions: &iv}, synth.WriteOptions{}); loopErr != nil {
			return
		}
		loopTruth, loopErr = synth.ReadTruth(loopDir)
	})
	if loopErr != nil {
		t.Fatal(loopErr)
	}
	return loopDir, loopTruth
}

// TestPlantedEffects is the proof that the plays' intervals are right: on
// generated data whose plays have planted intent-to-treat effects
// (_generator.json), the review's relative risk reduction interval of
// every play contains the planted effect, that of a play that does
// nothing contains 0, and a play planted in one lifecycle stage only shows
// its effect there.
func TestPlantedEffects(t *testing.T) {
	dir, truth := loopData(t)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	rep, err := Run(context.Background(), Options{Dataset: ds, Out: t.TempDir(), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Label.HorizonDays != truth.Interventions.HorizonDays {
		t.Fatalf("the review's horizon %d is not the planted effects' %d", rep.Label.HorizonDays, truth.Interventions.HorizonDays)
	}
	nulls, staged, tested := 0, 0, 0
	for _, tp := range truth.Interventions.Plays {
		p := findPlay(t, rep, tp.Name)
		lo, hi := p.RRRCI[0].F(), p.RRRCI[1].F()
		t.Logf("%-13s treated %4d control %3d  RRR %+.3f [%+.3f, %+.3f]  planted %+.3f  %s", p.Name, p.Treated, p.Control, p.RelativeRiskReduction.F(), lo, hi, tp.RelativeRiskReduction, p.Verdict)
		if p.Treated < 100 || p.Control < 30 {
			// The renewal stage needs annual billing, rare in generated
			// data: the review must say so rather than judge.
			if p.Verdict != "too_few" {
				t.Errorf("%s: %d treated and %d control, verdict %s, want too_few", p.Name, p.Treated, p.Control, p.Verdict)
			}
		} else {
			tested++
		}
		if !(lo <= tp.RelativeRiskReduction && tp.RelativeRiskReduction <= hi) {
			t.Errorf("%s: planted relative risk reduction %.3f outside the review's interval [%.3f, %.3f]", p.Name, tp.RelativeRiskReduction, lo, hi)
		}
		if tp.RelativeRiskReduction == 0 {
			nulls++
			if !(lo <= 0 && 0 <= hi) || p.Verdict == "works" {
				t.Errorf("%s does nothing, yet its interval [%.3f, %.3f] excludes 0 (verdict %s)", p.Name, lo, hi, p.Verdict)
			}
		}
		if !byStage(tp) {
			continue
		}
		// The play that works in one stage only: its segments show it.
		staged++
		checked := 0
		for _, s := range p.Segments {
			want, ok := tp.ByStage[s.LifecycleStage]
			if !ok || s.Treated < 100 {
				continue
			}
			checked++
			l, h := s.RRRCI[0].F(), s.RRRCI[1].F()
			t.Logf("%-13s in %-10s treated %4d control %3d  RRR [%+.3f, %+.3f]  planted %+.3f", p.Name, s.LifecycleStage, s.Treated, s.Control, l, h, want)
			if !(l <= want && want <= h) {
				t.Errorf("%s in stage %s: planted %.3f outside [%.3f, %.3f]", p.Name, s.LifecycleStage, want, l, h)
			}
		}
		if checked < 1 {
			t.Errorf("%s: no stage with enough units to compare", p.Name)
		}
	}
	if tested < 8 {
		t.Errorf("only %d plays with enough units: the test checks too little", tested)
	}
	if nulls == 0 || staged == 0 {
		t.Errorf("%d plays that do nothing and %d that work in some stages only: the test checks too little", nulls, staged)
	}
}

// TestEstimateBeforeLabels is the proof that an open window's estimate
// holds: a quickly trained model (logistic regression: calibrated without
// a separate calibration step) scores the customers of 2024-06-01; a review
// as of 2024-07-01 (window open) estimates the run's ROC AUC from the
// probabilities, and a review as of 2025-01-01 (window closed) measures it:
// the realised AUC lies within the estimate's interval. Reviews measuring
// the run on hash samples of its customers (max_rows) give wider intervals
// that hold the whole run's AUC.
func TestEstimateBeforeLabels(t *testing.T) {
	dir, _ := loopData(t)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	ctx := context.Background()
	work := t.TempDir()
	var snaps []data.Date
	for d := day("2023-09-01"); d <= day("2024-03-01"); d = data.DateOf(d.Time().AddDate(0, 1, 0)) {
		snaps = append(snaps, d)
	}
	tablePath := filepath.Join(work, "features.parquet")
	if _, _, err := features.BuildFile(ctx, ds, features.BuildOptions{AsOf: snaps, Label: features.LabelConfig{Horizon: 90}}, tablePath); err != nil {
		t.Fatal(err)
	}
	table, err := features.ReadTable(ctx, tablePath)
	if err != nil {
		t.Fatal(err)
	}
	model, err := train.Fit(ctx, table, train.Params{Algo: train.AlgoLogReg, Calibration: "none"}, train.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	out := filepath.Join(work, "out")
	asOf := day("2024-06-01")
	if _, err := predict.Run(ctx, predict.Options{Dataset: ds, Model: model, ModelVersion: "lr", AsOf: asOf, Out: out, Now: func() time.Time { return asOf.Time() }}); err != nil {
		t.Fatal(err)
	}
	review := func(reviewDate data.Date, cfg Config) PastRun {
		rep, err := Run(ctx, Options{Dataset: ds, Out: out, AsOf: reviewDate, Config: cfg, Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Runs) != 1 {
			t.Fatalf("%d runs", len(rep.Runs))
		}
		return rep.Runs[0]
	}
	before := review(day("2024-07-01"), Config{})
	after := review(day("2025-01-01"), Config{})
	lo, hi := before.EstimatedROCAUCCI[0].F(), before.EstimatedROCAUCCI[1].F()
	t.Logf("estimated as of 2024-07-01: %.4f [%.4f, %.4f]; realised as of 2025-01-01: %.4f [%.4f, %.4f] on %d rows",
		before.EstimatedROCAUC.F(), lo, hi, after.ROCAUC.F(), after.ROCAUCCI[0].F(), after.ROCAUCCI[1].F(), after.MeasuredRows)
	if before.Status != "open" || before.ROCAUC.Valid() || after.Status != "closed" || after.MeasuredRows < 10000 {
		t.Fatalf("before: %s, AUC %v; after: %s on %d rows", before.Status, before.ROCAUC, after.Status, after.MeasuredRows)
	}
	if !(lo <= after.ROCAUC.F() && after.ROCAUC.F() <= hi) {
		t.Errorf("realised AUC %.4f outside the estimate's interval [%.4f, %.4f]", after.ROCAUC.F(), lo, hi)
	}
	if before.EstimatedROCAUC != after.EstimatedROCAUC {
		t.Errorf("the estimate changed once labels arrived: %v, then %v", before.EstimatedROCAUC, after.EstimatedROCAUC)
	}
	// Hash samples of a quarter of the customers, one per seed: their
	// intervals, wider, hold the whole run's AUC about as often as their
	// level says (here at least 4 of 5).
	held := 0
	for seed := uint64(1); seed <= 5; seed++ {
		sampled := review(day("2025-01-01"), Config{MaxRows: 5000, Seed: seed})
		// A quarter of the 20,000 customers, of whom the run scored four in five.
		if n, want := sampled.MeasuredRows, after.MeasuredRows/4; n < want*9/10 || n > want*11/10 {
			t.Errorf("seed %d: a hash sample of about 5000 of 20000 customers measured %d of the run's %d rows", seed, n, after.MeasuredRows)
		}
		if !(sampled.ROCAUCCI[1]-sampled.ROCAUCCI[0] > after.ROCAUCCI[1]-after.ROCAUCCI[0]) {
			t.Errorf("seed %d: the sample's interval %v is not wider than the whole run's %v", seed, sampled.ROCAUCCI, after.ROCAUCCI)
		}
		if a := after.ROCAUC; sampled.ROCAUCCI[0] <= a && a <= sampled.ROCAUCCI[1] {
			held++
		}
	}
	if held < 4 {
		t.Errorf("the whole run's AUC %.4f lies in %d of 5 samples' intervals", after.ROCAUC.F(), held)
	}
}

// byStage reports whether a planted play's effect differs by lifecycle
// stage.
func byStage(tp synth.TruthPlay) bool {
	for _, x := range tp.ByStage {
		if x != tp.ByStage["active"] {
			return true
		}
	}
	return false
}
