package metrics

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
// level of the band (0.95). Inputs are never modified. With no subjects it
// returns a curve with no points and NaN medians.
func KaplanMeier(time []float64, event []bool, w []float64, level float64) KMCurve {
	panic("metrics: KaplanMeier not implemented yet")
}

// At returns Ŝ(t) and its band: the step function's value at t (1 before
// the first event).
func (c *KMCurve) At(t float64) (s, lower, upper float64) {
	panic("metrics: KMCurve.At not implemented yet")
}
