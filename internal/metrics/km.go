package metrics

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// KMPoint is the Kaplan-Meier estimate just after an event time.
type KMPoint struct {
	// Time is the event time (the caller's unit).
	Time float64 `json:"time"`
	// AtRisk is the (weighted) number at risk just before Time; Events
	// those who had the event at Time; Censored those censored at Time
	// (they count as at risk at Time).
	AtRisk   float64 `json:"at_risk"`
	Events   float64 `json:"events"`
	Censored float64 `json:"censored"`
	// Survival is Ŝ(Time); Lower and Upper its pointwise confidence band
	// (Greenwood's variance on the log(−log) scale, so the band stays in
	// [0, 1]).
	Survival float64 `json:"survival"`
	Lower    float64 `json:"lower"`
	Upper    float64 `json:"upper"`
}

// KMCurve is a Kaplan-Meier survival curve.
type KMCurve struct {
	// Points holds one point per distinct time with an event or a
	// censoring, in increasing time.
	Points []KMPoint `json:"points"`
	// N is the (weighted) number of subjects, Events the number of events.
	N      float64 `json:"n"`
	Events float64 `json:"events"`
	// Median is the first time with Ŝ ≤ 0.5 (NaN when the curve stays
	// above 0.5); MedianLower and MedianUpper its confidence interval
	// from the band (Brookmeyer–Crowley style: the first times the upper
	// and lower bands reach 0.5; NaN when not reached).
	Median      float64 `json:"median"`
	MedianLower float64 `json:"median_lower"`
	MedianUpper float64 `json:"median_upper"`
}

// KaplanMeier estimates the survival curve of subjects observed for
// time[i] with event[i] true when the event (churn) happened at time[i]
// and false when they were censored then (still there at the data end).
// w holds optional weights (nil means all ones); level is the confidence
// level of the band (0 means 0.95). Inputs are never modified. With no
// subjects it returns a curve with no points and NaN medians.
//
// At a time with both, events come before censorings: the censored are
// at risk of the events at their time (the usual convention). Subjects
// with a NaN time or a weight that is not positive are left out. Weights
// scale the counts, and Greenwood's variance Σ dⱼ/(nⱼ(nⱼ−dⱼ)) uses the
// weighted counts (frequency weights). The band is
// Ŝ^exp(±z·σ/log Ŝ), σ² the Greenwood sum: [1, 1] before the first event
// and [0, 0] once Ŝ reaches 0. KaplanMeier panics when the lengths of
// time, event and w differ or level is not in [0, 1).
func KaplanMeier(time []float64, event []bool, w []float64, level float64) KMCurve {
	if len(event) != len(time) || w != nil && len(w) != len(time) {
		panic("metrics: KaplanMeier: time, event and w differ in length")
	}
	if level == 0 {
		level = 0.95
	}
	if !(level > 0 && level < 1) {
		panic("metrics: KaplanMeier: level not in (0, 1)")
	}
	z := distuv.UnitNormal.Quantile((1 + level) / 2)
	idx := make([]int, 0, len(time))
	var c KMCurve
	for i, t := range time {
		if wi := weight(w, i); wi > 0 && !math.IsNaN(t) && !math.IsInf(wi, 0) {
			idx = append(idx, i)
			c.N += wi
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(time[a], time[b]) })
	atRisk, surv, green := c.N, 1.0, 0.0
	for k := 0; k < len(idx); {
		t := time[idx[k]]
		var d, cens float64
		for ; k < len(idx) && time[idx[k]] == t; k++ {
			if event[idx[k]] {
				d += weight(w, idx[k])
			} else {
				cens += weight(w, idx[k])
			}
		}
		p := KMPoint{Time: t, AtRisk: atRisk, Events: d, Censored: cens}
		if d > 0 {
			if d >= atRisk {
				surv = 0
			} else {
				surv *= 1 - d/atRisk
				green += d / (atRisk * (atRisk - d))
			}
		}
		p.Survival = surv
		p.Lower, p.Upper = logLogBand(surv, green, z)
		c.Points = append(c.Points, p)
		c.Events += d
		atRisk -= d + cens
	}
	c.Median = firstAtOrBelowHalf(c.Points, func(p KMPoint) float64 { return p.Survival })
	c.MedianLower = firstAtOrBelowHalf(c.Points, func(p KMPoint) float64 { return p.Lower })
	c.MedianUpper = firstAtOrBelowHalf(c.Points, func(p KMPoint) float64 { return p.Upper })
	return c
}

// logLogBand returns the pointwise band of Ŝ = s with Greenwood sum v on
// the log(−log) scale: s^exp(±z·√v/|log s|).
func logLogBand(s, v, z float64) (lower, upper float64) {
	switch {
	case s == 0:
		return 0, 0
	case s == 1:
		return 1, 1
	}
	e := z * math.Sqrt(v) / math.Abs(math.Log(s))
	return math.Pow(s, math.Exp(e)), math.Pow(s, math.Exp(-e))
}

// firstAtOrBelowHalf returns the first time where f(point) ≤ 0.5, NaN
// when there is none.
func firstAtOrBelowHalf(ps []KMPoint, f func(KMPoint) float64) float64 {
	for _, p := range ps {
		if f(p) <= 0.5 {
			return p.Time
		}
	}
	return math.NaN()
}

// At returns Ŝ(t) and its band: the step function's value at t (1 before
// the first event). With no points it returns 1, 1, 1.
func (c *KMCurve) At(t float64) (s, lower, upper float64) {
	// The last point with Time ≤ t.
	k := sort.Search(len(c.Points), func(i int) bool { return c.Points[i].Time > t }) - 1
	if k < 0 {
		return 1, 1, 1
	}
	p := c.Points[k]
	return p.Survival, p.Lower, p.Upper
}
