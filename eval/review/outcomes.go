package review

import (
	"context"
	"fmt"
	"math"

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
	ids idIndex
	// cust[i] is what the label reads of customer i, in one record (one
	// cache line) per customer; its churn events are
	// events[cust[i].ev0:cust[i].ev1] and its orders likewise (times
	// only).
	cust   []custOutcome
	events []data.ChurnEvent
	orders []data.Order
}

type custOutcome struct {
	signup, churnDate data.Date
	ev0, ev1          int32
	ord0, ord1        int32
	churned           int8
}

// shardOutcomes is one shard's part of outcomes, in key order, with
// indexes into its own events and orders.
type shardOutcomes struct {
	ids    idIndex
	cust   []custOutcome
	events []data.ChurnEvent
	orders []data.Order
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
				p.ids.add(c.ID)
				rec := custOutcome{signup: c.SignupDate, churnDate: c.ChurnDate, churned: c.Churned, ev0: int32(len(p.events)), ord0: int32(len(p.orders))}
				for _, e := range h.ChurnEvents {
					p.events = append(p.events, data.ChurnEvent{ChurnDate: e.ChurnDate, ReactivatedAt: e.ReactivatedAt})
				}
				for _, o := range h.Orders {
					p.orders = append(p.orders, data.Order{TS: o.TS})
				}
				rec.ev1, rec.ord1 = int32(len(p.events)), int32(len(p.orders))
				p.cust = append(p.cust, rec)
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	o := &outcomes{lc: lc}
	for _, p := range parts {
		o.ids.append(&p.ids)
		ev, ord := int32(len(o.events)), int32(len(o.orders))
		for _, rec := range p.cust {
			rec.ev0, rec.ev1, rec.ord0, rec.ord1 = rec.ev0+ev, rec.ev1+ev, rec.ord0+ord, rec.ord1+ord
			o.cust = append(o.cust, rec)
		}
		o.events = append(o.events, p.events...)
		o.orders = append(o.orders, p.orders...)
	}
	if err := o.ids.index(); err != nil {
		return nil, err
	}
	return o, nil
}

// n returns the number of customers.
func (o *outcomes) n() int { return o.ids.len() }

// lookup returns the number of the customer with id, -1 when the dataset
// has no such customer.
func (o *outcomes) lookup(id string) int32 { return o.ids.find(o.ids.hashOf(id)) }

// idIndex numbers customer ids: the ids in one byte arena and an
// open-addressing table of (hash, number). The hash is seeded so that the
// data's ids hash apart (index picks the seed): a hash then identifies a
// customer of the data, and a lookup touches one slot. An id the data does
// not hold matches a customer only if its 64-bit hash equals that
// customer's, about one chance in 2^64 ÷ customers. It holds no pointers
// per customer, so the garbage collector never walks it.
type idIndex struct {
	arena []byte
	off   []int32 // id i is arena[off[i]:off[i+1]]
	seed  uint64
	table hashTable
}

// hashTable maps 64-bit hashes to numbers by open addressing (linear
// probing, at most half full).
type hashTable struct {
	slots []idSlot
	mask  uint64
}

type idSlot struct {
	h uint64
	i int32 // number + 1; 0 is empty
}

// reset empties the table, sized for n hashes.
func (t *hashTable) reset(n int) {
	size := 1
	for size < 2*n+1 {
		size *= 2
	}
	t.slots, t.mask = make([]idSlot, size), uint64(size-1)
}

// insert adds h with number i; false when h is there already.
func (t *hashTable) insert(h uint64, i int) bool {
	s := h & t.mask
	for ; t.slots[s].i != 0; s = (s + 1) & t.mask {
		if t.slots[s].h == h {
			return false
		}
	}
	t.slots[s] = idSlot{h, int32(i + 1)}
	return true
}

// find returns the number of h, or -1.
func (t *hashTable) find(h uint64) int32 {
	for s := h & t.mask; ; s = (s + 1) & t.mask {
		sl := t.slots[s]
		if sl.i == 0 {
			return -1
		}
		if sl.h == h {
			return sl.i - 1
		}
	}
}

