package eval

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"

	_ "embed"
)

//go:embed report.html.tmpl
var reportTemplate string

//go:embed report.css
var reportCSS string

// StyleSheet returns the CSS of the evaluation report (report.html's
// <style>): page layout, verdict banner, key-number cards, tables, figures
// and the classes of the SVG charts. Other reports (churn review) embed it
// for the same look.
func StyleSheet() template.CSS { return template.CSS(reportCSS) }

// TemplateFuncs returns the formatting functions of the evaluation
// report's template, for other reports in the same style: f0, f2, f3 and
// f4 (a Num with 0, 2, 3 or 4 decimals), pct (a share as a percentage with one
// decimal), money (thousands separators, no decimals), iv (an Interval's
// ends), gain (a signed Interval with its ends), signed and siv (signed
// numbers), join, add, and css (StyleSheet). Undefined numbers show as
// "–". The map is new on each call: callers may add to it.
func TemplateFuncs() template.FuncMap {
	return template.FuncMap{
		"f0":    func(x Num) string { return fmtNum(x, 0) },
		"f2":    func(x Num) string { return fmtNum(x, 2) },
		"f3":    func(x Num) string { return fmtNum(x, 3) },
		"f4":    func(x Num) string { return fmtNum(x, 4) },
		"pct":   func(x Num) string { return fmtPct(x) },
		"money": money,
		"iv": func(iv Interval) string {
			return fmt.Sprintf("%s–%s", fmtNum(iv.Lo, 3), fmtNum(iv.Hi, 3))
		},
		"gain": func(iv Interval) string { return fmtSigned(iv) },
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
		"css":  StyleSheet,
		"signed": func(x Num) string {
			if !x.Valid() {
				return "–"
			}
			return fmt.Sprintf("%+.3f", x.F())
		},
		"siv": func(iv Interval) string {
			if !iv.Lo.Valid() {
				return "–"
			}
			return fmt.Sprintf("[%+.3f, %+.3f]", iv.Lo.F(), iv.Hi.F())
		},
	}
}

var tmpl = template.Must(template.New("report").Funcs(reportFuncs()).Parse(reportTemplate))

// reportFuncs are TemplateFuncs plus the evaluation report's own.
func reportFuncs() template.FuncMap {
	f := TemplateFuncs()
	f["level"] = func(s string) string { return levelWord[s] }
	f["mark"] = func(s string) string { return severityMark[s] }
	f["psiCls"] = func(s string) string { return "psi-" + s }
	f["reviewVerdict"] = ReviewVerdictText
	return f
}

func fmtNum(x Num, d int) string {
	if !x.Valid() {
		return "–"
	}
	out := fmt.Sprintf("%.*f", d, x.F())
	if strings.Trim(out, "-0.") == "" {
		out = strings.TrimPrefix(out, "-") // no "-0.000"
	}
	return out
}

func fmtPct(x Num) string {
	if !x.Valid() {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*x.F())
}

func fmtSigned(iv Interval) string {
	if !iv.Value.Valid() {
		return "–"
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", iv.Value.F(), iv.Lo.F(), iv.Hi.F())
}

// htmlView is what the template sees.
type htmlView struct {
	*Report
	Charts    map[string]template.HTML
	Generated string
	HealthAUC Num
	// HealthGain is the model's AUC gain over the health score.
	HealthGain Interval
	// DriftShown are the features above the moderate PSI, highest first.
	DriftShown []DriftItem
}

// HTML returns report.html: one self-contained page (inline CSS and SVG,
// no script, nothing fetched). Its footer carries the generation time
// (Report.Generated, from Options.Now), nothing else that depends on the
// clock: with a fixed clock the page is byte-identical between runs.
func (r *Report) HTML() ([]byte, error) {
	v := htmlView{Report: r, Charts: r.charts(), Generated: r.Generated.UTC().Format("2006-01-02 15:04 UTC"), HealthAUC: nan(), HealthGain: Interval{nan(), nan(), nan()}}
	for _, b := range r.Baselines {
		if b.Name == "health_score" && b.Available {
			v.HealthAUC, v.HealthGain = b.ROCAUC, b.AUCGain
		}
	}
	for _, it := range r.Drift.Features {
		if it.Status != "stable" {
			v.DriftShown = append(v.DriftShown, it)
		}
	}
	sortDrift(v.DriftShown)
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("render report.html: %w", err)
	}
	return buf.Bytes(), nil
}

