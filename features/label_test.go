package features

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

func TestLabel(t *testing.T) {
	T := day("2024-07-01")
	end := day("2025-06-30")
	lc := func(mode LabelMode, gap int, dataEnd data.Date) *LabelConfig {
		return &LabelConfig{Mode: mode, Horizon: 90, Gap: gap, DataEnd: dataEnd}
	}
	cust := func(signup, churn string) *data.History {
		h := &data.History{Customer: data.Customer{SignupDate: data.NoDate, ChurnDate: data.NoDate, Churned: -1}}
		if signup != "" {
			h.Customer.SignupDate = day(signup)
		}
		if churn != "" {
			h.Customer.ChurnDate = day(churn)
		}
		return h
	}
	nan := math.NaN()
	tests := []struct {
		name   string
		h      *data.History
		cfg    *LabelConfig
		label  float64
		active bool
	}{
		{"stays, observed", cust("2023-01-01", ""), lc(LabelChurnDate, 0, end), 0, true},
		{"stays, window not observed", cust("2023-01-01", ""), lc(LabelChurnDate, 0, day("2024-08-01")), nan, true},
		{"churns inside window", cust("2023-01-01", "2024-08-15"), lc(LabelChurnDate, 0, end), 1, true},
		{"churns on last day of window", cust("2023-01-01", "2024-09-29"), lc(LabelChurnDate, 0, end), 1, true},
		{"churns the day after the window", cust("2023-01-01", "2024-09-30"), lc(LabelChurnDate, 0, end), 0, true},
		{"churns inside window, not yet observed: censored", cust("2023-01-01", "2024-07-10"), lc(LabelChurnDate, 0, day("2024-07-15")), nan, true},
		{"churned on T: gone", cust("2023-01-01", "2024-07-01"), lc(LabelChurnDate, 0, end), nan, false},
		{"churned before T: gone", cust("2023-01-01", "2024-03-01"), lc(LabelChurnDate, 0, end), nan, false},
		{"signs up on T: not yet a customer", cust("2024-07-01", ""), lc(LabelChurnDate, 0, end), nan, false},
		{"churns during the gap", cust("2023-01-01", "2024-07-20"), lc(LabelChurnDate, 30, end), nan, true},
		{"churns after the gap", cust("2023-01-01", "2024-08-20"), lc(LabelChurnDate, 30, end), 1, true},
		{"unknown signup still a customer", cust("", ""), lc(LabelChurnDate, 0, end), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label, active := Label(tt.h, T, tt.cfg)
			if active != tt.active || !approx(label, tt.label) {
				t.Errorf("Label = %v, %v; want %v, %v", label, active, tt.label, tt.active)
			}
		})
	}
}

func TestLabelChurnEvents(t *testing.T) {
	T := day("2024-07-01")
	cfg := &LabelConfig{Mode: LabelChurnEvents, Horizon: 90, DataEnd: day("2025-01-01")}
	ev := func(churn, back string) data.ChurnEvent {
		e := data.ChurnEvent{ChurnDate: day(churn), ReactivatedAt: data.NoDate}
		if back != "" {
			e.ReactivatedAt = day(back)
		}
		return e
	}
	tests := []struct {
		name   string
		events []data.ChurnEvent
		label  float64
		active bool
	}{
		{"no events", nil, 0, true},
		{"event in window", []data.ChurnEvent{ev("2024-08-01", "")}, 1, true},
		{"gone before T", []data.ChurnEvent{ev("2024-03-01", "")}, math.NaN(), false},
		{"came back before T, leaves again", []data.ChurnEvent{ev("2024-03-01", "2024-04-01"), ev("2024-08-01", "")}, 1, true},
		{"comes back only after T", []data.ChurnEvent{ev("2024-03-01", "2024-07-05")}, math.NaN(), false},
		{"event after window", []data.ChurnEvent{ev("2024-12-01", "")}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &data.History{Customer: data.Customer{SignupDate: day("2023-01-01")}, ChurnEvents: tt.events}
			label, active := Label(h, T, cfg)
			if active != tt.active || !approx(label, tt.label) {
				t.Errorf("Label = %v, %v; want %v, %v", label, active, tt.label, tt.active)
			}
			// With the window not fully observed, every active row is censored.
			short := *cfg
			short.DataEnd = day("2024-08-15")
			label, active = Label(h, T, &short)
			if active != tt.active || !math.IsNaN(label) {
				t.Errorf("censored: Label = %v, %v; want NaN, %v", label, active, tt.active)
			}
		})
	}
}

