package randx

import (
	"math"
	"math/rand/v2"
)

// Gamma returns a Gamma(shape, 1) variate (rate 1: divide by a rate, or
// multiply by a scale, for others), by Marsaglia and Tsang's method ("A
// simple method for generating gamma variables", 2000), with the boost
// X·U^(1/shape) for shape < 1. It draws normal and uniform numbers from r
// in a fixed order. shape must be positive and finite.
func Gamma(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		return Gamma(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// Beta returns a Beta(a, b) variate, X/(X+Y) for X ~ Gamma(a) and Y ~
// Gamma(b) drawn in that order. a and b must be positive and finite.
func Beta(r *rand.Rand, a, b float64) float64 {
	x := Gamma(r, a)
	return x / (x + Gamma(r, b))
}
