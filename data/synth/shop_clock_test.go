package synth

import (
	"math"
	"testing"
)

// TestClock checks the map from purchase time to days of a declining
// customer: identity before the decline, the whole decline lasting L days,
// continuous and increasing, and slower by (1 − s·x) within the decline.
func TestClock(t *testing.T) {
	const perDay, l, s = 0.05, 120.0, 0.75
	q := perDay * l * (1 - s/2) // purchase time the decline holds
	tests := []struct {
		name  string
		total float64
	}{
		{"decline after a long life", 20},
		{"life exactly the decline", q},
		{"life starts within the decline", q / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(perDay, l, s, tt.total)
			if d := c.day(0); math.Abs(d) > 1e-9 {
				t.Errorf("day(0) = %g, want 0", d)
			}
			end := c.day(tt.total)
			wantEnd := l
			if tt.total > q {
				wantEnd = (tt.total-q)/perDay + l
			} else {
				// The life covers the decline's last part: from the day
				// its purchase time q − total is reached.
				wantEnd = l - c.within(q-tt.total)
			}
			if math.Abs(end-wantEnd) > 1e-6 {
				t.Errorf("day(total) = %g, want %g", end, wantEnd)
			}
			prev := -1.0
			const steps = 1000
			for k := 0; k <= steps; k++ {
				x := tt.total * float64(k) / steps
				d := c.day(x)
				if d <= prev {
					t.Fatalf("day(%g) = %g not after %g", x, d, prev)
				}
				prev = d
				// The local rate dx/dday is perDay·(1 − s·intensity).
				if k == 0 || k == steps {
					continue
				}
				h := tt.total * 1e-6
				rate := 2 * h / (c.day(x+h) - c.day(x-h))
				intensity := max(0, (d-(end-l))/l)
				if want := perDay * (1 - s*intensity); math.Abs(rate-want) > 1e-4*perDay {
					t.Fatalf("rate at day %g = %g, want %g", d, rate, want)
				}
			}
		})
	}
	t.Run("no decline", func(t *testing.T) {
		c := newClock(perDay, 0, s, 10)
		if d := c.day(7); d != 7/perDay {
			t.Errorf("day(7) = %g, want %g", d, 7/perDay)
		}
	})
}
