package lifetime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/clv"
)

// Purchase event sources (Options.Events).
const (
	// EventsOrders reads the orders table: one purchase per order, its
	// ts's day and amount.
	EventsOrders = "orders"
	// EventsPayments reads the payments table as purchases: one per
	// invoice that was paid (status paid or late), on its invoice_date,
	// for its amount. Failed, refunded and open invoices brought no money
	// and are not purchases.
	EventsPayments = "payments"
)

// ErrNoPurchases is returned when no customer has a purchase before the
// as-of date: there is nothing to fit.
var ErrNoPurchases = errors.New("no purchase before the as-of date")

// Options are the inputs of Run.
type Options struct {
	Dataset *data.Dataset
	// AsOf ends the calibration period: events strictly before it are the
	// models' inputs. Required.
	AsOf data.Date
	// HoldoutEnd ends the holdout period [AsOf, HoldoutEnd) whose actual
	// repeat purchases are compared with the model's expectations;
	// data.NoDate means the day after the last purchase event in the data.
	HoldoutEnd data.Date
	// Events is EventsOrders (also when "") or EventsPayments.
	Events string
	// HorizonDays is the window of expected_purchases and prob_no_purchase
	// (> 0); CLVMonths the CLV horizon (> 0); AnnualDiscount the CLV's
	// yearly discount rate (≥ 0, 0 means none). Their defaults are
	// features.LifetimeConfig's (the one definition; the command's flags
	// read it).
	HorizonDays    int
	CLVMonths      int
	AnnualDiscount float64
	// Workers bounds the parallel scan and scoring; 0 means GOMAXPROCS.
	Workers int
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

func (o *Options) validate() error {
	switch o.Events {
	case "":
		o.Events = EventsOrders
	case EventsOrders, EventsPayments:
	default:
		return fmt.Errorf("events %q: want %s or %s", o.Events, EventsOrders, EventsPayments)
	}
	if !o.AsOf.Valid() {
		return errors.New("the as-of date is required")
	}
	if o.HoldoutEnd.Valid() && o.HoldoutEnd <= o.AsOf {
		return fmt.Errorf("holdout end %s is not after the as-of date %s", o.HoldoutEnd, o.AsOf)
	}
	if o.HorizonDays <= 0 {
		return fmt.Errorf("horizon %d days: want a positive number", o.HorizonDays)
	}
	if o.CLVMonths <= 0 {
		return fmt.Errorf("CLV horizon %d months: want a positive number", o.CLVMonths)
	}
	if !(o.AnnualDiscount >= 0) || math.IsInf(o.AnnualDiscount, 0) {
		return fmt.Errorf("discount %v: want a yearly rate ≥ 0 (0.1 = 10%%)", o.AnnualDiscount)
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// customers holds the fitted customers in customer_id order: their ids,
// calibration summaries, holdout purchase days and Kaplan-Meier inputs.
type customers struct {
	ids     []string
	sum     []clv.Summary
	holdout []int32 // distinct purchase days in [AsOf, HoldoutEnd)
	cohort  []data.Date
	kmDays  []float64 // days observed until lapse or censoring
	kmEvent []bool
}

// scanned is one shard's part of the pass over the data.
type scanned struct {
	customers
	all        int64     // customers in the shard
	noPurchase int64     // customers without an event before AsOf
	events     int64     // purchase events read
	first      data.Date // first event day
	last       data.Date // last event day
}

// ScanOptions returns what Run reads of a dataset: the customers' signup
// and churn dates, the purchase events' day, amount (and, for payments,
// status) and the churn events' dates.
func ScanOptions(ds *data.Dataset, events string) data.ScanOptions {
	opt := data.ScanOptions{Columns: map[string][]string{data.Customers: {"signup_date", "churn_date"}}}
	switch events {
	case EventsPayments:
		opt.Tables = []string{data.Payments}
		opt.Columns[data.Payments] = []string{"invoice_date", "amount", "status"}
	default:
		opt.Tables = []string{data.Orders}
		opt.Columns[data.Orders] = []string{"ts", "amount"}
	}
	if ds.Has(data.ChurnEvents) {
		opt.Tables = append(opt.Tables, data.ChurnEvents)
		opt.Columns[data.ChurnEvents] = []string{"churn_date"}
	}
	return opt
}

// purchases returns the customer's purchase events in time order, as
// orders: the orders themselves, or the paid invoices (buf is reused).
func purchases(h *data.History, events string, buf []data.Order) []data.Order {
	if events != EventsPayments {
		return h.Orders
	}
	buf = buf[:0]
	for _, p := range h.Payments {
		if p.InvoiceDate.Valid() && (p.Status == "paid" || p.Status == "late") {
			buf = append(buf, data.Order{TS: p.InvoiceDate.Start(), Amount: p.Amount})
		}
	}
	return buf
}

// scan reads the dataset once, in shards: the calibration summary (RFM at
// AsOf), the holdout's distinct purchase days and the lapse times of every
// customer.
func scan(ctx context.Context, o *Options, lapseDays int, useChurn bool) (*scanned, error) {
	ds := o.Dataset
	if !ds.Has(o.Events) {
		return nil, fmt.Errorf("dataset has no %s table: churn lifetime needs purchase events (--events orders or payments)", o.Events)
	}
	shards := ds.Shards(o.Workers * 4)
	parts := make([]scanned, len(shards))
	sopt := ScanOptions(ds, o.Events)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	asOfStart := o.AsOf.Start()
	for s, r := range shards {
		g.Go(func() error {
			p := &parts[s]
			p.first, p.last = data.NoDate, data.NoDate
			var buf []data.Order
			_, err := ds.Scan(gctx, r, sopt, func(h *data.History) error {
				p.all++
				ev := purchases(h, o.Events, buf)
				if o.Events == EventsPayments {
					buf = ev
				}
				p.events += int64(len(ev))
				if n := len(ev); n > 0 {
					if d := ev[0].TS.Date(); !p.first.Valid() || d < p.first {
						p.first = d
					}
					if d := ev[n-1].TS.Date(); d > p.last {
						p.last = d
					}
				}
				churn := churnDate(h)
				s, ok := features.RFM(ev, o.AsOf)
				if !ok {
					p.noPurchase++
					return nil
				}
				var days int32
				prev := data.NoDate
				for i := range ev {
					if ev[i].TS < asOfStart {
						continue
					}
					d := ev[i].TS.Date()
					if o.HoldoutEnd.Valid() && d >= o.HoldoutEnd {
						break
					}
					if d != prev {
						days++
						prev = d
					}
				}
				first := ev[0].TS.Date()
				cohort := h.Customer.SignupDate
				if !cohort.Valid() || cohort > first {
					cohort = first
				}
				t, event := lapse(ev, first, churn, o.AsOf, lapseDays, useChurn)
				p.ids = append(p.ids, strings.Clone(h.Customer.ID))
				p.sum = append(p.sum, s)
				p.holdout = append(p.holdout, days)
				p.cohort = append(p.cohort, cohort)
				p.kmDays = append(p.kmDays, t)
				p.kmEvent = append(p.kmEvent, event)
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	all := &scanned{}
	all.first, all.last = data.NoDate, data.NoDate
	for i := range parts {
		p := &parts[i]
		all.ids = append(all.ids, p.ids...)
		all.sum = append(all.sum, p.sum...)
		all.holdout = append(all.holdout, p.holdout...)
		all.cohort = append(all.cohort, p.cohort...)
		all.kmDays = append(all.kmDays, p.kmDays...)
		all.kmEvent = append(all.kmEvent, p.kmEvent...)
		all.all += p.all
		all.noPurchase += p.noPurchase
		all.events += p.events
		if p.first.Valid() && (!all.first.Valid() || p.first < all.first) {
			all.first = p.first
		}
		if p.last > all.last {
			all.last = p.last
		}
	}
	return all, nil
}

// churnDate returns the customer's churn date: customers.churn_date, else
// the first churn event's day; data.NoDate when neither is known.
func churnDate(h *data.History) data.Date {
	if d := h.Customer.ChurnDate; d.Valid() {
		return d
	}
	for _, e := range h.ChurnEvents {
		if e.ChurnDate.Valid() {
			return e.ChurnDate
		}
	}
	return data.NoDate
}

// lapse returns the Kaplan-Meier time (days from the first purchase) and
// event flag of a customer, from what was known the day before asOf:
//
//   - When the dataset records churn (useChurn: a churn_date column or a
//     churn_events table), a customer with a churn date before asOf
//     churned then; the others are censored at asOf − 1 day.
//   - Otherwise (no churn data, the usual case without contracts) the
//     customer lapsed at the first gap of lapseDays days without a
//     purchase: the event time is the last purchase before the gap plus
//     lapseDays. A customer whose latest gap is still open at asOf is
//     censored at asOf − 1 day.
//
// A lapse is a definition, not an observed churn: a lapsed customer may
// buy again (BG/NBD's P(alive) says how likely that is).
func lapse(ev []data.Order, first, churn, asOf data.Date, lapseDays int, useChurn bool) (float64, bool) {
	end := asOf - 1
	if useChurn {
		if churn.Valid() && churn <= end {
			return float64(max(churn-first, 0)), true
		}
		return float64(end - first), false
	}
	prev := first
	for i := range ev {
		d := ev[i].TS.Date()
		if d > end {
			break
		}
		if int(d-prev) >= lapseDays {
			return float64(prev-first) + float64(lapseDays), true
		}
		prev = d
	}
	if int(end-prev) >= lapseDays {
		return float64(prev-first) + float64(lapseDays), true
	}
	return float64(end - first), false
}
