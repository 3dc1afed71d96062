package synth

import (
	"cmp"
	"math"
	"slices"

	"github.com/churnlab/churn/data"
)

const microsPerSecond = 1_000_000

// at returns a timestamp on day d at a business-hours second (07:00–19:00
// UTC).
func at(r *rng, d data.Date) data.Timestamp {
	return d.Start() + data.Timestamp((7*3600+r.IntN(12*3600))*microsPerSecond)
}

// event is a timestamped row of contacts or signals, sorted before writing.
type event struct {
	ts                          data.Timestamp
	kind, role, channel, direct int // direct is -1 for signals and stakeholder events
}

type ticket struct {
	opened, closed data.Timestamp
	prio, cat      int
	escalated      bool
	csat           int64
}

// worker generates customers into chunks; each goroutine has its own.
type worker struct {
	p       *Params
	r       *rng
	c       customer
	s       shopper
	events  []event
	tk      []ticket
	holiday []bool // by week since the start of the period
}

func newWorker(p *Params) *worker {
	w := &worker{p: p, r: newRNG()}
	// holiday[k] reports whether the k-th week from the start holds
	// Christmas or New Year's Day (its Monday falls on Dec 19 … Jan 1).
	start := p.Start()
	for d := start; d <= p.End+7; d += 7 {
		k := mondayOnOrAfter(d)
		_, mo, day := civil(k)
		w.holiday = append(w.holiday, (mo == 12 && day >= 19) || (mo == 1 && day == 1))
	}
	return w
}

// customer generates customer i into the chunk's tables; ci is its index
// within the chunk (the code of its id).
func (w *worker) customer(ch *chunk, i, ci int) {
	if w.p.ecommerce() {
		w.shopCustomer(ch, i, ci)
		return
	}
	c := &w.c
	c.draw(w.p, w.p.Start(), w.p.End, i, w.r)
	if c.Churned {
		ch.churned++
	}
	if c.Signup >= c.start {
		ch.newCustomers++
	}
	w.customerRow(&ch.t[tCustomers], ci)
	w.subscriptions(&ch.t[tSubscriptions], ci)
	w.usage(&ch.t[tUsage], ci)
	w.payments(&ch.t[tPayments], ci)
	w.contacts(&ch.t[tContacts], ci)
	w.tickets(&ch.t[tTickets], ci)
	w.surveys(&ch.t[tSurveys], ci)
	w.signals(&ch.t[tSignals], ci)
	if c.Churned {
		t := &ch.t[tChurnEvents]
		t.row(ci)
		t.date(1, c.PlannedChurn)
		t.code(2, c.reason)
		t.date(3, data.NoDate)
	}
	if w.p.Interventions != nil {
		w.interventions(&ch.t[tInterventions], ci)
		for i := range c.Assignments {
			ch.plays[c.Assignments[i].play].count(&c.Assignments[i], w.p.End)
		}
	}
}

// customerRow writes today's values: the subscription in force on the last
// day of the period, or for a churned customer its last plan with seats
// and mrr 0.
func (w *worker) customerRow(t *table, ci int) {
	c := &w.c
	last := &c.phases[len(c.phases)-1]
	t.row(ci)
	t.date(1, c.Signup)
	t.code(2, last.plan)
	t.code(3, c.seg)
	t.code(4, c.region)
	if c.Churned {
		t.int(5, 0)
		t.float(6, 0)
		t.date(7, c.PlannedChurn)
	} else {
		t.int(5, last.seats)
		t.float(6, last.mrr)
		t.date(7, c.termEnd(c.firstTerm(c.end)))
	}
	t.code(8, c.owner)
	if c.Churned {
		t.date(9, c.PlannedChurn)
	} else {
		t.date(9, data.NoDate)
	}
	t.bool(10, c.Churned)
	t.code(11, c.industry)
	t.int(12, c.employees)
}

