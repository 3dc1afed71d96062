package lifetime

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"

	"github.com/churnlab/churn/eval"
)

//go:embed lifetime.html.tmpl
var lifetimeTemplate string

var tmpl = template.Must(template.New("lifetime").Funcs(funcs()).Parse(lifetimeTemplate))

func funcs() template.FuncMap {
	f := eval.TemplateFuncs()
	f["g4"] = func(x eval.Num) string { return g4(x.F()) }
	f["num"] = func(x float64) eval.Num { return eval.Num(x) }
	f["meanChurn"] = func(a, b eval.Num) eval.Num { return a / (a + b) }
	return f
}

// HistogramBins is the number of bins of the CLV histogram.
const HistogramBins = 20

// histogram counts values in equal bins from 0 to Hi; the last bin holds
// everything at or above its lower end.
type histogram struct {
	Edges  []float64 // HistogramBins+1 edges
	Counts []float64
}

// clvHistogram bins the CLVs up to their 99th percentile (rounded up to a
// round number); the last bin collects the long tail.
func clvHistogram(xs []float64) histogram {
	s := slices.Clone(xs)
	slices.Sort(s)
	hi := quantileSorted(s, 0.99)
	if !(hi > 0) {
		hi = 1
	}
	step := roundUp(hi / HistogramBins)
	h := histogram{Edges: make([]float64, HistogramBins+1), Counts: make([]float64, HistogramBins)}
	for i := range h.Edges {
		h.Edges[i] = float64(i) * step
	}
	for _, x := range s {
		k := int(math.Floor(x / step))
		h.Counts[min(max(k, 0), HistogramBins-1)]++
	}
	return h
}

// roundUp rounds x > 0 up to 1, 2 or 5 times a power of ten.
func roundUp(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// htmlView is what the template sees.
type htmlView struct {
	*Report
	Charts map[string]template.HTML
}

// AnnualDiscountNum is the discount rate for the template's pct.
func (v htmlView) AnnualDiscountNum() eval.Num { return eval.Num(v.Settings.AnnualDiscount) }

// namedDistribution is one row of the distributions table.
type namedDistribution struct {
	Name string
	D    Distribution
}

// Distributions are the per-customer results the page summarizes.
func (v htmlView) Distributions() []namedDistribution {
	return []namedDistribution{
		{fmt.Sprintf("CLV, %d months", v.Settings.CLVMonths), v.CLV},
		{"P(alive)", v.PAlive},
		{fmt.Sprintf("expected purchases, %d days", v.Settings.HorizonDays), v.ExpectedPurchases},
	}
}

// HTML returns report.html: one self-contained page in the evaluation
// report's style (its style sheet and SVG charts), no script, nothing
// fetched, nothing from the clock: the same report gives the same bytes.
func (r *Report) HTML() ([]byte, error) {
	v := htmlView{Report: r, Charts: map[string]template.HTML{}}
	if h := r.Holdout; h != nil {
		v.Charts["holdout"] = holdoutChart(h)
	}
	v.Charts["clv"] = r.clvChart()
	v.Charts["km"] = r.kmChart()
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// holdoutChart is Fader, Hardie and Lee's (2005) figure 4: the mean number
// of holdout purchases per calibration frequency, actual and expected.
func holdoutChart(h *Holdout) template.HTML {
	var x, act, exp []float64
	var ticks []string
	ymax := 0.0
	for k, b := range h.Buckets {
		x = append(x, float64(k))
		ticks = append(ticks, b.Frequency)
		act = append(act, b.ActualMean.F())
		exp = append(exp, b.ExpectedMean.F())
		for _, y := range []float64{b.ActualMean.F(), b.ExpectedMean.F()} {
			if !math.IsNaN(y) {
				ymax = math.Max(ymax, y)
			}
		}
	}
	if ymax == 0 {
		ymax = 1
	}
	return eval.LineChart{
		ID: "holdout-chart", Title: "Calibration/holdout: purchases per customer in the holdout",
		XLabel: "repeat purchases in the calibration period", YLabel: "mean purchases in the holdout",
		XMin: 0, XMax: float64(len(h.Buckets) - 1), YMin: 0, YMax: roundUp(ymax * 1.05), XTicks: ticks,
		Series: []eval.Series{
			{Name: "actual", X: x, Y: act, Color: eval.ColorBlue, Points: true},
			{Name: "BG/NBD expected", X: x, Y: exp, Color: eval.ColorOrange, Dash: true, Points: true},
		},
	}.SVG()
}

func (r *Report) clvChart() template.HTML {
	h := r.clvHist
	labels := make([]string, len(h.Counts))
	for i := range labels {
		labels[i] = strconv.FormatFloat(h.Edges[i], 'f', -1, 64)
	}
	labels[len(labels)-1] += "+"
	return eval.BarChart{
		ID: "clv-chart", Title: fmt.Sprintf("CLV over %d months: customers per bin", r.Settings.CLVMonths),
		XLabel: "CLV (lower end of the bin; the last bin holds the top 1 % and more)", YLabel: "customers",
		Labels: labels, Series: []eval.BarSeries{{Name: "customers", Values: h.Counts, Color: eval.ColorBlue}},
	}.SVG()
}

// kmChart draws the Kaplan-Meier retention curves: every fitted customer
// and, when there are several, each signup cohort (eval's renderer).
func (r *Report) kmChart() template.HTML {
	return eval.SurvivalGroupsChart("km-chart", "Retention by signup cohort (Kaplan-Meier)", "days since the first purchase", r.KaplanMeier.Cohorts)
}
