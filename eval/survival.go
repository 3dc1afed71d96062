package eval

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/churnlab/churn/internal/metrics"
)

// DaysPerMonth is the mean length of a month in days (365.25 / 12), the
// SurvivalChart.XScale that shows curves timed in days on an axis in
// months.
const DaysPerMonth = 30.4375

// PaletteColor returns the colour of the k-th series of a chart with many
// series: the Okabe–Ito colours in turn, yellow last (it is hard to see on
// white).
func PaletteColor(k int) string {
	p := [...]string{ColorBlue, ColorOrange, ColorGreen, ColorRed, ColorPink, ColorSky, ColorGrey, ColorYellow}
	return p[k%len(p)]
}

// SurvivalSeries is one Kaplan-Meier curve of a SurvivalChart. Color ""
// is PaletteColor of its place.
type SurvivalSeries struct {
	Name  string
	Curve metrics.KMCurve
	Color string
	Dash  bool
}

// SurvivalChart is an SVG chart of Kaplan-Meier survival curves: each a
// step function starting at 100 % at time 0, with its confidence band
// shaded in the curve's colour and, when Censored, a tick where subjects
// were censored. The y axis is the share still there, from YMin (0 when
// unset) to 100 %, with a dashed line at 50 % (where a curve crosses it is
// its median); SVG renders it.
type SurvivalChart struct {
	ID, Title, XLabel string
	Curves            []SurvivalSeries
	// XScale is the number of the curves' time units per x axis unit:
	// 0 or 1 draws the curves' own times (e.g. days), DaysPerMonth draws
	// curves timed in days on an axis in months. Say which in XLabel.
	XScale float64
	// XMax is the right end of the x axis in axis units; 0 means the
	// latest time of any curve.
	XMax float64
	// YMin is the bottom of the y axis, a share in [0, 1).
	YMin float64
	// NoBand leaves the confidence bands out; Censored draws the
	// censoring ticks.
	NoBand   bool
	Censored bool
}

