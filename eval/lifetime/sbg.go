package lifetime

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"text/tabwriter"

	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/internal/clv"
)

// Files of churn lifetime sbg's output folder.
const (
	SBGJSONFile = "sbg.json"
	SBGHTMLFile = "sbg.html"
)

// DefaultProjectPeriods is how far sBG projects past a cohort's last
// observed period by default: 12 periods (a year of months).
const DefaultProjectPeriods = 12

// SBGOptions are the settings of FitSBG.
type SBGOptions struct {
	// Source says where the counts came from (a file, or a dataset), for
	// the report.
	Source string
	// FitPeriods fits each cohort on its periods 0..FitPeriods only (the
	// rest is kept to compare with the projection); 0 means every observed
	// period. Must be 0 or ≥ 2.
	FitPeriods int
	// Project is the number of periods projected past each cohort's last
	// observed period (≥ 1).
	Project int
	// PeriodMonths is the length of a period in months (1 for monthly
	// data, 12 for yearly), to turn AnnualDiscount into a per-period rate
	// for DERL.
	PeriodMonths   int
	AnnualDiscount float64
	// Derived is set when the counts came from a dataset.
	Derived *Derived
}

// SBGReport is sbg.json.
type SBGReport struct {
	SchemaVersion int    `json:"schema_version"`
	Source        string `json:"source"`
	// Derived tells how the cohorts were counted from a dataset (null for
	// a survivors file).
	Derived        *Derived    `json:"derived"`
	FitPeriods     int         `json:"fit_periods"` // 0: all observed
	Project        int         `json:"project_periods"`
	PeriodMonths   int         `json:"period_months"`
	AnnualDiscount float64     `json:"annual_discount"`
	PeriodDiscount eval.Num    `json:"period_discount"`
	Cohorts        []SBGCohort `json:"cohorts"`
}

// SBGCohort is one cohort's fit and projection.
type SBGCohort struct {
	Name      string `json:"name"`
	Customers int    `json:"customers"` // alive at period 0
	// Observed is the number of observed periods after period 0;
	// FittedPeriods those the fit used.
	Observed      int      `json:"observed_periods"`
	FittedPeriods int      `json:"fitted_periods"`
	Alpha         eval.Num `json:"alpha"`
	Beta          eval.Num `json:"beta"`
	SE            struct {
		Alpha eval.Num `json:"alpha"`
		Beta  eval.Num `json:"beta"`
	} `json:"se"`
	LogLikelihood eval.Num `json:"log_likelihood"`
	Iterations    int      `json:"iterations"`
	Converged     bool     `json:"converged"`
	// Error says why the cohort has no fit (its numbers are then null):
	// e.g. survivors without a finite maximum-likelihood optimum.
	Error string `json:"error,omitempty"`
	// Actual holds the observed survivors per period (0..Observed).
	Actual []float64 `json:"actual"`
	// Projected holds the projected survivors per period, Customers·S(t)
	// for t = 0..Observed+Project; Survival the same as shares S(t);
	// Retention r(t) = S(t)/S(t−1) for t = 1.. (Retention[0] is r(1)).
	Projected []eval.Num `json:"projected"`
	Survival  []eval.Num `json:"survival"`
	Retention []eval.Num `json:"retention"`
	// DERL[n] is the discounted expected residual lifetime, in periods, of
	// a customer who has made n renewals (alive at the start of period
	// n), at the per-period discount rate; n = 0..Observed.
	DERL []eval.Num `json:"derl"`
}

// FitSBG fits the sBG model to every cohort and projects its retention.
func FitSBG(ctx context.Context, cohorts []Cohort, opt SBGOptions) (*SBGReport, error) {
	if opt.FitPeriods != 0 && opt.FitPeriods < 2 {
		return nil, fmt.Errorf("fit periods %d: want 0 (all) or at least 2", opt.FitPeriods)
	}
	if opt.Project < 1 {
		return nil, fmt.Errorf("projection %d periods: want at least 1", opt.Project)
	}
	if opt.PeriodMonths < 1 {
		return nil, fmt.Errorf("period of %d months: want at least 1", opt.PeriodMonths)
	}
	if !(opt.AnnualDiscount >= 0) || math.IsInf(opt.AnnualDiscount, 0) {
		return nil, fmt.Errorf("discount %v: want a yearly rate ≥ 0", opt.AnnualDiscount)
	}
	d := math.Pow(1+opt.AnnualDiscount, float64(opt.PeriodMonths)/12) - 1
	rep := &SBGReport{SchemaVersion: SchemaVersion, Source: opt.Source, Derived: opt.Derived, FitPeriods: opt.FitPeriods, Project: opt.Project,
		PeriodMonths: opt.PeriodMonths, AnnualDiscount: opt.AnnualDiscount, PeriodDiscount: eval.Num(d)}
	failed := 0
	for _, c := range cohorts {
		n := len(c.Alive) - 1
		fitN := n
		if opt.FitPeriods > 0 {
			fitN = min(n, opt.FitPeriods)
		}
		fit, err := clv.FitSBG(ctx, c.Alive[:fitN+1], nil)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			// One cohort without a fit does not stop the others.
			nan := eval.Num(math.NaN())
			out := SBGCohort{Name: c.Name, Customers: int(c.Alive[0]), Observed: n, FittedPeriods: fitN, Alpha: nan, Beta: nan,
				LogLikelihood: nan, Error: err.Error(), Actual: c.Alive, Projected: []eval.Num{}, Survival: []eval.Num{}, Retention: []eval.Num{}, DERL: []eval.Num{}}
			out.SE.Alpha, out.SE.Beta = nan, nan
			rep.Cohorts = append(rep.Cohorts, out)
			failed++
			continue
		}
		out := SBGCohort{Name: c.Name, Customers: int(c.Alive[0]), Observed: n, FittedPeriods: fitN,
			Alpha: eval.Num(fit.Alpha), Beta: eval.Num(fit.Beta), LogLikelihood: eval.Num(fit.LogLikelihood),
			Iterations: fit.Iterations, Converged: fit.Converged, Actual: c.Alive}
		out.SE.Alpha, out.SE.Beta = eval.Num(fit.SE.Alpha), eval.Num(fit.SE.Beta)
		h := n + opt.Project
		for t := 0; t <= h; t++ {
			s := fit.Survival(t)
			out.Survival = append(out.Survival, eval.Num(s))
			out.Projected = append(out.Projected, eval.Num(c.Alive[0]*s))
			if t > 0 {
				out.Retention = append(out.Retention, eval.Num(fit.Retention(t)))
			}
		}
		for k := 0; k <= n; k++ {
			out.DERL = append(out.DERL, eval.Num(fit.DERL(k, d)))
		}
		rep.Cohorts = append(rep.Cohorts, out)
	}
	if failed == len(cohorts) {
		return nil, fmt.Errorf("no cohort could be fitted: %s: %s", rep.Cohorts[0].Name, rep.Cohorts[0].Error)
	}
	return rep, nil
}

