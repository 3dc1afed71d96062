package synth

import (
	"testing"
	"time"

	"github.com/churnlab/churn/data"
)

func TestCivilMatchesTime(t *testing.T) {
	for d := data.MakeDate(1899, 12, 1); d < data.MakeDate(2201, 3, 1); d += 7 {
		y, m, day := civil(d)
		tt := d.Time()
		if y != tt.Year() || m != int(tt.Month()) || day != tt.Day() {
			t.Fatalf("civil(%s) = %d-%d-%d", d, y, m, day)
		}
		if got, want := weekday(d), (int(tt.Weekday())+6)%7; got != want {
			t.Fatalf("weekday(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestAddMonths(t *testing.T) {
	tests := []struct {
		name string
		from string
		k    int
		want string
	}{
		{"same day", "2024-01-15", 1, "2024-02-15"},
		{"clamp to leap February", "2024-01-31", 1, "2024-02-29"},
		{"clamp to February", "2023-01-31", 1, "2023-02-28"},
		{"across the year", "2023-11-30", 3, "2024-02-29"},
		{"a year", "2024-02-29", 12, "2025-02-28"},
		{"backwards", "2024-03-31", -1, "2024-02-29"},
		{"backwards across years", "2024-01-01", -24, "2022-01-01"},
		{"zero", "2024-05-31", 0, "2024-05-31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := data.ParseDate(tt.from)
			if err != nil {
				t.Fatal(err)
			}
			if got := addMonths(d, tt.k).String(); got != tt.want {
				t.Errorf("addMonths(%s, %d) = %s, want %s", tt.from, tt.k, got, tt.want)
			}
		})
	}
}

func TestMondayOnOrAfter(t *testing.T) {
	for d := data.MakeDate(2023, 1, 1); d < data.MakeDate(2023, 3, 1); d++ {
		m := mondayOnOrAfter(d)
		if m.Time().Weekday() != time.Monday || m < d || m-d > 6 {
			t.Fatalf("mondayOnOrAfter(%s) = %s", d, m)
		}
	}
}

func TestEpisodeIntensity(t *testing.T) {
	churn := episode{start: 100, peak: 200, end: 200, amp: 1, signs: SignSet(0).With(UsageDecline)}
	scare := episode{start: 100, peak: 200, end: 245, amp: ScarePeak, signs: SignSet(0).With(UsageDecline)}
	tests := []struct {
		name string
		e    episode
		day  data.Date
		want float64
	}{
		{"before", churn, 50, 0},
		{"start", churn, 100, 0},
		{"half way", churn, 150, 0.5},
		{"churn day", churn, 200, 1},
		{"scare peak", scare, 200, ScarePeak},
		{"scare fading", scare, 215, ScarePeak * 30 / 45},
		{"scare over", scare, 245, 0},
		{"no signs", episode{start: 100, peak: 200, end: 200, amp: 1}, 150, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.at(tt.day); got < tt.want-1e-12 || got > tt.want+1e-12 {
				t.Errorf("at(%d) = %v, want %v", tt.day, got, tt.want)
			}
		})
	}
}

func TestCustomerID(t *testing.T) {
	for i, want := range map[int]string{0: "C00000001", 9: "C00000010", 1234566: "C01234567", MaxCustomers - 1: "C99999999"} {
		if got := CustomerID(i); got != want {
			t.Errorf("CustomerID(%d) = %s, want %s", i, got, want)
		}
	}
	if !(CustomerID(9) > CustomerID(8) && CustomerID(100) > CustomerID(99)) {
		t.Error("ids do not sort numerically")
	}
}

// TestMechanismsIndexedBySign guards the Mechanisms table the generator
// reads its parameters from.
func TestMechanismsIndexedBySign(t *testing.T) {
	if len(Mechanisms) != int(numSigns) {
		t.Fatalf("%d mechanisms for %d signs", len(Mechanisms), numSigns)
	}
	for i, m := range Mechanisms {
		if m.Sign != Sign(i) || m.Name == "" || m.Share <= 0 || m.Share > 1 || m.Effect == "" || m.Baseline == "" || len(m.Tables) == 0 {
			t.Errorf("mechanism %d (%s) is incomplete: %+v", i, m.Name, m)
		}
		if m.LeadDays[0] > m.LeadDays[1] || m.LeadDays[1] > EpisodeDays[1] {
			t.Errorf("%s: lead days %v", m.Name, m.LeadDays)
		}
	}
}
