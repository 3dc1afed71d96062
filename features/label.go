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

// ResolveLabel returns lc with its defaults filled (EnsureDefaults),
// validated, its mode resolved for ds (LabelAuto becomes the first label
// source the dataset holds: churn_events, customers.churn_date,
// customers.churned, orders) and, when lc.DataEnd is unset (NoDate or
// zero), the data end inferred from ds (the latest day in any time
// column). It is what NewSpec does to the label settings, for callers that
// label without building features (churn review).
func ResolveLabel(ds *data.Dataset, lc LabelConfig) (LabelConfig, error) {
	lc.EnsureDefaults()
	if err := lc.Validate(); err != nil {
		return lc, err
	}
	mode, err := resolveMode(lc.Mode, datasetHas(ds))
	if err != nil {
		return lc, err
	}
	lc.Mode = mode
	if lc.DataEnd == data.NoDate || lc.DataEnd == 0 {
		lc.DataEnd = inferDataEnd(ds)
	}
	return lc, nil
}

// LabelInputs returns the scan options that read what Label reads in mode
// (resolved, not auto): the customers' signup and churn columns and the
// mode's label table, with only the columns Label looks at. A scan with
// them gives Label everything it needs at a fraction of a full scan.
func LabelInputs(mode LabelMode) data.ScanOptions {
	cust := []string{"signup_date", "churn_date", "churned"}
	switch mode {
	case LabelChurnEvents:
		return data.ScanOptions{Tables: []string{data.ChurnEvents}, Columns: map[string][]string{
			data.Customers: cust, data.ChurnEvents: {"churn_date", "reactivated_at"}}}
	case LabelInactivity:
		return data.ScanOptions{Tables: []string{data.Orders}, Columns: map[string][]string{
			data.Customers: cust, data.Orders: {"ts"}}}
	case LabelNone:
		return data.ScanOptions{Tables: []string{data.ChurnEvents}, Columns: map[string][]string{
			data.Customers: cust, data.ChurnEvents: {"churn_date", "reactivated_at"}}}
	}
	return data.ScanOptions{Tables: []string{}, Columns: map[string][]string{data.Customers: cust}}
}
