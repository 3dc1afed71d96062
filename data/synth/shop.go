package synth

import (
	"math"

	"github.com/churnlab/churn/data"
)

// ShopModel documents the latent model of BusinessEcommerce: a BG/NBD
// purchase process (Fader, Hardie and Lee 2005) with Gamma-Gamma spend
// (Fader, Hardie and Lee 2005, "RFM and CLV"), plus a planted warning
// sign: a purchase-rate decline before dropout. The generator reads its
// parameters from [Shop], so the documentation cannot drift from what is
// generated.
//
// Every customer makes its first purchase on its signup day (signups are
// uniform over the period, so each month is a cohort). While alive, it
// makes repeat purchases as a Poisson process with rate λ a week, λ ~
// Gamma(shape R, rate Alpha); after each repeat purchase it drops out
// with probability p, p ~ Beta(A, B), and never buys again. The day of
// its last purchase is its (latent) dropout day: the data has no churn
// date, so churn is read from inactivity.
//
// A share DeclineShare of customers fade before they leave: over the
// DeclineDays before the last purchase, intensity x rises linearly from 0
// to 1, the purchase rate is multiplied by (1 − DeclineRate·x) and each
// order's amount by (1 − DeclineBasket·x) (fewer items). The decline
// stretches calendar time only: in "purchase time" (the expected number
// of purchases) the customer follows BG/NBD exactly, so its number of
// repeat purchases before dropout is still geometric; a decliner's last
// purchases come later and are smaller than they would have been.
//
// Order values follow Gamma-Gamma: each customer has a spend scale ν ~
// Gamma(shape Q, rate Gamma), and each order's amount is Gamma(shape P,
// rate ν) (mean P·Gamma/(Q − 1) across customers), times 1.8 for business
// customers, rounded to cents (at least 1.00). Items are the amount
// divided by the customer's typical item price (lognormal, median
// ItemPrice), rounded, at least 1.
type ShopModel struct {
	// R and Alpha: λ ~ Gamma(R, Alpha), repeat purchases a week (mean
	// R/Alpha).
	R, Alpha float64
	// A and B: p ~ Beta(A, B), the dropout probability after each repeat
	// purchase (mean A/(A+B)).
	A, B float64
	// P, Q and Gamma: Gamma-Gamma spend per order.
	P, Q, Gamma float64
	// ItemPrice is the median price of one item.
	ItemPrice float64
	// DeclineShare is the share of customers whose purchase rate declines
	// before their dropout.
	DeclineShare float64
	// DeclineDays is the range of lengths, in days, of the decline: it
	// starts L days before the last purchase, L uniform in the range.
	DeclineDays [2]int
	// DeclineRate is the fall of the purchase rate at full intensity.
	DeclineRate float64
	// DeclineBasket is the fall of the order amount at full intensity.
	DeclineBasket float64
	// BusinessShare is the share of customers in segment "business".
	BusinessShare float64
}

// Shop is the model of BusinessEcommerce. It documents constants of the
// generator and must not be modified.
var Shop = ShopModel{
	R: 0.75, Alpha: 5,
	A: 0.8, B: 5,
	P: 6, Q: 4, Gamma: 40,
	ItemPrice:     25,
	DeclineShare:  0.6,
	DeclineDays:   [2]int{90, 180},
	DeclineRate:   0.8,
	DeclineBasket: 0.35,
	BusinessShare: 0.15,
}

// maxRepeats bounds ShopTruth.Repeats (a customer with p near 0 never
// drops out in any period the generator covers).
const maxRepeats = 1 << 30

// Vocabularies of the shop's string columns.
var (
	shopSegments = []string{"consumer", "business"}
	shopChannels = []string{"organic", "paid_search", "social", "referral", "email"}
	channelShare = []float64{0.35, 0.25, 0.2, 0.1, 0.1}
)

