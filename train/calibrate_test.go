package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/churnlab/churn/internal/metrics"
)

func TestIsotonicPoolsViolators(t *testing.T) {
	// y by margin order: 0 1 0 1 1 → pools (1,0) into 0.5.
	c := FitIsotonic([]float64{1, 2, 3, 4, 5}, []float64{0, 1, 0, 1, 1}, nil)
	want := []struct{ m, p float64 }{{0, 0}, {1, 0}, {2, 0.5}, {2.5, 0.5}, {3, 0.5}, {3.5, 0.75}, {4, 1}, {9, 1}}
	for _, w := range want {
		if got := c.Apply(w.m); math.Abs(got-w.p) > 1e-12 {
			t.Errorf("Apply(%v) = %v, want %v", w.m, got, w.p)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestPlattRecoversScale(t *testing.T) {
	// Labels drawn with p = sigmoid(2m - 1): Platt should find a≈2, b≈-1.
	r := rand.New(rand.NewPCG(1, 1))
	n := 20000
	m, y := make([]float64, n), make([]float64, n)
	for i := range m {
		m[i] = r.NormFloat64()
		if r.Float64() < metrics.Sigmoid(2*m[i]-1) {
			y[i] = 1
		}
	}
	c := FitPlatt(m, y, nil)
	if math.Abs(c.A-2) > 0.15 || math.Abs(c.B+1) > 0.1 {
		t.Errorf("Platt a, b = %v, %v; want ≈ 2, -1", c.A, c.B)
	}
}

func TestChooseCalibrator(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	n := 4000
	m, y := make([]float64, n), make([]float64, n)
	for i := range m {
		m[i] = r.NormFloat64() * 3 // overconfident margins: truth is sigmoid(m/3)
		if r.Float64() < metrics.Sigmoid(m[i]/3) {
			y[i] = 1
		}
	}
	c, choice := ChooseCalibrator(m, y, nil)
	if choice.Method == CalibrationNone || c.Method != choice.Method {
		t.Fatalf("chose %q (%v); calibration should beat none on overconfident margins", choice.Method, choice.LogLoss)
	}
	if choice.LogLoss[choice.Method] >= choice.LogLoss[CalibrationNone] {
		t.Errorf("log loss of the choice %v is not below none's %v", choice.LogLoss[choice.Method], choice.LogLoss[CalibrationNone])
	}
}
