package randx

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGamma checks the sample mean and variance (both equal to shape),
// below and above shape 1.
func TestGamma(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 200_000
	for _, shape := range []float64{0.3, 0.8, 1, 1.5, 6, 40} {
		var s, s2 float64
		for range n {
			x := Gamma(r, shape)
			if !(x >= 0) || math.IsInf(x, 0) {
				t.Fatalf("Gamma(%g) = %g", shape, x)
			}
			s += x
			s2 += x * x
		}
		m := s / n
		v := s2/n - m*m
		// Standard errors: √(shape/n) for the mean, about √(2·shape²·(1+3/shape)/n) for the variance.
		if math.Abs(m-shape) > 5*math.Sqrt(shape/n) || math.Abs(v-shape) > 5*math.Sqrt((2*shape*shape+6*shape)/n) {
			t.Errorf("Gamma(%g): mean %.4f, variance %.4f; want %g and %g", shape, m, v, shape, shape)
		}
	}
}

// TestBeta checks the sample mean and variance of Beta(a, b).
func TestBeta(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 200_000
	for _, ab := range [][2]float64{{0.8, 5}, {2, 2}, {0.5, 0.5}} {
		a, b := ab[0], ab[1]
		var s, s2 float64
		for range n {
			x := Beta(r, a, b)
			if x < 0 || x > 1 {
				t.Fatalf("Beta(%g, %g) = %g", a, b, x)
			}
			s += x
			s2 += x * x
		}
		m, v := s/n, s2/n-(s/n)*(s/n)
		wm, wv := a/(a+b), a*b/((a+b)*(a+b)*(a+b+1))
		if math.Abs(m-wm) > 5*math.Sqrt(wv/n) || math.Abs(v-wv) > 0.03*wv {
			t.Errorf("Beta(%g, %g): mean %.4f, variance %.5f; want %.4f and %.5f", a, b, m, v, wm, wv)
		}
	}
}

// TestDeterministic checks that the same source gives the same numbers.
func TestDeterministic(t *testing.T) {
	a, b := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	for range 1000 {
		if x, y := Beta(a, 0.7, 3), Beta(b, 0.7, 3); x != y {
			t.Fatalf("%g != %g", x, y)
		}
	}
}
