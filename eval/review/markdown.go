package review

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/churnlab/churn/eval"
)

// Markdown returns review.md: the headline, the plays, the latest runs
// and the first saved customers, for chat or a pull request.
func (r *Review) Markdown() []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Churn review %s\n\n**%s**\n\n", r.AsOf, r.Headline)
	w("Outcomes up to %s (%s, churn within %d days); %d runs of predictions, %d interventions, %d customers.\n",
		r.DataEnd, r.Label.Mode, r.Label.HorizonDays, r.Inputs.Partitions, r.Inputs.InterventionRows, r.Inputs.Customers)
	if len(r.Plays) > 0 {
		w("\n## Plays (intent to treat, closed windows)\n\n| play | treated | control | churn treated | churn control | uplift [%.0f%%] | relative risk reduction | customers saved | MRR saved | verdict |\n|---|---|---|---|---|---|---|---|---|---|\n", 100*r.Config.Level)
		for _, p := range append(append([]Play{}, r.Plays...), r.Overall) {
			w("| %s | %d | %d | %s | %s | %s | %s | %.1f | %s | %s |\n", mdEscape(p.Name), p.Treated, p.Control, pctPlain(p.ChurnRateTreated), pctPlain(p.ChurnRateControl),
				signedPct(p.Uplift.F(), p.UpliftCI[0].F(), p.UpliftCI[1].F()), signedPct(p.RelativeRiskReduction.F(), p.RRRCI[0].F(), p.RRRCI[1].F()),
				p.CustomersSaved.F(), moneyText(p.MRRSaved.F()), eval.ReviewVerdictText(p.Verdict))
		}
	}
	if len(r.Runs) > 0 {
		w("\n## Latest runs\n\n| run | status | rows | ROC AUC (realised) | ROC AUC (estimated) |\n|---|---|---|---|---|\n")
		for _, run := range r.Runs[max(0, len(r.Runs)-8):] {
			w("| %s | %s | %d | %s | %s |\n", run.AsOf, run.Status, run.Rows, numCI(run.ROCAUC, run.ROCAUCCI), numCI(run.EstimatedROCAUC, run.EstimatedROCAUCCI))
		}
	}
	if len(r.Saved.Listed) > 0 {
		w("\n## Saved customers (%d, %s MRR)\n\n| customer | play | run | MRR | owner |\n|---|---|---|---|---|\n", r.Saved.Customers, moneyText(r.Saved.MRR.F()))
		for _, s := range r.Saved.Listed[:min(10, len(r.Saved.Listed))] {
			w("| %s | %s | %s | %s | %s |\n", mdEscape(s.CustomerID), mdEscape(s.Play), s.AsOf, moneyText(s.MRR.F()), mdEscape(s.Owner))
		}
	}
	w("\n")
	for _, n := range r.Notes {
		w("- %s\n", n)
	}
	w("\nFull review: review.html; every number: review.json (schema %d).\n", r.SchemaVersion)
	return b.Bytes()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func pctPlain(x Num) string {
	if !x.Valid() {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*x.F())
}

func numCI(v Num, c CI) string {
	if !v.Valid() {
		return "–"
	}
	if !c[0].Valid() {
		return fmt.Sprintf("%.3f", v.F())
	}
	return fmt.Sprintf("%.3f [%.3f, %.3f]", v.F(), c[0].F(), c[1].F())
}
