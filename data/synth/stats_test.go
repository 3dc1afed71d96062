package synth_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// TestHistoriesConsistent checks, customer by customer, the promises of
// the generator that do not depend on chance.
func TestHistoriesConsistent(t *testing.T) {
	dir, _ := sharedDataset(t)
	p := statsParams
	p.EnsureDefaults()
	start, end := p.Start(), p.End
	for i, h := range histories(t, dir) {
		if err := checkHistory(h, start, end); err != nil {
			t.Fatalf("%s: %v", h.Customer.ID, err)
		}
		truth := synth.TruthOf(p, i)
		c := &h.Customer
		if truth.ID != c.ID || truth.Signup != c.SignupDate || truth.Churned != c.ChurnDate.Valid() ||
			(truth.Churned && truth.PlannedChurn != c.ChurnDate) || truth.Segment != c.Segment {
			t.Fatalf("%s: truth %+v does not match customer %+v", c.ID, truth, *c)
		}
		if truth.Churned && h.ChurnEvents[0].Reason != truth.Reason {
			t.Fatalf("%s: reason %q, truth %q", c.ID, h.ChurnEvents[0].Reason, truth.Reason)
		}
	}
}

func checkHistory(h *data.History, start, end data.Date) error {
	c := &h.Customer
	last := end
	if c.ChurnDate.Valid() {
		last = c.ChurnDate
	}
	first := max(c.SignupDate, start)
	switch {
	case c.ChurnDate.Valid() != (c.Churned == 1) || c.Churned < 0:
		return fmt.Errorf("churned = %d, churn_date %s", c.Churned, c.ChurnDate)
	case c.ChurnDate.Valid() && (len(h.ChurnEvents) != 1 || h.ChurnEvents[0].ChurnDate != c.ChurnDate || h.ChurnEvents[0].Reason == ""):
		return fmt.Errorf("churn events %+v for churn date %s", h.ChurnEvents, c.ChurnDate)
	case !c.ChurnDate.Valid() && len(h.ChurnEvents) != 0:
		return fmt.Errorf("churn events without churn date")
	case c.ChurnDate.Valid() && (c.ChurnDate < first || c.ChurnDate > end):
		return fmt.Errorf("churn date %s outside [%s, %s]", c.ChurnDate, first, end)
	case len(c.Attrs) != 2 || c.Attrs[0].Str == "" || c.Attrs[1].Num <= 0:
		return fmt.Errorf("attributes %+v", c.Attrs)
	case c.SignupDate > end || c.Owner == "" || c.Region == "" || c.Plan == "":
		return fmt.Errorf("customer row %+v", *c)
	}
	in := func(what string, d data.Date) error {
		if d < first || d > last {
			return fmt.Errorf("%s on %s, outside the customer's life [%s, %s]", what, d, first, last)
		}
		return nil
	}
	// Subscriptions: ordered, not overlapping, covering today.
	subs := h.Subscriptions
	if len(subs) == 0 {
		return fmt.Errorf("no subscription")
	}
	for i, s := range subs {
		if s.End.Valid() && s.End < s.Start || s.Seats < 1 || s.MRR <= 0 || s.Start > last {
			return fmt.Errorf("subscription %+v", s)
		}
		if i > 0 && (!subs[i-1].End.Valid() || subs[i-1].End >= s.Start) {
			return fmt.Errorf("subscriptions overlap: %+v then %+v", subs[i-1], s)
		}
	}
	cur := subs[len(subs)-1]
	if c.ChurnDate.Valid() {
		if cur.End != c.ChurnDate || c.Seats != 0 || c.MRR != 0 || c.ContractEnd != c.ChurnDate {
			return fmt.Errorf("churned customer %+v, last subscription %+v", *c, cur)
		}
	} else if (cur.End.Valid() && cur.End < end) || c.Seats != cur.Seats || c.MRR != cur.MRR || c.Plan != cur.Plan || c.ContractEnd < end {
		return fmt.Errorf("customer today %+v, last subscription %+v", *c, cur)
	}
	maxSeats := slices.MaxFunc(subs, func(a, b data.Subscription) int { return int(a.Seats - b.Seats) }).Seats
	for _, u := range h.Usage {
		if err := in("usage", u.Date); err != nil {
			return err
		}
		// Rows are dated on the week's Sunday, or on the customer's last day
		// (churn date or the end of the period) for a partial week.
		if (u.Date.Time().Weekday() != 0 && u.Date != last) || u.ActiveUsers < 0 || u.ActiveUsers > maxSeats || u.Sessions < 0 || u.Minutes < 0 || u.Feature != "" {
			return fmt.Errorf("usage row %+v (max seats %d)", u, maxSeats)
		}
	}
	for _, p := range h.Payments {
		if err := in("invoice", p.InvoiceDate); err != nil {
			return err
		}
		ok := p.Amount > 0 && p.DueDate > p.InvoiceDate
		switch p.Status {
		case "paid", "refunded":
			ok = ok && p.PaidDate >= p.InvoiceDate && p.PaidDate <= p.DueDate
		case "late":
			ok = ok && p.PaidDate > p.DueDate && p.PaidDate <= end
		case "failed", "open":
			ok = ok && !p.PaidDate.Valid()
		default:
			ok = false
		}
		if !ok {
			return fmt.Errorf("payment %+v", p)
		}
	}
	for _, x := range h.Contacts {
		if err := in("contact", x.TS.Date()); err != nil {
			return err
		}
		if (x.Kind == "interaction") != (x.Direction != "") {
			return fmt.Errorf("contact %+v", x)
		}
	}
	for _, k := range h.Tickets {
		if err := in("ticket", k.OpenedAt.Date()); err != nil {
			return err
		}
		if k.ClosedAt.Valid() && (k.ClosedAt < k.OpenedAt || k.ClosedAt.Date() > last) || k.CSAT != data.NullInt && (k.CSAT < 1 || k.CSAT > 5) {
			return fmt.Errorf("ticket %+v", k)
		}
	}
	for _, s := range h.Surveys {
		if err := in("survey", s.TS.Date()); err != nil {
			return err
		}
		if s.NPS < 0 || s.NPS > 10 {
			return fmt.Errorf("survey %+v", s)
		}
	}
	for _, s := range h.Signals {
		if err := in("signal "+s.Kind, s.TS.Date()); err != nil {
			return err
		}
	}
	return nil
}

