package xgb

import (
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/internal/xgbtree"
)

var benchParams = []param{
	{"objective", "binary:logistic"},
	{"tree_method", "hist"},
	{"max_depth", "6"},
	{"eta", "0.1"},
	{"nthread", "2"},
	{"seed", "1"},
}

// BenchmarkTrain: 200 rounds on 100k rows × 30 features (churn's scale), from
// matrix creation to the last round.
func BenchmarkTrain(b *testing.B) {
	const n, p, rounds = 100_000, 30, 200
	X, y := synth(100, n, p, 0.05)
	b.ReportAllocs()
	for b.Loop() {
		m := newMatrix(b, X, y, p)
		bst := testBooster(b, benchParams, m)
		trainRounds(b, bst, m, rounds)
		bst.Close()
		m.Close()
	}
	b.ReportMetric(float64(n*rounds)*float64(b.N)/b.Elapsed().Seconds(), "row-rounds/s")
}

// BenchmarkPredict scores new rows with a 200-round depth-6 model: 100k for
// probabilities, 10k for SHAP contributions (two orders of magnitude dearer).
func BenchmarkPredict(b *testing.B) {
	const n, p, rounds = 100_000, 30, 200
	X, y := synth(100, n, p, 0.05)
	m := newMatrix(b, X, y, p)
	bst := testBooster(b, benchParams, m)
	trainRounds(b, bst, m, rounds)
	Xs, _ := synth(101, n, p, 0.05)
	for _, bc := range []struct {
		name string
		rows int
		opt  PredictOptions
	}{{"prob", n, PredictOptions{}}, {"contribs", n / 10, PredictOptions{Contribs: true}}, {"approx_contribs", n, PredictOptions{Contribs: true, ApproxContribs: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				// A fresh matrix each time: XGBoost caches the predictions of
				// a matrix it has seen.
				b.StopTimer()
				score, err := NewDMatrix(Xs[:bc.rows*p], bc.rows, p)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, _, err := bst.Predict(score, bc.opt); err != nil {
					b.Fatal(err)
				}
				score.Close()
			}
			b.ReportMetric(float64(bc.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkNewDMatrix copies 100k × 30 values into XGBoost.
func BenchmarkNewDMatrix(b *testing.B) {
	const n, p = 100_000, 30
	X, _ := synth(100, n, p, 0.05)
	b.ReportAllocs()
	b.SetBytes(int64(4 * n * p))
	for b.Loop() {
		m, err := NewDMatrix(X, n, p)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

// BenchmarkExplain explains 20k new rows in Go with a model of churn's
// default shape (300 rounds of depth 4 on 70 columns): encoding the rows,
// Saabas contributions, and TreeSHAP with a cold cache (a new Explainer
// each time) and a warm one (the same Explainer, as between predict's
// batches). BenchmarkPredict/contribs is XGBoost's own TreeSHAP.
func BenchmarkExplain(b *testing.B) {
	const n, p = 20_000, 70
	_, trees := nightlyModel(b, 50_000, p)
	Xs, _ := synth(101, n, p, 0.05)
	codes, err := trees.Encode(Xs, n)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, n*(p+1))
	rows := func(b *testing.B) { b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s") }
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := trees.Encode(Xs, n); err != nil {
				b.Fatal(err)
			}
		}
		rows(b)
	})
	b.Run("approx", func(b *testing.B) {
		e := trees.NewExplainer()
		b.ReportAllocs()
		for b.Loop() {
			if err := e.Approx(codes, out); err != nil {
				b.Fatal(err)
			}
		}
		rows(b)
	})
	b.Run("exact/cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := trees.NewExplainer().Exact(codes, out); err != nil {
				b.Fatal(err)
			}
		}
		rows(b)
	})
	b.Run("exact/warm", func(b *testing.B) {
		e := trees.NewExplainer()
		if err := e.Exact(codes, out); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := e.Exact(codes, out); err != nil {
				b.Fatal(err)
			}
		}
		rows(b)
	})
}

// BenchmarkMargins scores 100k new rows of 100 columns (5% missing) with a
// model of the nightly's shape (300 rounds of depth 4) on margins:
// XGBoost's C API (a DMatrix, then Predict with nthread 2, as churn calls
// it) against xgbtree's Margins in Go on one goroutine and split between
// two. Compare ns/row; the margins are the same bits (TestMarginsMatchXGBoost).
func BenchmarkMargins(b *testing.B) {
	const n, p = 100_000, 100
	bst, trees := nightlyModel(b, 20_000, p)
	Xs, _ := synth(101, n, p, 0.05)
	out := make([]float32, n)
	perRow := func(b *testing.B) { b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row") }
	b.Run("xgboost", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m, err := NewDMatrix(Xs, n, p)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := bst.Predict(m, PredictOptions{Margin: true}); err != nil {
				b.Fatal(err)
			}
			m.Close()
		}
		perRow(b)
	})
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := trees.Margins(Xs, n, out); err != nil {
				b.Fatal(err)
			}
		}
		perRow(b)
	})
	b.Run("go-2", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var g errgroup.Group
			for k := range 2 {
				lo, hi := k*n/2, (k+1)*n/2
				g.Go(func() error { return trees.Margins(Xs[lo*p:hi*p], hi-lo, out[lo:hi]) })
			}
			if err := g.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		perRow(b)
	})
}

// nightlyModel trains a model of the nightly's shape (300 rounds of depth
// 4) on rows synthetic rows of p columns and returns it and its trees.
func nightlyModel(b *testing.B, rows, p int) (*Booster, *xgbtree.Trees) {
	X, y := synth(100, rows, p, 0.05)
	params := append(append([]param{}, benchParams...), param{"max_depth", "4"}, param{"eta", "0.05"})
	bst := trainModel(b, params, X, y, p, 300)
	raw, err := bst.SaveJSON()
	if err != nil {
		b.Fatal(err)
	}
	trees, err := xgbtree.Parse(raw, 0)
	if err != nil {
		b.Fatal(err)
	}
	return bst, trees
}
