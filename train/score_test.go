package train

import (
	"context"
	"math"
	"testing"
)

// TestScoreWithApprox checks the contribution methods of ScoreWith: the
// same probabilities whatever the method, no contributions with
// ContribNone, approximate (Saabas) contributions that sum to the margin
// like exact ones but differ from them, and Score(contrib=true) = exact.
func TestScoreWithApprox(t *testing.T) {
	tab := telco(t)
	m, err := Fit(context.Background(), tab, Params{Seed: 3, Folds: 3, Rounds: 40}, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rows := []int{0, 1, 2, 3, 10, 100, 1000}
	ctx := context.Background()
	none, err := m.ScoreWith(ctx, tab, rows, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exact, err := m.ScoreWith(ctx, tab, rows, ScoreOptions{Contrib: ContribExact})
	if err != nil {
		t.Fatal(err)
	}
	approx, err := m.ScoreWith(ctx, tab, rows, ScoreOptions{Contrib: ContribApprox})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := m.Score(ctx, tab, rows, true)
	if err != nil {
		t.Fatal(err)
	}
	if none.Contrib != nil {
		t.Error("ContribNone computed contributions")
	}
	differ := false
	for i := range rows {
		if none.Prob[i] != exact.Prob[i] || none.Prob[i] != approx.Prob[i] {
			t.Fatalf("row %d: probabilities differ by method", rows[i])
		}
		var se, sa float64
		for j := range exact.Contrib[i] {
			se += exact.Contrib[i][j]
			sa += approx.Contrib[i][j]
			if exact.Contrib[i][j] != legacy.Contrib[i][j] {
				t.Fatalf("Score(contrib=true) is not the exact method")
			}
			if exact.Contrib[i][j] != approx.Contrib[i][j] {
				differ = true
			}
		}
		if math.Abs(se-none.Margin[i]) > 1e-3 || math.Abs(sa-none.Margin[i]) > 1e-3 {
			t.Errorf("row %d: exact sum %v, approx sum %v, margin %v", rows[i], se, sa, none.Margin[i])
		}
	}
	if !differ {
		t.Error("approx contributions equal the exact ones: ApproxContribs is not passed through")
	}
	if ContribApprox.String() != "approx" || ContribExact.String() != "exact" || ContribNone.String() != "none" {
		t.Error("ContribMethod names")
	}
}
