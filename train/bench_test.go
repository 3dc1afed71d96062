package train

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// benchTable is a nightly-shaped training table: n rows, 60 numeric and 9
// categorical features (a few levels each), about 3% churned, with
// sampling weights.
func benchTable(n int) *features.Table {
	r := rand.New(rand.NewPCG(1, 2))
	spec := &features.Spec{Label: features.LabelSpec{Mode: features.LabelChurnEvents, HorizonDay: 90}}
	for i := range 60 {
		spec.Features = append(spec.Features, features.Def{Name: fmt.Sprintf("x%02d", i), Kind: features.Numeric})
	}
	for i := range 9 {
		spec.Features = append(spec.Features, features.Def{Name: fmt.Sprintf("c%d", i), Kind: features.Categorical})
	}
	t := &features.Table{Spec: spec, Num: make([][]float64, 69), Cat: make([][]string, 69)}
	levels := []string{"a", "b", "c", "d", ""}
	for i := range 60 {
		t.Num[i] = make([]float64, n)
		for k := range n {
			t.Num[i][k] = r.NormFloat64()
		}
	}
	for i := 60; i < 69; i++ {
		t.Cat[i] = make([]string, n)
		for k := range n {
			t.Cat[i][k] = levels[r.IntN(len(levels))]
		}
	}
	d := data.MakeDate(2024, 1, 1)
	for k := range n {
		t.IDs = append(t.IDs, fmt.Sprintf("C%08d", k/12))
		t.AsOf = append(t.AsOf, d.AddDays(28*(k%12)))
		y := 0.0
		if r.Float64() < 0.03 {
			y = 1
		}
		t.Label = append(t.Label, y)
		t.Weight = append(t.Weight, 1+5*(1-y))
	}
	return t
}

// BenchmarkTrainingMatrix measures the training-matrix path of a fit: the
// encoder's dense float32 matrix, labels and weights, and XGBoost's
// DMatrix built from them. It reports the bytes Go allocates per training
// row (the matrix itself is 4 bytes per encoded column; XGBoost's own copy
// is in C memory, outside Go's accounting).
func BenchmarkTrainingMatrix(b *testing.B) {
	const n = 100_000
	t := benchTable(n)
	rows := make([]int, n)
	for i := range rows {
		rows[i] = i
	}
	enc := features.FitEncoder(t, rows, features.EncoderOptions{})
	p := DefaultParams()
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		d := buildFit(t, enc, rows, nil, &p)
		m, err := fitLearner(b.Context(), d, &Params{Algo: AlgoXGBoost, Rounds: 1, MaxDepth: 1, Eta: 0.1, MinChildWeight: ptr(1.0), Subsample: 1, ColsampleByTree: 1, Lambda: ptr(1.0), Threads: 2, EarlyStopping: -1}, func(string, ...any) {})
		if err != nil {
			b.Fatal(err)
		}
		m.close()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/n, "B/row")
	b.ReportMetric(float64(len(enc.Columns)), "columns")
}
