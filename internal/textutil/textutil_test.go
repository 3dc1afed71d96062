package textutil

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"tier", "teir", 2}, {"same", "same", 0}}
	for _, tt := range tests {
		if got := EditDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	if got := Closest("probabilty", []string{"tier", "probability", "rank"}, 3); got != "probability" {
		t.Errorf("Closest = %q", got)
	}
	if got := Closest("xyz", []string{"tier"}, 2); got != "" {
		t.Errorf("Closest = %q, want none", got)
	}
}

// TestYAMLError is the regression test for errors echoing a config or
// playbook file's content: the line is kept, the value is not.
func TestYAMLError(t *testing.T) {
	type play struct {
		Action string `yaml:"action"`
	}
	var v struct {
		Categories map[string]play `yaml:"categories"`
	}
	for _, tt := range []struct{ name, src, want string }{
		{"value of the wrong type", "categories:\n  usage: \"SECRET-token-1234\"\n", "invalid YAML: cannot unmarshal !!str into textutil.play"},
		{"not a mapping", "SECRET_TOKEN=abc123xyz\n", "invalid YAML: cannot unmarshal !!str into struct"},
		{"syntax", "a: [b\n", "invalid YAML: did not find expected ',' or ']'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := yaml.Unmarshal([]byte(tt.src), &v)
			if err == nil {
				t.Fatal("no error")
			}
			_, msg := YAMLError(err)
			if strings.Contains(msg.Error(), "SECRET") || strings.Contains(msg.Error(), "abc123") {
				t.Errorf("the error echoes the file: %v", msg)
			}
			if !strings.Contains(msg.Error(), tt.want) {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
		})
	}
}
