package train

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
)

// TestFitSampleWeights: on a stratified sample (features.BuildSample, read
// back with its sample_weight column), the learner sees the rows
// unweighted — the booster is the one fitted on the same rows without
// weights — while the calibration uses the weights, so that the mean
// probability follows the population's churn rate rather than the
// sample's enriched one.
func TestFitSampleWeights(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Generate(ctx, dir, synth.Params{Customers: 1500, Months: 24, Seed: 9}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	var dates []data.Date
	for k := 0; k < 8; k++ {
		dates = append(dates, data.MakeDate(2023, 9, 1).AddDays(30*k))
	}
	opt := features.BuildOptions{AsOf: dates, Label: features.LabelConfig{Mode: features.LabelChurnEvents, Horizon: 90}, Workers: 2}
	path := filepath.Join(dir, "sample.parquet")
	_, plan, _, err := features.BuildSampleFile(ctx, ds, opt, features.SampleOptions{Size: 400, Seed: 5}, path)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := plan.Stratum(features.StratumRetained); r.Weight <= 1.5 {
		t.Fatalf("retained weight %v: the fixture should sample the retained customers", r.Weight)
	}
	weighted, err := features.ReadTable(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if weighted.Weight == nil {
		t.Fatal("the sample read back has no weights")
	}
	plain := *weighted
	plain.Weight = nil
	p := Params{Seed: 3, Rounds: 40, Threads: 2}
	mw, err := Fit(ctx, weighted, p, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	mp, err := Fit(ctx, &plain, p, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Close()
	if !bytes.Equal(mw.booster, mp.booster) {
		t.Error("the weights reached the learner: the boosters differ")
	}
	if reflect.DeepEqual(mw.Manifest.Calibrator, mp.Manifest.Calibrator) {
		t.Error("the weights did not reach the calibration: the calibrators are equal")
	}
	// Mean probability over the labelled rows, weighted, against the
	// population's rate (weighted labels) and the sample's rate.
	sc, err := mw.Score(ctx, weighted, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	scp, err := mp.Score(ctx, weighted, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var sw, swy, swp, swpp float64
	for i, y := range weighted.Label {
		if math.IsNaN(y) {
			continue
		}
		w := weighted.Weight[i]
		sw += w
		swy += w * y
		swp += w * sc.Prob[i]
		swpp += w * scp.Prob[i]
	}
	rate, pw, pp := swy/sw, swp/sw, swpp/sw
	t.Logf("population churn rate %.4f; mean probability weighted %.4f, unweighted %.4f", rate, pw, pp)
	if math.Abs(pw-rate) >= math.Abs(pp-rate) {
		t.Errorf("the weighted calibration (mean %.4f) is not nearer the population rate %.4f than the unweighted one (%.4f)", pw, rate, pp)
	}
}
