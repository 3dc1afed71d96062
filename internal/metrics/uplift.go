package metrics

import "math"

// Uplift metrics judge a ranking by the effect of a treatment, measured on
// units of a randomised experiment. Their inputs follow the package's
// contract and scikit-uplift's convention (sklift.metrics, versions 0.2 to
// 0.5):
//
//   - u holds the scores that rank the units, highest first (a predicted
//     uplift, or any score whose targeting is to be judged);
//   - y holds the outcome, 1 for the favourable one, the outcome the
//     treatment is meant to make more likely (for churn: 1 = retained, so
//     that an uplift is a reduction of churn), else 0;
//   - treat holds 1 for a treated unit and 0 for a control unit;
//   - w holds optional weights (nil means all ones): a unit of weight k
//     counts as k identical units.
//
// Units with equal scores are taken together (a curve has one point per
// distinct score), so the order of tied units never matters.

// curveSums walks the units by decreasing score and calls point once per
// block of tied scores with the cumulative sums up to and including it: n
// units, nt of them treated, yt favourable outcomes among the treated and
// yc among the control units (all weighted).
func curveSums(u, y, treat, w []float64, point func(n, nt, yt, yc float64)) {
	idx := order(u)
	var n, nt, yt, yc float64
	for k := 0; k < len(idx); {
		j := k
		for j < len(idx) && u[idx[j]] == u[idx[k]] {
			i := idx[j]
			wi := weight(w, i)
			n += wi
			if treat[i] == 1 {
				nt += wi
				yt += wi * y[i]
			} else {
				yc += wi * y[i]
			}
			j++
		}
		point(n, nt, yt, yc)
		k = j
	}
}

// QiniCurve returns Radcliffe's Qini curve of the ranking by u: after
// targeting the n highest-scored units (n[k], a weighted count), the gain
//
//	gain[k] = Yt(n) − Yc(n) · Nt(n) / Nc(n)
//
// where Nt, Nc are the treated and control units among them and Yt, Yc
// their favourable outcomes: the extra favourable outcomes the treatment
// brought to the targeted treated units, with the control units as their
// counterfactual (Nc = 0 counts Yc·Nt/Nc as 0). The curve starts at (0, 0)
// and has one point per distinct score. This is sklift.metrics.qini_curve
// (Radcliffe, N. J. (2007), "Using control groups to target on predicted
// lift", Direct Marketing Analytics Journal 3:14–21).
//
// Both slices are new; the inputs are not modified. Empty inputs give the
// single point (0, 0).
func QiniCurve(u, y, treat, w []float64) (n, gain []float64) {
	n, gain = []float64{0}, []float64{0}
	curveSums(u, y, treat, w, func(x, nt, yt, yc float64) {
		g := yt
		if nc := x - nt; nc != 0 {
			g -= yc * nt / nc
		}
		n, gain = append(n, x), append(gain, g)
	})
	return n, gain
}

// UpliftCurve returns the uplift curve of the ranking by u: after targeting
// the n highest-scored units,
//
//	gain[k] = (Yt(n)/Nt(n) − Yc(n)/Nc(n)) · n
//
// (a rate of an empty group counts as 0): the difference of the two groups'
// favourable rates among the targeted, scaled to their number. It starts at
// (0, 0) and has one point per distinct score. This is
// sklift.metrics.uplift_curve. Both slices are new; the inputs are not
// modified.
func UpliftCurve(u, y, treat, w []float64) (n, gain []float64) {
	n, gain = []float64{0}, []float64{0}
	curveSums(u, y, treat, w, func(x, nt, yt, yc float64) {
		var rt, rc float64
		if nt != 0 {
			rt = yt / nt
		}
		if nc := x - nt; nc != 0 {
			rc = yc / nc
		}
		n, gain = append(n, x), append(gain, (rt-rc)*x)
	})
	return n, gain
}

// trapezoid returns the area under the polyline through (x[k], y[k]).
func trapezoid(x, y []float64) float64 {
	var a float64
	for k := 1; k < len(x); k++ {
		a += (x[k] - x[k-1]) * (y[k] + y[k-1]) / 2
	}
	return a
}

// normalisedArea returns (A(actual) − A(random)) / (A(perfect) − A(random))
// for curves from one curve function, where random targeting is the
// straight line from (0, 0) to the end of the perfect curve (every curve
// of the same units ends at the same point). It is NaN when either group
// is empty or the perfect curve is no better than random.
func normalisedArea(curve func(u, y, treat, w []float64) ([]float64, []float64), u, y, treat, w, perfect []float64) float64 {
	var nt, nc float64
	for i := range treat {
		if treat[i] == 1 {
			nt += weight(w, i)
		} else {
			nc += weight(w, i)
		}
	}
	if nt == 0 || nc == 0 {
		return math.NaN()
	}
	xa, ya := curve(u, y, treat, w)
	xp, yp := curve(perfect, y, treat, w)
	N, G := xp[len(xp)-1], yp[len(yp)-1]
	random := N * G / 2
	best := trapezoid(xp, yp) - random
	if !(best > 0) {
		return math.NaN()
	}
	return (trapezoid(xa, ya) - random) / best
}

// Qini returns the Qini coefficient of the ranking by u: the area between
// its Qini curve (QiniCurve) and the random-targeting line, divided by the
// same area for the perfect ranking,
//
//	Q = (A(u) − A(random)) / (A(perfect) − A(random))
//
// with areas by the trapezoidal rule over the curve's points, the random
// line from (0, 0) to (N, G) (N every unit, G the whole sample's gain) and
// the perfect ranking the one that scores a unit y·treat − y·(1 − treat):
// treated favourable outcomes first, control favourable outcomes last.
// 0 is random targeting, 1 perfect, negative worse than random. This is
// sklift.metrics.qini_auc_score with negative_effect=True (its default).
//
// It returns NaN when the treated or the control group is empty (weight
// 0) or when the perfect ranking is no better than random (no outcome to
// rank, e.g. every y 0).
func Qini(u, y, treat, w []float64) float64 {
	perfect := make([]float64, len(y))
	for i := range y {
		perfect[i] = y[i] * (2*treat[i] - 1)
	}
	return normalisedArea(QiniCurve, u, y, treat, w, perfect)
}

// AUUC returns the normalised area under the uplift curve (UpliftCurve) of
// the ranking by u, normalised like Qini:
//
//	AUUC = (A(u) − A(random)) / (A(perfect) − A(random))
//
// where the perfect ranking scores a unit 2·[y = treat] + s, with s = y
// when the control group has more favourable outcomes (weighted) than the
// treated group has unfavourable ones, else s = treat. This is
// sklift.metrics.uplift_auc_score. NaN as for Qini.
func AUUC(u, y, treat, w []float64) float64 {
	var cr, tn float64 // control responders, treated non-responders
	for i := range y {
		switch {
		case treat[i] != 1 && y[i] == 1:
			cr += weight(w, i)
		case treat[i] == 1 && y[i] != 1:
			tn += weight(w, i)
		}
	}
	perfect := make([]float64, len(y))
	for i := range y {
		s := treat[i]
		if cr > tn {
			s = y[i]
		}
		perfect[i] = s
		if y[i] == treat[i] {
			perfect[i] += 2
		}
	}
	return normalisedArea(UpliftCurve, u, y, treat, w, perfect)
}
