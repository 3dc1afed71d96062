package eval

import (
	"fmt"
	"strings"

	"github.com/churnlab/churn/features"
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

// Finding severities. A critical finding makes the verdict do_not_trust,
// a warning caution.
const (
	SeverityGood     = "good"
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

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
		add("discrimination", SeverityCritical, "ROC AUC %s is below %.2f: the ranking is too weak to choose whom to call", ivString(auc), cfg.Verdict.MinAUC)
		concerns = append(concerns, "weak ranking")
	} else {
		add("discrimination", SeverityGood, "ROC AUC %s, PR AUC %s against a base rate of %s; the top decile holds %.0f%% of churners (lift %.1f)",
			ivString(auc), ivString(r.Metrics.PRAUC), f3(r.Metrics.BaseRate.Value), 100*r.TopDecile.Capture.F(), r.TopDecile.Lift.F())
	}

	ece := r.Metrics.ECE.Value
	if ece.F() <= cfg.Verdict.MaxECE {
		phrases = append(phrases, fmt.Sprintf("well calibrated (ECE %s)", f3(ece)))
		add("calibration", SeverityGood, "well calibrated: expected calibration error %s (at most %.2f)", f3(ece), cfg.Verdict.MaxECE)
	} else {
		mp := meanProb(r)
		dir := "overstate"
		if mp < r.Metrics.BaseRate.Value.F() {
			dir = "understate"
		}
		phrases = append(phrases, fmt.Sprintf("poorly calibrated (ECE %s)", f3(ece)))
		add("calibration", SeverityWarning, "poorly calibrated: expected calibration error %s (above %.2f); the probabilities %s the risk (mean %.3f against an observed %.3f), so use the ranking, not the probabilities",
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
				add("health_score", SeverityCritical, "worse than the rule-based health score: AUC gain %s (health score AUC %s)", ivString(g), f2(b.ROCAUC))
				concerns = append(concerns, "worse than the health score")
			case g.Lo.F() <= 0:
				phrases = append(phrases, fmt.Sprintf("not clearly better than the health score (%+.2f AUC)", g.Value.F()))
				add("health_score", SeverityWarning, "not clearly better than the rule-based health score: AUC gain %s (health score AUC %s)", ivString(g), f2(b.ROCAUC))
				concerns = append(concerns, "no clear gain over the health score")
			default:
				phrases = append(phrases, fmt.Sprintf("beats the health score by %s AUC", f2(g.Value)))
				add("health_score", SeverityGood, "beats the rule-based health score by %s AUC (health score AUC %s)", ivString(g), f2(b.ROCAUC))
			}
		case b.Name == "champion" && !b.Available:
			add("champion", SeverityWarning, "%s", b.Note)
			concerns = append(concerns, "champion not compared")
		case b.Name == "champion":
			switch {
			case g.Hi.F() < 0:
				phrases = append(phrases, fmt.Sprintf("worse than the champion by %s AUC", f2(-g.Value)))
				add("champion", SeverityCritical, "worse than the previous champion: AUC gain %s (champion AUC %s)", ivString(g), f2(b.ROCAUC))
				concerns = append(concerns, "worse than the champion")
			case g.Lo.F() > 0:
				phrases = append(phrases, fmt.Sprintf("beats the champion by %s AUC", f2(g.Value)))
				add("champion", SeverityGood, "beats the previous champion: AUC gain %s (champion AUC %s)", ivString(g), f2(b.ROCAUC))
			default:
				phrases = append(phrases, "on par with the champion")
				add("champion", SeverityInfo, "on par with the previous champion: AUC gain %s (champion AUC %s)", ivString(g), f2(b.ROCAUC))
			}
		}
	}

	bt := r.Backtest
	if bt.Skipped {
		add("stability", SeverityInfo, "no backtest: %s", bt.Note)
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
			add("stability", SeverityWarning, "unstable over time: retrained at %d origins the AUC ranges %s–%s (spread above %.2f)", n, f2(bt.AUCMin), f2(bt.AUCMax), cfg.Verdict.MaxAUCSpread)
			concerns = append(concerns, "unstable")
		} else {
			phrases = append(phrases, fmt.Sprintf("stable over %d origins (AUC %s–%s)", n, f2(bt.AUCMin), f2(bt.AUCMax)))
			add("stability", SeverityGood, "stable over time: retrained at %d origins the AUC ranges %s–%s (mean %s)", n, f2(bt.AUCMin), f2(bt.AUCMax), f2(bt.AUCMean))
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
		add("drift", SeverityWarning, "drifting from the training data: %s%s above PSI %.2f", strings.Join(parts, ", "), more, cfg.Drift.Threshold)
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
			add("drift", SeverityInfo, "no significant drift; %d %s shifted moderately (PSI %.2f–%.2f)", moderate, what, cfg.Drift.Moderate, cfg.Drift.Threshold)
		} else {
			add("drift", SeverityGood, "no drift from the training data (every PSI at most %.2f)", cfg.Drift.Moderate)
		}
	}

	leakage(r, cfg, add, &concerns)

	d := r.Data
	switch {
	case d.InSample && d.TrainingShare.Valid():
		add("in_sample", SeverityWarning, "%.0f%% of the evaluated rows were training rows (customer and as-of date among the model's training keys): the metrics are optimistic; evaluate on customers held out from training (churn features --holdout) or on later as-of dates",
			100*d.TrainingShare.F())
		concerns = append(concerns, "in-sample")
	case d.InSample:
		add("in_sample", SeverityWarning, "evaluated on rows the model was (probably) trained on (the model records no training keys; judged from its training dates): the metrics are optimistic; evaluate on later as-of dates")
		concerns = append(concerns, "in-sample")
	case d.Selection == RowsHoldout && d.TrainingShare.Valid():
		add("rows", SeverityInfo, "evaluated on %d labelled rows the model did not train on, at %d as-of dates (%d rows it trained on left out: %.0f%% of the labelled rows)", d.EvaluatedRows, len(d.EvaluatedAsOf), d.ExcludedTrainingRows, 100*d.TrainingShare.F())
	case d.Selection == RowsHoldout:
		add("rows", SeverityInfo, "evaluated on %d labelled rows at %d as-of dates the model did not train on (%d rows at training dates left out)", d.EvaluatedRows, len(d.EvaluatedAsOf), d.ExcludedTrainingRows)
	case d.TrainingShare.Valid():
		add("rows", SeverityInfo, "evaluated on all %d labelled rows, %.0f%% of them training rows (about 1%% is the training-key sketch's false-positive rate): the model did not train on these customers at these dates", d.EvaluatedRows, 100*d.TrainingShare.F())
	default:
		add("rows", SeverityInfo, "evaluated on all %d labelled rows", d.EvaluatedRows)
	}
	if d.Positives < cfg.Verdict.MinPositives {
		add("sample_size", SeverityWarning, "only %d churners among the evaluated rows: the numbers are uncertain (see the intervals)", d.Positives)
		concerns = append(concerns, "few churners")
	}

	v := Verdict{Level: LevelTrust, Findings: fs}
	for _, f := range fs {
		switch {
		case f.Severity == SeverityCritical:
			v.Level = LevelDoNotTrust
		case f.Severity == SeverityWarning && v.Level == LevelTrust:
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

// leakage adds the leakage finding, if any. It is critical (the model is
// not to be trusted, and the nightly job does not promote it) when the AUC
// on the evaluated rows or the model's own validation AUC is above
// verdict.max_auc — churn is never that predictable, so a feature almost
// surely encodes the outcome — or when static features (today's values,
// not as of each date) carry more than verdict.static_share of the gain
// together. It is a warning when a single static feature weighs heavily.
// Static features are not suspect with snapshot labels, where the label is
// today's status too. The message names the features to look at: the top
// ones by gain, static ones marked.
func leakage(r *Report, cfg Config, add func(code, sev, format string, args ...any), concerns *[]string) {
	vc := cfg.Verdict
	checkStatic := r.Data.LabelMode != string(features.LabelSnapshot)
	var critical []string
	if auc := r.Metrics.ROCAUC.Value.F(); auc > vc.MaxAUC {
		critical = append(critical, fmt.Sprintf("ROC AUC %s on the evaluated rows is near perfect (above %.2f)", f3(r.Metrics.ROCAUC.Value), vc.MaxAUC))
	}
	if auc := r.Model.Validation.ROCAUC.F(); auc > vc.MaxAUC {
		critical = append(critical, fmt.Sprintf("the model's own validation ROC AUC %s is near perfect (above %.2f)", f3(r.Model.Validation.ROCAUC), vc.MaxAUC))
	}
	var staticShare float64
	var statics, heavy []string
	for _, f := range r.Importance.Features {
		if !f.Static || !checkStatic {
			continue
		}
		staticShare += f.GainShare.F()
		if f.GainShare.F() >= 0.005 {
			statics = append(statics, fmt.Sprintf("%s (%.0f%%)", f.Feature, 100*f.GainShare.F()))
		}
		if f.GainShare.F() >= vc.LeakShare || f.PermutationDrop.F() >= vc.LeakShare/10 {
			heavy = append(heavy, fmt.Sprintf("%s (%.0f%% of gain, AUC drop %.3f)", f.Feature, 100*f.GainShare.F(), f.PermutationDrop.F()))
		}
	}
	if staticShare > vc.StaticShare {
		critical = append(critical, fmt.Sprintf("static features (today's values, not as of each date) carry %.0f%% of the gain (above %.0f%%): %s",
			100*staticShare, 100*vc.StaticShare, strings.Join(statics, ", ")))
	}
	switch {
	case len(critical) > 0:
		add("leakage", SeverityCritical, "probable leak: %s; look at the top features by gain: %s. Build those features as of each date (e.g. from a subscriptions history) or leave them out (--groups), and check that no input records the outcome",
			strings.Join(critical, "; "), topFeatures(r, 5))
		*concerns = append(*concerns, "probable leak")
	case len(heavy) > 0:
		add("leakage", SeverityWarning, "static features (today's values, not as of each date) weigh heavily and may leak the outcome: %s", strings.Join(heavy, ", "))
		*concerns = append(*concerns, "possible leak")
	}
}

// topFeatures lists the n features with the most gain, static ones marked.
func topFeatures(r *Report, n int) string {
	var parts []string
	for _, f := range r.Importance.Features[:min(n, len(r.Importance.Features))] {
		s := fmt.Sprintf("%s %.0f%%", f.Feature, 100*f.GainShare.F())
		if f.Static {
			s += " (static: today's value)"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "(no importance recorded)"
	}
	return strings.Join(parts, ", ")
}
