package eval

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// leakReport is a report whose every check passes, for the leakage cases
// to change one thing at a time.
func leakReport(auc float64, imp ...FeatureImportance) *Report {
	iv := func(v float64) Interval { return Interval{Value: Num(v), Lo: Num(v - 0.01), Hi: Num(v + 0.01)} }
	r := &Report{
		Metrics:    Metrics{ROCAUC: iv(auc), PRAUC: iv(0.5), ECE: iv(0.01), BaseRate: iv(0.1)},
		Backtest:   Backtest{Skipped: true, Note: "test"},
		Importance: Importance{Features: imp},
		Data:       DataInfo{Selection: RowsHoldout, EvaluatedRows: 1000, Positives: 100, LabelMode: string(features.LabelChurnEvents)},
		Model:      ModelInfo{Validation: ValidationInfo{ROCAUC: Num(auc)}},
	}
	return r
}

func fi(name string, static bool, share float64) FeatureImportance {
	return FeatureImportance{Feature: name, Static: static, GainShare: Num(share)}
}

// TestLeakageVerdict checks that a near-perfect AUC, or static features
// carrying most of the gain, is a critical finding that makes the verdict
// do_not_trust and names the features to look at (issue 9, item 4: a
// dataset without subscriptions gave AUC 1.00 and only "caution").
func TestLeakageVerdict(t *testing.T) {
	cases := []struct {
		name     string
		r        *Report
		snapshot bool
		level    string
		severity string   // of the leakage finding; "" = none
		mention  []string // in its message
	}{
		{
			name:     "near-perfect AUC with static features on top",
			r:        leakReport(1.0, fi("lifecycle_stage", true, 0.53), fi("days_to_renewal", true, 0.46), fi("utilisation", false, 0.01)),
			level:    LevelDoNotTrust,
			severity: "critical",
			mention:  []string{"lifecycle_stage", "days_to_renewal", "static", "1.00"},
		},
		{
			name:     "near-perfect AUC, no static feature",
			r:        leakReport(0.995, fi("cancel_page_views_30d", false, 0.9), fi("utilisation", false, 0.1)),
			level:    LevelDoNotTrust,
			severity: "critical",
			mention:  []string{"cancel_page_views_30d", "0.99"},
		},
		{
			name:     "static features carry most of the gain at a plausible AUC",
			r:        leakReport(0.8, fi("mrr", true, 0.35), fi("plan", true, 0.3), fi("utilisation", false, 0.35)),
			level:    LevelDoNotTrust,
			severity: "critical",
			mention:  []string{"mrr", "plan", "65%"},
		},
		{
			name:     "one static feature weighs heavily: a warning",
			r:        leakReport(0.8, fi("utilisation", false, 0.6), fi("segment", true, 0.2), fi("tickets_30d", false, 0.2)),
			level:    LevelCaution,
			severity: "warning",
			mention:  []string{"segment"},
		},
		{
			name:  "honest model",
			r:     leakReport(0.8, fi("utilisation", false, 0.6), fi("segment", true, 0.05), fi("tickets_30d", false, 0.35)),
			level: LevelTrust,
		},
		{
			name:     "snapshot labels: static features are as of the label, not a leak",
			r:        leakReport(0.85, fi("contract", true, 0.6), fi("tenure", true, 0.4)),
			snapshot: true,
			level:    LevelTrust,
		},
		{
			name: "the model's own validation AUC is near perfect",
			r: func() *Report {
				r := leakReport(0.8, fi("utilisation", false, 1))
				r.Model.Validation.ROCAUC = 0.999
				return r
			}(),
			level:    LevelDoNotTrust,
			severity: "critical",
			mention:  []string{"validation", "utilisation"},
		},
	}
	cfg := DefaultConfig()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.snapshot {
				c.r.Data.LabelMode = string(features.LabelSnapshot)
			}
			v := verdict(c.r, cfg)
			if v.Level != c.level {
				t.Errorf("level = %s, want %s: %+v", v.Level, c.level, v.Findings)
			}
			var leak *Finding
			for i := range v.Findings {
				if v.Findings[i].Code == "leakage" {
					leak = &v.Findings[i]
				}
			}
			switch {
			case c.severity == "" && leak != nil:
				t.Errorf("unexpected leakage finding %+v", *leak)
			case c.severity == "":
			case leak == nil:
				t.Fatalf("no leakage finding: %+v", v.Findings)
			case leak.Severity != c.severity:
				t.Errorf("leakage severity %s, want %s: %s", leak.Severity, c.severity, leak.Message)
			}
			for _, m := range c.mention {
				if leak != nil && !strings.Contains(leak.Message, m) {
					t.Errorf("leakage message %q does not mention %q", leak.Message, m)
				}
			}
		})
	}
}

// TestLeakingFeatureDoNotTrust trains on a table with a static feature that
// encodes the outcome (today's lifecycle stage: "churned" for customers who
// have churned by now), as a dataset without subscriptions does, and checks
// the whole evaluation refuses the model.
func TestLeakingFeatureDoNotTrust(t *testing.T) {
	tab := fixtureTable(400, 11, 0)
	spec := *tab.Spec
	spec.Features = append(append([]features.Def(nil), spec.Features...), features.Def{Name: "lifecycle_stage_today", Group: "lifecycle", Unit: "flag", Kind: features.Flag, Static: true, Description: "today's lifecycle stage is churned"})
	tab.Spec = &spec
	stage := make([]float64, tab.Len())
	for i, y := range tab.Label {
		stage[i] = 0
		if y == 1 || math.IsNaN(y) && i%2 == 0 {
			stage[i] = 1
		}
	}
	tab.Num = append(tab.Num, stage)
	tab.Cat = append(tab.Cat, nil)
	m, err := train.Fit(context.Background(), tab, fixtureParams, train.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := goldenConfig()
	cfg.Backtest.Disabled = true
	r, err := Run(context.Background(), Options{Model: m, Table: tab, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict.Level != LevelDoNotTrust {
		t.Fatalf("verdict %s: %v", r.Verdict.Level, findingMessages(r))
	}
	if !strings.Contains(strings.Join(findingMessages(r), "\n"), "lifecycle_stage_today") {
		t.Errorf("the findings do not name the leaking feature: %v", findingMessages(r))
	}
}
