package predict

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/internal/xgb"
	"github.com/churnlab/churn/train"
)

// benchData is a 20,000-customer dataset of the same generator as the
// fixture (so the fixture model scores it).
var benchData = sync.OnceValues(func() (*data.Dataset, error) {
	dir := filepath.Join(testRoot, "bench-data")
	if _, err := synth.Generate(context.Background(), dir, synth.Params{Customers: 20000, Months: 24, Seed: 31}, synth.WriteOptions{}); err != nil {
		return nil, err
	}
	return data.Open(dir)
})

// BenchmarkRun measures a whole run (features, model, reasons, ranking,
// alerts, writing) on 20,000 customers, by reasons method: none is the run
// without reasons, so the difference is what reasons cost.
// bench/predict.sh measures 1M customers with the binary.
func BenchmarkRun(b *testing.B) {
	f := getFixture(b)
	ds, err := benchData()
	if err != nil {
		b.Fatal(err)
	}
	for _, method := range []string{ReasonsNone, ReasonsApprox, ReasonsExact} {
		b.Run(method, func(b *testing.B) {
			b.ReportAllocs()
			var rows int64
			for b.Loop() {
				opt := f.options(b.TempDir(), asOfB)
				opt.Dataset = ds
				opt.Config.Reasons.Method = method
				res, err := Run(context.Background(), opt)
				if err != nil {
					b.Fatal(err)
				}
				rows = res.Rows
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
		})
	}
}

// BenchmarkScore compares scoring alone on the fixture's feature rows:
// train.Model.ScoreWith by contribution method against XGBoost's own
// predict on the same matrix (internal/xgb, DMatrix built outside the
// timer).
func BenchmarkScore(b *testing.B) {
	f := getFixture(b)
	ctx := context.Background()
	tab := f.table(b, asOfB)
	n := tab.Len()
	for _, tt := range []struct {
		name string
		m    train.ContribMethod
	}{{"model/none", train.ContribNone}, {"model/approx", train.ContribApprox}, {"model/exact", train.ContribExact}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.model.ScoreWith(ctx, tab, nil, train.ScoreOptions{Contrib: tt.m}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	b.Run("xgb/predict", func(b *testing.B) {
		X, _ := f.model.Manifest.Encoder.Matrix(tab, nil)
		bst := f.booster(b)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			dm, err := xgb.NewDMatrix(X, n, len(f.model.Manifest.Encoder.Columns))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, _, err := bst.Predict(dm, xgb.PredictOptions{Margin: true, IterationEnd: f.model.Manifest.Rounds}); err != nil {
				b.Fatal(err)
			}
			dm.Close()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
