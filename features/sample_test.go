package features

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// sampleFixture is 800 generated customers (with churn) and six monthly
// snapshots.
func sampleFixture(t *testing.T) (*data.Dataset, BuildOptions) {
	t.Helper()
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), dir, synth.Params{Customers: 800, Months: 24, Seed: 5}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	var dates []data.Date
	for k := 0; k < 6; k++ {
		dates = append(dates, data.MakeDate(2024, 1, 1).AddDays(30*k))
	}
	return ds, BuildOptions{AsOf: dates, Label: LabelConfig{Mode: LabelChurnEvents, Horizon: 90}, Workers: 2}
}

// collect runs the builder with the given batch size and returns the rows
// emitted, in order, as a table.
func collect(t *testing.T, ds *data.Dataset, opt BuildOptions, batchRows int) (*Table, int) {
	t.Helper()
	spec, lc, err := NewSpec(ds, opt.Config, opt.Label)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBuilder(ds, spec, lc)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Table
	_, err = b.RunWith(context.Background(), RunOptions{Dates: opt.AsOf, Workers: opt.Workers, BatchRows: batchRows}, func(bt *Batch) error {
		parts = append(parts, bt.Table(spec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return Concat(spec, parts), len(parts)
}

// TestRunWithBatches: small batches give the same rows in the same order
// as one batch per shard, and never split a customer's rows.
func TestRunWithBatches(t *testing.T) {
	ds, opt := sampleFixture(t)
	whole, _ := collect(t, ds, opt, 1<<30)
	small, n := collect(t, ds, opt, 7)
	if n < whole.Len()/7/2 {
		t.Errorf("%d batches for %d rows of at most about 7", n, whole.Len())
	}
	if !reflect.DeepEqual(whole.IDs, small.IDs) || !reflect.DeepEqual(whole.AsOf, small.AsOf) || !equalNaN(whole.Label, small.Label) {
		t.Fatal("small batches give other rows or another order")
	}
}

func equalNaN(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

func sameTable(t *testing.T, a, b *Table) {
	t.Helper()
	if !reflect.DeepEqual(a.IDs, b.IDs) || !reflect.DeepEqual(a.AsOf, b.AsOf) || !equalNaN(a.Label, b.Label) || !equalNaN(a.Weight, b.Weight) {
		t.Fatalf("tables differ in keys, labels or weights (%d vs %d rows)", a.Len(), b.Len())
	}
	for i := range a.Num {
		if !equalNaN(a.Num[i], b.Num[i]) || !reflect.DeepEqual(a.Cat[i], b.Cat[i]) {
			t.Fatalf("tables differ in %s", a.Spec.Features[i].Name)
		}
	}
}

// TestBuildTableMatchesFile: without a sample, the table built in memory
// is the table Build writes.
func TestBuildTableMatchesFile(t *testing.T) {
	ds, opt := sampleFixture(t)
	mem, _, st, err := BuildTable(context.Background(), ds, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "f.parquet")
	if _, _, err := BuildFile(context.Background(), ds, opt, path); err != nil {
		t.Fatal(err)
	}
	file, err := ReadTable(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(mem.Len()) != st.Rows || mem.Weight != nil {
		t.Errorf("%d rows, stats say %d; weights %v", mem.Len(), st.Rows, mem.Weight != nil)
	}
	sameTable(t, mem, file)
}

// TestSample checks the strata: held-out customers sampled uniformly with
// all their rows, the others by label with every positive kept; kept
// customers are exactly those whose hash is below the threshold; weights
// make the kept rows count for the population; and the result does not
// depend on the workers.
func TestSample(t *testing.T) {
	ds, opt := sampleFixture(t)
	full, _, _, err := BuildTable(context.Background(), ds, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	ho := Holdout{Share: 0.3, Seed: 3}
	var evalRows, trainPos, trainNeg int
	for i, id := range full.IDs {
		switch {
		case ho.HeldOut(id):
			evalRows++
		case full.Label[i] == 1:
			trainPos++
		case full.Label[i] == 0:
			trainNeg++
		}
	}
	s := &Sample{Seed: 11, Strata: []Stratum{
		{Name: "evaluation", Match: ho.HeldOut, MaxRows: evalRows / 3},
		{Name: "training", ByLabel: true, MaxRows: trainPos + trainNeg/4},
	}}
	sampled, sst, _, err := BuildTable(context.Background(), ds, opt, s)
	if err != nil {
		t.Fatal(err)
	}
	ev, tr := sst.Strata[0], sst.Strata[1]
	if trainPos == 0 || evalRows == 0 {
		t.Fatalf("fixture: %d positive training rows, %d evaluation rows", trainPos, evalRows)
	}
	if ev.Kept > int64(evalRows/3) || tr.Kept > int64(trainPos+trainNeg/4) || ev.Kept == 0 || tr.Kept == 0 {
		t.Fatalf("kept %d evaluation rows (max %d) and %d training rows (max %d)", ev.Kept, evalRows/3, tr.Kept, trainPos+trainNeg/4)
	}
	if tr.KeptPositives != int64(trainPos) || tr.PositiveWeight != 1 {
		t.Errorf("kept %d of %d positives with weight %v; every positive fits", tr.KeptPositives, trainPos, tr.PositiveWeight)
	}
	// Membership is the hash against the threshold, whole customers.
	kept := map[string]bool{}
	for _, id := range sampled.IDs {
		kept[id] = true
	}
	var wNeg, wEval float64
	for i, id := range sampled.IDs {
		if ho.HeldOut(id) {
			wEval += sampled.Weight[i]
			if sampled.Weight[i] != ev.Weight {
				t.Fatalf("evaluation row weight %v, want %v", sampled.Weight[i], ev.Weight)
			}
		} else if sampled.Label[i] == 0 {
			wNeg += sampled.Weight[i]
		} else if math.IsNaN(sampled.Label[i]) {
			t.Fatal("a training row with an unknown label was kept")
		}
	}
	for i, id := range full.IDs {
		h := sampleHash(id, 11)
		switch {
		case ho.HeldOut(id):
			if want := h < 1/ev.Weight; kept[id] != want {
				t.Fatalf("held-out customer %s: kept %v, hash %.4f vs threshold %.4f", id, kept[id], h, 1/ev.Weight)
			}
		case full.Label[i] == 0 && h < 1/tr.Weight && !kept[id]:
			t.Fatalf("customer %s (hash %.4f below the threshold %.4f) was not kept", id, h, 1/tr.Weight)
		}
	}
	// Weighted counts estimate the population's (within sampling noise).
	if math.Abs(wNeg-float64(trainNeg)) > 0.2*float64(trainNeg) || math.Abs(wEval-float64(evalRows)) > 0.3*float64(evalRows) {
		t.Errorf("weighted negatives %.0f for %d, weighted evaluation rows %.0f for %d", wNeg, trainNeg, wEval, evalRows)
	}
	// The same with one worker and tiny batches (other arrival order).
	opt1 := opt
	opt1.Workers = 1
	again, sst1, _, err := BuildTable(context.Background(), ds, opt1, s)
	if err != nil {
		t.Fatal(err)
	}
	sameTable(t, sampled, again)
	if !reflect.DeepEqual(sst, sst1) {
		t.Errorf("stats differ: %+v vs %+v", sst, sst1)
	}
}

// TestSampleTrims: a stratum whose rows arrive far beyond its budget is
// trimmed while building and ends at most at MaxRows, and a budget below
// the positives samples them too.
func TestSampleTrims(t *testing.T) {
	ds, opt := sampleFixture(t)
	s := &Sample{Seed: 2, Strata: []Stratum{{Name: "training", ByLabel: true, MaxRows: 40}}}
	tab, sst, _, err := BuildTable(context.Background(), ds, opt, s)
	if err != nil {
		t.Fatal(err)
	}
	st := sst.Strata[0]
	if tab.Len() > 40 || st.Kept != int64(tab.Len()) || st.KeptPositives > 20 || st.KeptPositives == 0 || st.PositiveWeight <= 1 {
		t.Errorf("kept %d rows (%d positive, weight %v) of %d (%d positive); want at most 40, positives at most 20", tab.Len(), st.KeptPositives, st.PositiveWeight, st.Rows, st.Positives)
	}
	if err := (&Sample{}).Validate(); err == nil {
		t.Error("a sample without strata is valid")
	}
}
