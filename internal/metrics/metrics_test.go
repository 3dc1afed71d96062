package metrics

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func approx(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-12
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name string
		p, y []float64
		w    []float64
		want float64
	}{
		{"perfect", []float64{0.9, 0.8, 0.2, 0.1}, []float64{1, 1, 0, 0}, nil, 1},
		{"inverted", []float64{0.1, 0.2, 0.8, 0.9}, []float64{1, 1, 0, 0}, nil, 0},
		{"all tied", []float64{0.5, 0.5, 0.5, 0.5}, []float64{1, 0, 1, 0}, nil, 0.5},
		// pairs (pos, neg): (0.8,0.7)=1 (0.8,0.5)=1 (0.5,0.7)=0 (0.5,0.5)=0.5 → 2.5/4
		{"ties count half", []float64{0.8, 0.5, 0.7, 0.5}, []float64{1, 1, 0, 0}, nil, 0.625},
		{"weights duplicate rows", []float64{0.8, 0.5, 0.7}, []float64{1, 1, 0}, []float64{1, 2, 1}, 1.0 / 3},
		{"one class", []float64{0.1, 0.2}, []float64{1, 1}, nil, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AUC(tt.p, tt.y, tt.w); !approx(got, tt.want) {
				t.Errorf("AUC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAveragePrecision(t *testing.T) {
	// ranks: pos(1) neg pos(3) neg → AP = (1/1 + 2/3)/2
	got := AveragePrecision([]float64{0.9, 0.8, 0.7, 0.6}, []float64{1, 0, 1, 0}, nil)
	if want := (1 + 2.0/3) / 2; !approx(got, want) {
		t.Errorf("AP = %v, want %v", got, want)
	}
}

func TestLossesAndCalibration(t *testing.T) {
	p := []float64{0.9, 0.1, 0.8, 0.3}
	y := []float64{1, 0, 0, 1}
	wantLL := -(math.Log(0.9) + math.Log(0.9) + math.Log(0.2) + math.Log(0.3)) / 4
	if got := LogLoss(p, y, nil); !approx(got, wantLL) {
		t.Errorf("LogLoss = %v, want %v", got, wantLL)
	}
	if got, want := Brier(p, y, nil), (0.01+0.01+0.64+0.49)/4; !approx(got, want) {
		t.Errorf("Brier = %v, want %v", got, want)
	}
	// Two bins: [0,0.5): p .1,.3 y 0,1 → mean .2 vs .5; [.5,1): p .9,.8 y 1,0 → .85 vs .5.
	if got, want := ECE(p, y, nil, 2), (2*0.3+2*0.35)/4; !approx(got, want) {
		t.Errorf("ECE = %v, want %v", got, want)
	}
	if got := BaseRate(y, nil); got != 0.5 {
		t.Errorf("BaseRate = %v", got)
	}
	if got := Quantile([]float64{3, 1, 2, 4}, 0.5); got != 2.5 {
		t.Errorf("median = %v", got)
	}
	if !approx(Sigmoid(Logit(0.3)), 0.3) {
		t.Error("Sigmoid(Logit(0.3)) != 0.3")
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		d    int
		want float64
	}{
		{"six decimals", 0.12345678, 6, 0.123457},
		{"half away from zero", 0.0000005, 6, 0.000001},
		{"negative", -1.23456789, 3, -1.235},
		{"negative zero", -0.0000001, 6, 0},
		{"huge", 1e300, 6, 1e300},
		{"NaN stays NaN", math.NaN(), 6, math.NaN()},
		{"Inf stays Inf", math.Inf(-1), 3, math.Inf(-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Round(tt.x, tt.d)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) || math.Signbit(got) != math.Signbit(tt.want) {
				t.Errorf("Round(%v, %d) = %v, want %v", tt.x, tt.d, got, tt.want)
			}
		})
	}
}

// TestRankAreas checks the one-pass areas on sorted scores against AUC and
// AveragePrecision, with ties, weights and keys.
func TestRankAreas(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 50; trial++ {
		n := 1 + r.IntN(40)
		p, y, w := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range p {
			p[i] = float64(r.IntN(8)) / 8 // many ties
			y[i] = float64(r.IntN(2))
			w[i] = float64(r.IntN(3))
		}
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
		yo := make([]float64, n)
		for k, i := range order {
			yo[k] = y[i]
		}
		blocks := TieBlocks(n, func(a, b int) bool { return p[order[a]] == p[order[b]] })
		for _, tc := range []struct {
			name string
			key  []int
			w    []float64
		}{{"weights by key", order, w}, {"no weights", order, nil}} {
			auc, ap := RankAreas(blocks, yo, tc.key, tc.w)
			if want := AUC(p, y, tc.w); !approx(auc, want) {
				t.Fatalf("trial %d %s: AUC %v, want %v", trial, tc.name, auc, want)
			}
			if want := AveragePrecision(p, y, tc.w); !approx(ap, want) {
				t.Fatalf("trial %d %s: AP %v, want %v", trial, tc.name, ap, want)
			}
		}
		// key nil: the weights are in score order.
		wo := make([]float64, n)
		for k, i := range order {
			wo[k] = w[i]
		}
		if auc, _ := RankAreas(blocks, yo, nil, wo); !approx(auc, AUC(p, y, w)) {
			t.Fatalf("trial %d: key nil: AUC %v, want %v", trial, auc, AUC(p, y, w))
		}
	}
}
