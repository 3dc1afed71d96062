package textutil

import "testing"

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