// subscriptions writes the history of subscription periods that overlap
// the period (see subRows).
func (w *worker) subscriptions(t *table, ci int) {
	c := &w.c
	billing := billingCode(c.billMonths)
	c.subRows(func(start, end data.Date, p *phase) bool {
		t.row(ci)
		t.date(1, start)
		t.date(2, end)
		t.code(3, p.plan)
		t.int(4, p.seats)
		t.float(5, p.mrr)
		t.code(6, billing)
		t.bool(7, c.AutoRenew)
		return true
	})
}

// subRows calls emit with the subscription rows of the customer in
// start_date order, each with the phase in force on its first day, until
// emit returns false: annual contracts have a row per term, split where
// the subscription changed; monthly contracts are open-ended (end_date
// null) and have a new row at each change. A churner's last row ends on
// the churn date. Phases that start after the customer's last day are not
// part of the data.
func (c *customer) subRows(emit func(start, end data.Date, p *phase) bool) {
	phases := c.phases
	for len(phases) > 1 && phases[len(phases)-1].start > c.last {
		phases = phases[:len(phases)-1]
	}
	one := func(start, end data.Date) bool {
		if end.Valid() && end < start {
			return true // two changes on one day
		}
		return emit(start, end, &phases[c.phaseAt(start, 0)])
	}
	final := data.NoDate
	if c.Churned {
		final = c.PlannedChurn
	}
	if c.TermMonths == 1 {
		cur := c.Signup
		for _, p := range phases[1:] {
			if !one(cur, p.start-1) {
				return
			}
			cur = p.start
		}
		one(cur, final)
		return
	}
	next := 1 // next phase to split at
	for k := c.firstTerm(c.entry); c.termStart(k) <= c.last; k++ {
		cur, te := c.termStart(k), c.termEnd(k)
		for next < len(phases) && phases[next].start <= cur {
			next++
		}
		for next < len(phases) && phases[next].start <= te {
			if !one(cur, phases[next].start-1) {
				return
			}
			cur = phases[next].start
			next++
		}
		if final.Valid() && final <= te {
			te = final
		}
		if !one(cur, te) {
			return
		}
	}
}

// usage writes one row per week the customer was active: date is the
// week's last day (the Sunday, or the churn date in the churn week), so a
// row dated before an as-of date describes a week that is over by then;
// active_users is the weekly active users, sessions and minutes the week's
// totals; feature is null.
func (w *worker) usage(t *table, ci int) {
	c, r := &w.c, w.r
	r.seed(w.p.Seed, c.Index, streamUsage)
	ph := 0
	for m := mondayOnOrAfter(c.entry); m <= c.last; m += 7 {
		ph = c.phaseAt(m, ph)
		p := &c.phases[ph]
		mult := 1 - Mechanisms[UsageDecline].Strength*c.intensity(UsageDecline, m)
		if age := float64(m - c.Signup); age < 60 {
			mult *= 0.35 + 0.65*age/60 // onboarding
		}
		if w.holiday[(m-c.start)/7] {
			mult *= 0.55 // the week holds Christmas or New Year
		}
		if days := c.last - m + 1; days < 7 {
			mult *= float64(days) / 7 // the churn week
		}
		years := float64(m-c.entry) / 365
		mult *= clamp(1+c.drift*years, 0.3, 1.6)
		au := math.Round(p.users * mult * (1 + 0.08*r.NormFloat64()))
		au = clamp(au, 0, float64(p.seats))
		sessions := math.Round(max(0, au*c.spu*(1+0.15*r.NormFloat64())))
		minutes := math.Round(max(0, sessions*c.mps*(1+0.1*r.NormFloat64()))*10) / 10
		t.row(ci)
		t.date(1, min(m+6, c.last))
		t.int(2, int64(au))
		t.int(3, int64(sessions))
		t.float(4, minutes)
		t.code(5, -1)
	}
}

