package eval

// ReviewSummary is the periodic review's summary in the nightly report
// (churn review, docs/review.md): its headline, where the whole review is,
// and each play's intent-to-treat result. The nightly job sets it with
// SetReview; churn eval's reports have none.
type ReviewSummary struct {
	Headline string `json:"headline"`
	// Link is review.html's path relative to the report's folder.
	Link  string       `json:"link"`
	Plays []ReviewPlay `json:"plays"`
}

// ReviewPlay is one play's line in the review section: closed units per
// arm, uplift (control's churn rate − the treated's) and relative risk
// reduction with their intervals, monthly revenue saved, and the verdict
// (works, no_evidence, inconclusive, too_few, no_control).
type ReviewPlay struct {
	Name                  string   `json:"name"`
	Treated               int      `json:"treated"`
	Control               int      `json:"control"`
	Uplift                Interval `json:"uplift"`
	RelativeRiskReduction Interval `json:"relative_risk_reduction"`
	MRRSaved              Num      `json:"mrr_saved"`
	Verdict               string   `json:"verdict"`
}

// SetReview adds the periodic review's summary to the report (nil removes
// it). It does not change the verdict: the review judges the plays and
// past runs, not tonight's model.
func (r *Report) SetReview(s *ReviewSummary) { r.Review = s }

// ReviewVerdictText says a play's review verdict in words, as the reports
// show it.
func ReviewVerdictText(verdict string) string {
	switch verdict {
	case "works":
		return "works"
	case "no_evidence":
		return "no evidence it works"
	case "inconclusive":
		return "not sure yet"
	case "too_few":
		return "too few customers"
	case "no_control":
		return "no control group"
	}
	return verdict
}
