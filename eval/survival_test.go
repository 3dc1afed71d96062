package eval

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/churnlab/churn/internal/metrics"
)

// handCurve is a small Kaplan-Meier curve typed in by hand: 10 customers,
// churn at days 30 (2), 90 (1) and 200 (2), censored at 120 and 365 (the
// data end: the 4 still there). The band ends are plausible numbers, not
// Greenwood's: the chart draws whatever it is given.
func handCurve() metrics.KMCurve {
	return metrics.KMCurve{N: 10, Events: 5, Median: 200, MedianLower: 90, MedianUpper: math.NaN(), Points: []metrics.KMPoint{
		{Time: 30, AtRisk: 10, Events: 2, Survival: 0.8, Lower: 0.41, Upper: 0.95},
		{Time: 90, AtRisk: 8, Events: 1, Survival: 0.7, Lower: 0.33, Upper: 0.89},
		{Time: 120, AtRisk: 7, Censored: 1, Survival: 0.7, Lower: 0.33, Upper: 0.89},
		{Time: 200, AtRisk: 6, Events: 2, Survival: 0.4667, Lower: 0.15, Upper: 0.75},
		{Time: 365, AtRisk: 4, Censored: 4, Survival: 0.4667, Lower: 0.15, Upper: 0.75},
	}}
}

func TestSurvivalChartGolden(t *testing.T) {
	second := metrics.KMCurve{N: 4, Events: 1, Median: math.NaN(), MedianLower: math.NaN(), MedianUpper: math.NaN(), Points: []metrics.KMPoint{
		{Time: 60, AtRisk: 4, Events: 1, Survival: 0.75, Lower: 0.13, Upper: math.NaN()},
		{Time: 300, AtRisk: 3, Censored: 3, Survival: 0.75, Lower: 0.13, Upper: math.NaN()},
	}}
	cases := []struct {
		name  string
		chart SurvivalChart
	}{
		{"survival_days", SurvivalChart{ID: "km", Title: "Customers still there, by plan", XLabel: "days since signup", Censored: true,
			Curves: []SurvivalSeries{{Name: "pro <10>", Curve: handCurve()}, {Name: "basic", Curve: second, Dash: true}, {Name: "empty", Curve: metrics.KMCurve{Median: math.NaN()}}}}},
		{"survival_months", SurvivalChart{ID: "km-m", Title: "By cohort", XLabel: "months since signup", XScale: DaysPerMonth, XMax: 12, YMin: 0.2, NoBand: true,
			Curves: []SurvivalSeries{{Name: "2024-Q1", Curve: handCurve(), Color: ColorGrey}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := []byte(c.chart.SVG())
			if !bytes.Equal(got, []byte(c.chart.SVG())) {
				t.Fatal("two renderings differ")
			}
			wellFormed(t, got)
			checkGolden(t, c.name+".golden.svg", got, "SurvivalChart")
		})
	}
}

// wellFormed fails unless b parses as XML.
func wellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed SVG: %v", err)
		}
	}
}

// TestSurvivalChartShape checks what the golden file cannot say at a
// glance: the step path of the hand curve, the escaped legend, the band,
// the censoring ticks and the median in the hover text.
func TestSurvivalChartShape(t *testing.T) {
	c := SurvivalChart{ID: "km", Title: "t", XLabel: "days", XMax: 365, Censored: true, Curves: []SurvivalSeries{{Name: "a&b", Curve: handCurve()}, {Name: "b", Curve: handCurve()}}}
	svg := string(c.SVG())
	// x: 64 + t/365*478 rounded; y: 44 + 238 − s*238.
	x := func(t float64) string { return fnum(math.Round(64 + t/365*478)) }
	y := func(s float64) string { return fnum(44 + 238 - s*238) }
	path := strings.Join([]string{x(0) + "," + y(1), x(30) + "," + y(1), x(30) + "," + y(0.8), x(90) + "," + y(0.8), x(90) + "," + y(0.7),
		x(200) + "," + y(0.7), x(200) + "," + y(0.4667), x(365) + "," + y(0.4667)}, " ")
	if !strings.Contains(svg, `points="`+path+`"><title>a&amp;b: 10 customers, 5 churned, median 200 [90, –]</title>`) {
		t.Errorf("step path %q not found in\n%s", path, svg)
	}
	if n := strings.Count(svg, `<polygon class="band"`); n != 2 {
		t.Errorf("%d bands, want 2", n)
	}
	// Censoring at 120 and 365, for each curve.
	if n := strings.Count(svg, `stroke-width="1.2"`); n != 4 {
		t.Errorf("%d censoring ticks, want 4", n)
	}
	if !strings.Contains(svg, `>a&amp;b</text>`) {
		t.Error("legend entry missing or not escaped")
	}
}

// TestSurvivalChartThinsPoints: a curve with a point per day over ten
// years draws at most a few points per pixel column, and the legend of
// many long names wraps instead of running off the chart.
func TestSurvivalChartThinsPoints(t *testing.T) {
	var cv metrics.KMCurve
	s := 1.0
	for d := 1; d <= 3650; d++ {
		s *= 0.9997
		cv.Points = append(cv.Points, metrics.KMPoint{Time: float64(d), Survival: s, Lower: s * 0.98, Upper: math.Min(1, s*1.02), Censored: 1})
	}
	cv.Median = math.NaN()
	var curves []SurvivalSeries
	for _, name := range []string{"enterprise annual", "enterprise monthly", "starter annual", "starter monthly", "team annual", "team monthly"} {
		curves = append(curves, SurvivalSeries{Name: name, Curve: cv})
	}
	svg := string(SurvivalChart{ID: "big", Title: "t", XLabel: "days", Curves: curves}.SVG())
	line := svg[strings.Index(svg, `<polyline`):]
	line = line[:strings.Index(line, `</polyline>`)]
	if n := strings.Count(line, ","); n > 3*478 {
		t.Errorf("a curve of 3650 points draws %d points", n)
	}
	if !strings.Contains(svg, `height="356"`) {
		t.Errorf("the legend of six long names should wrap onto 2 rows (height 356):\n%.300s", svg)
	}
	wellFormed(t, []byte(svg))
}