// payments writes one invoice per billing period (monthly, quarterly or
// annual, on the signup anniversary) from the first in the period to the
// last before the churn date or the end.
func (w *worker) payments(t *table, ci int) {
	c, r := &w.c, w.r
	r.seed(w.p.Seed, c.Index, streamPayments)
	lateBase := [3]float64{0.03, 0.08, 0.02}[c.method]
	failBase := [3]float64{0.015, 0.005, 0.005}[c.method]
	dueDays := [3]int{3, 30, 7}[c.method]
	trouble := Mechanisms[PaymentTrouble].Strength
	riskF := math.Exp(0.3 * c.Risk)
	j := 0
	if c.entry > c.Signup {
		ys, ms, _ := civil(c.Signup)
		ye, me, _ := civil(c.entry)
		j = max(0, ((ye*12+me)-(ys*12+ms))/c.billMonths-1)
	}
	endTS := (c.end + 1).Start()
	ph := 0
	for ; ; j++ {
		inv := addMonths(c.Signup, j*c.billMonths)
		if inv < c.entry {
			continue
		}
		if inv > c.end || (c.Churned && inv >= c.PlannedChurn) {
			return
		}
		prev := c.phaseAt(addMonths(c.Signup, (j-1)*c.billMonths), 0)
		ph = c.phaseAt(inv, ph)
		p := &c.phases[ph]
		planChange := changeNone
		switch {
		case ph == prev:
		case p.mrr > c.phases[prev].mrr:
			planChange = changeUp
		case p.mrr < c.phases[prev].mrr:
			planChange = changeDown
		}
		x := c.intensity(PaymentTrouble, inv)
		due := inv + data.Date(dueDays)
		status, paid := statusPaid, data.NoDate
		u := r.Float64()
		pFail := failBase*riskF + 0.12*x
		pLate := lateBase*riskF + trouble*x
		switch {
		case u < pFail:
			status = statusFailed
		case u < pFail+pLate:
			status, paid = statusLate, due+data.Date(r.days(1, 40))
		default:
			paid = inv + data.Date(r.days(0, dueDays))
			if r.chance(0.003) {
				status = statusRefunded
			}
		}
		if paid.Valid() && paid.Start() >= endTS {
			status, paid = statusOpen, data.NoDate // not paid yet as of the end
		}
		t.row(ci)
		t.date(1, inv)
		t.date(2, due)
		t.date(3, paid)
		t.float(4, math.Round(p.mrr*float64(c.billMonths)*100)/100)
		t.code(5, status)
		t.code(6, planChange)
		t.code(7, c.method)
	}
}

// poissonDays calls fn at the days of a Poisson process on [from, to] with
// the given rate per day, thinned by keep(day) in [0, 1].
func poissonDays(r *rng, from, to data.Date, rate float64, keep func(data.Date) float64, fn func(data.Date)) {
	if rate <= 0 || to < from {
		return
	}
	x := float64(from)
	for {
		x += r.ExpFloat64() / rate
		d := data.Date(math.Floor(x))
		if d > to {
			return
		}
		if keep == nil || r.Float64() < keep(d) {
			fn(d)
		}
	}
}

