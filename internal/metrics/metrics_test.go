package metrics

import (
	"math"
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
