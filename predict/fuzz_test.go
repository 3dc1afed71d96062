package predict

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
)

// FuzzParseConfig: any bytes give a config that validates or an error,
// never a panic; a parsed config compiles its rules or reports RuleErrors.
// Seeds: predict/testdata/config/*.yaml.
func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("tiers: [1, 2]\n"))
	f.Add([]byte("webhook: {timeout: -1s}\n"))
	f.Add([]byte("control: {share: .nan, cohort: \"a\\u0000b\"}\n"))
	spec := testSpec()
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := ParseConfig("fuzz.yaml", src)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig returned a config that does not validate: %v", err)
		}
		compileRules(c.Alerts, spec, data.MakeDate(2024, 6, 1))
	})
}

// FuzzCompileRule: any condition compiles or fails with a RuleError,
// never a panic.
func FuzzCompileRule(f *testing.F) {
	for _, s := range []string{
		`tier == "high" and days_to_renewal < 60`, `probability_change > 0.2`, `missing(nps_detractor)`,
		`rank <= 10 or owner in ["a", "b"]`, `lifecycle_stage matches "^ren"`, `(`, `1 +`, `let x = 1; x > 0`,
	} {
		f.Add(s)
	}
	spec := testSpec()
	f.Fuzz(func(t *testing.T, when string) {
		_, err := compileRules([]AlertRule{{Name: "r", When: when}}, spec, data.MakeDate(2024, 6, 1))
		if err == nil {
			return
		}
		var re *RuleError
		if !asRuleError(err, &re) {
			t.Fatalf("not a RuleError: %v", err)
		}
	})
}

func asRuleError(err error, re **RuleError) bool {
	type unwrapper interface{ Unwrap() []error }
	if u, ok := err.(unwrapper); ok {
		for _, e := range u.Unwrap() {
			if asRuleError(e, re) {
				return true
			}
		}
		return false
	}
	r, ok := err.(*RuleError)
	*re = r
	return ok
}
