package eval

import (
	"fmt"
	"math"
	"strconv"

	"github.com/churnlab/churn/features"
)

// HealthRule is one warning sign of the rule-based health score: when the
// feature's value meets the condition, the account gets Points risk
// points. A missing value never meets a condition.
type HealthRule struct {
	Sign    string `json:"sign"`
	Feature string `json:"feature"`
	Op      string `json:"op"` // <, <=, >, >=, ==, between, is
	Value   Num    `json:"value"`
	Value2  Num    `json:"value2,omitempty"` // upper bound of between
	Level   string `json:"level,omitempty"`  // categorical level for is
	Points  int    `json:"points"`

	col int // feature index in the table's spec
}

// Condition returns the rule's condition in words, e.g. "nps_last <= 6".
func (r HealthRule) Condition() string {
	f := func(x Num) string { return strconv.FormatFloat(float64(x), 'g', -1, 64) }
	switch r.Op {
	case "between":
		return fmt.Sprintf("%s between %s and %s", r.Feature, f(r.Value), f(r.Value2))
	case "is":
		return fmt.Sprintf("%s is %s", r.Feature, r.Level)
	}
	return fmt.Sprintf("%s %s %s", r.Feature, r.Op, f(r.Value))
}

// healthRules returns the rules of the health score for the feature
// windows of cfg, in the order documented in docs/eval.md. Only rules
// whose feature the table has are applied.
func healthRules(cfg features.Config) []HealthRule {
	cfg.EnsureDefaults()
	S, M, L, W := cfg.Short, cfg.Medium, cfg.Long, cfg.TrendWeeks
	r := func(sign, feature, op string, v float64, pts int) HealthRule {
		return HealthRule{Sign: sign, Feature: feature, Op: op, Value: Num(v), Points: pts}
	}
	rules := []HealthRule{
		r("detractor at the last NPS survey", "nps_detractor", "==", 1, 2),
		r("NPS fell by 2 points or more", "nps_change", "<=", -2, 1),
		r("low licence utilisation (under 40% of seats)", "utilisation", "<", 0.4, 2),
		r("weekly active users falling", fmt.Sprintf("active_users_trend_%dw", W), "<", -0.02, 1),
		r(fmt.Sprintf("active users down 20%% or more over %d days", S), fmt.Sprintf("active_users_ratio_%dd", S), "<", 0.8, 1),
		r("no use for two weeks or more", "zero_usage_weeks", ">=", 2, 2),
		r("support tickets rising (over 1.5× the usual rate)", "tickets_trend", ">", 1.5, 1),
		r("escalated tickets", fmt.Sprintf("escalations_%dd", M), ">=", 1, 1),
		r("persistent complaints (3+ tickets on one topic)", fmt.Sprintf("repeat_complaints_%dd", M), ">=", 3, 1),
		r("tickets rated low for satisfaction", fmt.Sprintf("low_csat_%dd", M), ">=", 1, 1),
		r("key stakeholder change", fmt.Sprintf("stakeholder_changes_%dd", M), ">=", 1, 1),
		r("late payments", fmt.Sprintf("late_payments_%dd", M), ">=", 1, 1),
		r("failed payments", fmt.Sprintf("failed_payments_%dd", M), ">=", 1, 2),
		r("overdue invoice", "days_past_due", ">", 0, 1),
		r("revenue down 10% or more", fmt.Sprintf("mrr_change_%dd_pct", M), "<=", -10, 1),
		r("downgrades", fmt.Sprintf("downgrades_%dd", L), ">=", 1, 1),
		r("going silent (under half the usual interactions)", fmt.Sprintf("interactions_%dd_vs_prior", S), "<", 0.5, 1),
		r("no interaction for 60 days", "days_since_interaction", ">", 60, 1),
		r("data-export requests", fmt.Sprintf("data_exports_%dd", S), ">=", 1, 2),
		r("billing questions", fmt.Sprintf("billing_questions_%dd", S), ">=", 1, 1),
		r("cancellation page visits", fmt.Sprintf("cancel_page_views_%dd", S), ">=", 1, 3),
		r("no training material viewed", fmt.Sprintf("training_views_%dd", M), "==", 0, 1),
		{Sign: fmt.Sprintf("renewal within %d days", cfg.RenewalDays), Feature: "days_to_renewal", Op: "between", Value: 0, Value2: Num(cfg.RenewalDays), Points: 1},
		r("no order for 90 days", "days_since_order", ">", 90, 2),
		r("ordering at under half the usual rate", fmt.Sprintf("order_rate_ratio_%dd", M), "<", 0.5, 1),
	}
	return rules
}

// applicableRules keeps the rules whose feature spec has, with the right
// kind.
func applicableRules(spec *features.Spec) []HealthRule {
	var out []HealthRule
	for _, r := range healthRules(spec.Config) {
		for i, d := range spec.Features {
			if d.Name == r.Feature && (d.Kind == features.Categorical) == (r.Op == "is") {
				r.col = i
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// healthScore returns the risk points of each selected row.
func healthScore(t *features.Table, rows []int, rules []HealthRule) []float64 {
	out := make([]float64, len(rows))
	for _, r := range rules {
		for k, i := range rows {
			if r.Op == "is" {
				if t.Cat[r.col][i] == r.Level {
					out[k] += float64(r.Points)
				}
				continue
			}
			if r.meets(t.Num[r.col][i]) {
				out[k] += float64(r.Points)
			}
		}
	}
	return out
}

func (r *HealthRule) meets(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	x := r.Value.F()
	switch r.Op {
	case "<":
		return v < x
	case "<=":
		return v <= x
	case ">":
		return v > x
	case ">=":
		return v >= x
	case "==":
		return v == x
	case "between":
		return v >= x && v <= r.Value2.F()
	}
	return false
}