func xs(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}

func nums(v []Num) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x.F()
	}
	return out
}

// charts builds every SVG chart of the report.
func (r *Report) charts() map[string]template.HTML {
	c := map[string]template.HTML{}
	palette := []string{ColorGrey, ColorOrange, ColorGreen}

	// ROC.
	roc := LineChart{ID: "roc", Title: "ROC curve", XLabel: "false positive rate (stayed customers flagged)", YLabel: "true positive rate (churners caught)",
		XMax: 1, YMax: 1, Refs: []RefLine{{Diagonal: true}}}
	roc.Series = append(roc.Series, rocSeries(fmt.Sprintf("model (AUC %.3f)", r.Metrics.ROCAUC.Value.F()), r.Curves.ROC, ColorBlue, false))
	for k, b := range r.Baselines {
		if b.Name != "base_rate" && b.Available && len(b.ROC) > 0 {
			roc.Series = append(roc.Series, rocSeries(fmt.Sprintf("%s (%.3f)", strings.ReplaceAll(b.Name, "_", " "), b.ROCAUC.F()), b.ROC, palette[k], true))
		}
	}
	c["roc"] = roc.SVG()

	// PR.
	pr := LineChart{ID: "pr", Title: "Precision–recall curve", XLabel: "recall (share of churners caught)", YLabel: "precision (share of flagged who churn)", XMax: 1, YMax: 1,
		Refs: []RefLine{{Y: r.Metrics.BaseRate.Value.F(), Label: "base rate (random calls)", Color: ColorRed, Left: true}}}
	s := Series{Name: fmt.Sprintf("model (PR AUC %.3f)", r.Metrics.PRAUC.Value.F()), Color: ColorBlue}
	for _, p := range r.Curves.PR {
		s.X, s.Y = append(s.X, p.Recall.F()), append(s.Y, p.Precision.F())
	}
	pr.Series = []Series{s}
	c["pr"] = pr.SVG()

	// Lift and gains.
	labels := make([]string, len(r.Deciles))
	lift, gains := make([]float64, len(r.Deciles)), []float64{0}
	for i, d := range r.Deciles {
		labels[i] = fmt.Sprint(d.Decile)
		lift[i] = d.Lift.F()
		gains = append(gains, d.CumCapture.F())
	}
	c["lift"] = BarChart{ID: "lift", Title: "Lift by decile", XLabel: "decile of churn probability (1 = highest)", YLabel: "lift (churn rate ÷ base rate)",
		Labels: labels, Series: []BarSeries{{Name: "lift", Values: lift, Color: ColorBlue}}, Refs: []RefLine{{Y: 1, Label: "no lift", Color: ColorRed}}}.SVG()
	diag := xs(11)
	for i := range diag {
		diag[i] /= 10
	}
	gx := make([]float64, 11)
	for i := range gx {
		gx[i] = float64(i) / 10
	}
	c["gains"] = LineChart{ID: "gains", Title: "Cumulative gains", XLabel: "share of accounts contacted, highest risk first", YLabel: "share of churners caught", XMax: 1, YMax: 1, Percent: true,
		Series: []Series{{Name: "model", X: gx, Y: gains, Color: ColorBlue, Points: true}, {Name: "random", X: gx, Y: diag, Color: ColorGrey, Dash: true}}}.SVG()

	// Reliability.
	top := 0.0
	var mp, cr []float64
	for _, b := range r.Calibration.Bins {
		if b.Rows > 0 {
			mp, cr = append(mp, b.MeanProb.F()), append(cr, b.ChurnRate.F())
			top = math.Max(top, math.Max(b.MeanProb.F(), b.ChurnRate.F()))
		}
	}
	top = math.Min(1, math.Ceil(top*1.1/0.05)*0.05)
	c["reliability"] = LineChart{ID: "reliability", Title: "Reliability diagram", XLabel: "mean predicted churn probability (per bin)", YLabel: "observed churn rate", XMax: top, YMax: top,
		Refs: []RefLine{{Diagonal: true, Label: "perfect"}}, Series: []Series{{Name: "model", X: mp, Y: cr, Color: ColorBlue, Points: true}}}.SVG()

	// Score distributions.
	sd := r.ScoreDistribution
	var mids []float64
	for i := 0; i+1 < len(sd.Edges); i++ {
		mids = append(mids, (sd.Edges[i].F()+sd.Edges[i+1].F())/2)
	}
	ymax := 0.0
	for _, v := range append(nums(sd.Churned), nums(sd.Stayed)...) {
		if !math.IsNaN(v) {
			ymax = math.Max(ymax, v)
		}
	}
	c["scores"] = LineChart{ID: "scores", Title: "Score distribution per class", XLabel: "predicted churn probability", YLabel: "share of the class's rows", XMax: sd.Edges[len(sd.Edges)-1].F(), YMax: math.Max(ymax*1.1, 0.01), Percent: true,
		Series: []Series{{Name: fmt.Sprintf("churned (%d)", sd.ChurnedRows), X: mids, Y: nums(sd.Churned), Color: ColorRed, Points: true}, {Name: fmt.Sprintf("stayed (%d)", sd.StayedRows), X: mids, Y: nums(sd.Stayed), Color: ColorBlue, Points: true}}}.SVG()

	// Backtest.
	if !r.Backtest.Skipped {
		var dates []string
		var auc, prauc, base []float64
		lo, hi := r.Metrics.ROCAUC.Value.F(), r.Metrics.ROCAUC.Value.F()
		for _, o := range r.Backtest.Origins {
			dates = append(dates, o.AsOf)
			auc, prauc, base = append(auc, o.ROCAUC.F()), append(prauc, o.PRAUC.F()), append(base, o.BaseRate.F())
			if o.ROCAUC.Valid() {
				lo, hi = math.Min(lo, o.ROCAUC.F()), math.Max(hi, o.ROCAUC.F())
			}
		}
		x := xs(len(dates))
		xmax := float64(len(dates)) - 0.7
		c["backtest"] = LineChart{ID: "backtest", Title: "Backtest: ROC AUC at each origin", XLabel: "origin (as-of date)", YLabel: "ROC AUC", XMin: -0.3, XMax: xmax,
			YMin: math.Max(0, math.Floor((lo-0.05)*20)/20), YMax: math.Min(1, math.Ceil((hi+0.05)*20)/20), XTicks: dates,
			Refs:   []RefLine{{Y: r.Metrics.ROCAUC.Value.F(), Label: "this model", Color: ColorBlue}},
			Series: []Series{{Name: "ROC AUC (retrained)", X: x, Y: auc, Color: ColorBlue, Points: true}}}.SVG()
		top := 0.0
		for _, v := range append(slices.Clone(prauc), base...) {
			if !math.IsNaN(v) {
				top = math.Max(top, v)
			}
		}
		c["backtest_pr"] = LineChart{ID: "backtest_pr", Title: "Backtest: PR AUC and base rate", XLabel: "origin (as-of date)", YLabel: "share", XMin: -0.3, XMax: xmax,
			YMax: math.Min(1, math.Ceil(top*1.15*20)/20), XTicks: dates,
			Series: []Series{{Name: "PR AUC", X: x, Y: prauc, Color: ColorOrange, Points: true}, {Name: "base rate", X: x, Y: base, Color: ColorGrey, Dash: true, Points: true}}}.SVG()
	}

	// Importance.
	fs := r.Importance.Features[:min(15, len(r.Importance.Features))]
	var names []string
	var g, pd []float64
	for _, f := range fs {
		names = append(names, f.Feature)
		g = append(g, f.GainShare.F())
	}
	c["importance"] = BarChart{ID: "importance", Title: "Feature importance: share of gain", XLabel: "share of the model's total gain", Labels: names, Horizontal: true, Percent: true,
		Series: []BarSeries{{Name: "gain share", Values: g, Color: ColorBlue}}}.SVG()
	byDrop := slices.Clone(r.Importance.Features)
	slices.SortStableFunc(byDrop, func(a, b FeatureImportance) int {
		switch {
		case a.PermutationDrop > b.PermutationDrop:
			return -1
		case a.PermutationDrop < b.PermutationDrop:
			return 1
		}
		return 0
	})
	var pn []string
	for _, f := range byDrop[:min(15, len(byDrop))] {
		pn, pd = append(pn, f.Feature), append(pd, math.Max(f.PermutationDrop.F(), 0))
	}
	c["permutation"] = BarChart{ID: "permutation", Title: "Permutation importance: AUC drop", XLabel: "ROC AUC lost when the feature is shuffled", Labels: pn, Horizontal: true,
		Series: []BarSeries{{Name: "AUC drop", Values: pd, Color: ColorOrange}}}.SVG()

	// Drift.
	items := append([]DriftItem{r.Drift.Score}, r.Drift.Features...)
	sortDrift(items)
	items = items[:min(20, len(items))]
	var dn []string
	var dv []float64
	for _, it := range items {
		dn, dv = append(dn, it.Feature), append(dv, it.PSI.F())
	}
	c["psi"] = BarChart{ID: "psi", Title: "Drift: population stability index", XLabel: "PSI against the training reference", Labels: dn, Horizontal: true,
		Series: []BarSeries{{Name: "PSI", Values: dv, Color: ColorPink}},
		Refs:   []RefLine{{Y: r.Drift.Moderate.F(), Label: "moderate", Color: ColorOrange}, {Y: r.Drift.Threshold.F(), Label: "high", Color: ColorRed}}}.SVG()

	// Retention.
	if len(r.Retention.Periods) > 0 {
		var ends []string
		var crr, grr, nrr []float64
		lo, hi := 100.0, 100.0
		for _, p := range r.Retention.Periods {
			ends = append(ends, p.To)
			crr, grr, nrr = append(crr, p.CRR.F()), append(grr, p.GRR.F()), append(nrr, p.NRR.F())
			for _, v := range []float64{p.CRR.F(), p.GRR.F(), p.NRR.F()} {
				if !math.IsNaN(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
		ret := LineChart{ID: "retention", Title: "Retention per period", XLabel: "end of period (as-of date)", YLabel: "retention (%)", XMin: -0.3, XMax: float64(len(ends)) - 0.7,
			YMin: math.Floor(lo/5)*5 - 5, YMax: math.Ceil(hi/5)*5 + 5, XTicks: ends, Refs: []RefLine{{Y: 100, Label: "100%"}},
			Series: []Series{{Name: "CRR", X: xs(len(ends)), Y: crr, Color: ColorBlue, Points: true}}}
		if r.Retention.Revenue {
			ret.Series = append(ret.Series, Series{Name: "GRR", X: xs(len(ends)), Y: grr, Color: ColorOrange, Points: true}, Series{Name: "NRR", X: xs(len(ends)), Y: nrr, Color: ColorGreen, Points: true})
		}
		c["retention"] = ret.SVG()
	}
	if len(r.Retention.Cohorts) > 0 {
		var cl []string
		var cv []float64
		for _, co := range r.Retention.Cohorts {
			cl, cv = append(cl, co.Cohort), append(cv, co.ChurnRate.F())
		}
		c["cohorts"] = BarChart{ID: "cohorts", Title: "Churn rate by signup cohort", XLabel: "signup " + r.Retention.CohortBy, YLabel: fmt.Sprintf("churn within %d days", r.Data.HorizonDays), Labels: cl, Percent: true,
			Series: []BarSeries{{Name: "churn rate", Values: cv, Color: ColorSky}}}.SVG()
	}
	for _, g := range r.Retention.Survival.Groupings {
		c["km_"+g.By] = g.chart()
	}
	return c
}

// survivalTitles name the Kaplan-Meier charts by grouping.
var survivalTitles = map[string]string{
	"cohort":    "Time to churn by signup cohort",
	"plan":      "Time to churn by plan",
	"segment":   "Time to churn by segment",
	"risk_tier": "Time to churn by risk tier",
}

// chart draws the grouping's charted curves.
func (g SurvivalGrouping) chart() template.HTML {
	xlabel := "days since signup"
	if g.Origin == "as_of" {
		xlabel = "days since the as-of date"
	}
	var groups []SurvivalGroup
	for _, gr := range g.Groups {
		if slices.Contains(g.Charted, gr.Name) {
			groups = append(groups, gr)
		}
	}
	return SurvivalGroupsChart("km-"+g.By, survivalTitles[g.By], xlabel, groups)
}

func rocSeries(name string, pts []ROCPoint, color string, dash bool) Series {
	s := Series{Name: name, Color: color, Dash: dash}
	for _, p := range pts {
		s.X, s.Y = append(s.X, p.FPR.F()), append(s.Y, p.TPR.F())
	}
	return s
}

func sortDrift(items []DriftItem) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].PSI.F() > items[j-1].PSI.F(); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}