// ShopTruth is the hidden state of one customer of BusinessEcommerce.
type ShopTruth struct {
	Index   int    // 0-based customer index
	ID      string // customer_id
	Segment string // consumer or business
	// Signup is the day of the first purchase.
	Signup data.Date
	// Lambda is the repeat purchase rate, a week, outside a decline; P is
	// the dropout probability after each repeat purchase.
	Lambda, P float64
	// Repeats is the number of repeat purchases after which the customer
	// drops out (it may lie beyond the period's end).
	Repeats int
	// Dropout is the day of the last purchase, after which the customer
	// buys nothing; NoDate when it lies after the end of the period.
	Dropout data.Date
	// Decline reports a customer whose purchase rate declines before its
	// dropout, from DeclineStart (which may lie before Signup or after
	// the period's end; NoDate when the dropout lies so far after the end
	// that the generator does not compute it).
	Decline      bool
	DeclineStart data.Date
}

// DroppedOut reports whether the customer dropped out within the period.
func (t *ShopTruth) DroppedOut() bool { return t.Dropout.Valid() }

// ShopTruthOf returns the hidden state of customer i (0-based) of
// BusinessEcommerce under p (whatever p.Business). It is a pure function
// of p.Seed, p.Months, p.End and i.
func ShopTruthOf(p Params, i int) ShopTruth {
	p.EnsureDefaults()
	var s shopper
	s.draw(&p, i, newRNG())
	return s.ShopTruth
}

// shopper is the full hidden state of one customer of the shop while its
// rows are generated. It is reused from customer to customer.
type shopper struct {
	ShopTruth
	seg, region, channel int
	nu                   float64 // spend scale of Gamma-Gamma
	itemPrice            float64
	// orders are the order times, in days since the epoch, of the
	// purchases on or before the end of the period, the first one
	// included; gaps holds the repeat purchases' exponential gaps.
	orders, gaps []float64
	// declineFrom and declineLen are the decline's start, in days since
	// the epoch, and length in days (length 0 without a decline within
	// reach of the period).
	declineFrom, declineLen float64
}

// draw makes customer i's profile and order times.
func (s *shopper) draw(p *Params, i int, r *rng) {
	orders, gaps := s.orders[:0], s.gaps[:0]
	*s = shopper{orders: orders, gaps: gaps}
	m := &Shop
	start, end := p.Start(), p.End
	r.seed(p.Seed, i, streamProfile)
	s.Index, s.ID = i, CustomerID(i)
	s.seg = 0
	if r.chance(m.BusinessShare) {
		s.seg = 1
	}
	s.Segment = shopSegments[s.seg]
	s.region = r.pick(regionShare)
	s.channel = r.pick(channelShare)
	s.Signup = start + data.Date(r.IntN(int(end-start)+1))
	s.Lambda = r.gamma(m.R) / m.Alpha
	s.P = r.beta(m.A, m.B)
	s.nu = r.gamma(m.Q) / m.Gamma
	s.itemPrice = r.lognormal(m.ItemPrice, 0.4)
	s.Decline = r.chance(m.DeclineShare)
	var length float64
	if s.Decline {
		length = float64(r.days(m.DeclineDays[0], m.DeclineDays[1]))
	}
	// Repeats: the geometric number of repeat purchases up to and
	// including the one after which the customer drops out.
	u, q := 1-r.Float64(), math.Log1p(-s.P) // u in (0, 1]; q < 0 unless p is 0
	s.Repeats = maxRepeats
	if q < 0 {
		s.Repeats = 1 + int(min(math.Log(u)/q, maxRepeats-1))
	}
	birth := float64(s.Signup) + r.Float64()
	s.orders = append(s.orders, birth)
	s.Dropout, s.DeclineStart = data.NoDate, data.NoDate

	// Purchase time x (expected purchases since birth) runs at rate λ a
	// week; without a decline, day = birth + x/λ·7. Draw the gaps until
	// the dropout or until the undeclined clock passes the reach of the
	// period (a decline only slows the clock down, and one that starts
	// after the end changes nothing within the period).
	perDay := s.Lambda / 7
	reach := float64(end+1) - birth + float64(m.DeclineDays[1])
	var x float64
	for k := 0; k < s.Repeats; k++ {
		x += r.ExpFloat64()
		s.gaps = append(s.gaps, x)
		if x/perDay > reach {
			break
		}
	}
	if len(s.gaps) < s.Repeats || x/perDay > reach {
		// The dropout lies beyond the period's reach: no decline shows
		// (the decline's clock is the identity before its start, which
		// lies after the end).
		for _, g := range s.gaps {
			if d := birth + g/perDay; d < float64(end+1) {
				s.orders = append(s.orders, d)
			}
		}
		return
	}
	// The dropout is the last gap: map purchase time to days with the
	// decline anchored on it.
	total := x
	cl := newClock(perDay, length, m.DeclineRate, total)
	last := birth + cl.day(total)
	for _, g := range s.gaps {
		if d := birth + cl.day(g); d < float64(end+1) {
			s.orders = append(s.orders, d)
		}
	}
	if last < float64(end+1) {
		s.Dropout = data.Date(math.Floor(last))
	}
	if s.Decline {
		s.declineFrom, s.declineLen = last-length, length
		s.DeclineStart = data.Date(math.Floor(s.declineFrom))
	}
}

