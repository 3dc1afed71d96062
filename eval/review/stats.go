package review

import (
	"math"
)

// zScore returns the two-sided standard normal quantile of a confidence
// level: 1.959964 for 0.95.
func zScore(level float64) float64 {
	return math.Sqrt2 * math.Erfinv(level)
}

// wilson returns the Wilson score interval of the proportion x/n at the
// normal quantile z (Wilson 1927; Newcombe 1998a, method 3): the
// proportions p whose score test |x/n − p| ≤ z·√(p(1−p)/n) accepts.
// NaN ends when n is 0.
func wilson(x, n, z float64) (lo, hi float64) {
	if n <= 0 {
		return math.NaN(), math.NaN()
	}
	p := x / n
	z2 := z * z
	den := 1 + z2/n
	center := (p + z2/(2*n)) / den
	half := z * math.Sqrt(p*(1-p)/n+z2/(4*n*n)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

// newcombe returns the difference p1 − p2 of the proportions x1/n1 and
// x2/n2 with Newcombe's hybrid score interval (Newcombe 1998b, method 10):
// each proportion's Wilson interval (l, u), then
//
//	lo = d − √((p1 − l1)² + (u2 − p2)²),  hi = d + √((u1 − p1)² + (p2 − l2)²).
//
// It keeps its coverage near the nominal level at small counts and rates
// near 0, where the Wald interval fails. NaN when either n is 0.
func newcombe(x1, n1, x2, n2, z float64) (d, lo, hi float64) {
	if n1 <= 0 || n2 <= 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	p1, p2 := x1/n1, x2/n2
	l1, u1 := wilson(x1, n1, z)
	l2, u2 := wilson(x2, n2, z)
	d = p1 - p2
	lo = d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	hi = d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return d, lo, hi
}

// katz returns the relative risk (x1/n1) / (x2/n2) with the Katz log
// interval (Katz, Baptista, Azen and Pike 1978): ln RR ± z·SE with
//
//	SE = √(1/x1 − 1/n1 + 1/x2 − 1/n2).
//
// When x1 or x2 is 0 the interval is computed with 0.5 added to each of
// the four cells of the 2×2 table (Haldane–Anscombe: x + 0.5 events of
// n + 1); the point estimate is not corrected (0 or +Inf). NaN when an n
// is 0 or both x are 0 (no event in either group: no ratio).
func katz(x1, n1, x2, n2, z float64) (rr, lo, hi float64) {
	nan := math.NaN()
	if n1 <= 0 || n2 <= 0 || (x1 == 0 && x2 == 0) {
		return nan, nan, nan
	}
	rr = (x1 / n1) / (x2 / n2)
	a, m, c, n := x1, n1, x2, n2
	if a == 0 || c == 0 {
		a, m, c, n = a+0.5, m+1, c+0.5, n+1
	}
	center := math.Log((a / m) / (c / n))
	se := math.Sqrt(1/a - 1/m + 1/c - 1/n)
	return rr, math.Exp(center - z*se), math.Exp(center + z*se)
}

// twoArms is the outcome of an intent-to-treat comparison: churners and
// units in each arm (windows closed).
type twoArms struct {
	churnT, nT float64 // treated arm
	churnC, nC float64 // control arm
}

// effect is what a comparison of two arms reports.
type effect struct {
	RateT, RateC       float64
	RateTLo, RateTHi   float64 // Wilson
	RateCLo, RateCHi   float64
	Uplift, UpLo, UpHi float64 // control rate − treated rate, Newcombe
	RR, RRLo, RRHi     float64 // treated rate / control rate, Katz
	RRR, RRRLo, RRRHi  float64 // 1 − RR
}

// compare measures the effect of a play: uplift = churn rate of control −
// churn rate of treated (churn prevented per treated customer) with
// Newcombe's interval, relative risk reduction = 1 − RR with RR's Katz
// interval.
func (a twoArms) compare(z float64) effect {
	var e effect
	e.RateT, e.RateC = ratio(a.churnT, a.nT), ratio(a.churnC, a.nC)
	e.RateTLo, e.RateTHi = wilson(a.churnT, a.nT, z)
	e.RateCLo, e.RateCHi = wilson(a.churnC, a.nC, z)
	e.Uplift, e.UpLo, e.UpHi = newcombe(a.churnC, a.nC, a.churnT, a.nT, z)
	e.RR, e.RRLo, e.RRHi = katz(a.churnT, a.nT, a.churnC, a.nC, z)
	e.RRR, e.RRRLo, e.RRRHi = 1-e.RR, 1-e.RRHi, 1-e.RRLo
	return e
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}