// contacts writes interactions, stakeholder changes and the ChampionLoss
// sign, ordered by time.
func (w *worker) contacts(t *table, ci int) {
	c, r := &w.c, w.r
	r.seed(w.p.Seed, c.Index, streamContacts)
	ev := w.events[:0]
	silence := Mechanisms[GoingSilent].Strength
	poissonDays(r, c.entry, c.genTo, c.contactRate, func(d data.Date) float64 {
		return 1 - silence*c.intensity(GoingSilent, d)
	}, func(d data.Date) {
		dir := dirOutbound
		if r.chance(0.45) {
			dir = dirInbound
		}
		ev = append(ev, event{ts: at(r, d), kind: kindInteraction,
			role:    r.pick([]float64{0.35, 0.35, 0.1, 0.2}),
			channel: r.pick([]float64{0.5, 0.2, 0.15, 0.15}), direct: dir})
	})
	if c.Signup >= c.entry { // onboarding: a kickoff meeting and two follow-ups
		for k, d := range [3]int{r.days(1, 5), r.days(8, 20), r.days(21, 35)} {
			if day := c.Signup + data.Date(d); day <= c.genTo {
				ch := []int{2, 0, 1}[k]
				ev = append(ev, event{ts: at(r, day), kind: kindInteraction, role: roleAdmin, channel: ch, direct: dirOutbound})
			}
		}
	}
	stake := func(kind int, perYear float64) {
		poissonDays(r, c.entry, c.genTo, perYear/365, nil, func(d data.Date) {
			role := r.pick([]float64{0.35, 0.2, 0.2, 0.25})
			if kind == kindChampion {
				role = roleChampion
			}
			ev = append(ev, event{ts: at(r, d), kind: kind, role: role, channel: -1, direct: -1})
		})
	}
	stake(kindAdded, 0.3)
	stake(kindLeft, 0.2)
	stake(kindChampion, 0.1)
	for k, d := range [2]data.Date{c.champDay, c.scareChampDay} {
		if d.Valid() && d >= c.entry && d <= c.genTo {
			ts := at(r, d)
			if k == 0 && c.cut.Valid() && d >= c.cut {
				continue // the churn episode was cut short before it
			}
			ev = append(ev,
				event{ts: ts, kind: kindLeft, role: roleChampion, channel: -1, direct: -1},
				event{ts: min(ts+3600*microsPerSecond, (d+1).Start()-1), kind: kindChampion, role: roleChampion, channel: -1, direct: -1})
		}
	}
	slices.SortStableFunc(ev, func(a, b event) int { return cmp.Compare(a.ts, b.ts) })
	end := (c.last + 1).Start()
	for _, e := range ev {
		if e.ts >= end {
			break // drawn past the customer's last day (genTo)
		}
		t.row(ci)
		t.ts(1, e.ts)
		t.code(2, e.kind)
		t.code(3, e.role)
		t.code(4, e.channel)
		t.code(5, e.direct)
	}
	w.events = ev
}

// tickets writes support tickets from a Poisson process whose rate the
// TicketSurge sign raises.
func (w *worker) tickets(t *table, ci int) {
	c, r := &w.c, w.r
	r.seed(w.p.Seed, c.Index, streamTickets)
	surge := Mechanisms[TicketSurge].Strength
	maxRate := c.ticketRate
	if c.Signs.Has(TicketSurge) || c.ScareSigns.Has(TicketSurge) {
		maxRate *= 1 + surge
	}
	endTS := (c.end + 1).Start()
	lastTS := (c.last + 1).Start() - 1
	median := [4]float64{72, 36, 18, 6} // resolution hours by priority
	tk := w.tk[:0]
	poissonDays(r, c.entry, c.last, maxRate, func(d data.Date) float64 {
		return (1 + surge*c.intensity(TicketSurge, d)) / (maxRate / c.ticketRate)
	}, func(d data.Date) {
		x := c.intensity(TicketSurge, d)
		k := ticket{opened: at(r, d), csat: data.NullInt}
		k.prio = r.pick([]float64{0.40 - 0.35*x, 0.40, 0.15 + 0.20*x, 0.05 + 0.15*x})
		k.cat = r.pick([]float64{0.30, 0.30, 0.12, 0.12, 0.10, 0.06})
		k.escalated = r.chance(0.05 + 0.30*x)
		hours := r.lognormal(median[k.prio]*(1+x), 0.8)
		k.closed = k.opened + data.Timestamp(hours*3600*microsPerSecond)
		switch {
		case k.closed >= endTS:
			k.closed = data.NoTime // still open at the end
		case k.closed > lastTS:
			k.closed = lastTS // closed when the customer left
		}
		if k.closed != data.NoTime && r.chance(0.55) {
			mean := 4.3 - 1.5*x - 0.15*c.Risk
			if k.escalated {
				mean -= 0.6
			}
			k.csat = int64(clamp(math.Round(mean+0.8*r.NormFloat64()), 1, 5))
		}
		tk = append(tk, k)
	})
	slices.SortStableFunc(tk, func(a, b ticket) int { return cmp.Compare(a.opened, b.opened) })
	for _, k := range tk {
		t.row(ci)
		t.ts(1, k.opened)
		t.ts(2, k.closed)
		t.code(3, k.prio)
		t.code(4, k.cat)
		t.bool(5, k.escalated)
		t.int(6, k.csat)
	}
	w.tk = tk
}

