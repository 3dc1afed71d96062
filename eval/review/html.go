package review

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/churnlab/churn/eval"
)

//go:embed review.html.tmpl
var reviewTemplate string

var tmpl = template.Must(template.New("review").Funcs(funcs()).Parse(reviewTemplate))

// funcs are the evaluation report's template functions (the same number
// formats) and the review's own.
func funcs() template.FuncMap {
	f := eval.TemplateFuncs()
	f["ci"] = func(c CI) string {
		if !c[0].Valid() || !c[1].Valid() {
			return "–"
		}
		return fmt.Sprintf("%.3f–%.3f", c[0].F(), c[1].F())
	}
	f["cipct"] = func(c CI) string {
		if !c[0].Valid() || !c[1].Valid() {
			return "–"
		}
		return fmt.Sprintf("%s to %s", pctText(c[0].F()), pctText(c[1].F()))
	}
	f["spct"] = func(x Num) string { return pctText(x.F()) }
	f["cirate"] = func(c CI) string {
		if !c[0].Valid() || !c[1].Valid() {
			return "–"
		}
		return fmt.Sprintf("%.1f%%–%.1f%%", 100*c[0].F(), 100*c[1].F())
	}
	f["verdict"] = eval.ReviewVerdictText
	f["money"] = func(x Num) string { return moneyText(x.F()) }
	f["deref"] = func(x *float64) float64 { return *x }
	f["pctf"] = func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }
	f["works"] = func(ps []Play) []Play {
		var out []Play
		for _, p := range ps {
			if p.Verdict == "works" {
				out = append(out, p)
			}
		}
		return out
	}
	return f
}

// pctText formats a share as a signed percentage: "+3.1%", "−12.0%".
func pctText(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return strings.Replace(fmt.Sprintf("%+.1f%%", 100*x), "-", "−", 1)
}

// htmlView is what the template sees.
type htmlView struct {
	*Review
	Charts    map[string]template.HTML
	Generated string
	// Closed and Open are the runs by status, newest first.
	Closed, Open []PastRun
	Latest       *PastRun // the newest closed run
}

// HTML returns review.html: one self-contained page in the evaluation
// report's style (its style sheet and charts), no script, nothing
// fetched. Its footer carries the generation time (Generated), nothing
// else that depends on the clock.
func (r *Review) HTML() ([]byte, error) {
	v := htmlView{Review: r, Charts: r.charts(), Generated: r.Generated.UTC().Format("2006-01-02 15:04 UTC")}
	for i := len(r.Runs) - 1; i >= 0; i-- {
		if r.Runs[i].Status == "closed" {
			v.Closed = append(v.Closed, r.Runs[i])
		} else {
			v.Open = append(v.Open, r.Runs[i])
		}
	}
	if len(v.Closed) > 0 {
		v.Latest = &v.Closed[0]
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, v); err != nil {
		return nil, fmt.Errorf("render review.html: %w", err)
	}
	return buf.Bytes(), nil
}

