package predict

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/textutil"
)

// AlertRule is a manager-defined trigger: every customer for whom When is
// true gets one alert of this rule, unless the customer is in a control
// group (Config.Control): then the alert is withheld and counted.
type AlertRule struct {
	// Name identifies the rule in the output (lower case, digits, _).
	Name string `yaml:"name"`
	// When is a condition in the expr language (github.com/expr-lang/expr)
	// over the prediction fields and the model's features, e.g.
	// `tier == "high" and days_to_renewal < 60`. See docs/predictions.md.
	When string `yaml:"when"`
	// OwnerRole and NextStep default to the playbook's owner role and action
	// for the customer's top reason and lifecycle stage.
	OwnerRole string `yaml:"owner_role"`
	NextStep  string `yaml:"next_step"`

	// builtin marks a default rule: it is skipped, not an error, when the
	// model lacks a feature it names.
	builtin bool
}

// DefaultAlertRules returns the rules used when the config has no alerts
// key. A default rule that names a feature the model lacks is skipped.
func DefaultAlertRules() []AlertRule {
	return []AlertRule{
		{Name: "risk_jump", When: `probability_change >= 0.2`, builtin: true},
		{Name: "high_risk_renewal", When: `tier == "high" and days_to_renewal >= 0 and days_to_renewal < 60`,
			OwnerRole: "account_executive", NextStep: "Start the renewal conversation now: the account is high risk and renews within 60 days", builtin: true},
		{Name: "detractor_at_risk", When: `nps_detractor == 1 and tier != "low"`,
			OwnerRole: "csm", NextStep: "Call about the NPS answer this week and agree a fix", builtin: true},
		{Name: "cancel_intent", When: `cancel_page_views_30d > 0 and tier != "low"`,
			OwnerRole: "executive_sponsor", NextStep: "Arrange an executive call: the customer visited the cancellation page", builtin: true},
	}
}

// Fields of a prediction that alert conditions can use, besides the
// features. Missing numbers are NaN (every comparison with NaN is false,
// except !=); missing strings are "". missing(x) tests for either.
var alertFields = []struct {
	Name string
	Zero any
	Doc  string
}{
	{"customer_id", "", "customer identifier"},
	{"probability", 0.0, "calibrated churn probability (0-1)"},
	{"tier", "", `risk tier: "high", "medium" or "low"`},
	{"rank", int64(0), "1 = riskiest"},
	{"revenue_at_risk", 0.0, "probability × annual revenue, else × the clv feature when the revenue is unknown (NaN when both are)"},
	{"annual_revenue", 0.0, "12 × MRR at the as-of date (NaN when unknown)"},
	{"previous_probability", 0.0, "probability in the previous run (NaN when none)"},
	{"previous_tier", "", `tier in the previous run ("" when none)`},
	{"probability_change", 0.0, "probability − previous_probability (NaN when no previous run)"},
	{"has_previous", false, "whether the previous run scored the customer"},
	{"lifecycle_stage", "", `onboarding, active, renewal or past_contract_end ("" when unknown)`},
	{"owner", "", `the customer's CSM from the customers table ("" when unknown)`},
	{"top_reason", "", `feature of the top reason ("" when none)`},
	{"top_reason_category", "", `playbook category of the top reason ("" when none)`},
}