// TestChurnRate checks the overall volumes: churn over the period, new
// customers, and rows per customer.
func TestChurnRate(t *testing.T) {
	_, sum := sharedDataset(t)
	n := float64(statsParams.Customers)
	rate := float64(sum.Churned) / n
	t.Logf("churned %.1f%%, new %.1f%%", 100*rate, 100*float64(sum.New)/n)
	if rate < 0.10 || rate > 0.30 {
		t.Errorf("churn rate over 24 months = %.3f, want 0.10–0.30", rate)
	}
	if nw := float64(sum.New) / n; nw < 0.15 || nw > 0.35 {
		t.Errorf("new customers = %.3f, want 0.15–0.35", nw)
	}
	perCustomer := map[string][2]float64{ // rows per customer: min, max
		data.Customers:     {1, 1},
		data.Subscriptions: {1.5, 4},
		data.UsageTable:    {75, 100},
		data.Payments:      {14, 24},
		data.Contacts:      {10, 30},
		data.Tickets:       {3.5, 7},
		data.Surveys:       {2.5, 5},
		data.Signals:       {4, 12},
		data.ChurnEvents:   {0.1, 0.3},
	}
	for _, ts := range sum.Tables {
		r := float64(ts.Rows) / n
		t.Logf("%-14s %6.1f rows per customer", ts.Name, r)
		if want := perCustomer[ts.Name]; r < want[0] || r > want[1] {
			t.Errorf("%s: %.1f rows per customer, want %v", ts.Name, r, want)
		}
	}
}