// add appends id as the next number.
func (x *idIndex) add(id string) {
	if x.off == nil {
		x.off = []int32{0}
	}
	x.arena = append(x.arena, id...)
	x.off = append(x.off, int32(len(x.arena)))
}

// append adds the ids of y after x's.
func (x *idIndex) append(y *idIndex) {
	if x.off == nil {
		x.off = []int32{0}
	}
	if y.len() == 0 {
		return
	}
	base := int32(len(x.arena))
	x.arena = append(x.arena, y.arena...)
	for _, o := range y.off[1:] {
		x.off = append(x.off, base+o)
	}
}

func (x *idIndex) len() int { return max(len(x.off)-1, 0) }

// name returns id i (a new string).
func (x *idIndex) name(i int32) string { return string(x.arena[x.off[i]:x.off[i+1]]) }

func (x *idIndex) bytes(i int) []byte { return x.arena[x.off[i]:x.off[i+1]] }

// hashOf returns the index's hash of id.
func (x *idIndex) hashOf(id string) uint64 { return idHash(id, x.seed) }

// index builds the table, once every id is added, with the first seed
// under which the ids hash apart (the data's reader refuses duplicate ids,
// so one is found at once but for a 64-bit collision).
func (x *idIndex) index() error {
	for x.seed = 0; x.seed < 16; x.seed++ {
		x.table.reset(x.len())
		ok := true
		for i := 0; i < x.len() && ok; i++ {
			ok = x.table.insert(idHash(string(x.bytes(i)), x.seed), i)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("customer ids hash alike under 16 seeds; are some ids given twice?")
}

// find returns the number of the id whose hash is h, or -1.
func (x *idIndex) find(h uint64) int32 { return x.table.find(h) }

// label returns customer i's outcome at T by features.Label: 1 churned
// within the horizon, 0 stayed, NaN unknown (the window is not closed by
// the data end); active is false when i was not a customer at T. h is the
// caller's scratch history (one per goroutine).
func (o *outcomes) label(i int32, T data.Date, h *data.History) (float64, bool) {
	return o.labelOf(&o.cust[i], T, h)
}

// labelOf is label of a customer's record.
func (o *outcomes) labelOf(c *custOutcome, T data.Date, h *data.History) (float64, bool) {
	h.Customer.SignupDate, h.Customer.ChurnDate, h.Customer.Churned = c.signup, c.churnDate, c.churned
	h.ChurnEvents = o.events[c.ev0:c.ev1]
	h.Orders = o.orders[c.ord0:c.ord1]
	return features.Label(h, T, &o.lc)
}

// closed reports whether the outcome window of a unit dated T is closed
// by the data end.
func (o *outcomes) closed(T data.Date) bool {
	return o.lc.Spec().Observed(T, o.lc.DataEnd)
}

// measured are the customers closed runs are measured on: those whose
// sampleHash is at most cut (every customer when cut is MaxUint64), with
// their numbers and records in a small table of their own, so that
// measuring a run touches little memory (the same customers every run).
type measured struct {
	cut   uint64
	table hashTable // hash → index in num and rec
	num   []int32
	rec   []custOutcome
}

// newMeasured picks the sample of o's customers for cut and seed.
func newMeasured(o *outcomes, cut, seed uint64) *measured {
	m := &measured{cut: cut}
	if cut == math.MaxUint64 {
		return m
	}
	var hs []uint64
	for i := 0; i < o.n(); i++ {
		h := o.ids.hashOf(string(o.ids.bytes(i)))
		if sampleHash(h, seed) <= cut {
			hs = append(hs, h)
			m.num = append(m.num, int32(i))
			m.rec = append(m.rec, o.cust[i])
		}
	}
	m.table.reset(len(hs))
	for j, h := range hs {
		m.table.insert(h, j)
	}
	return m
}

// has reports whether the customer whose hash is h is in the sample.
func (m *measured) has(h, seed uint64) bool {
	return m.cut == math.MaxUint64 || sampleHash(h, seed) <= m.cut
}

// find returns the sample's index of the customer whose hash is h, or -1.
func (m *measured) find(h uint64) int { return int(m.table.find(h)) }
