package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
)

// Output file names in the report directory.
const (
	HTMLFile     = "report.html"
	JSONFile     = "report.json"
	MarkdownFile = "report.md"
)

// JSON returns report.json: indented, keys in a fixed order, numbers
// rounded to 6 decimals, undefined metrics as null.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Write writes report.html, report.json and report.md into dir
// atomically: dir is replaced as a whole or left as it was. It refuses to
// replace a directory holding other files.
func (r *Report) Write(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if n := e.Name(); !slices.Contains([]string{HTMLFile, JSONFile, MarkdownFile}, n) {
				return fmt.Errorf("write report: %s holds %s, which is not part of a report; refusing to replace it", dir, n)
			}
		}
	}
	ad, err := data.CreateAtomicDir(dir)
	if err != nil {
		return err
	}
	defer ad.Abort()
	if err := r.WriteFiles(ad.Path); err != nil {
		return err
	}
	return ad.Commit()
}

// WriteFiles writes report.html, report.json and report.md into dir, an
// empty (staging) directory, and flushes them to disk. Publishing dir is
// the caller's: the nightly job stages the report with the predictions and
// commits them together.
func (r *Report) WriteFiles(dir string) error {
	js, err := r.JSON()
	if err != nil {
		return err
	}
	html, err := r.HTML()
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{JSONFile, js}, {HTMLFile, html}, {MarkdownFile, r.Markdown()}} {
		if err := data.WriteFileSync(filepath.Join(dir, f.name), f.b); err != nil {
			return err
		}
	}
	return nil
}

var levelWord = map[string]string{LevelTrust: "Trust", LevelCaution: "Caution", LevelDoNotTrust: "Do not trust"}

var severityMark = map[string]string{SeverityGood: "✓", SeverityInfo: "ℹ", SeverityWarning: "⚠", SeverityCritical: "✗"}

// Markdown returns report.md: a short summary for chat or a pull request.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Churn model evaluation\n\n")
	w("**%s**\n\n", r.Verdict.Headline)
	d := r.Data
	w("Model `%s` (%s) on `%s`: %d evaluated rows (%s), %d churned, %d customers", r.Inputs.Model, r.Model.Algo, r.Inputs.Features, d.EvaluatedRows, d.Selection, d.Positives, d.Customers)
	if len(d.EvaluatedAsOf) > 0 {
		w(", as of %s … %s", d.EvaluatedAsOf[0], d.EvaluatedAsOf[len(d.EvaluatedAsOf)-1])
	}
	w(".\n\n")
	m := r.Metrics
	w("| metric | value | %.0f%% interval |\n|---|---|---|\n", 100*m.Bootstrap.Level.F())
	for _, row := range []struct {
		name string
		iv   Interval
	}{{"ROC AUC", m.ROCAUC}, {"PR AUC", m.PRAUC}, {"log loss", m.LogLoss}, {"Brier score", m.Brier}, {"calibration error (ECE)", m.ECE}, {"base rate", m.BaseRate}} {
		w("| %s | %.4f | %.4f–%.4f |\n", row.name, row.iv.Value.F(), row.iv.Lo.F(), row.iv.Hi.F())
	}
	w("\nIntervals: %s.\n", m.Bootstrap.Description)
	w("\n| baseline | ROC AUC | PR AUC | top-decile lift | AUC gain of the model |\n|---|---|---|---|---|\n")
	for _, bl := range r.Baselines {
		if !bl.Available {
			w("| %s | – | – | – | %s |\n", bl.Name, mdEscape(bl.Note))
			continue
		}
		w("| %s | %.4f | %.4f | %.2f | %s |\n", bl.Name, bl.ROCAUC.F(), bl.PRAUC.F(), bl.TopDecileLift.F(), fmtGain(bl.AUCGain))
	}
	c := r.Capacity
	w("\nTop %d per as-of date: precision %.2f, recall %.2f (lift %.1f). Top decile: lift %.2f, %.0f%% of churners.\n",
		c.K, c.Precision.F(), c.Recall.F(), c.Lift.F(), r.TopDecile.Lift.F(), 100*r.TopDecile.Capture.F())
	cs := r.Cost
	w("Cost threshold %.3f (intervention %s, missed churner %s, success rate %.0f%%): contact %d, savings %s on the evaluated rows (%s per run).\n",
		cs.Threshold.F(), money(cs.Intervention), money(cs.MissedChurner), 100*cs.SuccessRate.F(), cs.Contacted, money(cs.Savings), money(cs.SavingsPerAsOf))
	w("\n")
	for _, f := range r.Verdict.Findings {
		w("- %s %s\n", severityMark[f.Severity], f.Message)
	}
	if r.Review != nil {
		w("\n**Periodic review:** %s (%s)\n", r.Review.Headline, r.Review.Link)
	}
	for _, g := range r.Retention.Survival.Groupings {
		if g.By != "risk_tier" {
			continue
		}
		w("\n**Time to churn by risk tier** (Kaplan-Meier from the as-of date, censored at %s)\n\n| tier | rows | churned | median days [interval] | still there after 365 days |\n|---|---|---|---|---|\n", r.Retention.Survival.DataEnd)
		for _, gr := range g.Groups {
			w("| %s | %d | %d | %s [%s, %s] | %s [%s, %s] |\n", gr.Name, gr.Subjects, gr.Churned, fmtNum(gr.Median, 0), fmtNum(gr.MedianLower, 0), fmtNum(gr.MedianUpper, 0),
				fmtPct(gr.At365.Value), fmtPct(gr.At365.Lo), fmtPct(gr.At365.Hi))
		}
	}
	if ta := r.TopAccounts; len(ta.Accounts) > 0 {
		control := ""
		if ta.Control > 0 {
			control = fmt.Sprintf("; %d of the %d listed are in a control group: do not contact them because of churn", ta.Control, len(ta.Accounts))
		}
		w("\n**Accounts to call** (as of %s, %d scored%s)\n\n| # | customer | churn probability | top reasons |\n|---|---|---|---|\n", ta.AsOf, ta.Rows, control)
		for _, a := range ta.Accounts[:min(10, len(ta.Accounts))] {
			var rs []string
			for _, x := range a.Reasons {
				rs = append(rs, fmt.Sprintf("%s: %s", x.Feature, x.Value))
			}
			id := mdEscape(a.CustomerID)
			if a.Group == data.GroupControl {
				id += " (control — do not contact)"
			}
			w("| %d | %s | %.3f | %s |\n", a.Rank, id, a.Probability.F(), mdEscape(strings.Join(rs, "; ")))
		}
	}
	w("\nFull report: report.html; every number: report.json (schema %d).\n", r.SchemaVersion)
	return b.Bytes()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func fmtGain(iv Interval) string {
	return fmt.Sprintf("%+.4f [%+.4f, %+.4f]", iv.Value.F(), iv.Lo.F(), iv.Hi.F())
}

// money formats an amount with thousands separators and no decimals.
func money(x Num) string {
	if !x.Valid() {
		return "–"
	}
	v := x.F()
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "−" + string(out)
	}
	return string(out)
}
