package eval

import (
	"fmt"
	"strings"
)

// Verdict is the plain-language judgement at the top of the report.
type Verdict struct {
	// Level is trust, caution (warnings to read) or do_not_trust.
	Level string `json:"level"`
	// Headline is one sentence with the key numbers.
	Headline string    `json:"headline"`
	Findings []Finding `json:"findings"`
}

// Finding is one observation behind the verdict.
type Finding struct {
	// Code names the check: discrimination, health_score, champion,
	// calibration, stability, drift, leakage, in_sample, sample_size,
	// rows.
	Code string `json:"code"`
	// Severity is good, info, warning or critical.
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// Verdict levels.
const (
	LevelTrust      = "trust"
	LevelCaution    = "caution"
	LevelDoNotTrust = "do_not_trust"
)

func f2(x Num) string { return fmt.Sprintf("%.2f", x.F()) }
func f3(x Num) string { return fmt.Sprintf("%.3f", x.F()) }

func ivString(iv Interval) string {
	return fmt.Sprintf("%s [%s–%s]", f2(iv.Value), f2(iv.Lo), f2(iv.Hi))
}

func verdict(r *Report, cfg Config) Verdict {
	var fs []Finding
	add := func(code, sev, format string, args ...any) {
		fs = append(fs, Finding{Code: code, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	var phrases, concerns []string
	auc := r.Metrics.ROCAUC
	phrases = append(phrases, "AUC "+ivString(auc))
	if auc.Value.F() < cfg.Verdict.MinAUC {
		add("discrimination", "critical", "ROC AUC %s is below %.2f: the ranking is too weak to choose whom to call", ivString(auc), cfg.Verdict.MinAUC)
		concerns = append(concerns, "weak ranking")
	} else {
		add("discrimination", "good", "ROC AUC %s, PR AUC %s against a base rate of %s; the top decile holds %.0f%% of churners (lift %.1f)",
			ivString(auc), ivString(r.Metrics.PRAUC), f3(r.Metrics.BaseRate.Value), 100*r.TopDecile.Capture.F(), r.TopDecile.Lift.F())
	}

	ece := r.Metrics.ECE.Value
	if ece.F() <= cfg.Verdict.MaxECE {
		phrases = append(phrases, fmt.Sprintf("well calibrated (ECE %s)", f3(ece)))
		add("calibration", "good", "well calibrated: expected calibration error %s (at most %.2f)", f3(ece), cfg.Verdict.MaxECE)
	} else {
		mp := meanProb(r)
		dir := "overstate"
		if mp < r.Metrics.BaseRate.Value.F() {
			dir = "understate"
		}
		phrases = append(phrases, fmt.Sprintf("poorly calibrated (ECE %s)", f3(ece)))
		add("calibration", "warning", "poorly calibrated: expected calibration error %s (above %.2f); the probabilities %s the risk (mean %.3f against an observed %.3f), so use the ranking, not the probabilities",
			f3(ece), cfg.Verdict.MaxECE, dir, mp, r.Metrics.BaseRate.Value.F())
		concerns = append(concerns, "poorly calibrated")
	}

	for _, b := range r.Baselines {
		g := b.AUCGain
		switch {
		case b.Name == "health_score" && b.Available:
			switch {
			case g.Hi.F() < 0:
				phrases = append(phrases, fmt.Sprintf("worse than the health score by %s AUC", f2(-g.Value)))
				add("health_score", "critical", "worse than the rule-based health score: AUC gain %s (health score AUC %s)", ivString(g), f2(b.ROCAUC))
				concerns = append(concerns, "worse than the health score")
			case g.Lo.F() <= 0:
				phrases = append(phrases, fmt.Sprintf("not clearly better than the health score (%+.2f AUC)", g.Value.F()))
				add("health_score", "warning", "not clearly better than the rule-based health score: AUC gain %s (health score AUC %s)", ivString(g), f2(b.ROCAUC))
				concerns = append(concerns, "no clear gain over the health score")
			default:
				phrases = append(phrases, fmt.Sprintf("beats the health score by %s AUC", f2(g.Value)))
				add("health_score", "good", "beats the rule-based health score by %s AUC (health score AUC %s)", ivString(g), f2(b.ROCAUC))
			}
		case b.Name == "champion" && !b.Available:
			add("champion", "warning", "%s", b.Note)
			concerns = append(concerns, "champion not compared")
		case b.Name == "champion":
			switch {
			case g.Hi.F() < 0:
				phrases = append(phrases, fmt.Sprintf("worse than the champion by %s AUC", f2(-g.Value)))
				add("champion", "critical", "worse than the previous champion: AUC gain %s (champion AUC %s)", ivString(g), f2(b.ROCAUC))
				concerns = append(concerns, "worse than the champion")
			case g.Lo.F() > 0:
				phrases = append(phrases, fmt.Sprintf("beats the champion by %s AUC", f2(g.Value)))
				add("champion", "good", "beats the previous champion: AUC gain %s (champion AUC %s)", ivString(g), f2(b.ROCAUC))
			default:
				phrases = append(phrases, "on par with the champion")
				add("champion", "info", "on par with the previous champion: AUC gain %s (champion AUC %s)", ivString(g), f2(b.ROCAUC))
			}
		}
	}

	bt := r.Backtest
	if bt.Skipped {
		add("stability", "info", "no backtest: %s", bt.Note)
	} else {
		n := 0
		for _, o := range bt.Origins {
			if !o.Skipped {
				n++
			}
		}
		spread := bt.AUCMax.F() - bt.AUCMin.F()
		if spread > cfg.Verdict.MaxAUCSpread {
			phrases = append(phrases, fmt.Sprintf("unstable over %d origins (AUC %s–%s)", n, f2(bt.AUCMin), f2(bt.AUCMax)))
			add("stability", "warning", "unstable over time: retrained at %d origins the AUC ranges %s–%s (spread above %.2f)", n, f2(bt.AUCMin), f2(bt.AUCMax), cfg.Verdict.MaxAUCSpread)
			concerns = append(concerns, "unstable")
		} else {
			phrases = append(phrases, fmt.Sprintf("stable over %d origins (AUC %s–%s)", n, f2(bt.AUCMin), f2(bt.AUCMax)))
			add("stability", "good", "stable over time: retrained at %d origins the AUC ranges %s–%s (mean %s)", n, f2(bt.AUCMin), f2(bt.AUCMax), f2(bt.AUCMean))
		}
	}

	if len(r.Drift.Drifting) > 0 {
		var parts []string
		for _, name := range r.Drift.Drifting[:min(3, len(r.Drift.Drifting))] {
			parts = append(parts, fmt.Sprintf("%s (PSI %.2f)", name, psiOf(r, name)))
		}
		more := ""
		if len(r.Drift.Drifting) > 3 {
			more = fmt.Sprintf(" and %d more", len(r.Drift.Drifting)-3)
		}
		add("drift", "warning", "drifting from the training data: %s%s above PSI %.2f", strings.Join(parts, ", "), more, cfg.Drift.Threshold)
		concerns = append(concerns, "drifting")
	} else {
		moderate := 0
		for _, it := range append([]DriftItem{r.Drift.Score}, r.Drift.Features...) {
			if it.Status == "moderate" {
				moderate++
			}
		}
		if moderate > 0 {
			what := "variables"
			if moderate == 1 {
				what = "variable"
			}
			add("drift", "info", "no significant drift; %d %s shifted moderately (PSI %.2f–%.2f)", moderate, what, cfg.Drift.Moderate, cfg.Drift.Threshold)
		} else {
			add("drift", "good", "no drift from the training data (every PSI at most %.2f)", cfg.Drift.Moderate)
		}
	}

	var leaks []string
	for _, f := range r.Importance.Features {
		if f.Static && (f.GainShare.F() >= cfg.Verdict.LeakShare || f.PermutationDrop.F() >= cfg.Verdict.LeakShare/10) {
			leaks = append(leaks, fmt.Sprintf("%s (%.0f%% of gain, AUC drop %.3f)", f.Feature, 100*f.GainShare.F(), f.PermutationDrop.F()))
		}
	}
	if len(leaks) > 0 {
		add("leakage", "warning", "static features (today's values, not as of each date) weigh heavily and may leak the outcome: %s", strings.Join(leaks, ", "))
		concerns = append(concerns, "possible leak")
	}

	d := r.Data
	switch {
	case d.InSample:
		add("in_sample", "warning", "evaluated on rows the model was (probably) trained on: the metrics are optimistic; evaluate on later as-of dates")
		concerns = append(concerns, "in-sample")
	case d.Selection == RowsHoldout:
		add("rows", "info", "evaluated on %d labelled rows at %d as-of dates the model did not train on (%d rows at training dates left out)", d.EvaluatedRows, len(d.EvaluatedAsOf), d.ExcludedTrainingRows)
	default:
		add("rows", "info", "evaluated on all %d labelled rows", d.EvaluatedRows)
	}
	if d.Positives < cfg.Verdict.MinPositives {
		add("sample_size", "warning", "only %d churners among the evaluated rows: the numbers are uncertain (see the intervals)", d.Positives)
		concerns = append(concerns, "few churners")
	}

	v := Verdict{Level: LevelTrust, Findings: fs}
	for _, f := range fs {
		switch {
		case f.Severity == "critical":
			v.Level = LevelDoNotTrust
		case f.Severity == "warning" && v.Level == LevelTrust:
			v.Level = LevelCaution
		}
	}
	word := map[string]string{LevelTrust: "Trust", LevelCaution: "Caution", LevelDoNotTrust: "Do not trust"}[v.Level]
	v.Headline = word + ": " + strings.Join(phrases, ", ")
	if len(concerns) > 0 && v.Level != LevelTrust {
		v.Headline += " — " + strings.Join(concerns, "; ")
	}
	return v
}

func meanProb(r *Report) float64 {
	var s float64
	n := 0
	for _, b := range r.Calibration.Bins {
		if b.Rows > 0 {
			s += b.MeanProb.F() * float64(b.Rows)
			n += b.Rows
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

func psiOf(r *Report, name string) float64 {
	if r.Drift.Score.Feature == name {
		return r.Drift.Score.PSI.F()
	}
	for _, it := range r.Drift.Features {
		if it.Feature == name {
			return it.PSI.F()
		}
	}
	return 0
}
