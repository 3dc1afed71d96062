package features

import (
	"fmt"
	"math"

	"github.com/churnlab/churn/data"
)

// resolveMode turns LabelAuto into a concrete mode for the dataset.
func resolveMode(mode LabelMode, has func(table, column string) bool) (LabelMode, error) {
	need := map[LabelMode][]string{
		LabelChurnEvents: {data.ChurnEvents, ""},
		LabelChurnDate:   {data.Customers, "churn_date"},
		LabelSnapshot:    {data.Customers, "churned"},
		LabelInactivity:  {data.Orders, ""},
	}
	if mode == LabelNone {
		return mode, nil
	}
	if mode != LabelAuto {
		n := need[mode]
		if !has(n[0], n[1]) {
			what := n[0]
			if n[1] != "" {
				what += "." + n[1]
			}
			return "", fmt.Errorf("label mode %s needs %s, which the dataset lacks", mode, what)
		}
		return mode, nil
	}
	for _, m := range []LabelMode{LabelChurnEvents, LabelChurnDate, LabelSnapshot, LabelInactivity} {
		n := need[m]
		if has(n[0], n[1]) {
			return m, nil
		}
	}
	return "", fmt.Errorf("no label source: the dataset needs churn_events, customers.churn_date, customers.churned or orders (use --label none for a table without labels)")
}

// Label decides whether the customer of h is a customer at T (active) and,
// if so, its label: 1 churned in (T+Gap, T+Gap+Horizon] (inactivity: no
// order on the days [T+Gap, T+Gap+Horizon)), 0 stayed through that window,
// NaN when unknown: the window's last day (LabelSpec.LastDay) is after
// DataEnd (censored —
// even for a churn already seen, or recent dates would label only
// churners), or the customer churned during the gap. l.Mode must be
// resolved (not auto).
//
// A customer is not active at T if it signed up on or after T, or (by
// mode) churned on or before T without reactivating before T, or has no
// order before T (inactivity mode).
func Label(h *data.History, T data.Date, l *LabelConfig) (label float64, active bool) {
	c := &h.Customer
	if c.SignupDate != data.NoDate && c.SignupDate >= T && l.Mode != LabelSnapshot {
		return math.NaN(), false
	}
	lo := T.AddDays(l.Gap)
	hi := lo.AddDays(l.Horizon)
	observed := l.Spec().Observed(T, l.DataEnd)
	unknown := math.NaN()
	switch l.Mode {
	case LabelSnapshot:
		if c.Churned < 0 {
			return unknown, true
		}
		return float64(c.Churned), true

	case LabelChurnDate:
		d := c.ChurnDate
		switch {
		case d != data.NoDate && d <= T:
			return unknown, false
		case !observed:
			// Censored: even a churn already seen in the window would
			// leave only churners labelled at recent dates.
			return unknown, true
		case d == data.NoDate || d > hi:
			return 0, true
		case d <= lo:
			return unknown, true // churned during the gap
		default:
			return 1, true
		}

	case LabelChurnEvents:
		label := 0.0
		for i := range h.ChurnEvents {
			e := &h.ChurnEvents[i]
			d := e.ChurnDate
			switch {
			case d <= T:
				if e.ReactivatedAt == data.NoDate || e.ReactivatedAt > T {
					return unknown, false // gone at T
				}
			case d <= lo:
				if label != 1 {
					label = unknown
				}
			case d <= hi:
				label = 1
			}
		}
		if !observed {
			return unknown, true // censored
		}
		return label, true

	case LabelNone:
		if c.ChurnDate != data.NoDate && c.ChurnDate <= T {
			return unknown, false
		}
		for _, e := range h.ChurnEvents {
			if e.ChurnDate <= T && (e.ReactivatedAt == data.NoDate || e.ReactivatedAt > T) {
				return unknown, false
			}
		}
		return unknown, true

	case LabelInactivity:
		ts, tlo, thi := T.Start(), lo.Start(), hi.Start() // orders on days [T+Gap, T+Gap+Horizon)
		before, inWindow := false, false
		for i := range h.Orders {
			o := h.Orders[i].TS
			switch {
			case o < ts:
				before = true
			case o >= tlo && o < thi:
				inWindow = true
			}
		}
		switch {
		case !before:
			return unknown, false
		case !observed:
			return unknown, true // censored
		case inWindow:
			return 0, true
		}
		return 1, true
	}
	return unknown, false
}
