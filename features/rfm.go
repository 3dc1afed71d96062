package features

import (
	"math"
	"sort"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/clv"
)

// RFM returns the calibration-period summary of a customer's orders as of
// T, as the Fader–Hardie models read it: the calibration period is the
// orders strictly before T; purchases are counted per distinct purchase day
// (UTC), and the first purchase day is not a repeat purchase; time is in
// weeks, with T measured from the first purchase day to T's eve (the
// period's last day), as in the CDNOW papers (customer 1 of the CDNOW
// sample: first purchase 1997-01-01, as of 1997-10-01, T = 272/7 =
// 38.86 weeks). Monetary is the mean spend per repeat purchase day (orders
// of a day summed; a missing amount counts as 0).
//
// ok is false when the customer has no order before T. orders must be
// ordered by time (data.Scan guarantees it). RFM is a pure function, safe
// for concurrent use.
func RFM(orders []data.Order, T data.Date) (s clv.Summary, ok bool) {
	ts := T.Start()
	orders = orders[:sort.Search(len(orders), func(i int) bool { return orders[i].TS >= ts })]
	if len(orders) == 0 {
		return clv.Summary{}, false
	}
	first := orders[0].TS.Date()
	day, last := first, first
	var repeatDays, repeatSpend float64
	for i := range orders {
		d := orders[i].TS.Date()
		if d != day {
			day = d
			last = d
			repeatDays++
		}
		if d != first {
			if amt := orders[i].Amount; !math.IsNaN(amt) {
				repeatSpend += amt
			}
		}
	}
	s = clv.Summary{
		Frequency: repeatDays,
		Recency:   float64(last-first) / 7,
		T:         float64(T-1-first) / 7,
	}
	if repeatDays > 0 {
		s.Monetary = repeatSpend / repeatDays
	}
	return s, true
}
