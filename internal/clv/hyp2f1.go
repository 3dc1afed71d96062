package clv

import "math"

// maxSeriesTerms bounds the hypergeometric series below. The series here
// converge geometrically at the rate z < 1 (after the transformations their
// callers apply), so the bound is reached only for z within ~1e-6 of 1.
const maxSeriesTerms = 10_000_000

// oneMinusPowHyp returns
//
//	(a+b+x−1)/(a−1) · [1 − (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)]
//
// the BG/NBD conditional expectation (Fader, Hardie and Lee 2005) without
// P(alive), without overflow for heavy buyers. Euler's
// transformation ₂F₁(A,B;C;z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z) turns
// (1−z)^(r+x) ₂F₁(r+x, b+x; c; z), c = a+b+x−1, into
// (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; c; z): its upper parameters no longer grow
// with x, so the terms shrink from the start instead of rising to ~(1−z)^−x
// and cancelling against a vanishing power. Writing ₂F₁ = 1 + S and
// dividing by a−1 analytically (every term of S carries the factor a−1)
// keeps a → 1 finite:
//
//	[1 − (1−z)^(a−1)(1+S)]/(a−1) = −expm1((a−1)·log(1−z))/(a−1) − (1−z)^(a−1)·S/(a−1).
//
// The factor c = a+b+x−1 is multiplied into the series too (every term of S
// carries 1/c), so c = 0 (x = 0, a+b = 1) is finite.
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
	// c·S/(a−1) = Σ_{k≥1} (A)_k (a)_{k−1} / ((c+1)_{k−1} k!) z^k with
	// A = a+b−1−r: (a−1)_k/(a−1) = (a)_{k−1}, (c)_k/c = (c+1)_{k−1}.
	A, c := a+b-1-r, a+b+x-1
	term := A * z // k = 1
	sum, abs := term, math.Abs(term)
	for k := 1; k < maxSeriesTerms && term != 0 && !math.IsNaN(term) && !math.IsInf(term, 0); k++ {
		kf := float64(k)
		ratio := (A + kf) * (a + kf - 1) / ((c + kf) * (kf + 1)) * z
		term *= ratio
		sum += term
		abs += math.Abs(term)
		// Once the terms shrink, the ratio tends to z from either side;
		// the tail is about term·ρ/(1−ρ), ρ the larger of the two.
		if rho := math.Max(math.Abs(ratio), z); rho < 1 && math.Abs(term)*rho <= 1e-16*(1-rho)*math.Abs(sum) {
			break
		}
	}
	pw := math.Exp(am1 * l)
	v := c*head - pw*sum
	// With r ≫ a+b the upper parameter A is large and negative: the terms
	// alternate and cancel. When more than 6 of the 16 digits are lost,
	// sum the untransformed series instead, whose terms are all positive.
	if math.IsNaN(v) || math.IsInf(v, 0) || pw*abs > 1e6*math.Abs(v) {
		if math.Abs(am1) >= aOneBand {
			return oneMinusPowHypDirect(r, a, b, x, z, l)
		}
		// Near a = 1 the direct form divides by a−1: average it at
		// a = 1 ± aOneBand around a (smooth in a; error ~aOneBand²).
		return (oneMinusPowHypDirect(r, a-aOneBand, b, x, z, l) + oneMinusPowHypDirect(r, a+aOneBand, b, x, z, l)) / 2
	}
	return v
}

// oneMinusPowHypDirect is oneMinusPowHyp from the untransformed series.
// With p = r+x, q = b+x, c = a+b+x−1 (> −1 since a, b > 0) and
// U = Σ_{k≥1} (p)_k (q)_k / ((c+1)_{k−1} k!) z^k, whose terms are all
// positive, c·₂F₁(p, q; c; z) = c + U, so
//
//	c·[1 − (1−z)^p ₂F₁] = −c·expm1(log(1−z)^p + log(1 + U/c))   (c > 0)
//	                    = −c·expm1(p·log(1−z)) − (1−z)^p·U       (c ≤ 0: two terms of one sign)
//
// U is summed with a running scale so it cannot overflow. It divides by
// a−1: callers keep a out of 1 ± aOneBand.
func oneMinusPowHypDirect(r, a, b, x, z, l float64) float64 {
	p, q, c := r+x, b+x, a+b+x-1
	term := p * q * z // k = 1
	sum, scale := term, 0.0
	for k := 1; k < maxSeriesTerms && term > 0 && !math.IsInf(sum, 0); k++ {
		kf := float64(k)
		ratio := (p + kf) * (q + kf) / ((c + kf) * (kf + 1)) * z
		term *= ratio
		sum += term
		if sum > 1e250 {
			term *= 1e-250
			sum *= 1e-250
			scale += 250 * math.Ln10
		}
		if ratio < 1 && term*ratio <= 1e-16*(1-ratio)*sum {
			break
		}
	}
	logU := math.Log(sum) + scale
	if c > 0 {
		// log(1 + U/c) without overflow.
		lu := logU - math.Log(c)
		var l1 float64
		if lu > 0 {
			l1 = lu + math.Log1p(math.Exp(-lu))
		} else {
			l1 = math.Log1p(math.Exp(lu))
		}
		return -c * math.Expm1(p*l+l1) / (a - 1)
	}
	return (-c*math.Expm1(p*l) - math.Exp(p*l+logU)) / (a - 1)
}

// aOneBand is the half-width around a = 1 where oneMinusPowHyp's
// fallback interpolates instead of dividing by a−1.
const aOneBand = 1e-4

// hyp2f1One returns ₂F₁(1, b; c; z) for 0 ≤ z < 1 and c > 0: a series of
// positive terms whose ratio (b+k)z/(c+k) stays below max(z, zb/c).
func hyp2f1One(b, c, z float64) float64 {
	term, sum := 1.0, 1.0
	tail := z / (1 - z)
	for k := 0; k < maxSeriesTerms && !math.IsNaN(sum) && !math.IsInf(sum, 0); k++ {
		kf := float64(k)
		term *= (b + kf) / (c + kf) * z
		sum += term
		if term*tail <= 1e-16*sum {
			break
		}
	}
	return sum
}