// JSON returns sbg.json (indented, numbers rounded to 6 decimals).
func (r *SBGReport) JSON() ([]byte, error) { return marshal(r) }

// WriteTable prints each cohort's parameters as a compact table.
func (r *SBGReport) WriteTable(w io.Writer, out string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "cohort\tcustomers\tperiods (fitted)\talpha\t(se)\tbeta\t(se)\tlog-likelihood\tretention next")
	for _, c := range r.Cohorts {
		if c.Error != "" {
			fmt.Fprintf(tw, "%s\t%d\t%d (%d)\tno fit: %s\n", c.Name, c.Customers, c.Observed, c.FittedPeriods, c.Error)
			continue
		}
		next := "–"
		if c.Observed < len(c.Retention) {
			next = fmt.Sprintf("%.3f", c.Retention[c.Observed].F())
		}
		fmt.Fprintf(tw, "%s\t%d\t%d (%d)\t%s\t%s\t%s\t%s\t%.2f\t%s\n", c.Name, c.Customers, c.Observed, c.FittedPeriods,
			g4(c.Alpha.F()), g4(c.SE.Alpha.F()), g4(c.Beta.F()), g4(c.SE.Beta.F()), c.LogLikelihood.F(), next)
	}
	if out != "" {
		fmt.Fprintf(tw, "written %s/%s, %s/%s\n", out, SBGJSONFile, out, SBGHTMLFile)
	}
	return tw.Flush()
}

//go:embed sbg.html.tmpl
var sbgTemplate string

var sbgTmpl = template.Must(template.New("sbg").Funcs(funcs()).Parse(sbgTemplate))

// MaxChartCohorts is the most cohorts the sBG chart draws (the table
// lists them all).
const MaxChartCohorts = 6

// HTML returns sbg.html: actual against projected survival per cohort.
func (r *SBGReport) HTML() ([]byte, error) {
	c := eval.LineChart{ID: "sbg-chart", Title: "Survival: actual (solid) and sBG projection (dashed)", XLabel: "period", YLabel: "share of the cohort alive",
		YMin: 0, YMax: 1, Percent: true}
	k := 0
	for _, co := range r.Cohorts {
		if k == MaxChartCohorts {
			break
		}
		if co.Error != "" {
			continue
		}
		col := eval.PaletteColor(k)
		k++
		var xa, ya, xp, yp []float64
		for t, a := range co.Actual {
			xa, ya = append(xa, float64(t)), append(ya, a/co.Actual[0])
		}
		for t, s := range co.Survival {
			xp, yp = append(xp, float64(t)), append(yp, s.F())
		}
		c.XMax = math.Max(c.XMax, float64(len(co.Survival)-1))
		c.Series = append(c.Series, eval.Series{Name: co.Name, X: xa, Y: ya, Color: col, Points: true},
			eval.Series{Name: co.Name + " (sBG)", X: xp, Y: yp, Color: col, Dash: true})
	}
	for t := 0; t <= int(c.XMax); t++ {
		c.XTicks = append(c.XTicks, strconv.Itoa(t))
	}
	v := struct {
		*SBGReport
		Chart template.HTML
	}{r, c.SVG()}
	var buf bytes.Buffer
	if err := sbgTmpl.Execute(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write publishes sbg.json and sbg.html as the folder out, atomically (see
// Report.Write for when an existing folder is replaced).
func (r *SBGReport) Write(out string) error {
	if err := checkReplace(out, SBGJSONFile); err != nil {
		return err
	}
	js, err := r.JSON()
	if err != nil {
		return err
	}
	page, err := r.HTML()
	if err != nil {
		return err
	}
	return publish(out, SBGJSONFile, map[string][]byte{SBGJSONFile: js, SBGHTMLFile: page})
}