// cohort pairs customers with as-of dates: churners at their churn date,
// stayers (no churn date) at churn dates drawn from the churners in turn, so
// both groups are looked at in the same seasons and tenures.
type cohort struct {
	churners, stayers []obs
}

type obs struct {
	h    *data.History
	asOf data.Date
}

// lookback is the history every observed customer must have before its
// as-of date, so that the windows compared are complete.
const lookback = 270

func newCohort(hs []*data.History, start data.Date) cohort {
	var co cohort
	var dates []data.Date
	for _, h := range hs {
		c := &h.Customer
		if c.ChurnDate.Valid() && max(c.SignupDate, start)+lookback <= c.ChurnDate {
			co.churners = append(co.churners, obs{h, c.ChurnDate})
			dates = append(dates, c.ChurnDate)
		}
	}
	k := 0
	for _, h := range hs {
		c := &h.Customer
		if c.ChurnDate.Valid() {
			continue
		}
		asOf := dates[k%len(dates)]
		k++
		if max(c.SignupDate, start)+lookback <= asOf {
			co.stayers = append(co.stayers, obs{h, asOf})
		}
	}
	return co
}

// mean returns the mean of f over the observations where f is defined.
func mean(os []obs, f func(h *data.History, asOf data.Date) (float64, bool)) (float64, int) {
	var s float64
	n := 0
	for _, o := range os {
		if x, ok := f(o.h, o.asOf); ok {
			s += x
			n++
		}
	}
	return s / float64(n), n
}

func inWindow(d, asOf data.Date, days int) bool { return d < asOf && d >= asOf-data.Date(days) }

