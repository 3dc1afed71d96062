package data

import "testing"

func day(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestNextAnniversary(t *testing.T) {
	tests := []struct {
		start  string
		months int
		T      string
		want   string
	}{
		{"2023-01-15", 12, "2024-07-01", "2025-01-15"},
		{"2023-01-15", 12, "2024-01-15", "2024-01-15"},
		{"2023-01-31", 1, "2024-03-01", "2024-03-02"}, // Go's AddDate normalises Feb 31 to Mar 2
		{"2024-06-01", 3, "2024-06-01", "2024-06-01"},
		{"2024-06-01", 3, "2024-06-02", "2024-09-01"},
	}
	for _, tt := range tests {
		if got := NextAnniversary(day(tt.start), tt.months, day(tt.T)); got != day(tt.want) {
			t.Errorf("NextAnniversary(%s, %d, %s) = %s, want %s", tt.start, tt.months, tt.T, got, tt.want)
		}
	}
}
