package features

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/churnlab/churn/data"
)

// futureMutation changes a history only in ways that happen on or after T:
// it adds, deletes or changes rows dated on or after T, or moves a date
// field that lies after T to another day on or after T.
type futureMutation func(r *rand.Rand, h *data.History, T data.Date) string

func futureDay(r *rand.Rand, T data.Date) data.Date { return T + data.Date(r.IntN(400)) }
func futureTime(r *rand.Rand, T data.Date) data.Timestamp {
	return T.Start() + data.Timestamp(r.Int64N(400*86400e6))
}

func randStr(r *rand.Rand, xs ...string) string { return xs[r.IntN(len(xs))] }

var mutations = []futureMutation{
	// Add rows dated on or after T to every table.
	func(r *rand.Rand, h *data.History, T data.Date) string {
		h.Usage = append(h.Usage, data.Usage{Date: futureDay(r, T), ActiveUsers: r.Int64N(1000), Sessions: r.Int64N(1000), Minutes: r.Float64() * 100})
		h.Subscriptions = append(h.Subscriptions, data.Subscription{Start: futureDay(r, T), End: data.NoDate, Plan: "x", Seats: r.Int64N(100), MRR: r.Float64() * 1e4, BillingFrequency: randStr(r, "monthly", "annual"), AutoRenew: 1})
		h.Payments = append(h.Payments, data.Payment{InvoiceDate: futureDay(r, T), DueDate: futureDay(r, T), PaidDate: data.NoDate, Amount: 1, Status: randStr(r, "failed", "late", "open"), PlanChange: "downgrade", Method: "wire"})
		h.Contacts = append(h.Contacts, data.Contact{TS: futureTime(r, T), Kind: randStr(r, "interaction", "stakeholder_left", "champion_changed"), Direction: "inbound"})
		h.Tickets = append(h.Tickets, data.Ticket{OpenedAt: futureTime(r, T), ClosedAt: data.NoTime, Category: "billing", Escalated: true, CSAT: 1})
		h.Surveys = append(h.Surveys, data.Survey{TS: futureTime(r, T), NPS: r.Int64N(11)})
		h.Signals = append(h.Signals, data.Signal{TS: futureTime(r, T), Kind: randStr(r, "data_export", "billing_question", "cancel_page_view", "training_view")})
		h.Orders = append(h.Orders, data.Order{TS: futureTime(r, T), Amount: r.Float64() * 500, Items: 3})
		return "add future rows"
	},
	// Delete rows dated on or after T.
	func(r *rand.Rand, h *data.History, T data.Date) string {
		ts := T.Start()
		h.Usage = slices.DeleteFunc(h.Usage, func(u data.Usage) bool { return u.Date >= T && r.IntN(2) == 0 })
		h.Subscriptions = slices.DeleteFunc(h.Subscriptions, func(s data.Subscription) bool { return s.Start >= T && r.IntN(2) == 0 })
		h.Payments = slices.DeleteFunc(h.Payments, func(p data.Payment) bool { return p.InvoiceDate >= T && r.IntN(2) == 0 })
		h.Contacts = slices.DeleteFunc(h.Contacts, func(c data.Contact) bool { return c.TS >= ts && r.IntN(2) == 0 })
		h.Tickets = slices.DeleteFunc(h.Tickets, func(t data.Ticket) bool { return t.OpenedAt >= ts && r.IntN(2) == 0 })
		h.Surveys = slices.DeleteFunc(h.Surveys, func(s data.Survey) bool { return s.TS >= ts && r.IntN(2) == 0 })
		h.Signals = slices.DeleteFunc(h.Signals, func(s data.Signal) bool { return s.TS >= ts && r.IntN(2) == 0 })
		h.Orders = slices.DeleteFunc(h.Orders, func(o data.Order) bool { return o.TS >= ts && r.IntN(2) == 0 })
		return "delete future rows"
	},
	// Change every field of rows dated on or after T.
	func(r *rand.Rand, h *data.History, T data.Date) string {
		ts := T.Start()
		for i := range h.Usage {
			if h.Usage[i].Date >= T {
				h.Usage[i] = data.Usage{Date: futureDay(r, T), ActiveUsers: r.Int64N(5), Sessions: data.NullInt, Minutes: math.NaN()}
			}
		}
		for i := range h.Payments {
			if p := &h.Payments[i]; p.InvoiceDate >= T {
				p.Status, p.Amount, p.Method, p.PlanChange = randStr(r, "paid", "failed"), 7, "cash", "upgrade"
			}
		}
		for i := range h.Tickets {
			if t := &h.Tickets[i]; t.OpenedAt >= ts {
				t.Escalated, t.CSAT, t.Category = !t.Escalated, 1, "other"
			}
		}
		for i := range h.Surveys {
			if s := &h.Surveys[i]; s.TS >= ts {
				s.NPS = r.Int64N(11)
			}
		}
		for i := range h.Subscriptions {
			if s := &h.Subscriptions[i]; s.Start >= T {
				s.MRR, s.Seats, s.Plan = 1, 1, "y"
			}
		}
		return "change future rows"
	},
	// Move date fields that lie on or after T to other days on or after T.
	func(r *rand.Rand, h *data.History, T data.Date) string {
		ts := T.Start()
		for i := range h.Subscriptions {
			if s := &h.Subscriptions[i]; s.End != data.NoDate && s.End >= T {
				s.End = futureDay(r, T)
			}
		}
		for i := range h.Payments {
			p := &h.Payments[i]
			if p.PaidDate != data.NoDate && p.PaidDate >= T {
				p.PaidDate = futureDay(r, T)
			}
			if p.DueDate != data.NoDate && p.DueDate >= T && p.InvoiceDate < T {
				p.DueDate = futureDay(r, T)
			}
		}
		for i := range h.Tickets {
			if t := &h.Tickets[i]; t.ClosedAt != data.NoTime && t.ClosedAt >= ts {
				t.ClosedAt = futureTime(r, T)
				t.CSAT = r.Int64N(5) + 1 // a rating given at closing, after T
			}
		}
		h.Customer.ChurnDate = futureDay(r, T)
		return "move future dates"
	},
	// Give a running period an end on or after T, or take it away: whether
	// a period ends (a cancellation recorded later, as many billing systems
	// do) is as unknown at T as when.
	func(r *rand.Rand, h *data.History, T data.Date) string {
		for i := range h.Subscriptions {
			s := &h.Subscriptions[i]
			switch {
			case s.Start >= T:
			case s.End == data.NoDate:
				s.End = futureDay(r, T)
			case s.End >= T:
				s.End = data.NoDate
			}
		}
		return "set or erase future end dates"
	},
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sameValues(a, b *Values) (string, bool) {
	for i := range a.Num {
		x, y := a.Num[i], b.Num[i]
		if math.Float64bits(x) != math.Float64bits(y) && !(math.IsNaN(x) && math.IsNaN(y)) {
			return fmt.Sprintf("feature %d: %v → %v", i, x, y), false
		}
		if a.Cat[i] != b.Cat[i] {
			return fmt.Sprintf("feature %d: %q → %q", i, a.Cat[i], b.Cat[i]), false
		}
	}
	return "", true
}

// TestNoLeakage is the leakage property: adding, deleting or changing any
// row dated on or after T, or moving any date field that lies after T,
// changes no feature at T. It runs over the hand-worked fixture and random
// histories, at several as-of dates, with many random mutations. The
// lifetime features are computed with fixed parameters here (the published
// CDNOW ones); TestLifetimeNoLeakage covers the parameters' fit.
func TestNoLeakage(t *testing.T) {
	cfg := defaultConfig()
	fit := cdnowFit("2000-01-01")
	r := rand.New(rand.NewPCG(1, 2))
	histories := []*data.History{fixture()}
	for i := 0; i < 30; i++ {
		histories = append(histories, randomHistory(r))
	}
	dates := []data.Date{fixtureT, day("2024-03-15"), day("2024-09-30"), day("2025-01-01")}
	checks := 0
	for hi, h0 := range histories {
		for _, T := range dates {
			var want Values
			Compute(h0, T, cfg, &want)
			if err := ComputeLifetime(h0, T, &fit, cfg, &want); err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 20; k++ {
				h := h0.Clone()
				var done []string
				for _, m := range mutations {
					if r.IntN(2) == 0 {
						done = append(done, m(r, h, T))
					}
				}
				h.SortByTime()
				var got Values
				Compute(h, T, cfg, &got)
				if err := ComputeLifetime(h, T, &fit, cfg, &got); err != nil {
					t.Fatal(err)
				}
				if diff, ok := sameValues(&want, &got); !ok {
					t.Fatalf("history %d at %s: %v changed a feature: %s", hi, T, done, diff)
				}
				checks++
			}
		}
	}
	if checks < 2000 {
		t.Fatalf("only %d checks ran", checks)
	}
}

// randomHistory makes an arbitrary, time-ordered history spanning 2023–2025.
func randomHistory(r *rand.Rand) *data.History {
	start := day("2023-01-01")
	rd := func() data.Date { return start + data.Date(r.IntN(900)) }
	rt := func() data.Timestamp { return start.Start() + data.Timestamp(r.Int64N(900*86400e6)) }
	h := &data.History{Customer: data.Customer{ID: "R", SignupDate: rd(), Seats: r.Int64N(50), MRR: 100, ContractEnd: rd(), ChurnDate: data.NoDate, Segment: "smb", Region: "amer"}}
	for _, tb := range data.TableNames() {
		h.Present = h.Present.With(tb)
	}
	for i, n := 0, r.IntN(4); i < n; i++ {
		s := data.Subscription{Start: rd(), End: data.NoDate, Plan: randStr(r, "a", "b"), Seats: r.Int64N(30) + 1, MRR: float64(r.IntN(5000)), BillingFrequency: randStr(r, "monthly", "quarterly", "annual", ""), AutoRenew: int8(r.IntN(3) - 1)}
		if r.IntN(2) == 0 {
			s.End = s.Start + data.Date(r.IntN(500))
		}
		h.Subscriptions = append(h.Subscriptions, s)
	}
	for i, n := 0, r.IntN(120); i < n; i++ {
		h.Usage = append(h.Usage, data.Usage{Date: rd(), ActiveUsers: r.Int64N(30), Sessions: r.Int64N(90), Minutes: r.Float64() * 60})
	}
	for i, n := 0, r.IntN(30); i < n; i++ {
		inv := rd()
		p := data.Payment{InvoiceDate: inv, DueDate: inv + data.Date(r.IntN(40)), PaidDate: data.NoDate, Amount: 100, Status: randStr(r, "paid", "late", "failed", "refunded", "open"), PlanChange: randStr(r, "upgrade", "downgrade", "none", ""), Method: randStr(r, "card", "wire", "")}
		if r.IntN(3) > 0 {
			p.PaidDate = inv + data.Date(r.IntN(70))
		}
		h.Payments = append(h.Payments, p)
	}
	for i, n := 0, r.IntN(20); i < n; i++ {
		h.Contacts = append(h.Contacts, data.Contact{TS: rt(), Kind: randStr(r, "interaction", "interaction", "stakeholder_added", "stakeholder_left", "champion_changed"), Direction: randStr(r, "inbound", "outbound", "")})
	}
	for i, n := 0, r.IntN(15); i < n; i++ {
		op := rt()
		tk := data.Ticket{OpenedAt: op, ClosedAt: data.NoTime, Priority: "low", Category: randStr(r, "billing", "bug", ""), Escalated: r.IntN(5) == 0, CSAT: data.NullInt}
		if r.IntN(4) > 0 {
			tk.ClosedAt = op + data.Timestamp(r.Int64N(60*86400e6))
			tk.CSAT = r.Int64N(5) + 1
		}
		h.Tickets = append(h.Tickets, tk)
	}
	for i, n := 0, r.IntN(6); i < n; i++ {
		h.Surveys = append(h.Surveys, data.Survey{TS: rt(), NPS: r.Int64N(11)})
	}
	for i, n := 0, r.IntN(10); i < n; i++ {
		h.Signals = append(h.Signals, data.Signal{TS: rt(), Kind: randStr(r, "data_export", "billing_question", "cancel_page_view", "training_view")})
	}
	for i, n := 0, r.IntN(25); i < n; i++ {
		h.Orders = append(h.Orders, data.Order{TS: rt(), Amount: r.Float64() * 200, Items: 1})
	}
	h.SortByTime()
	return h
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(7, 11)) }
