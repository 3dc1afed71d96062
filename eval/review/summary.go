package review

import (
	"fmt"
	"math"
	"strings"

	"github.com/churnlab/churn/eval"
)

// headline sums the review up in one line: the plays' verdicts and what
// they saved, then the latest run's ROC AUC, realised or estimated.
func headline(rep *Review) string {
	var parts []string
	var works, noEvidence []string
	judged, tooFew := 0, 0
	var best *Play
	for i := range rep.Plays {
		p := &rep.Plays[i]
		switch p.Verdict {
		case "works":
			works = append(works, p.Name)
			if best == nil || p.RelativeRiskReduction > best.RelativeRiskReduction {
				best = p
			}
		case "no_evidence":
			noEvidence = append(noEvidence, p.Name)
		}
		switch p.Verdict {
		case "too_few":
			tooFew++
		case "no_control":
		default:
			judged++
		}
	}
	o := rep.Overall
	switch {
	case o.Treated+o.Control == 0 && o.TreatedOpen+o.ControlOpen == 0:
		parts = append(parts, "no play has a control group yet")
	case o.Treated+o.Control == 0:
		parts = append(parts, fmt.Sprintf("%d units wait for their outcome windows to close", o.TreatedOpen+o.ControlOpen))
	case judged == 0:
		parts = append(parts, fmt.Sprintf("too few closed units to judge a play (%d treated, %d control)", o.Treated, o.Control))
	default:
		s := fmt.Sprintf("%d of %d plays work", len(works), judged)
		if best != nil {
			s += fmt.Sprintf(" (best: %s, churn %s)", best.Name, signedPct(-best.RelativeRiskReduction.F(), -best.RRRCI[1].F(), -best.RRRCI[0].F()))
		}
		if tooFew > 0 {
			s += fmt.Sprintf("; %d more have too few customers to judge", tooFew)
		}
		parts = append(parts, s)
		if len(noEvidence) > 0 {
			parts = append(parts, "no evidence it works: "+strings.Join(noEvidence, ", "))
		}
		if o.CustomersSaved.Valid() {
			s := fmt.Sprintf("about %.0f customers saved", o.CustomersSaved.F())
			if o.MRRKnown > 0 {
				s += fmt.Sprintf(", %s MRR", moneyText(o.MRRSaved.F()))
			}
			parts = append(parts, s)
		}
	}
	for i := len(rep.Runs) - 1; i >= 0; i-- {
		r := rep.Runs[i]
		if r.Status == "closed" && r.ROCAUC.Valid() {
			parts = append(parts, fmt.Sprintf("run of %s: ROC AUC %.3f [%.3f, %.3f]", r.AsOf, r.ROCAUC.F(), r.ROCAUCCI[0].F(), r.ROCAUCCI[1].F()))
			break
		}
	}
	if n := len(rep.Runs); n > 0 && rep.Runs[n-1].Status == "open" && rep.Runs[n-1].EstimatedROCAUC.Valid() {
		r := rep.Runs[n-1]
		parts = append(parts, fmt.Sprintf("run of %s: estimated ROC AUC %.3f [%.3f, %.3f]", r.AsOf, r.EstimatedROCAUC.F(), r.EstimatedROCAUCCI[0].F(), r.EstimatedROCAUCCI[1].F()))
	}
	return "Review " + rep.AsOf + ": " + strings.Join(parts, "; ") + "."
}

// signedPct formats a change with its interval in percent: "−31% [−45%, −16%]".
func signedPct(v, lo, hi float64) string {
	f := func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "–"
		}
		s := fmt.Sprintf("%+.0f%%", 100*x)
		return strings.Replace(s, "-", "−", 1)
	}
	return fmt.Sprintf("%s [%s, %s]", f(v), f(lo), f(hi))
}

// moneyText formats an amount with thousands separators, no decimals.
func moneyText(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	s := fmt.Sprintf("%.0f", math.Abs(x))
	var b strings.Builder
	if x < 0 && s != "0" {
		b.WriteString("−")
	}
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// notes are what a reader must know to read the numbers right.
func (rv *reviewer) notes(rep *Review) []string {
	in := rep.Inputs
	notes := []string{
		fmt.Sprintf("Outcome: churn within %d days of a unit's date (%s label, as in training), read from data up to %s; a window is closed when it ends on or before that day.", rep.Label.HorizonDays, rep.Label.Mode, rep.DataEnd),
		"Plays are compared by intent to treat: every customer assigned to treat counts as treated, reached or not; each customer counts once per play, from its first assignment.",
	}
	if in.LaterPartitions > 0 {
		notes = append(notes, fmt.Sprintf("%d predictions partitions dated after %s were left out.", in.LaterPartitions, rep.AsOf))
	}
	if in.UnknownCustomers > 0 {
		notes = append(notes, fmt.Sprintf("%d prediction or intervention rows name customers the data does not hold; they were left out.", in.UnknownCustomers))
	}
	if in.NotActive > 0 {
		notes = append(notes, fmt.Sprintf("%d units were dated when their customer was not a customer (before signup or after churning); they were left out.", in.NotActive))
	}
	sampled := 0
	for _, r := range rep.Runs {
		if r.Status == "closed" && r.MeasuredRows < r.Rows*9/10 {
			sampled++
		}
	}
	if sampled > 0 {
		notes = append(notes, fmt.Sprintf("%d closed runs were measured on the customers of a seeded sample of about %d of the data's customers (max_rows), the same in every run; their intervals include the sampling.", sampled, rv.cfg.MaxRows))
	}
	if in.InterventionRows == 0 {
		notes = append(notes, "The data has no interventions table: there is no per-protocol comparison (who was actually contacted).")
	}
	return notes
}

// Summary returns the review's section of the nightly report: the
// headline, link (review.html's path relative to the report's folder) and
// each play's line.
func (r *Review) Summary(link string) *eval.ReviewSummary {
	s := &eval.ReviewSummary{Headline: r.Headline, Link: link, Plays: []eval.ReviewPlay{}}
	for _, p := range r.Plays {
		s.Plays = append(s.Plays, eval.ReviewPlay{Name: p.Name, Treated: p.Treated, Control: p.Control,
			Uplift:                eval.Interval{Value: p.Uplift, Lo: p.UpliftCI[0], Hi: p.UpliftCI[1]},
			RelativeRiskReduction: eval.Interval{Value: p.RelativeRiskReduction, Lo: p.RRRCI[0], Hi: p.RRRCI[1]},
			MRRSaved:              p.MRRSaved, Verdict: p.Verdict})
	}
	return s
}
