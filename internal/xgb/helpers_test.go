package xgb

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// synth draws a binary problem of n rows and p ≥ 6 features: the log-odds
// depend on x0…x4 (one interaction, one threshold), the rest is noise, and a
// fraction missing of the values in x0…x2 is NaN.
func synth(seed uint64, n, p int, missing float64) (X, y []float32) {
	X, y, _ = synthProb(seed, n, p, missing)
	return X, y
}

// synthProb is synth that also returns each row's true probability of y = 1.
func synthProb(seed uint64, n, p int, missing float64) (X, y, prob []float32) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	X = make([]float32, n*p)
	y = make([]float32, n)
	prob = make([]float32, n)
	for i := range n {
		row := X[i*p : (i+1)*p]
		for j := range row {
			row[j] = float32(r.NormFloat64())
		}
		z := -0.3 + 1.2*float64(row[0]) - 1.5*float64(row[1]) + 0.8*float64(row[2])*float64(row[3])
		if row[4] > 0.5 {
			z += 1
		}
		prob[i] = float32(1 / (1 + math.Exp(-z)))
		if r.Float64() < float64(prob[i]) {
			y[i] = 1
		}
		for j := range 3 {
			if r.Float64() < missing {
				row[j] = float32(math.NaN())
			}
		}
	}
	return X, y, prob
}

func newMatrix(t testing.TB, X, y []float32, p int) *DMatrix {
	t.Helper()
	m, err := NewDMatrix(X, len(X)/p, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if y != nil {
		if err := m.SetLabels(y); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

type param struct{ name, value string }

var baseParams = []param{
	{"objective", "binary:logistic"},
	{"tree_method", "hist"},
	{"max_depth", "4"},
	{"eta", "0.3"},
	{"nthread", "2"},
	{"seed", "7"},
	{"verbosity", "1"},
}

func testBooster(t testing.TB, params []param, cache ...*DMatrix) *Booster {
	t.Helper()
	b, err := NewBooster(cache...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for _, p := range params {
		if err := b.SetParam(p.name, p.value); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func trainRounds(t testing.TB, b *Booster, train *DMatrix, rounds int) {
	t.Helper()
	for i := range rounds {
		if err := b.UpdateOneIter(i, train); err != nil {
			t.Fatal(err)
		}
	}
}

func trainModel(t testing.TB, params []param, X, y []float32, p, rounds int) *Booster {
	t.Helper()
	m := newMatrix(t, X, y, p)
	b := testBooster(t, params, m)
	trainRounds(t, b, m, rounds)
	return b
}

func predict(t testing.TB, b *Booster, m *DMatrix, opt PredictOptions) ([]float32, []uint64) {
	t.Helper()
	out, shape, err := b.Predict(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	return out, shape
}

// auc is the area under the ROC curve by the rank-sum formula, ties averaged.
func auc(score, y []float32) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] < score[idx[b]] })
	var rankPos, nPos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks i+1 … j
		for _, k := range idx[i:j] {
			if y[k] == 1 {
				rankPos += avg
				nPos++
			}
		}
		i = j
	}
	nNeg := float64(len(y)) - nPos
	return (rankPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}

func logloss(p, y []float32) float64 {
	var s float64
	for i := range p {
		q := min(max(float64(p[i]), 1e-16), 1-1e-16)
		if y[i] == 1 {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(p))
}

func TestAUCHelper(t *testing.T) {
	for _, tc := range []struct {
		name     string
		score, y []float32
		want     float64
	}{
		{"perfect", []float32{0.1, 0.2, 0.8, 0.9}, []float32{0, 0, 1, 1}, 1},
		{"inverted", []float32{0.9, 0.8, 0.2, 0.1}, []float32{0, 0, 1, 1}, 0},
		{"ties", []float32{0.5, 0.5, 0.5, 0.5}, []float32{0, 1, 0, 1}, 0.5},
		{"one swap", []float32{0.1, 0.3, 0.2, 0.9}, []float32{0, 0, 1, 1}, 0.75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := auc(slices.Clone(tc.score), tc.y); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("auc = %v, want %v", got, tc.want)
			}
		})
	}
}
