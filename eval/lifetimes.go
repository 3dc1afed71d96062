package eval

import (
	"slices"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// lifetimeScratch holds buffers lifetimeOf reuses between customers.
type lifetimeScratch struct {
	spells []spell
	days   []data.Date
}

// spell is a stretch of days [from, to] on each of which the customer
// counts as churned (to = NoDate: open-ended).
type spell struct{ from, to data.Date }

// lifetime is what the Kaplan-Meier curves read of one customer: the
// signup day, the spells of churn in the data, and the data end (later
// churns are not seen: the customer is censored there).
type lifetime struct {
	signup data.Date
	spells []spell
	end    data.Date
}

// churnAfter returns the first day on or after T on which the customer
// counts as churned, and whether it was seen (on or before the data end);
// when not, the customer is censored at l.end.
func (l *lifetime) churnAfter(T data.Date) (data.Date, bool) {
	for _, s := range l.spells {
		if s.to != data.NoDate && s.to < T {
			continue
		}
		d := max(s.from, T)
		if d <= l.end {
			return d, true
		}
		break
	}
	return l.end, false
}

// lifetimeOf reads the lifetime of h's customer under the label settings
// lc (mode resolved, DataEnd set): the same churn definitions as
// features.Label.
//
//   - churn_date: customers.churn_date, one open spell.
//   - churn_events: each event's churn_date until the day before its
//     reactivated_at (open when never reactivated).
//   - inactivity: a customer is declared lapsed (churned) on the day a
//     horizon of days without an order ends: horizon days after an order
//     not followed by another within them; the spell lasts until the day
//     before the next order (the customer comes back). The signup is
//     signup_date, else the first order's day.
//
// The spells are appended to scratch.spells and the order days to
// scratch.days (both reset), so that a scan reuses them; nil allocates.
// Churns after the data end are not seen. ok is false when the customer
// has no signup day (or, for inactivity, no order), signed up after the
// data end, or churned before signing up (bad data).
func lifetimeOf(h *data.History, lc *features.LabelConfig, scratch *lifetimeScratch) (l lifetime, ok bool) {
	if scratch == nil {
		scratch = &lifetimeScratch{}
	}
	c := &h.Customer
	l.signup, l.end, l.spells = c.SignupDate, lc.DataEnd, scratch.spells[:0]
	defer func() { scratch.spells = l.spells[:0] }()
	switch lc.Mode {
	case features.LabelChurnDate:
		if c.ChurnDate != data.NoDate {
			l.spells = append(l.spells, spell{c.ChurnDate, data.NoDate})
		}
	case features.LabelChurnEvents:
		for _, e := range h.ChurnEvents {
			if e.ChurnDate == data.NoDate {
				continue
			}
			to := data.NoDate
			if e.ReactivatedAt != data.NoDate {
				to = e.ReactivatedAt.AddDays(-1)
				if to < e.ChurnDate {
					continue // back the same day: never gone
				}
			}
			l.spells = append(l.spells, spell{e.ChurnDate, to})
		}
		slices.SortFunc(l.spells, func(a, b spell) int { return int(a.from) - int(b.from) })
	case features.LabelInactivity:
		days := scratch.days[:0]
		defer func() { scratch.days = days[:0] }()
		for _, o := range h.Orders {
			if o.TS.Valid() {
				days = append(days, o.TS.Date())
			}
		}
		slices.Sort(days)
		days = slices.Compact(days)
		if len(days) == 0 {
			return l, false
		}
		if l.signup == data.NoDate {
			l.signup = days[0]
		}
		for k, d := range days {
			// No order on the days d+1 … d+horizon: lapsed on d+horizon.
			from, to := d.AddDays(lc.Horizon), data.NoDate
			if k+1 < len(days) {
				to = days[k+1].AddDays(-1)
				if to < from {
					continue // back within the horizon
				}
			}
			l.spells = append(l.spells, spell{from, to})
		}
	default:
		return l, false // no churn dates (snapshot labels)
	}
	if l.signup == data.NoDate || l.signup > l.end {
		return l, false
	}
	if len(l.spells) > 0 && l.spells[0].from < l.signup {
		return l, false
	}
	return l, true
}

// TimeToChurn returns the days from T to the first day on or after T on
// which the customer of h counts as churned under lc (mode resolved,
// DataEnd set; the definitions of the report's Kaplan-Meier curves, see
// docs/eval.md), and whether that churn was seen; when not, days run to
// the data end (the customer is censored there). ok is false when the
// customer has no lifetime under lc (no signup day or order, signed up
// after the data end, churned before signing up, or snapshot labels) or T
// is after the data end. h is not modified.
func TimeToChurn(h *data.History, lc *features.LabelConfig, T data.Date) (days int, churned, ok bool) {
	l, ok := lifetimeOf(h, lc, nil)
	if !ok || T > l.end || T == data.NoDate {
		return 0, false, false
	}
	d, churned := l.churnAfter(T)
	return int(d - T), churned, true
}