func count[T any](xs []T, keep func(T) bool) float64 {
	n := 0
	for _, x := range xs {
		if keep(x) {
			n++
		}
	}
	return float64(n)
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// usageRatio returns the mean of v over the 90 days before asOf divided by
// its mean over the 180 days before those.
func usageRatio(h *data.History, asOf data.Date, v func(u data.Usage) float64) (float64, bool) {
	var recent, before, nr, nb float64
	for _, u := range h.Usage {
		switch {
		case inWindow(u.Date, asOf, 90) && u.Date+7 <= asOf: // whole weeks only
			recent += v(u)
			nr++
		case inWindow(u.Date, asOf-90, 180):
			before += v(u)
			nb++
		}
	}
	if nr == 0 || nb == 0 || before == 0 {
		return 0, false
	}
	return (recent / nr) / (before / nb), true
}

// seatsAt returns the seats of the subscription in force on d.
func seatsAt(h *data.History, d data.Date) float64 {
	s := h.Subscriptions[0].Seats
	for _, x := range h.Subscriptions {
		if x.Start <= d {
			s = x.Seats
		}
	}
	return float64(s)
}

// TestPlantedDirections checks that each planted warning sign shows in the
// data: churners, looked at just before their churn date, differ from
// stayers looked at on the same dates, in the planted direction. The
// thresholds are well inside the planted effects, which are diluted by
// churners without the sign and by noise.
func TestPlantedDirections(t *testing.T) {
	dir, _ := sharedDataset(t)
	p := statsParams
	p.EnsureDefaults()
	co := newCohort(histories(t, dir), p.Start())
	if len(co.churners) < 300 || len(co.stayers) < 1000 {
		t.Fatalf("%d churners and %d stayers observed; too few", len(co.churners), len(co.stayers))
	}
	signals := func(kind string, days int) func(h *data.History, asOf data.Date) (float64, bool) {
		return func(h *data.History, asOf data.Date) (float64, bool) {
			return boolf(count(h.Signals, func(s data.Signal) bool { return s.Kind == kind && inWindow(s.TS.Date(), asOf, days) }) > 0), true
		}
	}
	tests := []struct {
		sign   string
		metric string
		f      func(h *data.History, asOf data.Date) (float64, bool)
		// The churners' mean divided by the stayers' mean must be at least
		// min (when min > 0) and at most max (when max > 0).
		min, max float64
	}{
		{"usage_decline", "weekly active users, last 90 days / the 180 before", func(h *data.History, asOf data.Date) (float64, bool) {
			return usageRatio(h, asOf, func(u data.Usage) float64 { return float64(u.ActiveUsers) })
		}, 0, 0.85},
		{"usage_decline", "weekly minutes, last 90 days / the 180 before", func(h *data.History, asOf data.Date) (float64, bool) {
			return usageRatio(h, asOf, func(u data.Usage) float64 { return u.Minutes })
		}, 0, 0.85},
		{"usage_decline", "utilisation (active users / seats), last 90 days / the 180 before", func(h *data.History, asOf data.Date) (float64, bool) {
			return usageRatio(h, asOf, func(u data.Usage) float64 { return float64(u.ActiveUsers) / seatsAt(h, u.Date) })
		}, 0, 0.92}, // weaker than users alone: downgrades cut seats (0.91 with rows dated at the week's end)
		{"ticket_surge", "tickets in the last 90 days", func(h *data.History, asOf data.Date) (float64, bool) {
			return count(h.Tickets, func(k data.Ticket) bool { return inWindow(k.OpenedAt.Date(), asOf, 90) }), true
		}, 1.5, 0},
		{"ticket_surge", "escalated tickets in the last 90 days", func(h *data.History, asOf data.Date) (float64, bool) {
			return count(h.Tickets, func(k data.Ticket) bool { return k.Escalated && inWindow(k.OpenedAt.Date(), asOf, 90) }), true
		}, 2.5, 0},
		{"champion_loss", "champion changed in the last 120 days", func(h *data.History, asOf data.Date) (float64, bool) {
			return boolf(count(h.Contacts, func(c data.Contact) bool { return c.Kind == "champion_changed" && inWindow(c.TS.Date(), asOf, 120) }) > 0), true
		}, 3, 0},
		{"payment_trouble", "late or failed share of invoices in the last 90 days", func(h *data.History, asOf data.Date) (float64, bool) {
			n := count(h.Payments, func(p data.Payment) bool { return inWindow(p.InvoiceDate, asOf, 90) })
			bad := count(h.Payments, func(p data.Payment) bool {
				return (p.Status == "late" || p.Status == "failed") && inWindow(p.InvoiceDate, asOf, 90)
			})
			return bad / n, n > 0
		}, 2, 0},
		{"downgrade", "a downgrade invoiced in the last 120 days", func(h *data.History, asOf data.Date) (float64, bool) {
			return boolf(count(h.Payments, func(p data.Payment) bool { return p.PlanChange == "downgrade" && inWindow(p.InvoiceDate, asOf, 120) }) > 0), true
		}, 3, 0},
		{"nps_drop", "detractor share of NPS answers in the last 90 days", func(h *data.History, asOf data.Date) (float64, bool) {
			n := count(h.Surveys, func(s data.Survey) bool { return inWindow(s.TS.Date(), asOf, 90) })
			return count(h.Surveys, func(s data.Survey) bool { return s.NPS <= 6 && inWindow(s.TS.Date(), asOf, 90) }) / n, n > 0
		}, 2, 0},
		{"going_silent", "interactions in the last 90 days", func(h *data.History, asOf data.Date) (float64, bool) {
			return count(h.Contacts, func(c data.Contact) bool { return c.Kind == "interaction" && inWindow(c.TS.Date(), asOf, 90) }), true
		}, 0, 0.85},
		{"data_export", "a data export in the last 45 days", signals("data_export", 45), 5, 0},
		{"billing_question", "a billing question in the last 60 days", signals("billing_question", 60), 2.5, 0},
		{"cancel_page_view", "a cancel-page view in the last 30 days", signals("cancel_page_view", 30), 5, 0},
		{"no_training", "no training view in the last 180 days", func(h *data.History, asOf data.Date) (float64, bool) {
			return boolf(count(h.Signals, func(s data.Signal) bool { return s.Kind == "training_view" && inWindow(s.TS.Date(), asOf, 180) }) == 0), true
		}, 1.3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.sign+"/"+tt.metric, func(t *testing.T) {
			mc, nc := mean(co.churners, tt.f)
			ms, ns := mean(co.stayers, tt.f)
			ratio := mc / ms
			t.Logf("churners %.3f (n=%d), stayers %.3f (n=%d), ratio %.2f", mc, nc, ms, ns, ratio)
			if nc < 200 || ns < 500 || math.IsNaN(ratio) {
				t.Fatalf("too few observations")
			}
			if tt.min > 0 && ratio < tt.min {
				t.Errorf("churners / stayers = %.2f, want at least %.2f", ratio, tt.min)
			}
			if tt.max > 0 && ratio > tt.max {
				t.Errorf("churners / stayers = %.2f, want at most %.2f", ratio, tt.max)
			}
		})
	}
}

// TestChurnDrivers checks the structural drivers: churn concentrates on
// contract ends, and customers who never view training churn more.
func TestChurnDrivers(t *testing.T) {
	dir, _ := sharedDataset(t)
	p := statsParams
	p.EnsureDefaults()
	hs := histories(t, dir)
	var annual, onRenewal float64
	var trained, untrained [2]float64 // customers, churned
	for i, h := range hs {
		truth := synth.TruthOf(p, i)
		c := &h.Customer
		if c.ChurnDate.Valid() && truth.TermMonths == 12 {
			annual++
			if isAnniversary(c.ChurnDate+1, c.SignupDate) {
				onRenewal++
			}
		}
		g := &untrained
		if count(h.Signals, func(s data.Signal) bool { return s.Kind == "training_view" }) > 0 {
			g = &trained
		}
		g[0]++
		g[1] += boolf(c.ChurnDate.Valid())
	}
	share := onRenewal / annual
	t.Logf("annual churners on a contract end: %.2f (n=%.0f)", share, annual)
	if share < 0.75 {
		t.Errorf("%.2f of annual-contract churners leave on a contract end, want at least 0.75", share)
	}
	rt, ru := trained[1]/trained[0], untrained[1]/untrained[0]
	t.Logf("churn rate with training views %.3f (n=%.0f), without %.3f (n=%.0f)", rt, trained[0], ru, untrained[0])
	if ru < 1.5*rt {
		t.Errorf("churn without training views %.3f, with %.3f; want at least 1.5 times", ru, rt)
	}
}

// isAnniversary reports whether d is a yearly anniversary of signup (a
// contract end falls the day before one), clamped to the end of the month.
func isAnniversary(d, signup data.Date) bool {
	y, m, day := d.Time().Date()
	_, sm, sd := signup.Time().Date()
	lastDay := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return m == sm && day == min(sd, lastDay) && d > signup
}

// TestNoise checks the planted noise: silent churners, and customers who
// show signs and stay.
func TestNoise(t *testing.T) {
	p := statsParams
	p.EnsureDefaults()
	var churners, silent, all, scares, stayersWithSigns, stayers float64
	for i := range p.Customers {
		tr := synth.TruthOf(p, i)
		all++
		scares += boolf(tr.Scare)
		if tr.PlannedChurn.Valid() {
			churners++
			silent += boolf(tr.Silent())
		} else {
			stayers++
			stayersWithSigns += boolf(tr.Scare)
		}
	}
	t.Logf("silent churners %.3f, scares %.3f, stayers with a scare %.3f", silent/churners, scares/all, stayersWithSigns/stayers)
	if s := silent / churners; math.Abs(s-synth.SilentShare) > 0.04 {
		t.Errorf("silent churner share %.3f, want %.2f ± 0.04", s, synth.SilentShare)
	}
	if s := scares / all; math.Abs(s-synth.ScareShare) > 0.03 {
		t.Errorf("scare share %.3f, want %.2f ± 0.03", s, synth.ScareShare)
	}
	if stayersWithSigns < 100 {
		t.Errorf("only %.0f stayers show warning signs", stayersWithSigns)
	}
}
