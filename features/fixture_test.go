package features

import (
	"time"

	"github.com/churnlab/churn/data"
)

func day(s string) data.Date {
	d, err := data.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func at(s string) data.Timestamp {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
		if err != nil {
			panic(err)
		}
	}
	return data.TimestampOf(t)
}

// fixtureT is the as-of date of the hand-worked fixture.
var fixtureT = day("2024-07-01")

// fixture returns a customer whose every feature at fixtureT was worked out
// by hand (see TestComputeFixture). Rows on or after fixtureT are present to
// show they are ignored.
func fixture() *data.History {
	h := &data.History{Customer: data.Customer{
		ID: "C1", SignupDate: day("2023-01-15"), Plan: "pro", Segment: "mid", Region: "emea",
		Seats: 99, MRR: 9999, ContractEnd: day("2030-01-01"), ChurnDate: day("2024-08-15"), Churned: -1,
	}}
	for _, t := range []string{data.Customers, data.Subscriptions, data.UsageTable, data.Payments, data.Contacts, data.Tickets, data.Surveys, data.Signals, data.Orders} {
		h.Present = h.Present.With(t)
	}
	h.Subscriptions = []data.Subscription{
		{Start: day("2023-01-15"), End: day("2024-04-30"), Plan: "basic", Seats: 12, MRR: 600, BillingFrequency: "annual", AutoRenew: 1},
		{Start: day("2024-05-01"), End: day("2024-09-30"), Plan: "basic", Seats: 10, MRR: 500, BillingFrequency: "annual", AutoRenew: 0},
		{Start: day("2024-08-01"), Plan: "enterprise", Seats: 50, MRR: 5000, BillingFrequency: "annual", AutoRenew: 1},
	}
	// Weekly usage every Monday from 2024-01-01: 20 active users until
	// 2024-05-27, then 10, 8, 6, 4; sessions twice the users.
	for d := day("2024-01-01"); d < day("2024-06-01"); d += 7 {
		h.Usage = append(h.Usage, data.Usage{Date: d, ActiveUsers: 20, Sessions: 40, Minutes: 100})
	}
	for i, au := range []int64{10, 8, 6, 4} {
		h.Usage = append(h.Usage, data.Usage{Date: day("2024-06-03") + data.Date(7*i), ActiveUsers: au, Sessions: 2 * au, Minutes: 50})
	}
	h.Usage = append(h.Usage, data.Usage{Date: fixtureT, ActiveUsers: 100, Sessions: 100, Minutes: 100})

	pay := func(inv, due, paid, status, method string) data.Payment {
		p := data.Payment{InvoiceDate: day(inv), DueDate: day(due), PaidDate: data.NoDate, Amount: 500, Status: status, Method: method}
		if paid != "" {
			p.PaidDate = day(paid)
		}
		return p
	}
	h.Payments = []data.Payment{
		pay("2023-12-01", "2023-12-31", "2023-12-11", "paid", "card"),
		pay("2024-01-01", "2024-01-31", "2024-01-20", "paid", "card"),
		pay("2024-02-01", "2024-03-02", "2024-02-15", "paid", "card"),
		pay("2024-03-01", "2024-03-31", "2024-03-10", "paid", "card"),
		pay("2024-04-01", "2024-05-01", "2024-05-10", "late", "card"),
		pay("2024-05-01", "2024-05-31", "2024-06-20", "late", "invoice"),
		pay("2024-06-01", "2024-06-15", "", "failed", "invoice"),
		pay("2024-06-15", "2024-06-25", "2024-07-05", "paid", "invoice"),
		pay("2024-07-01", "2024-07-31", "", "open", "wire"),
	}
	h.Contacts = []data.Contact{
		{TS: at("2024-02-01T10:00"), Kind: "champion_changed"},
		{TS: at("2024-03-01T10:00"), Kind: "interaction", Direction: "outbound"},
		{TS: at("2024-04-10T10:00"), Kind: "interaction", Direction: "inbound"},
		{TS: at("2024-05-15T10:00"), Kind: "interaction", Direction: "outbound"},
		{TS: at("2024-05-20T10:00"), Kind: "stakeholder_left"},
		{TS: at("2024-06-10T10:00"), Kind: "interaction", Direction: "inbound"},
		{TS: at("2024-07-01T10:00"), Kind: "interaction", Direction: "inbound"},
	}
	h.Tickets = []data.Ticket{
		{OpenedAt: at("2024-03-10T09:00"), ClosedAt: at("2024-03-11T09:00"), Priority: "low", Category: "billing", CSAT: 5},
		{OpenedAt: at("2024-04-15T08:00"), ClosedAt: at("2024-04-16T20:00"), Priority: "high", Category: "billing", Escalated: true, CSAT: 1},
		{OpenedAt: at("2024-05-20T10:00"), ClosedAt: at("2024-05-20T22:00"), Priority: "low", Category: "billing", CSAT: data.NullInt},
		{OpenedAt: at("2024-06-05T00:00"), ClosedAt: at("2024-07-02T00:00"), Priority: "urgent", Category: "bug", Escalated: true, CSAT: 1},
		{OpenedAt: at("2024-06-20T12:00"), ClosedAt: data.NoTime, Priority: "low", Category: "how_to", CSAT: data.NullInt},
		{OpenedAt: at("2024-07-01T01:00"), ClosedAt: data.NoTime, Priority: "urgent", Category: "bug", Escalated: true, CSAT: data.NullInt},
	}
	h.Surveys = []data.Survey{{TS: at("2023-12-01"), NPS: 9}, {TS: at("2024-04-01"), NPS: 5}, {TS: at("2024-07-01"), NPS: 0}}
	h.Signals = []data.Signal{
		{TS: at("2024-03-01"), Kind: "training_view"},
		{TS: at("2024-04-05"), Kind: "training_view"},
		{TS: at("2024-05-01"), Kind: "billing_question"},
		{TS: at("2024-06-20"), Kind: "data_export"},
		{TS: at("2024-06-25"), Kind: "data_export"},
		{TS: at("2024-06-30T23:59"), Kind: "cancel_page_view"},
		{TS: at("2024-07-01T00:00"), Kind: "cancel_page_view"},
	}
	h.Orders = []data.Order{
		{TS: at("2023-07-01"), Amount: 100, Items: 1},
		{TS: at("2023-10-01"), Amount: 100, Items: 1},
		{TS: at("2024-01-10"), Amount: 50, Items: 1},
		{TS: at("2024-02-15"), Amount: 70, Items: 1},
		{TS: at("2024-05-01"), Amount: 30, Items: 1},
		{TS: at("2024-06-20"), Amount: 150, Items: 1},
		{TS: at("2024-07-01"), Amount: 1000, Items: 9},
	}
	return h
}

func defaultConfig() *Config {
	c := &Config{}
	c.EnsureDefaults()
	return c
}