// SVG renders the chart as an inline <svg> element (classes styled by
// StyleSheet); the same chart gives the same bytes. Times are rounded to
// whole pixels and the steps within one pixel merged, so a curve of a
// million customers draws in at most about a thousand points. A curve without points draws
// nothing but its legend entry; NaN band ends draw as the estimate.
func (c SurvivalChart) SVG() template.HTML {
	scale := c.XScale
	if !(scale > 0) {
		scale = 1
	}
	xmax := c.XMax
	if !(xmax > 0) {
		for _, s := range c.Curves {
			if n := len(s.Curve.Points); n > 0 {
				xmax = math.Max(xmax, s.Curve.Points[n-1].Time/scale)
			}
		}
	}
	if !(xmax > 0) {
		xmax = 1
	}
	ymin := c.YMin
	if !(ymin >= 0 && ymin < 1) {
		ymin = 0
	}
	// The legend wraps onto as many rows as it needs above the plot.
	legendSeries := make([]Series, len(c.Curves))
	for k, s := range c.Curves {
		legendSeries[k] = Series{Name: s.Name, Color: c.color(k), Dash: s.Dash}
	}
	rows := legendRows(legendSeries, float64(chartW-marginR))
	top := marginT + 16*max(len(rows)-1, 0)
	h := chartH + top - marginT
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title, chartW, h)
	pw, ph := float64(chartW-marginL-marginR), float64(h-top-marginB)
	sx := func(t float64) float64 { return float64(marginL) + math.Min(t/scale, xmax)/xmax*pw }
	sy := func(s float64) float64 { return float64(top) + ph - (s-ymin)/(1-ymin)*ph }
	for _, v := range niceTicks(ymin, 1, 5) {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, marginL, chartW-marginR, fnum(sy(v)), fnum(sy(v)))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%s" text-anchor="end">%s</text>`, marginL-6, fnum(sy(v)+4), esc(tickLabel(v, true)))
	}
	for _, v := range niceTicks(0, xmax, 6) {
		x := float64(marginL) + v/xmax*pw
		fmt.Fprintf(&b, `<line class="grid" y1="%d" y2="%d" x1="%s" x2="%s"/>`, top, h-marginB, fnum(x), fnum(x))
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(x), h-marginB+16, esc(tickLabel(v, false)))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, chartW-marginR, h-marginB, h-marginB)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, marginL, top, h-marginB)
	fmt.Fprintf(&b, `<text class="al" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(float64(marginL)+pw/2), h-14, esc(c.XLabel))
	fmt.Fprintf(&b, `<text class="al" transform="translate(16 %s) rotate(-90)" text-anchor="middle">still there (survival)</text>`, fnum(float64(top)+ph/2))
	if ymin < 0.5 {
		fmt.Fprintf(&b, `<line class="ref" stroke="%s" x1="%d" x2="%d" y1="%s" y2="%s"/>`, ColorGrey, marginL, chartW-marginR, fnum(sy(0.5)), fnum(sy(0.5)))
		fmt.Fprintf(&b, `<text class="rl" x="%d" y="%s" fill="%s">median</text>`, marginL+6, fnum(sy(0.5)-5), ColorGrey)
	}
	// Bands first, so that no band covers another curve's line.
	if !c.NoBand {
		for k, s := range c.Curves {
			if len(s.Curve.Points) == 0 {
				continue
			}
			up := stepPath(s.Curve.Points, func(p metrics.KMPoint) float64 { return bandEnd(p.Upper, p.Survival) }, sx, sy, ymin)
			lo := stepPath(s.Curve.Points, func(p metrics.KMPoint) float64 { return bandEnd(p.Lower, p.Survival) }, sx, sy, ymin)
			for i, j := 0, len(lo)-1; i < j; i, j = i+1, j-1 {
				lo[i], lo[j] = lo[j], lo[i]
			}
			fmt.Fprintf(&b, `<polygon class="band" fill="%s" fill-opacity="0.14" stroke="none" points="%s"/>`, c.color(k), strings.Join(append(up, lo...), " "))
		}
	}
	for k, s := range c.Curves {
		if len(s.Curve.Points) == 0 {
			continue
		}
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		pts := stepPath(s.Curve.Points, func(p metrics.KMPoint) float64 { return p.Survival }, sx, sy, ymin)
		fmt.Fprintf(&b, `<polyline class="line" stroke="%s"%s points="%s"><title>%s</title></polyline>`, c.color(k), dash, strings.Join(pts, " "), esc(c.curveTitle(s, scale)))
		if !c.Censored {
			continue
		}
		last := ""
		for _, p := range s.Curve.Points {
			if !(p.Censored > 0) || p.Survival < ymin {
				continue
			}
			x, y := fnum(math.Round(sx(p.Time))), sy(p.Survival)
			if x == last {
				continue // one tick per drawn x
			}
			last = x
			fmt.Fprintf(&b, `<line stroke="%s" stroke-width="1.2" x1="%s" x2="%s" y1="%s" y2="%s"/>`, c.color(k), x, x, fnum(y-4), fnum(y+4))
		}
	}
	for r, row := range rows {
		x := float64(marginL + 8)
		y := float64(marginT-12) + 16*float64(r)
		for _, s := range row {
			dash := ""
			if s.Dash {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, fnum(x), fnum(x+18), fnum(y), fnum(y), s.Color, dash)
			fmt.Fprintf(&b, `<text class="lg" x="%s" y="%s">%s</text>`, fnum(x+22), fnum(y+4), esc(s.Name))
			x += legendWidth(s.Name)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c SurvivalChart) color(k int) string {
	if col := c.Curves[k].Color; col != "" {
		return col
	}
	return PaletteColor(k)
}

// curveTitle is a curve's hover text: its name, size and median.
func (c SurvivalChart) curveTitle(s SurvivalSeries, scale float64) string {
	cv := s.Curve
	t := fmt.Sprintf("%s: %s customers, %s churned", s.Name, tickLabel(metrics.Round(cv.N, 2), false), tickLabel(metrics.Round(cv.Events, 2), false))
	if math.IsNaN(cv.Median) {
		return t + ", median not reached"
	}
	return t + fmt.Sprintf(", median %s [%s, %s]", medianText(cv.Median/scale), medianText(cv.MedianLower/scale), medianText(cv.MedianUpper/scale))
}

func medianText(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return tickLabel(metrics.Round(x, 1), false)
}

// bandEnd is a band's end, or the estimate where the band is undefined.
func bandEnd(v, s float64) float64 {
	if math.IsNaN(v) {
		return s
	}
	return v
}

// stepPath returns the pixel points of the step function that is 1 up to
// the first point's time and val(p) from each point's time on, ending at
// the last point's time. x is rounded to whole pixels (a pixel column
// holds at most a vertical run), repeated points and the middle points of
// straight runs are dropped. Values below ymin draw at ymin.
func stepPath(pts []metrics.KMPoint, val func(metrics.KMPoint) float64, sx, sy func(float64) float64, ymin float64) []string {
	type xy struct{ x, y string }
	var out []xy
	add := func(x, y float64) {
		p := xy{fnum(math.Round(x)), fnum(y)}
		n := len(out)
		switch {
		case n > 0 && out[n-1] == p:
			return
		case n > 1 && (out[n-1].x == p.x && out[n-2].x == p.x || out[n-1].y == p.y && out[n-2].y == p.y):
			out[n-1] = p // extend a straight run
			return
		}
		out = append(out, p)
	}
	cur := 1.0
	add(sx(0), sy(1))
	for _, p := range pts {
		v := val(p)
		if math.IsNaN(v) {
			v = cur
		}
		v = math.Max(v, ymin)
		add(sx(p.Time), sy(cur))
		add(sx(p.Time), sy(v))
		cur = v
	}
	s := make([]string, len(out))
	for i, p := range out {
		s[i] = p.x + "," + p.y
	}
	return s
}

func legendWidth(name string) float64 { return 34 + 6.5*float64(len([]rune(name))) }

// legendRows splits the named series into legend rows that fit left of
// right (pixels); no legend for fewer than two named series.
func legendRows(ss []Series, right float64) [][]Series {
	var named []Series
	for _, s := range ss {
		if s.Name != "" {
			named = append(named, s)
		}
	}
	if len(named) < 2 {
		return nil
	}
	var rows [][]Series
	var row []Series
	x := float64(marginL + 8)
	for _, s := range named {
		if len(row) > 0 && x+legendWidth(s.Name)-10 > right {
			rows, row, x = append(rows, row), nil, float64(marginL+8)
		}
		row = append(row, s)
		x += legendWidth(s.Name)
	}
	return append(rows, row)
}
