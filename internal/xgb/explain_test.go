package xgb

import (
	"math"
	"testing"

	"github.com/churnlab/churn/internal/xgbtree"
)

// TestExplainerMatchesXGBoost checks that Explainer.Exact and Approx give
// XGBoost's pred_contribs and approx_contribs bit for bit, on models with
// missing values, repeated features on a path, deep trees (past the
// 64-split cache key), a base_score other than 0.5 and a round limit, and
// with the cache on, off and too small to hold everything.
func TestExplainerMatchesXGBoost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p, n    int
		missing float64
		rounds  int
		use     int // IterationEnd; 0 = all
		params  []param
		cache   int
		wide    bool // a column has more than 254 split conditions
	}{
		{name: "depth 4", p: 8, n: 2000, missing: 0.2, rounds: 40},
		{name: "depth 6 few features", p: 6, n: 2000, missing: 0.1, rounds: 30, params: []param{{"max_depth", "6"}}},
		{name: "depth 8 no cache key", p: 10, n: 3000, missing: 0.3, rounds: 10, params: []param{{"max_depth", "8"}, {"min_child_weight", "0"}}},
		{name: "base score 0.3 and round limit", p: 8, n: 1500, missing: 0.2, rounds: 30, use: 12, params: []param{{"base_score", "0.3"}}},
		{name: "cache off", p: 8, n: 1000, missing: 0.2, rounds: 20, cache: -1},
		{name: "cache tiny", p: 8, n: 1000, missing: 0.2, rounds: 20, cache: 2000},
		{name: "wide codes", p: 6, n: 4000, missing: 0.1, rounds: 60, params: []param{{"max_depth", "6"}, {"max_bin", "1024"}, {"min_child_weight", "0"}}, wide: true},
		{name: "subsample and colsample", p: 12, n: 2000, missing: 0.1, rounds: 25, params: []param{{"subsample", "0.7"}, {"colsample_bytree", "0.6"}, {"max_depth", "5"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			X, y := synth(11, tc.n, tc.p, tc.missing)
			b := trainModel(t, append(append([]param{}, baseParams...), tc.params...), X, y, tc.p, tc.rounds)
			raw, err := b.SaveJSON()
			if err != nil {
				t.Fatal(err)
			}
			// Rows not seen in training, with their own missing values.
			Xt, _ := synth(12, 700, tc.p, tc.missing)
			m := newMatrix(t, Xt, nil, tc.p)
			exact, _ := predict(t, b, m, PredictOptions{Contribs: true, IterationEnd: tc.use})
			approx, _ := predict(t, b, m, PredictOptions{Contribs: true, ApproxContribs: true, IterationEnd: tc.use})
			trees, err := xgbtree.Parse(raw, tc.use)
			if err != nil {
				t.Fatal(err)
			}
			if trees.Wide() != tc.wide {
				t.Fatalf("Wide() = %v, want %v", trees.Wide(), tc.wide)
			}
			// Both ways of computing decision masks are exercised: tables
			// (few split conditions) and split by split (wide codes).
			if tables := trees.MaskTables(); tc.wide && tables != 0 || tc.name == "depth 4" && tables != trees.NumTrees() {
				t.Fatalf("%d of %d trees have mask tables", tables, trees.NumTrees())
			}
			e := trees.NewExplainer()
			switch {
			case tc.cache < 0:
				e.CacheBytes = 0
			case tc.cache > 0:
				e.CacheBytes = tc.cache
			}
			p, n := tc.p, len(Xt)/tc.p
			codes, err := trees.Encode(Xt, n)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, n*(p+1))
			// Twice over, so that the second pass reads the cache.
			for pass := range 2 {
				for _, k := range []struct {
					name string
					f    func(c xgbtree.Codes, out []float32) error
					want []float32
				}{{"exact", e.Exact, exact}, {"approx", e.Approx, approx}} {
					if err := k.f(codes, got); err != nil {
						t.Fatal(err)
					}
					for j := range got {
						if math.Float32bits(got[j]) != math.Float32bits(k.want[j]) {
							t.Fatalf("pass %d row %d %s: column %d = %v, XGBoost %v", pass, j/(p+1), k.name, j%(p+1), got[j], k.want[j])
						}
					}
				}
			}
			t.Logf("cache hits %d, misses %d", e.Hits, e.Misses)
		})
	}
}
