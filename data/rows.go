package data

import (
	"math"
	"slices"
)

// Customer is one row of the customers table. Missing values use the
// package's sentinels (NoDate, NullInt, NaN, "" and -1 for Churned).
type Customer struct {
	ID          string
	SignupDate  Date
	Plan        string
	Segment     string
	Region      string
	Seats       int64
	MRR         float64
	ContractEnd Date
	Owner       string
	ChurnDate   Date
	Churned     int8 // 1 churned, 0 stayed, -1 unknown
	// Attrs holds the customer's attribute values, aligned with
	// TableFiles.Attrs of the customers table.
	Attrs []AttrValue
}

// AttrValue is the value of one customer attribute: Num for numbers and
// booleans (1/0), Str for strings. Null marks a missing value.
type AttrValue struct {
	Num  float64
	Str  string
	Null bool
}

// Subscription is one period of a customer's subscription history.
type Subscription struct {
	Start, End       Date // End is NoDate when open-ended
	Plan             string
	Seats            int64
	MRR              float64
	BillingFrequency string
	AutoRenew        int8 // 1, 0, -1 unknown
}

// Usage is one usage row.
type Usage struct {
	Date        Date
	ActiveUsers int64 // NullInt when missing
	Sessions    int64 // NullInt when missing
	Minutes     float64
	Feature     string
}

// Payment is one invoice and its payment.
type Payment struct {
	InvoiceDate, DueDate, PaidDate Date
	Amount                         float64
	Status, PlanChange, Method     string
}

// Contact is one interaction or stakeholder change.
type Contact struct {
	TS                             Timestamp
	Kind, Role, Channel, Direction string
}

// Ticket is one support ticket.
type Ticket struct {
	OpenedAt, ClosedAt Timestamp // ClosedAt is NoTime while open
	Priority, Category string
	Escalated          bool
	CSAT               int64 // NullInt when not rated
}

// Survey is one NPS answer.
type Survey struct {
	TS  Timestamp
	NPS int64
}

// Signal is one intent or engagement signal.
type Signal struct {
	TS   Timestamp
	Kind string
}

// Order is one purchase.
type Order struct {
	TS     Timestamp
	Amount float64
	Items  int64 // NullInt when missing
}

// ChurnEvent is one churn event.
type ChurnEvent struct {
	ChurnDate     Date
	Reason        string
	ReactivatedAt Date
}

// Intervention is one row of the interventions table: a play run for (or
// deliberately withheld from) a customer. Missing strings are "".
type Intervention struct {
	TS    Timestamp
	Play  string
	Owner string
	// Channel and Note are free text.
	Channel, Note string
	// Group is GroupTreat, GroupControl, or "" when the row is not part of
	// an experiment.
	Group string
	// Contacted is 1 when the customer was reached, 0 when not, -1 when
	// unknown (see Reached).
	Contacted int8
}

// Reached reports whether the customer was actually contacted: the
// contacted column when it is set, else true unless the row is a control
// holdout (the contract's rule for a null contacted).
func (iv *Intervention) Reached() bool {
	if iv.Contacted >= 0 {
		return iv.Contacted == 1
	}
	return iv.Group != GroupControl
}

// History is everything a dataset holds about one customer: the customers
// row and the customer's rows of every other table, each ordered by time
// (ties keep file order). It is the unit of per-customer computation.
type History struct {
	Customer      Customer
	Subscriptions []Subscription
	Usage         []Usage
	Payments      []Payment
	Contacts      []Contact
	Tickets       []Ticket
	Surveys       []Survey
	Signals       []Signal
	Orders        []Order
	ChurnEvents   []ChurnEvent
	Interventions []Intervention
	// Present says which tables the dataset holds: a table that is absent
	// is different from a table with no rows for this customer.
	Present TableSet
}

// TableSet is a set of contract tables, indexed by position in Contract.
type TableSet uint16

// Has reports whether the set holds the named table.
func (s TableSet) Has(name string) bool {
	i := tableIndex(name)
	return i >= 0 && s&(1<<i) != 0
}

// With returns s plus the named table.
func (s TableSet) With(name string) TableSet {
	i := tableIndex(name)
	if i < 0 {
		return s
	}
	return s | 1<<i
}

