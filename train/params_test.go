package train

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestParamsDecode checks the documented forms of Params in YAML and JSON:
// positive_weight: auto (issue 9, item 20: "cannot unmarshal !!str"), and
// zero as a setting where zero is valid (lambda, min_child_weight) rather
// than "the default".
func TestParamsDecode(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, p Params)
		err   string
	}{
		{"auto weight", "positive_weight: auto", func(t *testing.T, p Params) {
			if !p.PositiveWeight.Auto() {
				t.Errorf("positive_weight = %v, want auto", p.PositiveWeight)
			}
		}, ""},
		{"numeric weight", "positive_weight: 3.5", func(t *testing.T, p Params) {
			if p.PositiveWeight != 3.5 {
				t.Errorf("positive_weight = %v, want 3.5", p.PositiveWeight)
			}
		}, ""},
		{"default weight", "rounds: 10", func(t *testing.T, p Params) {
			if p.PositiveWeight != 1 {
				t.Errorf("positive_weight = %v, want 1", p.PositiveWeight)
			}
		}, ""},
		{"bad weight", "positive_weight: heavy", nil, "positive_weight"},
		{"lambda zero is a setting", "lambda: 0\nmin_child_weight: 0", func(t *testing.T, p Params) {
			if *p.Lambda != 0 || *p.MinChildWeight != 0 {
				t.Errorf("lambda %v, min_child_weight %v; want 0 and 0", *p.Lambda, *p.MinChildWeight)
			}
		}, ""},
		{"lambda unset is the default", "rounds: 10", func(t *testing.T, p Params) {
			if *p.Lambda != 1 || *p.MinChildWeight != 5 {
				t.Errorf("lambda %v, min_child_weight %v; want 1 and 5", *p.Lambda, *p.MinChildWeight)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Params
			err := yaml.Unmarshal([]byte(tt.yaml), &p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p.EnsureDefaults()
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			// JSON (the model manifest) round-trips.
			b, err := json.Marshal(&p)
			if err != nil {
				t.Fatal(err)
			}
			var q Params
			if err := json.Unmarshal(b, &q); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			q.EnsureDefaults()
			tt.check(t, q)
		})
	}
}