func TestLabelInactivityAndSnapshot(t *testing.T) {
	T := day("2024-07-01")
	orders := func(days ...string) *data.History {
		h := &data.History{Customer: data.Customer{SignupDate: data.NoDate}}
		for _, d := range days {
			h.Orders = append(h.Orders, data.Order{TS: at(d), Amount: 1})
		}
		return h
	}
	cfg := &LabelConfig{Mode: LabelInactivity, Horizon: 90, DataEnd: day("2025-01-01")}
	tests := []struct {
		name   string
		h      *data.History
		label  float64
		active bool
	}{
		{"buys again on T", orders("2024-01-01", "2024-07-01"), 0, true},
		{"buys on the window's last day", orders("2024-01-01", "2024-09-28"), 0, true},
		{"next order after the window", orders("2024-01-01", "2024-09-29"), 1, true},
		{"never buys again", orders("2024-01-01"), 1, true},
		{"no order before T", orders("2024-08-01"), math.NaN(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label, active := Label(tt.h, T, cfg)
			if active != tt.active || !approx(label, tt.label) {
				t.Errorf("Label = %v, %v; want %v, %v", label, active, tt.label, tt.active)
			}
		})
	}
	snap := &LabelConfig{Mode: LabelSnapshot, Horizon: 90}
	for _, c := range []int8{1, 0, -1} {
		h := &data.History{Customer: data.Customer{Churned: c, SignupDate: day("2030-01-01")}}
		label, active := Label(h, T, snap)
		want := float64(c)
		if c < 0 {
			want = math.NaN()
		}
		if !active || !approx(label, want) {
			t.Errorf("snapshot churned=%d: Label = %v, %v", c, label, active)
		}
	}
}

// TestLabelObservedAtDataEnd checks every dated label mode at the data end:
// a window is observed when its last day is on or before the data end, not
// one day later (issue 9, item 18: a 39-week inactivity window ending on
// the last day of data gave no labelled row). LastDay and LastLabelledAsOf
// agree with Label.
func TestLabelObservedAtDataEnd(t *testing.T) {
	T := day("2024-07-01")
	stays := &data.History{
		Customer:    data.Customer{SignupDate: day("2023-01-01"), ChurnDate: data.NoDate, Churned: -1},
		ChurnEvents: nil,
		Orders:      []data.Order{{TS: at("2024-01-01"), Amount: 1}, {TS: at("2024-07-02"), Amount: 1}},
	}
	tests := []struct {
		mode    LabelMode
		horizon int
		gap     int
		lastDay string // the last day the label looks at
	}{
		{LabelChurnDate, 90, 0, "2024-09-29"},   // churns in (T, T+90]
		{LabelChurnDate, 90, 30, "2024-10-29"},  // (T+30, T+120]
		{LabelChurnEvents, 90, 0, "2024-09-29"}, // same window
		{LabelInactivity, 90, 0, "2024-09-28"},  // orders on [T, T+90)
		{LabelInactivity, 273, 0, "2025-03-30"}, // 39 weeks: [T, T+273)
		{LabelInactivity, 90, 14, "2024-10-12"}, // [T+14, T+104)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s_h%d_g%d", tt.mode, tt.horizon, tt.gap), func(t *testing.T) {
			last := day(tt.lastDay)
			ls := LabelSpec{Mode: tt.mode, HorizonDay: tt.horizon, GapDays: tt.gap}
			if got := ls.LastDay(T); got != last {
				t.Errorf("LastDay = %s, want %s", got, last)
			}
			if got := ls.LastLabelledAsOf(last); got != T {
				t.Errorf("LastLabelledAsOf(%s) = %s, want %s", last, got, T)
			}
			for _, c := range []struct {
				end      data.Date
				observed bool
			}{{last, true}, {last.AddDays(1), true}, {last.AddDays(-1), false}} {
				lc := &LabelConfig{Mode: tt.mode, Horizon: tt.horizon, Gap: tt.gap, DataEnd: c.end}
				label, active := Label(stays, T, lc)
				if !active || math.IsNaN(label) == c.observed {
					t.Errorf("data end %s: Label = %v, %v; want observed %v", c.end, label, active, c.observed)
				}
			}
		})
	}
}