// clock maps purchase time x (expected purchases since birth) to days
// since birth for a customer whose rate perDay is multiplied by (1 −
// s·u/L) over the last L days of a life of total purchase time S, u the
// days since the decline started. Without a decline (L = 0) the day is
// x/perDay.
type clock struct {
	perDay, l, s float64
	// off is S minus the purchase time the decline holds (Q = perDay·L·
	// (1 − s/2)): the purchase time at which the decline starts, negative
	// when the life starts within the decline.
	off float64
}

func newClock(perDay, l, s, total float64) clock {
	c := clock{perDay: perDay, l: l, s: s}
	c.off = total - perDay*l*(1-s/2)
	return c
}

// within returns the days into the decline at which purchase time y
// (0 ≤ y ≤ Q) since its start is reached: the root of perDay·(u −
// s·u²/(2L)) = y.
func (c *clock) within(y float64) float64 {
	if c.s == 0 {
		return y / c.perDay
	}
	disc := max(0, 1-2*c.s*y/(c.perDay*c.l))
	return (1 - math.Sqrt(disc)) * c.l / c.s
}

func (c *clock) day(x float64) float64 {
	switch {
	case c.l == 0:
		return x / c.perDay
	case c.off >= 0 && x <= c.off:
		return x / c.perDay
	case c.off >= 0:
		return c.off/c.perDay + c.within(x-c.off)
	}
	return c.within(x-c.off) - c.within(-c.off)
}

// declineAt returns the decline's intensity, 0…1, at day t.
func (s *shopper) declineAt(t float64) float64 {
	if s.declineLen == 0 || t <= s.declineFrom {
		return 0
	}
	return min(1, (t-s.declineFrom)/s.declineLen)
}

// shopCustomer generates shop customer i into the chunk's tables.
func (w *worker) shopCustomer(ch *chunk, i, ci int) {
	s := &w.s
	s.draw(w.p, i, w.r)
	ch.newCustomers++
	if s.DroppedOut() {
		ch.churned++
		if s.Decline {
			ch.declined++
		}
	}
	t := &ch.t[tShopCustomers]
	t.row(ci)
	t.date(1, s.Signup)
	t.code(2, s.seg)
	t.code(3, s.region)
	t.code(4, s.channel)

	r, m := w.r, &Shop
	r.seed(w.p.Seed, s.Index, streamOrders)
	scale := 1.0
	if s.seg == 1 {
		scale = 1.8
	}
	t = &ch.t[tOrders]
	for _, d := range s.orders {
		amount := r.gamma(m.P) / s.nu * scale * (1 - m.DeclineBasket*s.declineAt(d))
		amount = max(1, math.Round(amount*100)/100)
		items := max(1, math.Round(amount/s.itemPrice*(1+0.15*r.NormFloat64())))
		t.row(ci)
		t.ts(1, data.Timestamp(d*86400*microsPerSecond))
		t.float(2, amount)
		t.int(3, int64(items))
	}
}