func tableIndex(name string) int {
	for i, t := range Contract {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// Reset empties h for reuse, keeping its storage.
func (h *History) Reset() {
	attrs := h.Customer.Attrs[:0]
	h.Customer = Customer{Attrs: attrs}
	h.Subscriptions = h.Subscriptions[:0]
	h.Usage = h.Usage[:0]
	h.Payments = h.Payments[:0]
	h.Contacts = h.Contacts[:0]
	h.Tickets = h.Tickets[:0]
	h.Surveys = h.Surveys[:0]
	h.Signals = h.Signals[:0]
	h.Orders = h.Orders[:0]
	h.ChurnEvents = h.ChurnEvents[:0]
	h.Interventions = h.Interventions[:0]
}

// Clone returns a deep copy of h that shares no slices with it.
func (h *History) Clone() *History {
	c := *h
	c.Customer.Attrs = slices.Clone(h.Customer.Attrs)
	c.Subscriptions = slices.Clone(h.Subscriptions)
	c.Usage = slices.Clone(h.Usage)
	c.Payments = slices.Clone(h.Payments)
	c.Contacts = slices.Clone(h.Contacts)
	c.Tickets = slices.Clone(h.Tickets)
	c.Surveys = slices.Clone(h.Surveys)
	c.Signals = slices.Clone(h.Signals)
	c.Orders = slices.Clone(h.Orders)
	c.ChurnEvents = slices.Clone(h.ChurnEvents)
	c.Interventions = slices.Clone(h.Interventions)
	return &c
}

// Column positions in contract order, checked by TestColumnPositions.
const (
	cSignup, cPlan, cSegment, cRegion, cSeats, cMRR, cContractEnd, cOwner, cChurnDate, cChurned = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
)

func bindCustomer(b *Batch, i int, c *Customer) {
	col := b.Cols
	c.ID = col[0].Str(i)
	c.SignupDate = col[cSignup].Date(i)
	c.Plan = col[cPlan].Str(i)
	c.Segment = col[cSegment].Str(i)
	c.Region = col[cRegion].Str(i)
	c.Seats = col[cSeats].Int(i)
	c.MRR = col[cMRR].Float(i)
	c.ContractEnd = col[cContractEnd].Date(i)
	c.Owner = col[cOwner].Str(i)
	c.ChurnDate = col[cChurnDate].Date(i)
	c.Churned = col[cChurned].Bool(i)
	c.Attrs = c.Attrs[:0]
	for a := range b.Attrs {
		v := &b.Attrs[a]
		var x AttrValue
		switch {
		case v.IsNull(i):
			x = AttrValue{Num: math.NaN(), Null: true}
		case v.Type == TypeString:
			x.Str = v.Str(i)
		case v.Type == TypeBool:
			x.Num = float64(v.Bool(i))
		default:
			x.Num = v.Float(i)
		}
		c.Attrs = append(c.Attrs, x)
	}
}

// binders append rows [lo, hi) of a batch to the matching slice of h.
var binders = map[string]func(b *Batch, lo, hi int, h *History){
	Subscriptions: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Subscriptions = append(h.Subscriptions, Subscription{
				Start: c[1].Date(i), End: c[2].Date(i), Plan: c[3].Str(i), Seats: c[4].Int(i), MRR: c[5].Float(i),
				BillingFrequency: c[6].Str(i), AutoRenew: c[7].Bool(i),
			})
		}
	},
	UsageTable: func(b *Batch, lo, hi int, h *History) {
		// The largest table: fill column by column, branching on absent
		// columns once per run instead of once per value.
		c := b.Cols
		n := len(h.Usage)
		h.Usage = slices.Grow(h.Usage, hi-lo)[:n+hi-lo]
		out := h.Usage[n:]
		dates := c[1].Dates[lo:hi]
		for k := range out {
			out[k] = Usage{Date: dates[k], ActiveUsers: NullInt, Sessions: NullInt, Minutes: math.NaN()}
		}
		if v := &c[2]; !v.Absent {
			for k, x := range v.Ints[lo:hi] {
				out[k].ActiveUsers = x
			}
		}
		if v := &c[3]; !v.Absent {
			for k, x := range v.Ints[lo:hi] {
				out[k].Sessions = x
			}
		}
		if v := &c[4]; !v.Absent {
			for k, x := range v.Floats[lo:hi] {
				out[k].Minutes = x
			}
		}
		if v := &c[5]; !v.Absent {
			for k := range out {
				out[k].Feature = v.Str(lo + k)
			}
		}
	},
	Payments: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		h.Payments = slices.Grow(h.Payments, hi-lo)
		for i := lo; i < hi; i++ {
			h.Payments = append(h.Payments, Payment{
				InvoiceDate: c[1].Date(i), DueDate: c[2].Date(i), PaidDate: c[3].Date(i), Amount: c[4].Float(i),
				Status: c[5].Str(i), PlanChange: c[6].Str(i), Method: c[7].Str(i),
			})
		}
	},
	Contacts: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Contacts = append(h.Contacts, Contact{
				TS: c[1].Time(i), Kind: c[2].Str(i), Role: c[3].Str(i), Channel: c[4].Str(i), Direction: c[5].Str(i),
			})
		}
	},
	Tickets: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Tickets = append(h.Tickets, Ticket{
				OpenedAt: c[1].Time(i), ClosedAt: c[2].Time(i), Priority: c[3].Str(i), Category: c[4].Str(i),
				Escalated: c[5].Bool(i) == 1, CSAT: c[6].Int(i),
			})
		}
	},
	Surveys: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Surveys = append(h.Surveys, Survey{TS: c[1].Time(i), NPS: c[2].Int(i)})
		}
	},
	Signals: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Signals = append(h.Signals, Signal{TS: c[1].Time(i), Kind: c[2].Str(i)})
		}
	},
	Orders: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Orders = append(h.Orders, Order{TS: c[1].Time(i), Amount: c[2].Float(i), Items: c[3].Int(i)})
		}
	},
	ChurnEvents: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.ChurnEvents = append(h.ChurnEvents, ChurnEvent{ChurnDate: c[1].Date(i), Reason: c[2].Str(i), ReactivatedAt: c[3].Date(i)})
		}
	},
	Interventions: func(b *Batch, lo, hi int, h *History) {
		c := b.Cols
		for i := lo; i < hi; i++ {
			h.Interventions = append(h.Interventions, Intervention{
				TS: c[1].Time(i), Play: c[2].Str(i), Owner: c[3].Str(i), Channel: c[4].Str(i), Note: c[5].Str(i),
				Group: c[6].Str(i), Contacted: c[7].Bool(i),
			})
		}
	},
}

