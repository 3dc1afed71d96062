package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/xgb"
)

// contribTable is a table with missing values, a categorical feature
// (one-hot encoded into several columns) and an interaction, so that trees
// split on one feature several times and send missing values both ways.
func contribTable(n int, seed uint64) *features.Table {
	r := rand.New(rand.NewPCG(seed, 9))
	spec := &features.Spec{Features: []features.Def{
		{Name: "x1", Kind: features.Numeric}, {Name: "x2", Kind: features.Numeric}, {Name: "x3", Kind: features.Numeric},
		{Name: "plan", Kind: features.Categorical}, {Name: "x4", Kind: features.Numeric},
	}, Label: features.LabelSpec{HorizonDay: 30}}
	t := &features.Table{Spec: spec, Num: make([][]float64, 5), Cat: make([][]string, 5)}
	d := data.MakeDate(2024, 1, 1)
	for i := range n {
		x := [5]float64{r.NormFloat64(), r.NormFloat64(), float64(r.IntN(20)), 0, r.NormFloat64()}
		plan := []string{"basic", "pro", "team", ""}[r.IntN(4)]
		z := 1.5*x[0] - x[1]*x[4] + 0.1*x[2]
		if plan == "basic" {
			z += 1
		}
		for _, j := range []int{1, 2, 4} {
			if r.Float64() < 0.15 {
				x[j] = math.NaN()
			}
		}
		y := 0.0
		if r.Float64() < 1/(1+math.Exp(-z)) {
			y = 1
		}
		t.IDs = append(t.IDs, "c"+string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676%26)))
		t.AsOf = append(t.AsOf, d)
		for _, j := range []int{0, 1, 2, 4} {
			t.Num[j] = append(t.Num[j], x[j])
		}
		t.Cat[3] = append(t.Cat[3], plan)
		t.Label = append(t.Label, y)
	}
	return t
}

// TestContributionsAreXGBoosts checks that ScoreWith's contributions are
// XGBoost's own, summed per feature: exact ones equal pred_contribs and
// approximate ones approx_contribs, to the bit, for every row, whatever
// the number of workers, and on a second call (the explainers' caches
// warm).
func TestContributionsAreXGBoosts(t *testing.T) {
	ctx := context.Background()
	for _, depth := range []int{4, 6} {
		m, err := Fit(ctx, contribTable(3000, 1), Params{Seed: 1, Folds: 2, Rounds: 30, MaxDepth: depth, EarlyStopping: -1}, FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tab := contribTable(5000, 2)
		enc := m.Manifest.Encoder
		X, n := enc.Matrix(tab, nil)
		p := len(enc.Columns)
		dm, err := xgb.NewDMatrix(X, n, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := xgb.LoadBoosterJSON(m.booster)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		featOf := enc.FeatureOf()
		nf := len(tab.Spec.Features)
		for _, tc := range []struct {
			method  ContribMethod
			approx  bool
			workers int
		}{{ContribExact, false, 1}, {ContribExact, false, 3}, {ContribExact, false, 2}, {ContribApprox, true, 1}, {ContribApprox, true, 4}} {
			raw, _, err := b.Predict(dm, xgb.PredictOptions{Contribs: true, ApproxContribs: tc.approx, IterationEnd: m.Manifest.Rounds})
			if err != nil {
				t.Fatal(err)
			}
			sc, err := m.ScoreWith(ctx, tab, nil, ScoreOptions{Contrib: tc.method, Workers: tc.workers})
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				want := make([]float64, nf+1)
				row := raw[i*(p+1) : (i+1)*(p+1)]
				for j := range p {
					want[featOf[j]] += float64(row[j])
				}
				want[nf] = float64(row[p])
				for f, w := range want {
					if got := sc.Contrib[i][f]; math.Float64bits(got) != math.Float64bits(w) {
						t.Fatalf("depth %d %v workers %d row %d feature %d: %v, XGBoost %v", depth, tc.method, tc.workers, i, f, got, w)
					}
				}
			}
		}
		dm.Close()
		m.Close()
	}
}
