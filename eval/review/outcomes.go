package review

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// outcomes holds what the label needs of every customer of the dataset,
// compactly, so that the churn outcome of any customer at any date is one
// call of features.Label: the same definition as the training labels.
// Customers are numbered in customer_id order. It is read-only after
// loadOutcomes and safe for concurrent use.
type outcomes struct {
	lc  features.LabelConfig
	ids map[string]int32
	// name[i] is customer i's id.
	name    []string
	signup  []data.Date
	churnDt []data.Date
	churned []int8
	// Customer i's churn events are events[evAt[i]:evAt[i+1]], its orders
	// orders[ordAt[i]:ordAt[i+1]] (times only).
	evAt   []int32
	events []data.ChurnEvent
	ordAt  []int32
	orders []data.Order
}

// shardOutcomes is one shard's part of outcomes, in key order.
type shardOutcomes struct {
	name    []string
	signup  []data.Date
	churnDt []data.Date
	churned []int8
	nEv     []int32
	events  []data.ChurnEvent
	nOrd    []int32
	orders  []data.Order
}

// loadOutcomes scans the label inputs of ds (features.LabelInputs: the
// customers' dates and the label table's few columns) in workers shards.
func loadOutcomes(ctx context.Context, ds *data.Dataset, lc features.LabelConfig, workers int) (*outcomes, error) {
	shards := ds.Shards(workers)
	parts := make([]shardOutcomes, len(shards))
	opt := features.LabelInputs(lc.Mode)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for s, r := range shards {
		g.Go(func() error {
			p := &parts[s]
			_, err := ds.Scan(gctx, r, opt, func(h *data.History) error {
				c := &h.Customer
				p.name = append(p.name, strings.Clone(c.ID))
				p.signup = append(p.signup, c.SignupDate)
				p.churnDt = append(p.churnDt, c.ChurnDate)
				p.churned = append(p.churned, c.Churned)
				p.nEv = append(p.nEv, int32(len(h.ChurnEvents)))
				p.events = append(p.events, h.ChurnEvents...)
				p.nOrd = append(p.nOrd, int32(len(h.Orders)))
				for _, o := range h.Orders {
					p.orders = append(p.orders, data.Order{TS: o.TS})
				}
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	o := &outcomes{lc: lc, ids: map[string]int32{}, evAt: []int32{0}, ordAt: []int32{0}}
	for _, p := range parts {
		for i, id := range p.name {
			o.ids[id] = int32(len(o.name))
			o.name = append(o.name, id)
			o.evAt = append(o.evAt, o.evAt[len(o.evAt)-1]+p.nEv[i])
			o.ordAt = append(o.ordAt, o.ordAt[len(o.ordAt)-1]+p.nOrd[i])
		}
		o.signup = append(o.signup, p.signup...)
		o.churnDt = append(o.churnDt, p.churnDt...)
		o.churned = append(o.churned, p.churned...)
		o.events = append(o.events, p.events...)
		o.orders = append(o.orders, p.orders...)
	}
	return o, nil
}

// lookup returns the number of the customer with id, -1 when the dataset
// has no such customer.
func (o *outcomes) lookup(id string) int32 {
	if i, ok := o.ids[id]; ok {
		return i
	}
	return -1
}

// label returns customer i's outcome at T by features.Label: 1 churned
// within the horizon, 0 stayed, NaN unknown (the window is not closed by
// the data end); active is false when i was not a customer at T. h is the
// caller's scratch history (one per goroutine).
func (o *outcomes) label(i int32, T data.Date, h *data.History) (float64, bool) {
	h.Customer.SignupDate, h.Customer.ChurnDate, h.Customer.Churned = o.signup[i], o.churnDt[i], o.churned[i]
	h.ChurnEvents = o.events[o.evAt[i]:o.evAt[i+1]]
	h.Orders = o.orders[o.ordAt[i]:o.ordAt[i+1]]
	return features.Label(h, T, &o.lc)
}

// closed reports whether the outcome window of a unit dated T is closed
// by the data end.
func (o *outcomes) closed(T data.Date) bool {
	return o.lc.Spec().Observed(T, o.lc.DataEnd)
}
