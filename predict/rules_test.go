package predict

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

func ptr(x float64) *float64 { return &x }

// TestAssignTiers checks capacities, floors, both, and their precedence.
func TestAssignTiers(t *testing.T) {
	probs := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05}
	for _, tt := range []struct {
		name  string
		tiers Tiers
		want  string // tier initial per rank
	}{
		{"defaults 5% and 15% of 10", Tiers{}, "mlllllllll"},
		{"counts", Tiers{High: TierRule{MaxAccounts: 2}, Medium: TierRule{MaxAccounts: 3}}, "hhmmmlllll"},
		{"thresholds", Tiers{High: TierRule{MinProbability: ptr(0.65)}, Medium: TierRule{MinProbability: ptr(0.35)}}, "hhhmmmllll"},
		{"capacity caps a threshold", Tiers{High: TierRule{MinProbability: ptr(0.65), MaxAccounts: 1}, Medium: TierRule{MinProbability: ptr(0.35)}}, "hmmmmmllll"},
		{"threshold floors a capacity", Tiers{High: TierRule{MaxShare: 0.5, MinProbability: ptr(0.75)}, Medium: TierRule{MaxShare: 0.5, MinProbability: ptr(0.55)}}, "hhmmllllll"},
		{"share and count: the smaller", Tiers{High: TierRule{MaxShare: 0.3, MaxAccounts: 2}, Medium: TierRule{MaxAccounts: 1}}, "hhmlllllll"},
		{"threshold above everyone", Tiers{High: TierRule{MinProbability: ptr(0.95)}, Medium: TierRule{MaxAccounts: 2}}, "mmllllllll"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Tiers: tt.tiers}
			c.EnsureDefaults()
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			recs := make([]customerScore, len(probs))
			order := make([]int32, len(probs))
			for i, p := range probs {
				recs[i] = customerScore{prob: p}
				order[i] = int32(i)
			}
			tc := assignTiers(recs, order, c.Tiers)
			var got strings.Builder
			for _, r := range recs {
				got.WriteByte(tierNames[r.tier][0])
			}
			if got.String() != tt.want {
				t.Errorf("tiers %s, want %s", got.String(), tt.want)
			}
			if tc.High+tc.Medium+tc.Low != int64(len(probs)) || int(tc.High) != strings.Count(tt.want, "h") {
				t.Errorf("counts %+v", tc)
			}
		})
	}
}

func TestRankTies(t *testing.T) {
	s := &scoring{recs: []customerScore{{id: "a", prob: 0.5}, {id: "b", prob: 0.7}, {id: "c", prob: 0.5}, {id: "d", prob: 0.1}}}
	order := s.rank()
	var got []string
	for _, i := range order {
		got = append(got, s.recs[i].id)
	}
	if strings.Join(got, "") != "bacd" || s.recs[2].rank != 3 {
		t.Errorf("order %v, ranks %+v", got, s.recs)
	}
}

func testSpec() *features.Spec {
	return &features.Spec{Features: []features.Def{
		{Name: "days_to_renewal", Group: "lifecycle", Kind: features.Numeric},
		{Name: "nps_detractor", Group: "nps", Kind: features.Flag},
		{Name: "lifecycle_stage", Group: "lifecycle", Kind: features.Categorical},
		{Name: "owner", Group: "attributes", Kind: features.Categorical}, // shadowed by the prediction field
		{Name: "tickets_30d", Group: "tickets", Kind: features.Numeric},
		{Name: "plan", Group: "lifecycle", Kind: features.Categorical},
	}}
}