// surveys writes NPS answers: a survey every 91 days, answered with
// probability 0.55 (less when going silent), a few days after it was sent.
func (w *worker) surveys(t *table, ci int) {
	c, r := &w.c, w.r
	r.seed(w.p.Seed, c.Index, streamSurveys)
	drop := Mechanisms[NPSDrop].Strength
	var prev data.Timestamp
	for d := c.entry + data.Date(r.IntN(91)); d <= c.last; d += 91 {
		if !r.chance(0.55 * (1 - 0.5*c.intensity(GoingSilent, d))) {
			continue
		}
		day := d + data.Date(r.days(0, 5))
		if day > c.last {
			return
		}
		nps := clamp(math.Round(c.npsMean-drop*c.intensity(NPSDrop, day)+1.5*r.NormFloat64()), 0, 10)
		ts := max(at(r, day), prev+microsPerSecond)
		prev = ts
		t.row(ci)
		t.ts(1, ts)
		t.int(2, int64(nps))
	}
}

// signals writes training views (trained customers only), baseline intent
// signals, and the point-event signs of the churn and scare episodes.
func (w *worker) signals(t *table, ci int) {
	c, r := &w.c, w.r
	r.seed(w.p.Seed, c.Index, streamSignals)
	ev := w.events[:0]
	add := func(kind int, d data.Date) {
		if d >= c.entry && d <= c.genTo {
			ev = append(ev, event{ts: at(r, d), kind: kind})
		}
	}
	if c.Trained {
		if c.Signup >= c.entry {
			for range r.days(2, 5) {
				add(sigTraining, c.Signup+data.Date(r.days(0, 60)))
			}
		}
		poissonDays(r, c.entry, c.genTo, 0.35/daysPerMonth, nil, func(d data.Date) { add(sigTraining, d) })
	}
	for k, perYear := range [3]float64{0.25, 0.5, 0.08} {
		poissonDays(r, c.entry, c.genTo, perYear/365, nil, func(d data.Date) { add(k, d) })
	}
	for k, s := range [3]Sign{DataExport, BillingQuestion, CancelPageView} {
		m := &Mechanisms[s]
		n := func() int { return r.days(1, int(2*m.Strength)-1) } // mean Strength
		if c.Signs.Has(s) {
			for range n() {
				d := c.churnDay - data.Date(r.days(m.LeadDays[0], m.LeadDays[1]))
				kept := len(ev)
				add(k, d)
				if c.cut.Valid() && d >= c.cut {
					ev = ev[:kept] // the churn episode was cut short before it
				}
			}
		}
		if c.ScareSigns.Has(s) { // around the scare's peak
			for range n() {
				add(k, c.scare.peak-data.Date(r.days(-20, m.LeadDays[1])))
			}
		}
	}
	slices.SortStableFunc(ev, func(a, b event) int { return cmp.Compare(a.ts, b.ts) })
	end := (c.last + 1).Start()
	for _, e := range ev {
		if e.ts >= end {
			break // drawn past the customer's last day (genTo)
		}
		t.row(ci)
		t.ts(1, e.ts)
		t.code(2, e.kind)
	}
	w.events = ev
}

func billingCode(months int) int {
	switch months {
	case 1:
		return 0
	case 3:
		return 1
	}
	return 2
}
