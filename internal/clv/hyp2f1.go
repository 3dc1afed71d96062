package clv

import "math"

// maxSeriesTerms bounds the hypergeometric series below. The series here
// converge geometrically at the rate z < 1 (after the transformations their
// callers apply), so the bound is reached only for z within ~1e-6 of 1.
const maxSeriesTerms = 10_000_000

// oneMinusPowHyp returns
//
//	[1 − (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)] / (a−1)
//
// the bracket of the BG/NBD conditional expectation (Fader, Hardie and Lee
// 2005, eq. 10) divided by a−1, without overflow for heavy buyers. Euler's
// transformation ₂F₁(A,B;C;z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z) turns
// (1−z)^(r+x) ₂F₁(r+x, b+x; c; z), c = a+b+x−1, into
// (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; c; z): its upper parameters no longer grow
// with x, so the terms shrink from the start instead of rising to ~(1−z)^−x
// and cancelling against a vanishing power. Writing ₂F₁ = 1 + S and
// dividing by a−1 analytically (every term of S carries the factor a−1)
// keeps a → 1 finite:
//
//	[1 − (1−z)^(a−1)(1+S)]/(a−1) = −expm1((a−1)·log(1−z))/(a−1) − (1−z)^(a−1)·S/(a−1).
func oneMinusPowHyp(r, a, b, x, z float64) float64 {
	if z <= 0 {
		return 0
	}
	l := math.Log1p(-z)
	am1 := a - 1
	var head float64
	if math.Abs(am1*l) < 1e-300 {
		head = -l
	} else {
		head = -math.Expm1(am1*l) / am1
	}
	// S/(a−1) = Σ_{k≥1} (A)_k (a)_{k−1} / ((c)_k k!) z^k with A = a+b−1−r:
	// (a−1)_k/(a−1) = (a)_{k−1}.
	A, c := a+b-1-r, a+b+x-1
	term := A * z / c // k = 1
	sum := term
	for k := 1; k < maxSeriesTerms && term != 0; k++ {
		kf := float64(k)
		ratio := (A + kf) * (a + kf - 1) / ((c + kf) * (kf + 1)) * z
		term *= ratio
		sum += term
		// Once the terms shrink, the ratio tends to z from either side;
		// the tail is about term·ρ/(1−ρ), ρ the larger of the two.
		if rho := math.Max(math.Abs(ratio), z); rho < 1 && math.Abs(term)*rho <= 1e-16*(1-rho)*math.Abs(sum) {
			break
		}
	}
	return head - math.Exp(am1*l)*sum
}

// hyp2f1One returns ₂F₁(1, b; c; z) for 0 ≤ z < 1 and c > 0: a series of
// positive terms whose ratio (b+k)z/(c+k) stays below max(z, zb/c).
func hyp2f1One(b, c, z float64) float64 {
	term, sum := 1.0, 1.0
	tail := z / (1 - z)
	for k := 0; k < maxSeriesTerms; k++ {
		kf := float64(k)
		term *= (b + kf) / (c + kf) * z
		sum += term
		if term*tail <= 1e-16*sum {
			break
		}
	}
	return sum
}
