package eval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

// TopAccounts lists the accounts to call: the highest churn probabilities
// at the table's latest as-of date (every row there, labelled or not),
// each with the features that push its risk up most. Accounts in a
// control group (Options.Group) are listed, marked, and not counted as
// accounts to call.
type TopAccounts struct {
	AsOf     string    `json:"as_of"`
	Rows     int       `json:"rows"` // accounts scored at AsOf
	Accounts []Account `json:"accounts"`
	// ToCall counts the listed accounts to call; Control the listed ones
	// in a control group, never to be contacted because of churn
	// (ToCall + Control = len(Accounts)).
	ToCall  int `json:"to_call"`
	Control int `json:"control"`
}

// Account is one listed account.
type Account struct {
	Rank        int    `json:"rank"`
	CustomerID  string `json:"customer_id"`
	Probability Num    `json:"probability"`
	// Play is the play that would target the account (the playbook
	// category of its top reason) and Group its group in the retention
	// experiment for that play: treat, or control ("control — do not
	// contact"). Both are absent without Options.Group.
	Play  string `json:"play,omitempty"`
	Group string `json:"group,omitempty"`
	// Outcome is "churned", "stayed" or "unknown" (label not yet
	// observed).
	Outcome string   `json:"outcome"`
	MRR     Num      `json:"mrr"` // null without an mrr feature
	Reasons []Reason `json:"reasons"`
}

// Reason is a feature that raises an account's risk: its contribution to
// the model's logit (positive), description and value.
type Reason struct {
	Feature     string `json:"feature"`
	Description string `json:"description"`
	Value       string `json:"value"`
	// Text says it in business words when the report was given an
	// explainer (Options.Explain), as the predictions do; else "".
	Text         string `json:"text,omitempty"`
	Contribution Num    `json:"contribution"`
}

// topAccounts lists the accounts to call among latestRows (the rows at the
// latest as-of date, ascending) with their probabilities prob; only those
// listed are explained, and placed in the experiment by o.Group.
func topAccounts(ctx context.Context, m *train.Model, t *features.Table, latest data.Date, latestRows []int, prob []float64, cfg Config, o *Options) (TopAccounts, error) {
	ta := TopAccounts{AsOf: dateString(latest), Rows: len(latestRows), Accounts: []Account{}}
	// Positions in latestRows, by decreasing probability (ties in table
	// order).
	order := newRanking(prob).order
	order = order[:min(cfg.TopAccounts, len(order))]
	if len(order) == 0 {
		return ta, nil
	}
	rows := make([]int, len(order))
	for k, j := range order {
		rows[k] = latestRows[j]
	}
	sc, err := m.Score(ctx, t, rows, true)
	if err != nil {
		return ta, err
	}
	mrr := slices.Index(t.Spec.Names(), "mrr")
	if mrr >= 0 && t.Num[mrr] == nil {
		mrr = -1
	}
	for k, i := range rows {
		a := Account{Rank: k + 1, CustomerID: t.IDs[i], Probability: Num(prob[order[k]]), Outcome: outcome(t.Label[i]), MRR: nan()}
		if mrr >= 0 {
			a.MRR = Num(t.Num[mrr][i])
		}
		c := sc.Contrib[k]
		idx := make([]int, len(t.Spec.Features))
		for f := range idx {
			idx[f] = f
		}
		slices.SortStableFunc(idx, func(x, y int) int {
			switch {
			case c[x] > c[y]:
				return -1
			case c[x] < c[y]:
				return 1
			}
			return 0
		})
		a.Reasons = []Reason{}
		for _, f := range idx[:min(cfg.Reasons, len(idx))] {
			if c[f] <= 0 {
				break
			}
			d := &t.Spec.Features[f]
			r := Reason{Feature: d.Name, Description: d.Description, Value: formatValue(t, d, f, i), Contribution: Num(c[f])}
			if o.Explain != nil {
				r.Text = o.Explain(t, i, f)
			}
			a.Reasons = append(a.Reasons, r)
		}
		if o.Group != nil {
			top := -1
			if len(idx) > 0 && c[idx[0]] > 0 {
				top = idx[0]
			}
			a.Play, a.Group = o.Group(a.CustomerID, top)
		}
		if a.Group == data.GroupControl {
			ta.Control++
		} else {
			ta.ToCall++
		}
		ta.Accounts = append(ta.Accounts, a)
	}
	return ta, nil
}

