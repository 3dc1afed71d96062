package train

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestScoreWithAcrossChunks checks that ScoreWith, which encodes and scores
// rows a chunk at a time, gives every row the same result whether all rows
// are scored (rows nil), all are listed, or a few are picked in any order,
// across chunk boundaries; and that each row's contributions are their own
// (capped slices that sum to the margin).
func TestScoreWithAcrossChunks(t *testing.T) {
	ctx := context.Background()
	m, err := Fit(ctx, synthTable(3000, []data.Date{data.MakeDate(2024, 1, 1)}), Params{Seed: 1, Folds: 2, Rounds: 20}, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tab := synthTable(70000, []data.Date{data.MakeDate(2024, 1, 1)}) // more than one chunk of 65,536
	n := tab.Len()
	opt := ScoreOptions{Contrib: ContribApprox}
	all, err := m.ScoreWith(ctx, tab, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	every := make([]int, n)
	for i := range every {
		every[i] = i
	}
	listed, err := m.ScoreWith(ctx, tab, every, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, listed) {
		t.Error("scoring every row by nil and by listing them differ")
	}
	picks := []int{n - 1, 0, 65536, 65535, 12345, 0}
	some, err := m.ScoreWith(ctx, tab, picks, opt)
	if err != nil {
		t.Fatal(err)
	}
	for k, r := range picks {
		if some.Margin[k] != all.Margin[r] || some.Prob[k] != all.Prob[r] || !reflect.DeepEqual(some.Contrib[k], all.Contrib[r]) {
			t.Errorf("row %d scored alone differs from row %d of all", r, r)
		}
	}
	if len(all.Margin) != n || len(all.Prob) != n || len(all.Contrib) != n {
		t.Fatalf("got %d margins, %d probabilities, %d contribution rows for %d rows", len(all.Margin), len(all.Prob), len(all.Contrib), n)
	}
	for i, c := range all.Contrib {
		if len(c) != len(tab.Spec.Features)+1 || cap(c) != len(c) {
			t.Fatalf("row %d: len %d cap %d, want both %d", i, len(c), cap(c), len(tab.Spec.Features)+1)
		}
		sum := 0.0
		for _, v := range c {
			sum += v
		}
		if math.Abs(sum-all.Margin[i]) > 1e-4 {
			t.Fatalf("row %d: contributions sum to %v, margin %v", i, sum, all.Margin[i])
		}
	}
}