// TestCompileRules checks the errors a manager gets for bad rules.
func TestCompileRules(t *testing.T) {
	spec := testSpec()
	for _, tt := range []struct {
		name, when string
		want       string // substring of the error; "" = compiles
	}{
		{"prediction fields and features", `tier == "high" and days_to_renewal < 60`, ""},
		{"missing()", `missing(days_to_renewal) or missing(previous_tier)`, ""},
		{"categorical feature", `lifecycle_stage == "renewal" and rank <= 10`, ""},
		{"unknown name with suggestion", `tier == "high" and days_to_renewl < 60`, `unknown name days_to_renewl (did you mean days_to_renewal?)`},
		{"position", `tier == "high" and days_to_renewl < 60`, "line 1 column 20"},
		{"syntax", `tier == "high" and and`, `alert rule "r": when, line 1`},
		{"not a condition", `probability * 2`, "expected bool"},
		{"type mismatch", `tier > 3`, "invalid operation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := compileRules([]AlertRule{{Name: "r", When: tt.when}}, spec, data.MakeDate(2024, 6, 1))
			if tt.want == "" {
				if err != nil || len(rs.rules) != 1 {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var re *RuleError
			if err == nil || !errors.As(err, &re) || re.Rule != "r" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want one containing %q", err, tt.want)
			}
		})
	}
	// Default rules naming features the model lacks are skipped.
	rs, err := compileRules(DefaultAlertRules(), spec, data.MakeDate(2024, 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.rules) != 3 || len(rs.skipped) != 1 || !strings.Contains(rs.skipped[0], "cancel_intent (the model has no cancel_page_views_30d)") {
		t.Errorf("rules %d, skipped %v", len(rs.rules), rs.skipped)
	}
}

// TestEvaluateRules runs rules over hand-made customers: NaN compares
// false, fields and features read the right values, alerts come rule by
// rule in rank order, and a control customer gets none (what fired for
// it is counted).
func TestEvaluateRules(t *testing.T) {
	spec := testSpec()
	rs, err := compileRules([]AlertRule{
		{Name: "renewal", When: `tier == "high" and days_to_renewal < 60`},
		{Name: "jump", When: `probability_change > 0.2`},
		{Name: "stage", When: `lifecycle_stage == "renewal" and owner == "csm-1" and not has_previous`},
		{Name: "nodata", When: `missing(days_to_renewal)`},
		{Name: "basic", When: `plan == "basic" and days_to_renewal > 20`},
	}, spec, data.MakeDate(2024, 6, 1))
	if err != nil {
		t.Fatal(err)
	}
	pb := DefaultPlaybook()
	s := &scoring{spec: spec, rend: newRenderer(spec, pb), rules: rs}
	nan := math.NaN()
	add := func(id string, prob, prevProb float64, tier int8, renewal float64, stage, plan string, group int8) {
		cs := customerScore{id: id, prob: prob, prevProb: prevProb, prevTier: -1, tier: tier, owner: "csm-1", stage: stage, reasons: [3]reasonRef{{feat: -1}, {feat: -1}, {feat: -1}}, group: group}
		if !math.IsNaN(prevProb) {
			cs.prevTier = tierLow
		}
		s.recs = append(s.recs, cs)
		for _, fi := range rs.feats {
			switch spec.Features[fi].Name {
			case "days_to_renewal":
				s.nums = append(s.nums, renewal)
				s.strs = append(s.strs, "")
			case "plan":
				s.nums = append(s.nums, nan)
				s.strs = append(s.strs, plan)
			default:
				t.Fatalf("unexpected feature %s", spec.Features[fi].Name)
			}
		}
	}
	add("A", 0.9, 0.5, tierHigh, 30, "renewal", "basic", groupTreat)    // renewal, jump, basic
	add("B", 0.8, nan, tierHigh, nan, "renewal", "basic", groupTreat)   // stage, nodata
	add("C", 0.2, 0.1, tierLow, 10, "active", "pro", groupNone)         // nothing
	add("D", 0.85, 0.5, tierHigh, 30, "renewal", "basic", groupControl) // renewal, jump, basic: withheld
	order := s.rank()
	alerts, skipped, err := s.evaluate(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	if skipped != (skippedAlerts{alerts: 3, customers: 1}) {
		t.Errorf("skipped %+v, want 3 alerts of 1 control customer", skipped)
	}
	for _, cs := range s.recs {
		if cs.alerted != (cs.id == "A" || cs.id == "B") {
			t.Errorf("customer %s: alerted %v", cs.id, cs.alerted)
		}
	}
	var got []string
	for _, a := range alerts {
		got = append(got, rs.rules[a.rule].Name+":"+s.recs[a.rec].id)
	}
	if want := "renewal:A jump:A stage:B nodata:B basic:A"; strings.Join(got, " ") != want {
		t.Errorf("alerts %v, want %s", got, want)
	}
}

func TestPlaybook(t *testing.T) {
	pb := DefaultPlaybook()
	if err := pb.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, cat := range []string{CategoryUsage, CategorySupport, CategoryStakeholder, CategoryBilling, CategoryRenewal, CategoryIntent, CategoryNPS, CategorySilent, CategoryTraining, CategoryPurchases, CategoryProfile, noReasonCategory} {
		for _, st := range append([]string{""}, Stages...) {
			if p := pb.Play(cat, st); p.Action == "" || p.OwnerRole == "" {
				t.Errorf("no play for %s × %q", cat, st)
			}
		}
	}
	if p := pb.Play(CategoryUsage, "onboarding"); p.OwnerRole != "onboarding_specialist" {
		t.Errorf("usage × onboarding: %+v", p)
	}
	if p := pb.Play(CategoryIntent, "renewal"); p.OwnerRole != "executive_sponsor" {
		t.Errorf("intent × renewal falls back to the default: %+v", p)
	}

	dir := t.TempDir()
	user := filepath.Join(dir, "pb.yaml")
	os.WriteFile(user, []byte(`version: 1
categories:
  usage:
    renewal: {action: Call the sponsor about adoption, owner_role: account_executive}
  wellbeing:
    default: {action: Check in, owner_role: csm}
features:
  nps_*: wellbeing
  tickets_30d: nps
`), 0o644)
	got, err := LoadPlaybook(user)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Play(CategoryUsage, "renewal"); p.Action != "Call the sponsor about adoption" {
		t.Errorf("override: %+v", p)
	}
	if p := got.Play(CategoryUsage, "onboarding"); p.OwnerRole != "onboarding_specialist" {
		t.Errorf("kept built-in entry: %+v", p)
	}
	for name, want := range map[string]string{"nps_last": "wellbeing", "tickets_30d": "nps", "tickets_90d": CategorySupport} {
		if c := got.CategoryOf(&features.Def{Name: name, Group: map[bool]string{true: "nps", false: "tickets"}[strings.HasPrefix(name, "nps")]}); c != want {
			t.Errorf("%s → %s, want %s", name, c, want)
		}
	}

	for _, tt := range []struct{ name, src, want string }{
		{"unknown key", "version: 1\ncategories:\n  usage:\n    defualt: {action: x, owner_role: csm}\n", "bad.yaml:4: invalid YAML: field defualt not found"},
		{"new category without default", "version: 1\ncategories:\n  x:\n    renewal: {action: a, owner_role: csm}\n", `playbook category "x" has no default entry`},
		{"bad role", "version: 1\ncategories:\n  usage:\n    default: {action: a, owner_role: Customer Success}\n", `owner_role "Customer Success"`},
		{"unknown category", "version: 1\nfeatures:\n  nps_last: vibes\n", `maps to unknown category "vibes"`},
		{"version", "version: 2\n", "playbook version 2 is not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "bad.yaml")
			os.WriteFile(p, []byte(tt.src), 0o644)
			_, err := LoadPlaybook(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "bad.yaml") {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pb.yaml"), []byte("version: 1\ncategories:\n  billing:\n    default: {action: Call finance, owner_role: finance}\n"), 0o644)
	path := filepath.Join(dir, "predict.yaml")
	os.WriteFile(path, []byte(`
tiers:
  high: {max_accounts: 50, min_probability: 0.3}
  medium: {max_share: 0.2}
reasons: {method: approx}
playbook: pb.yaml
alerts:
  - name: risky_renewal
    when: tier == "high" and days_to_renewal < 60
webhook:
  url: https://hooks.example.com/churn
  auth_env: CHURN_HOOK_TOKEN
  timeout: 5s
  required: false
`), 0o644)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Tiers.High.MaxAccounts != 50 || *c.Tiers.High.MinProbability != 0.3 || c.Tiers.Medium.MaxShare != 0.2 ||
		c.Reasons.Method != ReasonsApprox || len(c.Alerts) != 1 || c.Webhook.IsRequired() || time.Duration(c.Webhook.Timeout) != 5*time.Second ||
		c.Webhook.MaxAttempts != 5 || c.Playbook.Play(CategoryBilling, "").Action != "Call finance" {
		t.Errorf("config: %+v", c)
	}
	empty, err := ParseConfig("empty.yaml", []byte("alerts: []\n"))
	if err != nil || len(empty.Alerts) != 0 {
		t.Errorf("alerts: [] means no rules: %v %v", empty, err)
	}
	short, err := ParseConfig("short.yaml", []byte("reasons: exact\n"))
	if err != nil || short.Reasons.Method != ReasonsExact || short.Reasons.ExactMaxCustomers != 0 {
		t.Errorf("reasons: exact: %+v %v", short, err)
	}
	if none, err := ParseConfig("none.yaml", []byte("reasons: none\n")); err != nil || none.Reasons.Method != ReasonsNone {
		t.Errorf("reasons: none: %+v %v", none, err)
	}
	def, err := ParseConfig("none.yaml", nil)
	if err != nil || len(def.Alerts) != len(DefaultAlertRules()) {
		t.Errorf("no alerts key means the default rules: %v", err)
	}
	for _, tt := range []struct{ name, src, want string }{
		{"unknown key", "tiers:\n  hihg: {max_accounts: 3}\n", "none.yaml:2: invalid YAML: field hihg not found"},
		{"share", "tiers:\n  high: {max_share: 1.5}\n", "tiers.high.max_share must be between 0 and 1"},
		{"floors", "tiers:\n  high: {min_probability: 0.2}\n  medium: {min_probability: 0.5}\n", "medium.min_probability (0.5) is above"},
		{"method", "reasons: {method: shap}\n", `reasons.method "shap"`},
		{"short method", "reasons: shap\n", `reasons.method "shap"`},
		{"reasons key", "reasons:\n  metod: exact\n", "none.yaml:2: invalid YAML: field metod not found in reasons"},
		{"reasons limit", "reasons: {method: auto, exact_max_customers: -1}\n", "reasons.exact_max_customers must not be negative"},
		{"reasons list", "reasons: [exact]\n", "reasons is auto, exact, approx, none or a mapping"},
		{"rule name", "alerts:\n  - {name: Big Risk, when: 'true'}\n", `name "Big Risk" must be`},
		{"duplicate rule", "alerts:\n  - {name: a, when: 'true'}\n  - {name: a, when: 'true'}\n", `rule "a" is given twice`},
		{"empty when", "alerts:\n  - {name: a}\n", `alert rule "a": when is empty`},
		{"webhook url", "webhook: {url: 'ftp://x'}\n", "want an http or https URL"},
		{"duration", "webhook: {url: 'https://x', timeout: soon}\n", `"soon" is not a duration`},
		{"playbook file", "playbook: nope.yaml\n", "nope.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("none.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
}

// TestRuleNowIsAsOf is the regression test for now() in alert rules
// reading the clock: it is the as-of date at midnight UTC, so the same data
// give the same alerts whenever the run happens.
func TestRuleNowIsAsOf(t *testing.T) {
	for _, tt := range []struct {
		asOf data.Date
		want bool
	}{
		{data.MakeDate(2024, 6, 1), true},
		{data.MakeDate(2024, 6, 2), false},
	} {
		rs, err := compileRules([]AlertRule{{Name: "r", When: `now() == date("2024-06-01T00:00:00Z") and tier == "high"`}}, testSpec(), tt.asOf)
		if err != nil {
			t.Fatal(err)
		}
		var machine vm.VM
		out, err := machine.Run(rs.rules[0].prog, map[string]any{"tier": "high"})
		if err != nil {
			t.Fatal(err)
		}
		if out != tt.want {
			t.Errorf("as of %s: now() == 2024-06-01 is %v, want %v", tt.asOf, out, tt.want)
		}
	}
}

// TestCheckWithoutSpec: a config is checked before any model exists —
// syntax and prediction fields, any other name taken for a feature.
func TestCheckWithoutSpec(t *testing.T) {
	asOf := data.MakeDate(2024, 6, 1)
	for _, tt := range []struct{ name, when, want string }{
		{"feature names pass", `tier == "high" and some_feature > 3`, ""},
		{"syntax", `tier == `, `alert rule "r"`},
		{"field types", `tier > 3`, "invalid operation"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(Config{Alerts: []AlertRule{{Name: "r", When: tt.when}}}, nil, asOf, nil)
			if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check = %v, want %q", err, tt.want)
			}
		})
	}
	err := Check(Config{Webhook: WebhookConfig{URL: "https://hooks.example.com/x", AuthEnv: "CHURN_TEST_UNSET"}}, nil, asOf, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "CHURN_TEST_UNSET") {
		t.Errorf("unset webhook auth variable: %v", err)
	}
}

// TestAnnualRevenue is the regression test for a negative MRR giving a
// negative revenue at risk: it is unknown instead.
func TestAnnualRevenue(t *testing.T) {
	for _, tt := range []struct {
		name string
		mrr  float64
		want float64 // NaN: unknown
	}{
		{"mrr", 100, 1200},
		{"zero", 0, 0},
		{"negative", -50, math.NaN()},
		{"missing", math.NaN(), math.NaN()},
		{"infinite", math.Inf(1), math.NaN()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := annualRevenue(tt.mrr)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("annualRevenue(%v) = %v, want %v", tt.mrr, got, tt.want)
			}
		})
	}
}
