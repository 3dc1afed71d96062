package eval

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"

	"github.com/churnlab/churn/internal/metrics"
)

// Colours of the report charts: the Okabe–Ito palette, distinguishable
// with colour-blindness. Other reports (churn review) use them for the same
// look.
const (
	ColorBlue   = "#0072B2"
	ColorOrange = "#E69F00"
	ColorGreen  = "#009E73"
	ColorRed    = "#D55E00"
	ColorPink   = "#CC79A7"
	ColorSky    = "#56B4E9"
	ColorGrey   = "#777777"
	ColorYellow = "#F0E442"
)

// Series is one line of a LineChart: points (X[i], Y[i]); a NaN point is
// skipped. A series without a Name has no legend entry.
type Series struct {
	Name   string
	X, Y   []float64
	Color  string
	Dash   bool
	Points bool // draw a marker at each point
}

// RefLine is a dashed reference line of a chart: horizontal at Y, or the
// diagonal y = x when Diagonal (line charts only). Color "" is grey.
type RefLine struct {
	Y        float64
	Diagonal bool
	Label    string
	Color    string
	Left     bool // label at the left end
}

// LineChart is an SVG line chart with axes, ticks, grid and legend, in the
// evaluation report's style (StyleSheet); SVG renders it. The axes span
// [XMin, XMax] × [YMin, YMax].
type LineChart struct {
	ID, Title, XLabel, YLabel string
	XMin, XMax, YMin, YMax    float64
	Series                    []Series
	Refs                      []RefLine
	// XTicks, when set, labels the x positions 0..len-1 (e.g. dates).
	XTicks  []string
	Percent bool // y ticks as percentages
}

const (
	chartW, chartH                     = 560, 340
	marginL, marginR, marginT, marginB = 64, 18, 44, 58
)

func esc(s string) string { return html.EscapeString(s) }