// AlertFieldsMarkdown lists the prediction fields alert conditions can use.
func AlertFieldsMarkdown() string {
	var b strings.Builder
	b.WriteString("| field | type | meaning |\n|---|---|---|\n")
	for _, f := range alertFields {
		t := "number"
		switch f.Zero.(type) {
		case string:
			t = "string"
		case bool:
			t = "bool"
		case int64:
			t = "integer"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", f.Name, t, f.Doc)
	}
	return b.String()
}

// RuleError is an alert rule that cannot be compiled.
type RuleError struct {
	Rule string
	// Line and Column locate the problem in the condition (1-based; 0 when
	// unknown).
	Line, Column int
	Err          error
}

func (e *RuleError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("alert rule %q: when, line %d column %d: %v", e.Rule, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("alert rule %q: %v", e.Rule, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// compiledRule is a rule ready to run.
type compiledRule struct {
	AlertRule
	prog *vm.Program
	// feats are the spec features the condition reads.
	feats []int
}

// ruleSet holds the compiled rules of one run and the feature values they
// need, kept per customer from scoring to evaluation.
type ruleSet struct {
	rules   []compiledRule
	skipped []string // default rules whose names the model lacks
	// fields lists the prediction fields any rule reads.
	fields []string
	// feats lists the spec features any rule reads, in spec order; slot
	// maps a spec feature to its position in feats (-1: not read).
	feats []int
	slot  []int
	spec  *features.Spec
}

// compileRules compiles the rules once against the prediction fields and
// the features of spec. Unknown names, type errors and syntax errors are
// RuleErrors naming the rule and the position. now() in a rule is the
// as-of date (midnight UTC), never the clock, so that alerts depend on the
// data alone. A nil spec accepts any name that is not a prediction field
// as a feature (for checking a config before a model exists).
func compileRules(rules []AlertRule, spec *features.Spec, asOf data.Date) (*ruleSet, error) {
	env := map[string]any{}
	isField := map[string]bool{}
	opts := []expr.Option{expr.AsBool(), missingFunc, asOfNow(asOf)}
	if spec == nil {
		spec = &features.Spec{}
		opts = append(opts, expr.AllowUndefinedVariables())
	}
	for _, d := range spec.Features {
		if d.Kind == features.Categorical {
			env[d.Name] = ""
		} else {
			env[d.Name] = 0.0
		}
	}
	// Prediction fields shadow features of the same name.
	for _, f := range alertFields {
		env[f.Name] = f.Zero
		isField[f.Name] = true
	}
	featIndex := map[string]int{}
	for i, d := range spec.Features {
		if !isField[d.Name] {
			featIndex[d.Name] = i
		}
	}
	rs := &ruleSet{spec: spec, slot: make([]int, len(spec.Features))}
	for i := range rs.slot {
		rs.slot[i] = -1
	}
	used := make([]bool, len(spec.Features))
	var errs []error
	for _, r := range rules {
		names := identifiers(r.When)
		if r.builtin && len(spec.Features) > 0 {
			if missing := unknownNames(names, env); len(missing) > 0 {
				rs.skipped = append(rs.skipped, fmt.Sprintf("%s (the model has no %s)", r.Name, strings.Join(missing, ", ")))
				continue
			}
		}
		prog, err := expr.Compile(r.When, append([]expr.Option{expr.Env(env)}, opts...)...)
		if err != nil {
			errs = append(errs, ruleError(r.Name, err, names, env))
			continue
		}
		cr := compiledRule{AlertRule: r, prog: prog}
		for _, n := range names {
			if isField[n] {
				if !slices.Contains(rs.fields, n) {
					rs.fields = append(rs.fields, n)
				}
			} else if i, ok := featIndex[n]; ok {
				cr.feats = append(cr.feats, i)
				used[i] = true
			}
		}
		rs.rules = append(rs.rules, cr)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, u := range used {
		if u {
			rs.slot[i] = len(rs.feats)
			rs.feats = append(rs.feats, i)
		}
	}
	return rs, nil
}

// asOfNow replaces expr's now(), which reads the clock, with the as-of
// date at midnight UTC.
func asOfNow(asOf data.Date) expr.Option {
	t := asOf.Time()
	return func(c *conf.Config) {
		expr.DisableBuiltin("now")(c)
		expr.Function("now", func(...any) (any, error) { return t, nil }, new(func() time.Time))(c)
	}
}

// missingFunc is missing(x): true for NaN numbers and empty strings.
var missingFunc = expr.Function("missing", func(params ...any) (any, error) {
	switch v := params[0].(type) {
	case float64:
		return math.IsNaN(v), nil
	case string:
		return v == "", nil
	}
	return false, nil
}, new(func(float64) bool), new(func(string) bool))

// identifiers returns the distinct names a condition reads, in order of
// appearance; nil when it does not parse (Compile reports why).
func identifiers(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var c identCollector
	ast.Walk(&tree.Node, &c)
	return c.names
}

type identCollector struct{ names []string }

func (c *identCollector) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && !slices.Contains(c.names, id.Value) {
		c.names = append(c.names, id.Value)
	}
}

func unknownNames(names []string, env map[string]any) []string {
	var out []string
	for _, n := range names {
		if _, ok := env[n]; !ok && n != "missing" {
			out = append(out, n)
		}
	}
	return out
}

// ruleError wraps an expr error with the rule, the position and, for an
// unknown name, the closest known one.
func ruleError(rule string, err error, names []string, env map[string]any) error {
	re := &RuleError{Rule: rule, Err: err}
	var fe *file.Error
	if errors.As(err, &fe) {
		re.Line, re.Column = fe.Line, fe.Column+1
		msg := fe.Message
		if unknown := unknownNames(names, env); len(unknown) > 0 && strings.HasPrefix(msg, "unknown name") {
			msg = fmt.Sprintf("unknown name %s", unknown[0])
			if s := closest(unknown[0], env); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			msg += "; conditions can use the prediction fields and the model's features (docs/predictions.md)"
		}
		re.Err = errors.New(msg + strings.ReplaceAll(fe.Snippet, "\n", "\n    "))
	}
	return re
}

// closest returns the known name nearest to s by edit distance, if it is
// within a third of its length.
func closest(s string, env map[string]any) string {
	return textutil.Closest(s, slices.Sorted(maps.Keys(env)), len(s)/3+1)
}