// charts builds the review's SVG charts.
func (r *Review) charts() map[string]template.HTML {
	c := map[string]template.HTML{}
	if len(r.Runs) > 0 {
		var dates []string
		mk := func(name, color string, dash bool) eval.Series {
			return eval.Series{Name: name, Color: color, Dash: dash, Points: !dash}
		}
		real, realLo, realHi := mk("realised", eval.ColorBlue, false), mk("interval", eval.ColorBlue, true), mk("", eval.ColorBlue, true)
		est, estLo, estHi := mk("estimated", eval.ColorOrange, false), mk("interval", eval.ColorOrange, true), mk("", eval.ColorOrange, true)
		lo, hi := 1.0, 0.0
		for i, run := range r.Runs {
			x := float64(i)
			dates = append(dates, run.AsOf)
			add := func(s *eval.Series, y Num) {
				s.X, s.Y = append(s.X, x), append(s.Y, y.F())
				if y.Valid() {
					lo, hi = math.Min(lo, y.F()), math.Max(hi, y.F())
				}
			}
			add(&real, run.ROCAUC)
			add(&realLo, run.ROCAUCCI[0])
			add(&realHi, run.ROCAUCCI[1])
			add(&est, run.EstimatedROCAUC)
			add(&estLo, run.EstimatedROCAUCCI[0])
			add(&estHi, run.EstimatedROCAUCCI[1])
		}
		if hi < lo {
			lo, hi = 0.5, 1
		}
		c["runs"] = eval.LineChart{ID: "runs", Title: "Did past predictions come true? ROC AUC per run", XLabel: "run (as-of date)", YLabel: "ROC AUC",
			XMin: -0.3, XMax: float64(len(dates)) - 0.7, YMin: math.Max(0, math.Floor((lo-0.02)*20)/20), YMax: math.Min(1, math.Ceil((hi+0.02)*20)/20), XTicks: dates,
			Series: []eval.Series{real, est, realLo, estLo, realHi, estHi}}.SVG()
	}
	var tl []string
	var pred, act []float64
	for _, t := range r.Calibration {
		tl = append(tl, t.Tier)
		pred, act = append(pred, t.MeanProbability.F()), append(act, t.ChurnRate.F())
	}
	c["tiers"] = eval.BarChart{ID: "tiers", Title: "Predicted against actual churn by tier", XLabel: "risk tier (closed runs)", YLabel: "churn within the horizon", Labels: tl, Percent: true,
		Series: []eval.BarSeries{{Name: "predicted", Values: pred, Color: eval.ColorGrey}, {Name: "actual", Values: act, Color: eval.ColorBlue}}}.SVG()
	if len(r.Plays) > 0 {
		var names []string
		var rt, rc []float64
		for _, p := range r.Plays {
			names = append(names, p.Name)
			rt, rc = append(rt, p.ChurnRateTreated.F()), append(rc, p.ChurnRateControl.F())
		}
		c["plays"] = eval.BarChart{ID: "plays", Title: "Churn rate by play: treated against control", XLabel: "churn within the horizon (closed windows)", Labels: names, Horizontal: true, Percent: true,
			Series: []eval.BarSeries{{Name: "treated", Values: rt, Color: eval.ColorBlue}, {Name: "control", Values: rc, Color: eval.ColorGrey}}}.SVG()
	}
	if len(r.Overall.Survival) > 0 {
		c["survival"] = eval.SurvivalGroupsChart("survival", "Still there after the play: treated against control", "days since assignment", r.Overall.Survival)
	}
	if len(r.UpliftByDecile) > 0 {
		var dl []string
		var up []float64
		for _, d := range r.UpliftByDecile {
			dl, up = append(dl, fmt.Sprint(d.Decile)), append(up, d.Uplift.F())
		}
		c["deciles"] = eval.BarChart{ID: "deciles", Title: "Uplift by decile of predicted risk", XLabel: "decile of churn probability (1 = riskiest)", YLabel: "churn prevented per treated customer", Labels: dl, Percent: true,
			Series: []eval.BarSeries{{Name: "uplift", Values: up, Color: eval.ColorGreen}}}.SVG()
		q := eval.Series{Name: "plays, riskiest first", Color: eval.ColorBlue, Points: true}
		rnd := eval.Series{Name: "random targeting", Color: eval.ColorGrey, Dash: true}
		lo, hi := 0.0, 0.0
		for _, p := range r.Qini.Points {
			q.X, q.Y = append(q.X, p.Share.F()), append(q.Y, p.Incremental.F())
			rnd.X, rnd.Y = append(rnd.X, p.Share.F()), append(rnd.Y, p.Random.F())
			lo, hi = math.Min(lo, p.Incremental.F()), math.Max(hi, p.Incremental.F())
		}
		if hi == lo {
			hi = lo + 1
		}
		pad := (hi - lo) * 0.1
		c["qini"] = eval.LineChart{ID: "qini", Title: "Qini curve: customers kept by targeting the riskiest first", XLabel: "share of the units, riskiest first", YLabel: "customers kept beyond control",
			XMax: 1, YMin: lo - pad, YMax: hi + pad, Series: []eval.Series{q, rnd}}.SVG()
	}
	return c
}