func fnum(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if !(hi > lo) {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}

// tickEvery returns k so that labelling every k-th of labels, spaced
// slot pixels apart, leaves room between them.
func tickEvery(labels []string, slot float64) int {
	long := 1
	for _, l := range labels {
		long = max(long, len([]rune(l)))
	}
	need := 6.2*float64(long) + 10
	return max(1, int(math.Ceil(need/slot)))
}

func tickLabel(v float64, percent bool) string {
	if v == 0 {
		v = 0 // no "-0"
	}
	if percent {
		return strconv.FormatFloat(math.Round(v*1000)/10, 'f', -1, 64) + "%"
	}
	if math.Abs(v) >= 10000 {
		return money(Num(v))
	}
	return strconv.FormatFloat(metrics.Round(v, 6), 'f', -1, 64)
}

func svgOpen(b *strings.Builder, id, title string, w, h int) {
	fmt.Fprintf(b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg">`, esc(id), w, h, w, h, esc(id))
	fmt.Fprintf(b, `<title id="%s-t">%s</title>`, esc(id), esc(title))
	fmt.Fprintf(b, `<text class="ct" x="%d" y="22">%s</text>`, marginL-40, esc(title))
}

// SVG renders the chart as an inline <svg> element (classes styled by
// StyleSheet); the same chart gives the same bytes.
func (c LineChart) SVG() template.HTML {
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title, chartW, chartH)
	pw, ph := float64(chartW-marginL-marginR), float64(chartH-marginT-marginB)
	sx := func(x float64) float64 { return float64(marginL) + (x-c.XMin)/(c.XMax-c.XMin)*pw }
	sy := func(y float64) float64 { return float64(marginT) + ph - (y-c.YMin)/(c.YMax-c.YMin)*ph }
	// Grid and y ticks.
	for _, v := range niceTicks(c.YMin, c.YMax, 5) {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, marginL, chartW-marginR, fnum(sy(v)), fnum(sy(v)))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%s" text-anchor="end">%s</text>`, marginL-6, fnum(sy(v)+4), esc(tickLabel(v, c.Percent)))
	}
	// X ticks.
	if c.XTicks != nil {
		every := tickEvery(c.XTicks, pw/(c.XMax-c.XMin))
		for i, l := range c.XTicks {
			if i%every != 0 {
				continue
			}
			fmt.Fprintf(&b, `<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(sx(float64(i))), chartH-marginB+16, esc(l))
		}
	} else {
		for _, v := range niceTicks(c.XMin, c.XMax, 5) {
			fmt.Fprintf(&b, `<line class="grid" y1="%d" y2="%d" x1="%s" x2="%s"/>`, marginT, chartH-marginB, fnum(sx(v)), fnum(sx(v)))
			fmt.Fprintf(&b, `<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(sx(v)), chartH-marginB+16, esc(tickLabel(v, false)))
		}
	}
	// Axes.
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, chartW-marginR, chartH-marginB, chartH-marginB)
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, marginL, marginT, chartH-marginB)
	fmt.Fprintf(&b, `<text class="al" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(float64(marginL)+pw/2), chartH-14, esc(c.XLabel))
	fmt.Fprintf(&b, `<text class="al" transform="translate(16 %s) rotate(-90)" text-anchor="middle">%s</text>`, fnum(float64(marginT)+ph/2), esc(c.YLabel))
	// Reference lines.
	for _, r := range c.Refs {
		col := r.Color
		if col == "" {
			col = ColorGrey
		}
		if r.Diagonal {
			fmt.Fprintf(&b, `<line class="ref" stroke="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, col, fnum(sx(c.XMin)), fnum(sy(c.YMin)), fnum(sx(c.XMax)), fnum(sy(c.YMax)))
			continue
		}
		if r.Y < c.YMin || r.Y > c.YMax {
			continue
		}
		fmt.Fprintf(&b, `<line class="ref" stroke="%s" x1="%d" x2="%d" y1="%s" y2="%s"/>`, col, marginL, chartW-marginR, fnum(sy(r.Y)), fnum(sy(r.Y)))
		if r.Left {
			fmt.Fprintf(&b, `<text class="rl" x="%d" y="%s" fill="%s">%s</text>`, marginL+6, fnum(sy(r.Y)-5), col, esc(r.Label))
		} else {
			fmt.Fprintf(&b, `<text class="rl" x="%d" y="%s" text-anchor="end" fill="%s">%s</text>`, chartW-marginR-4, fnum(sy(r.Y)-4), col, esc(r.Label))
		}
	}
	// Series.
	for _, s := range c.Series {
		var pts []string
		for i := range s.X {
			if math.IsNaN(s.Y[i]) || math.IsNaN(s.X[i]) {
				continue
			}
			pts = append(pts, fnum(sx(s.X[i]))+","+fnum(sy(s.Y[i])))
		}
		if len(pts) == 0 {
			continue
		}
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline class="line" stroke="%s"%s points="%s"><title>%s</title></polyline>`, s.Color, dash, strings.Join(pts, " "), esc(s.Name))
		if s.Points {
			for i := range s.X {
				if math.IsNaN(s.Y[i]) {
					continue
				}
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3.5" fill="%s"><title>%s: %s</title></circle>`, fnum(sx(s.X[i])), fnum(sy(s.Y[i])), s.Color, esc(s.Name), esc(tickLabel(s.Y[i], c.Percent)))
			}
		}
	}
	legend(&b, c.Series)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func legend(b *strings.Builder, ss []Series) {
	x := float64(marginL + 8)
	y := float64(marginT - 12)
	if len(ss) < 2 {
		return
	}
	for _, s := range ss {
		if s.Name == "" {
			continue // a line without a legend entry
		}
		dash := ""
		if s.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<line x1="%s" x2="%s" y1="%s" y2="%s" stroke="%s" stroke-width="2.5"%s/>`, fnum(x), fnum(x+18), fnum(y), fnum(y), s.Color, dash)
		fmt.Fprintf(b, `<text class="lg" x="%s" y="%s">%s</text>`, fnum(x+22), fnum(y+4), esc(s.Name))
		x += 34 + 6.5*float64(len([]rune(s.Name)))
	}
}

// BarSeries is one set of bars of a BarChart: Values[i] is the bar of
// Labels[i].
type BarSeries struct {
	Name   string
	Values []float64
	Color  string
}

// BarChart is an SVG bar chart: vertical bars per label, or horizontal
// bars (one row per label) when Horizontal.
type BarChart struct {
	ID, Title, XLabel, YLabel string
	Labels                    []string
	Series                    []BarSeries
	Refs                      []RefLine
	Horizontal                bool
	Percent                   bool
}

// SVG renders the chart as an inline <svg> element (classes styled by
// StyleSheet); the same chart gives the same bytes. NaN values draw no bar.
func (c BarChart) SVG() template.HTML {
	if c.Horizontal {
		return c.hsvg()
	}
	var b strings.Builder
	svgOpen(&b, c.ID, c.Title, chartW, chartH)
	pw, ph := float64(chartW-marginL-marginR), float64(chartH-marginT-marginB)
	lo, hi := 0.0, 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	for _, r := range c.Refs {
		hi = math.Max(hi, r.Y)
	}
	if hi == lo {
		hi = lo + 1
	}
	hi *= 1.08
	sy := func(y float64) float64 { return float64(marginT) + ph - (y-lo)/(hi-lo)*ph }
	for _, v := range niceTicks(lo, hi, 5) {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%s" y2="%s"/>`, marginL, chartW-marginR, fnum(sy(v)), fnum(sy(v)))
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%s" text-anchor="end">%s</text>`, marginL-6, fnum(sy(v)+4), esc(tickLabel(v, c.Percent)))
	}
	n := len(c.Labels)
	slot := pw / float64(max(n, 1))
	bw := slot * 0.8 / float64(max(len(c.Series), 1))
	every := tickEvery(c.Labels, slot)
	for i, l := range c.Labels {
		x0 := float64(marginL) + slot*float64(i) + slot*0.1
		for k, s := range c.Series {
			v := s.Values[i]
			if math.IsNaN(v) {
				continue
			}
			y0, y1 := sy(math.Max(v, 0)), sy(math.Min(v, 0))
			fmt.Fprintf(&b, `<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s %s: %s</title></rect>`,
				fnum(x0+bw*float64(k)), fnum(y0), fnum(bw), fnum(math.Max(y1-y0, 0.5)), s.Color, esc(s.Name), esc(l), esc(tickLabel(v, c.Percent)))
		}
		if i%every == 0 {
			fmt.Fprintf(&b, `<text class="tick" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(x0+slot*0.4), chartH-marginB+16, esc(l))
		}
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%s" y2="%s"/>`, marginL, chartW-marginR, fnum(sy(0)), fnum(sy(0)))
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%d" y2="%d"/>`, marginL, marginL, marginT, chartH-marginB)
	for _, r := range c.Refs {
		col := r.Color
		if col == "" {
			col = ColorGrey
		}
		fmt.Fprintf(&b, `<line class="ref" stroke="%s" x1="%d" x2="%d" y1="%s" y2="%s"/>`, col, marginL, chartW-marginR, fnum(sy(r.Y)), fnum(sy(r.Y)))
		fmt.Fprintf(&b, `<text class="rl" x="%d" y="%s" text-anchor="end" fill="%s">%s</text>`, chartW-marginR-4, fnum(sy(r.Y)-4), col, esc(r.Label))
	}
	fmt.Fprintf(&b, `<text class="al" x="%s" y="%d" text-anchor="middle">%s</text>`, fnum(float64(marginL)+pw/2), chartH-14, esc(c.XLabel))
	fmt.Fprintf(&b, `<text class="al" transform="translate(16 %s) rotate(-90)" text-anchor="middle">%s</text>`, fnum(float64(marginT)+ph/2), esc(c.YLabel))
	legendBars(&b, c.Series)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func legendBars(b *strings.Builder, ss []BarSeries) {
	if len(ss) < 2 {
		return
	}
	x := float64(marginL + 8)
	y := float64(marginT - 12)
	for _, s := range ss {
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="12" height="12" fill="%s"/>`, fnum(x), fnum(y-7), s.Color)
		fmt.Fprintf(b, `<text class="lg" x="%s" y="%s">%s</text>`, fnum(x+16), fnum(y+4), esc(s.Name))
		x += 30 + 6.5*float64(len([]rune(s.Name)))
	}
}

// hsvg draws horizontal bars: labels on the left, one row per label.
func (c BarChart) hsvg() template.HTML {
	const row, left, right = 22, 210, 60
	var b strings.Builder
	n := len(c.Labels)
	h := marginT + 10 + row*max(n, 1) + 44
	svgOpen(&b, c.ID, c.Title, chartW, h)
	pw := float64(chartW - left - right)
	hi := 0.0
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				hi = math.Max(hi, v)
			}
		}
	}
	for _, r := range c.Refs {
		hi = math.Max(hi, r.Y*1.05)
	}
	if hi <= 0 {
		hi = 1
	}
	sx := func(v float64) float64 { return float64(left) + math.Max(v, 0)/hi*pw }
	top := float64(marginT + 10)
	bottom := top + float64(row*n)
	for _, v := range niceTicks(0, hi, 4) {
		fmt.Fprintf(&b, `<line class="grid" x1="%s" x2="%s" y1="%s" y2="%s"/>`, fnum(sx(v)), fnum(sx(v)), fnum(top), fnum(bottom))
		fmt.Fprintf(&b, `<text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`, fnum(sx(v)), fnum(bottom+16), esc(tickLabel(v, c.Percent)))
	}
	bh := float64(row-6) / float64(max(len(c.Series), 1))
	for i, l := range c.Labels {
		y := top + float64(row*i) + 3
		name := l
		if len([]rune(name)) > 30 {
			name = string([]rune(name)[:29]) + "…"
		}
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%s" text-anchor="end">%s</text>`, left-6, fnum(y+float64(row)/2+1), esc(name))
		for k, s := range c.Series {
			v := s.Values[i]
			if math.IsNaN(v) {
				continue
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%s" width="%s" height="%s" fill="%s"><title>%s %s: %s</title></rect>`,
				left, fnum(y+bh*float64(k)), fnum(math.Max(sx(v)-float64(left), 0.5)), fnum(bh), s.Color, esc(s.Name), esc(l), esc(tickLabel(v, c.Percent)))
			fmt.Fprintf(&b, `<text class="val" x="%s" y="%s">%s</text>`, fnum(sx(v)+4), fnum(y+bh*float64(k)+bh/2+4), esc(tickLabel(roundSig(v, 2), c.Percent)))
		}
	}
	for k, r := range c.Refs {
		col := r.Color
		if col == "" {
			col = ColorGrey
		}
		anchor, dx := "end", -3.0 // alternate sides so close lines' labels do not overlap
		if k%2 == 1 {
			anchor, dx = "start", 3
		}
		fmt.Fprintf(&b, `<line class="ref" stroke="%s" x1="%s" x2="%s" y1="%s" y2="%s"/>`, col, fnum(sx(r.Y)), fnum(sx(r.Y)), fnum(top-4), fnum(bottom))
		fmt.Fprintf(&b, `<text class="rl" x="%s" y="%s" text-anchor="%s" fill="%s">%s</text>`, fnum(sx(r.Y)+dx), fnum(top-6), anchor, col, esc(r.Label))
	}
	fmt.Fprintf(&b, `<line class="axis" x1="%d" x2="%d" y1="%s" y2="%s"/>`, left, left, fnum(top), fnum(bottom))
	fmt.Fprintf(&b, `<text class="al" x="%s" y="%s" text-anchor="middle">%s</text>`, fnum(float64(left)+pw/2), fnum(bottom+36), esc(c.XLabel))
	legendBars(&b, c.Series)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
