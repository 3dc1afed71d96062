package clv

import (
	"context"
	"errors"
	"math"
	"testing"
)

// FuzzSBG: any survivor counts give ErrData, ErrFit or a fit with positive
// parameters and a finite likelihood; never a panic.
func FuzzSBG(f *testing.F) {
	f.Add([]byte{200, 126, 94, 76, 65, 58, 52, 48})
	f.Add([]byte{100, 100, 100})
	f.Add([]byte{100, 0})
	f.Add([]byte{5, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		alive := make([]float64, len(b))
		for i, v := range b {
			alive[i] = float64(v)
		}
		fit, err := FitSBG(context.Background(), alive, &FitOptions{MaxIterations: 200})
		switch {
		case err != nil:
			if !errors.Is(err, ErrData) && !errors.Is(err, ErrFit) {
				t.Fatalf("%v: unexpected error %v", alive, err)
			}
		case !(fit.Alpha > 0 && fit.Beta > 0) || math.IsNaN(fit.LogLikelihood) || fit.LogLikelihood > 1e-9:
			t.Fatalf("%v: %+v", alive, fit)
		}
	})
}

// FuzzBGNBDPredictions: for any valid summary and parameters the
// predictions stay in range: P(alive) and P(no purchase) in [0, 1],
// expected purchases finite, ≥ 0 and non-decreasing in the horizon.
func FuzzBGNBDPredictions(f *testing.F) {
	f.Add(0.243, 4.414, 0.793, 2.426, uint16(2), 30.43, 38.86, 39.0)
	f.Add(0.5, 3.0, 1.0, 4.0, uint16(500), 38.0, 39.0, 13.0)
	f.Add(2.0, 0.1, 5.0, 0.5, uint16(0), 0.0, 0.0, 1.0)
	f.Fuzz(func(t *testing.T, r, α, a, b float64, x uint16, tx, T, h float64) {
		for _, v := range []float64{r, α, a, b} {
			if !(v > 1e-3 && v < 1e3) {
				t.Skip()
			}
		}
		if !(T >= 0 && T < 1e4 && tx >= 0 && tx <= T && h > 0 && h < 1e3) {
			t.Skip()
		}
		m := BGNBD{R: r, Alpha: α, A: a, B: b}
		s := Summary{Frequency: float64(x), Recency: tx, T: T}
		if x == 0 {
			s.Recency = 0
		}
		pa, pno := m.PAlive(s), m.ProbNoPurchase(h, s)
		e1, e2 := m.ExpectedPurchases(h, s), m.ExpectedPurchases(2*h, s)
		if !(pa >= 0 && pa <= 1) || !(pno >= 0 && pno <= 1+1e-12) {
			t.Fatalf("%+v %+v: P(alive) %v, P(none in %v) %v", m, s, pa, h, pno)
		}
		if math.IsNaN(e1) || math.IsInf(e1, 0) || e1 < -1e-9*math.Max(1, e2) || e2 < e1*(1-1e-9) {
			t.Fatalf("%+v %+v: E[Y(%v)] = %v, E[Y(%v)] = %v", m, s, h, e1, 2*h, e2)
		}
	})
}

// FuzzGammaGamma: any repeat customers give ErrData, ErrFit or a fit
// with positive parameters and a finite log-likelihood; never a panic.
func FuzzGammaGamma(f *testing.F) {
	f.Add([]byte{2, 30, 1, 12, 5, 22, 3, 18})
	f.Add([]byte{1, 10, 1, 10, 1, 10})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s []Summary
		for ; len(b) >= 2; b = b[2:] {
			s = append(s, Summary{Frequency: float64(b[0] % 20), Recency: 1, T: 2, Monetary: float64(b[1])})
		}
		fit, err := FitGammaGamma(context.Background(), s, &FitOptions{MaxIterations: 200})
		switch {
		case err != nil:
			if !errors.Is(err, ErrData) && !errors.Is(err, ErrFit) {
				t.Fatalf("%v: unexpected error %v", s, err)
			}
		case !(fit.P > 0 && fit.Q > 0 && fit.Gamma > 0) || math.IsNaN(fit.LogLikelihood) || math.IsInf(fit.LogLikelihood, 0):
			t.Fatalf("%v: %+v", s, fit)
		}
	})
}