// TestLabelInputs checks that a scan reading only LabelInputs(mode) gives
// Label what a full scan gives it, in every mode.
func TestLabelInputs(t *testing.T) {
	r := newRand()
	var hs []*data.History
	for i := 0; i < 80; i++ {
		h := randomHistory(r)
		h.Customer.ID = fmt.Sprintf("C%03d", i)
		h.Customer.Churned = int8(r.IntN(3) - 1)
		if r.IntN(2) == 0 {
			d := day("2023-01-01") + data.Date(r.IntN(900))
			h.Customer.ChurnDate = d
			ev := data.ChurnEvent{ChurnDate: d, ReactivatedAt: data.NoDate}
			if r.IntN(3) == 0 {
				ev.ReactivatedAt = d + data.Date(1+r.IntN(60))
			}
			h.ChurnEvents = append(h.ChurnEvents, ev)
		}
		hs = append(hs, h)
	}
	dir := t.TempDir()
	writeDataset(t, dir, hs, data.ChurnEvents, data.Orders, data.UsageTable, data.Tickets)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	dates := []data.Date{day("2023-03-01"), day("2023-11-15"), day("2024-06-01"), day("2025-01-01")}
	labels := func(opt data.ScanOptions, lc *LabelConfig) []float64 {
		var out []float64
		_, err := ds.Scan(context.Background(), data.KeyRange{}, opt, func(h *data.History) error {
			for _, T := range dates {
				l, active := Label(h, T, lc)
				if !active {
					l = -1
				}
				out = append(out, l)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, mode := range []LabelMode{LabelChurnEvents, LabelChurnDate, LabelSnapshot, LabelInactivity, LabelNone} {
		t.Run(string(mode), func(t *testing.T) {
			lc, err := ResolveLabel(ds, LabelConfig{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			full, part := labels(data.ScanOptions{}, &lc), labels(LabelInputs(mode), &lc)
			known := 0
			for i := range full {
				if !approx(full[i], part[i]) {
					t.Fatalf("label %d: %v with every table, %v with LabelInputs", i, full[i], part[i])
				}
				if full[i] >= 0 {
					known++
				}
			}
			if mode != LabelNone && known == 0 {
				t.Fatal("no label was known: the test checks nothing")
			}
		})
	}
}

func TestResolveLabel(t *testing.T) {
	ds := randomDataset(t, 5) // customers (with churn_date), usage and tickets
	if _, err := ResolveLabel(ds, LabelConfig{Mode: LabelChurnEvents}); err == nil || !strings.Contains(err.Error(), "needs churn_events") {
		t.Errorf("ResolveLabel churn_events without the table: %v", err)
	}
	if _, err := ResolveLabel(ds, LabelConfig{Horizon: -3}); err == nil || !strings.Contains(err.Error(), "horizon") {
		t.Errorf("ResolveLabel with a negative horizon: %v", err)
	}
	lc, err := ResolveLabel(ds, LabelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, last := DataRange(ds); lc.Mode != LabelChurnDate || lc.Horizon != 90 || lc.DataEnd != last {
		t.Errorf("ResolveLabel = %+v; want the default horizon and the data end %s", lc, last)
	}
}
