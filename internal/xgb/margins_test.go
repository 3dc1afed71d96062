package xgb

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/churnlab/churn/internal/xgbtree"
)

// TestMarginsMatchXGBoost checks that xgbtree's Margins give XGBoost's
// margins (output_margin) bit for bit, and Probabilities its probabilities
// within two units in the last place, on models
// with missing values, one-hot columns, deep trees, a base_score other than
// 0.5 and a round limit, for rows not seen in training that add values
// XGBoost compares specially: NaN, ±Inf, ±MaxFloat32, −0, subnormals and
// every split condition itself and its float32 neighbours.
func TestMarginsMatchXGBoost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p, n    int
		missing float64
		rounds  int
		use     int // IterationEnd; 0 = all
		params  []param
	}{
		{name: "depth 4", p: 8, n: 3000, missing: 0.2, rounds: 60},
		{name: "depth 8", p: 10, n: 3000, missing: 0.3, rounds: 20, params: []param{{"max_depth", "8"}, {"min_child_weight", "0"}}},
		{name: "base score 0.3 and round limit", p: 8, n: 2000, missing: 0.2, rounds: 40, use: 17, params: []param{{"base_score", "0.3"}}},
		{name: "base score 0.9", p: 8, n: 2000, missing: 0.1, rounds: 30, params: []param{{"base_score", "0.9"}}},
		{name: "many bins", p: 6, n: 4000, missing: 0.1, rounds: 50, params: []param{{"max_depth", "6"}, {"max_bin", "1024"}, {"min_child_weight", "0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			X, y := synth(21, tc.n, tc.p, tc.missing)
			oneHot(X, tc.p, 22)
			b := trainModel(t, append(append([]param{}, baseParams...), tc.params...), X, y, tc.p, tc.rounds)
			raw, err := b.SaveJSON()
			if err != nil {
				t.Fatal(err)
			}
			trees, err := xgbtree.Parse(raw, tc.use)
			if err != nil {
				t.Fatal(err)
			}
			Xt, _ := synth(23, 5000, tc.p, tc.missing)
			oneHot(Xt, tc.p, 24)
			Xt = append(Xt, edgeRows(raw, tc.p)...)
			n := len(Xt) / tc.p
			m := newMatrix(t, Xt, nil, tc.p)
			for _, k := range []struct {
				name   string
				margin bool
				f      func([]float32, int, []float32) error
			}{{"margin", true, trees.Margins}, {"probability", false, trees.Probabilities}} {
				want, _ := predict(t, b, m, PredictOptions{Margin: k.margin, IterationEnd: tc.use})
				got := make([]float32, n)
				if err := k.f(Xt, n, got); err != nil {
					t.Fatal(err)
				}
				bad := 0
				for i := range got {
					// Margins are XGBoost's to the bit. Probabilities may
					// differ in the last two bits: glibc's expf is not
					// correctly rounded, Go's float32(math.Exp) is.
					d := int64(math.Float32bits(got[i])) - int64(math.Float32bits(want[i]))
					if k.margin && d != 0 || d < -2 || d > 2 {
						if bad < 5 {
							t.Errorf("%s of row %d %v = %v (%08x), XGBoost %v (%08x)", k.name, i, Xt[i*tc.p:(i+1)*tc.p],
								got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%s: %d of %d rows differ", k.name, bad, n)
				}
			}
		})
	}
}

// oneHot makes columns 4 and 5 of the rows X (p columns) a one-hot
// encoding of a three-level category (the third level is both zero).
func oneHot(X []float32, p int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < len(X); i += p {
		l := r.IntN(3)
		X[i+4], X[i+5] = 0, 0
		if l < 2 {
			X[i+4+l] = 1
		}
	}
}

// edgeRows returns rows of p columns holding, in every column, the values
// trees compare specially: each split condition of the model and its
// float32 neighbours, ±0, ±MaxFloat32, subnormals and NaN.
func edgeRows(raw []byte, p int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, float32(math.NaN())}
	for _, c := range splitConditions(raw) {
		special = append(special, c, math.Nextafter32(c, float32(math.Inf(1))), math.Nextafter32(c, float32(math.Inf(-1))))
	}
	r := rand.New(rand.NewPCG(7, 8))
	var X []float32
	for range 4 * len(special) {
		for range p {
			X = append(X, special[r.IntN(len(special))])
		}
	}
	return X
}

// splitConditions returns the split conditions of the internal nodes of
// the model JSON raw.
func splitConditions(raw []byte) []float32 {
	var doc struct {
		Learner struct {
			GradientBooster struct {
				Model struct {
					Trees []struct {
						LeftChildren    []int     `json:"left_children"`
						SplitConditions []float32 `json:"split_conditions"`
					} `json:"trees"`
				} `json:"model"`
			} `json:"gradient_booster"`
		} `json:"learner"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		panic(err)
	}
	var out []float32
	for _, tr := range doc.Learner.GradientBooster.Model.Trees {
		for i, l := range tr.LeftChildren {
			if l != -1 {
				out = append(out, tr.SplitConditions[i])
			}
		}
	}
	return out
}