func outcome(y float64) string {
	switch {
	case math.IsNaN(y):
		return "unknown"
	case y == 1:
		return "churned"
	}
	return "stayed"
}

// formatValue renders a feature value for people: categorical levels as
// they are, flags as yes/no, numbers with up to 3 significant decimals and
// the unit.
func formatValue(t *features.Table, d *features.Def, f, i int) string {
	if d.Kind == features.Categorical {
		if s := t.Cat[f][i]; s != "" {
			return s
		}
		return "missing"
	}
	v := t.Num[f][i]
	switch {
	case math.IsNaN(v):
		return "missing"
	case d.Kind == features.Flag:
		if v != 0 {
			return "yes"
		}
		return "no"
	}
	s := strconv.FormatFloat(roundSig(v, 3), 'f', -1, 64)
	switch d.Unit {
	case "", "flag", "attribute":
		return s
	case "%":
		return s + "%"
	}
	return fmt.Sprintf("%s %s", s, d.Unit)
}

// roundSig rounds x to n significant digits (whole numbers stay whole).
func roundSig(x float64, n int) float64 {
	if x == 0 || math.Abs(x) >= math.Pow(10, float64(n)) {
		return math.Round(x)
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// SegmentBreakdown is the model's quality per level of one categorical
// feature, on the evaluated rows.
type SegmentBreakdown struct {
	Feature string         `json:"feature"`
	Levels  []SegmentLevel `json:"levels"`
}

// SegmentLevel is one level's metrics. Small marks levels with fewer rows
// or churners than segments.min_rows / min_positives: their metrics are
// noisy.
type SegmentLevel struct {
	Level     string `json:"level"`
	Rows      int    `json:"rows"`
	Positives int    `json:"positives"`
	BaseRate  Num    `json:"base_rate"`
	MeanProb  Num    `json:"mean_prob"`
	ROCAUC    Num    `json:"roc_auc"`
	PRAUC     Num    `json:"pr_auc"`
	Brier     Num    `json:"brier"`
	Small     bool   `json:"small"`
}

func segments(t *features.Table, rows []int, p, y []float64, cfg SegmentConfig) []SegmentBreakdown {
	out := []SegmentBreakdown{}
	for f, d := range t.Spec.Features {
		if d.Kind != features.Categorical || (len(cfg.Features) > 0 && !slices.Contains(cfg.Features, d.Name)) {
			continue
		}
		groups := map[string][]int{}
		for k, i := range rows {
			l := t.Cat[f][i]
			if l == "" {
				l = "(missing)"
			}
			groups[l] = append(groups[l], k)
		}
		levels := make([]string, 0, len(groups))
		for l := range groups {
			levels = append(levels, l)
		}
		slices.SortFunc(levels, func(a, b string) int {
			if n, m := len(groups[a]), len(groups[b]); n != m {
				return m - n
			}
			if a < b {
				return -1
			}
			return 1
		})
		if len(levels) > cfg.MaxLevels {
			var other []int
			for _, l := range levels[cfg.MaxLevels:] {
				other = append(other, groups[l]...)
			}
			slices.Sort(other)
			levels = append(levels[:cfg.MaxLevels], features.OtherLevel)
			groups[features.OtherLevel] = other
		}
		sb := SegmentBreakdown{Feature: d.Name}
		for _, l := range levels {
			ks := groups[l]
			ps, ys := make([]float64, len(ks)), make([]float64, len(ks))
			pos := 0
			for j, k := range ks {
				ps[j], ys[j] = p[k], y[k]
				pos += int(y[k])
			}
			auc, ap := newRanking(ps).rankMetrics(ys, nil)
			sb.Levels = append(sb.Levels, SegmentLevel{
				Level: l, Rows: len(ks), Positives: pos,
				BaseRate: Num(metrics.BaseRate(ys, nil)), MeanProb: Num(metrics.Mean(ps)),
				ROCAUC: Num(auc), PRAUC: Num(ap), Brier: Num(metrics.Brier(ps, ys, nil)),
				Small: len(ks) < cfg.MinRows || pos < cfg.MinPositives,
			})
		}
		out = append(out, sb)
	}
	return out
}
