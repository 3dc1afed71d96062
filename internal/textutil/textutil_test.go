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

func TestDecodeYAML(t *testing.T) {
	type cfg struct {
		A int    `yaml:"a"`
		B string `yaml:"b"`
	}
	tests := []struct {
		name, src, err string
		want           cfg
	}{
		{"values", "a: 3\nb: x\n", "", cfg{3, "x"}},
		{"empty", "", "", cfg{}},
		{"unknown key", "a: 1\nc: 2\n", "f.yaml:2: invalid YAML: field c not found in type textutil.cfg", cfg{}},
		{"wrong type", "a: secret\n", "f.yaml:1: invalid YAML: cannot unmarshal !!str into int", cfg{}},
		{"not YAML", "a: [\n", "f.yaml:", cfg{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c cfg
			err := DecodeYAML("f.yaml", []byte(tt.src), &c)
			switch {
			case tt.err == "" && (err != nil || c != tt.want):
				t.Errorf("DecodeYAML = %+v, %v; want %+v", c, err, tt.want)
			case tt.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.err) || strings.Contains(err.Error(), "secret")):
				t.Errorf("err = %v, want %q (never the value)", err, tt.err)
			}
		})
	}
}