// SortByTime orders each event slice of h by its time column, keeping the
// order of ties. Already-ordered slices (the usual case) cost one pass.
// Scan calls it for every History it hands out.
func (h *History) SortByTime() {
	if !sorted(h.Subscriptions, func(x *Subscription) int64 { return int64(x.Start) }) {
		slices.SortStableFunc(h.Subscriptions, func(a, b Subscription) int { return cmpInt(int64(a.Start), int64(b.Start)) })
	}
	if !sorted(h.Usage, func(x *Usage) int64 { return int64(x.Date) }) {
		slices.SortStableFunc(h.Usage, func(a, b Usage) int { return cmpInt(int64(a.Date), int64(b.Date)) })
	}
	if !sorted(h.Payments, func(x *Payment) int64 { return int64(x.InvoiceDate) }) {
		slices.SortStableFunc(h.Payments, func(a, b Payment) int { return cmpInt(int64(a.InvoiceDate), int64(b.InvoiceDate)) })
	}
	if !sorted(h.Contacts, func(x *Contact) int64 { return int64(x.TS) }) {
		slices.SortStableFunc(h.Contacts, func(a, b Contact) int { return cmpInt(int64(a.TS), int64(b.TS)) })
	}
	if !sorted(h.Tickets, func(x *Ticket) int64 { return int64(x.OpenedAt) }) {
		slices.SortStableFunc(h.Tickets, func(a, b Ticket) int { return cmpInt(int64(a.OpenedAt), int64(b.OpenedAt)) })
	}
	if !sorted(h.Surveys, func(x *Survey) int64 { return int64(x.TS) }) {
		slices.SortStableFunc(h.Surveys, func(a, b Survey) int { return cmpInt(int64(a.TS), int64(b.TS)) })
	}
	if !sorted(h.Signals, func(x *Signal) int64 { return int64(x.TS) }) {
		slices.SortStableFunc(h.Signals, func(a, b Signal) int { return cmpInt(int64(a.TS), int64(b.TS)) })
	}
	if !sorted(h.Orders, func(x *Order) int64 { return int64(x.TS) }) {
		slices.SortStableFunc(h.Orders, func(a, b Order) int { return cmpInt(int64(a.TS), int64(b.TS)) })
	}
	if !sorted(h.ChurnEvents, func(x *ChurnEvent) int64 { return int64(x.ChurnDate) }) {
		slices.SortStableFunc(h.ChurnEvents, func(a, b ChurnEvent) int { return cmpInt(int64(a.ChurnDate), int64(b.ChurnDate)) })
	}
	if !sorted(h.Interventions, func(x *Intervention) int64 { return int64(x.TS) }) {
		slices.SortStableFunc(h.Interventions, func(a, b Intervention) int { return cmpInt(int64(a.TS), int64(b.TS)) })
	}
}

// sorted reports whether s is ordered by key. key is a small function
// literal the compiler inlines into each instantiation's caller.
func sorted[T any](s []T, key func(*T) int64) bool {
	for i := 1; i < len(s); i++ {
		if key(&s[i]) < key(&s[i-1]) {
			return false
		}
	}
	return true
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
