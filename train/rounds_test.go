package train

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSetRoundsRescores is the regression test for cross-validation
// scoring every fold with the trees of the fold's own best round after
// choosing a common one: setRounds must change what margins and
// contributions use (TestTelcoAccuracy's AUC fell from 0.8494 to 0.8402).
func TestSetRoundsRescores(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "internal", "xgbtree", "testdata", "tiny_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	x := matrix{N: 4, P: 6, X: []float32{
		-1, -1, -1, -1, -1, -1,
		1, 1, 1, 1, 1, 1,
		0.5, -0.5, 0.25, -0.25, 2, -2,
		-2, 2, -0.75, 0.75, 0, 0,
	}}
	score := func(m *xgbModel) ([]float64, []float64) {
		mg, err := m.margins(x)
		if err != nil {
			t.Fatal(err)
		}
		c := make([]float64, x.N*7)
		if err := m.contributions(t.Context(), x, false, 1, []int{0, 1, 2, 3, 4, 5}, c); err != nil {
			t.Fatal(err)
		}
		return mg, c
	}
	one, err := newXGBModel(raw, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantM, wantC := score(one)
	m, err := newXGBModel(raw, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	allM, _ := score(m) // warms its explainers with three rounds
	if slices.Equal(allM, wantM) {
		t.Fatal("the test rows score alike with one round and three; pick others")
	}
	if err := m.setRounds(1); err != nil {
		t.Fatal(err)
	}
	if gotM, gotC := score(m); !slices.Equal(gotM, wantM) || !slices.Equal(gotC, wantC) || m.rounds() != 1 {
		t.Errorf("after setRounds(1): margins %v, contributions %v, rounds %d; want %v, %v, 1", gotM, gotC, m.rounds(), wantM, wantC)
	}
}
