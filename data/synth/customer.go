package synth

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/churnlab/churn/data"
)

// Truth is the hidden state of one customer: what the generator decided.
// It is what a model should recover from the data, and what tests compare
// the data with.
type Truth struct {
	Index   int    // 0-based customer index
	ID      string // customer_id
	Segment string // smb, mid or ent
	Signup  data.Date
	// Risk is the latent risk z ~ N(0, 1); it raises the churn logit by
	// 0.9·z and shifts several baselines (see Drivers).
	Risk      float64
	Trained   bool // views training material (has training_view signals)
	AutoRenew bool
	// TermMonths is the contract term: 1 (monthly) or 12 (annual).
	TermMonths int
	// PlannedChurn is the day the customer leaves. It may lie after the end
	// of the period: then the data shows no churn, but the warning signs may
	// already show. NoDate when the customer renews through the first
	// renewal after the end.
	PlannedChurn data.Date
	// Churned reports whether PlannedChurn falls within the period (the
	// data then has churn_date and a churn_events row).
	Churned bool
	// AtRenewal reports whether the churn falls on a contract end (the
	// others leave mid-term).
	AtRenewal bool
	// Signs are the warning signs of the churn episode; empty for a silent
	// churner and for customers who do not churn (a saved customer keeps
	// the signs of its cut-short episode, see Saved).
	Signs SignSet
	// EpisodeStart is the day the churn episode's ramp starts
	// (PlannedChurn minus 60–120 days); NoDate without an episode.
	EpisodeStart data.Date
	// Scare reports a scare episode: signs that rise from ScareStart, peak
	// after 60–120 days at intensity ScarePeak, and fade over
	// ScareRecoveryDays, without churn.
	Scare      bool
	ScareStart data.Date
	ScareSigns SignSet
	Reason     string // churn reason written to churn_events
	// Saved is the day a retention play cancelled the customer's planned
	// churn (Params.Interventions only; NoDate otherwise). A saved
	// customer has no PlannedChurn; Signs and EpisodeStart still describe
	// its churn episode, which stops rising on Saved and fades over
	// ScareRecoveryDays, as a scare does.
	Saved data.Date
	// Assignments are the customer's rows of the simulated interventions
	// table, in time order (Params.Interventions only).
	Assignments []Assignment
}

// Silent reports whether the customer churns (within the period or
// after it) without any warning sign.
func (t *Truth) Silent() bool { return t.PlannedChurn.Valid() && t.Signs == 0 }

// TruthOf returns the hidden state of customer i (0-based) under p. It is
// a pure function of p.Seed, p.Months, p.End and i.
func TruthOf(p Params, i int) Truth {
	p.EnsureDefaults()
	var c customer
	c.draw(&p, p.Start(), p.End, i, newRNG())
	return c.Truth
}

// Vocabularies of the generated string columns.
var (
	segments    = []string{"smb", "mid", "ent"}
	regions     = []string{"amer", "emea", "apac"}
	plans       = []string{"basic", "pro", "enterprise"}
	industries  = []string{"software", "retail", "finance", "healthcare", "manufacturing", "education", "media", "logistics"}
	owners      = ownerNames(40)
	billings    = []string{"monthly", "quarterly", "annual"}
	methods     = []string{"card", "invoice", "direct_debit"}
	statuses    = []string{"paid", "late", "failed", "refunded", "open"}
	planChanges = []string{"upgrade", "downgrade", "none"}
	kinds       = []string{"interaction", "stakeholder_added", "stakeholder_left", "champion_changed"}
	roles       = []string{"admin", "champion", "executive", "user"}
	channels    = []string{"email", "call", "meeting", "chat"}
	directions  = []string{"inbound", "outbound"}
	priorities  = []string{"low", "medium", "high", "urgent"}
	categories  = []string{"how_to", "bug", "billing", "integration", "feature_request", "account"}
	signalKinds = []string{"data_export", "billing_question", "cancel_page_view", "training_view"}
	reasons     = []string{"no_longer_needed", "poor_support", "budget", "champion_left", "product_fit", "competitor", "acquired", "other"}
)

// ownerNames returns the customer success managers csm-01 … csm-n.
func ownerNames(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("csm-%02d", i+1)
	}
	return s
}

// Indexes into the vocabularies.
const (
	segSMB, segEnt     = 0, 2
	planBasic, planEnt = 0, 2

	statusPaid, statusLate, statusFailed, statusRefunded, statusOpen = 0, 1, 2, 3, 4
	changeUp, changeDown, changeNone                                 = 0, 1, 2

	kindInteraction, kindAdded, kindLeft, kindChampion = 0, 1, 2, 3
	roleAdmin, roleChampion                            = 0, 1
	dirInbound, dirOutbound                            = 0, 1

	// signal kinds; data_export, billing_question and cancel_page_view
	// are 0, 1, 2, in the order of their signs
	sigTraining = 3

	reasonNoLongerNeeded, reasonPoorSupport, reasonBudget, reasonChampion, reasonProductFit, reasonCompetitor, reasonAcquired, reasonOther = 0, 1, 2, 3, 4, 5, 6, 7
)

// Profile parameters.
var (
	segmentShare  = []float64{0.60, 0.30, 0.10}
	regionShare   = []float64{0.45, 0.35, 0.20}
	monthlyShare  = [3]float64{0.50, 0.25, 0.05} // share of monthly contracts per segment
	planShare     = [3][]float64{{0.60, 0.35, 0.05}, {0.25, 0.55, 0.20}, {0.05, 0.35, 0.60}}
	seatRange     = [3][2]float64{{3, 25}, {25, 150}, {150, 1500}}
	employeeRange = [3][2]float64{{5, 200}, {200, 2000}, {2000, 50000}}
	seatPrice     = [3]float64{12, 29, 59} // monthly list price per seat, by plan
	ticketsMonth  = [3]float64{0.18, 0.30, 0.50}
	contactsMonth = [3]float64{0.5, 1, 2}
)

const (
	// newShare is the share of customers who sign up within the period;
	// the others signed up in the four years before it.
	newShare       = 0.25
	annualDiscount = 0.85
	daysPerMonth   = 30.4375
)

// episode is a stretch of warning signs: intensity 0 until start, rising
// linearly to amp at peak, then falling linearly to 0 at end (end == peak
// for a churn episode, which stays at amp until the churn date).
type episode struct {
	start, peak, end data.Date
	amp              float64
	signs            SignSet
}

func (e *episode) at(t data.Date) float64 {
	switch {
	case e.signs == 0 || t <= e.start:
		return 0
	case t < e.peak:
		return e.amp * float64(t-e.start) / float64(e.peak-e.start)
	case t < e.end:
		return e.amp * float64(e.end-t) / float64(e.end-e.peak)
	case e.end == e.peak:
		return e.amp
	}
	return 0
}

// phase is a stretch of unchanged subscription from start on.
type phase struct {
	start data.Date
	plan  int
	seats int64
	users float64 // expected weekly active users at full health
	mrr   float64
}

// change is a dated change of the subscription.
type change struct {
	day  data.Date
	kind int  // seatUp, seatDown, planUp or signDowngrade
	ep   bool // the Downgrade sign of the churn episode
}

const (
	seatUp = iota
	seatDown
	planUp
	signDowngrade // the Downgrade warning sign
)

// customer is the full hidden state of one customer while its rows are
// generated. It is reused from customer to customer.
type customer struct {
	Truth
	seg, region, industry, owner int
	employees                    int64
	start, end                   data.Date // the period
	entry, last                  data.Date // first and last observed day
	billMonths                   int
	method                       int
	reason                       int // index into reasons, -1 if none
	util, spu, mps, drift        float64
	ticketRate, contactRate      float64 // per day
	npsMean                      float64
	churnEp, scare               episode
	champDay, scareChampDay      data.Date
	changes                      []change
	phases                       []phase
	// genTo is the last day the random processes of the tables are drawn
	// to: last, or with interventions the end of the period, so that a
	// saved customer's rows before the save do not depend on the save.
	// Rows after last are drawn and dropped.
	genTo data.Date
	// churnDay is the planned churn day the churn episode leads to; a
	// save cancels PlannedChurn but not the episode's past.
	churnDay data.Date
	// cut is the day the churn episode was cut short by a save (NoDate
	// when it was not): its point events from then on do not happen.
	cut data.Date
}

func (c *customer) termStart(k int) data.Date { return addMonths(c.Signup, k*c.TermMonths) }
func (c *customer) termEnd(k int) data.Date   { return addMonths(c.Signup, (k+1)*c.TermMonths) - 1 }

// firstTerm returns the index of the first term that ends on or after d.
func (c *customer) firstTerm(d data.Date) int {
	k := 0
	if d > c.Signup {
		ys, ms, _ := civil(c.Signup)
		yd, md, _ := civil(d)
		k = max(0, ((yd*12+md)-(ys*12+ms))/c.TermMonths-1)
	}
	for c.termEnd(k) < d {
		k++
	}
	return k
}

// intensity returns the strength, 0…1, of sign s on day t.
func (c *customer) intensity(s Sign, t data.Date) float64 {
	var x float64
	if c.churnEp.signs.Has(s) {
		x = c.churnEp.at(t)
	}
	if c.scare.signs.Has(s) {
		x = max(x, c.scare.at(t))
	}
	return x
}

// draw makes customer i's profile, churn decision, episodes and
// subscription history.
func (c *customer) draw(p *Params, start, end data.Date, i int, r *rng) {
	changes, phases, assigned := c.changes[:0], c.phases[:0], c.Assignments[:0]
	*c = customer{changes: changes, phases: phases, start: start, end: end}
	c.Assignments, c.Saved, c.cut = assigned, data.NoDate, data.NoDate
	r.seed(p.Seed, i, streamProfile)
	c.Index, c.ID = i, CustomerID(i)
	c.seg = r.pick(segmentShare)
	c.Segment = segments[c.seg]
	c.region = r.pick(regionShare)
	c.industry = r.IntN(len(industries))
	c.owner = r.IntN(len(owners))
	c.employees = int64(math.Round(r.logUniform(employeeRange[c.seg][0], employeeRange[c.seg][1])))
	if r.chance(newShare) {
		c.Signup = start + data.Date(r.IntN(max(1, int(end-start)-6)))
	} else {
		c.Signup = start - 1 - data.Date(r.IntN(4*365))
	}
	c.entry = max(c.Signup, start)
	c.Risk = r.NormFloat64()
	c.Trained = r.chance(sigmoid(0.8 - 0.9*c.Risk))
	c.TermMonths = 12
	if r.chance(monthlyShare[c.seg]) {
		c.TermMonths = 1
	}
	c.billMonths = 1
	if c.TermMonths == 12 {
		c.billMonths = []int{1, 3, 12}[r.pick([]float64{0.85, 0.05, 0.10})]
	}
	c.AutoRenew = r.chance(0.75)
	c.method = r.pick([]float64{0.55, 0.30, 0.15})
	plan := r.pick(planShare[c.seg])
	seats := int64(math.Round(r.logUniform(seatRange[c.seg][0], seatRange[c.seg][1])))
	c.util = clamp(0.72-0.08*c.Risk+0.12*r.NormFloat64(), 0.15, 0.98)
	c.spu = r.lognormal(6, 0.35)
	c.mps = r.lognormal(14, 0.3)
	c.drift = 0.15 * r.NormFloat64()
	c.ticketRate = ticketsMonth[c.seg] * math.Exp(0.25*c.Risk) / daysPerMonth
	c.contactRate = contactsMonth[c.seg] / daysPerMonth
	c.npsMean = clamp(8-0.8*c.Risk, 3, 9.7)

	c.decideChurn(r)
	c.last = end
	if c.Churned {
		c.last = c.PlannedChurn
	}
	c.genTo, c.churnDay = c.last, c.PlannedChurn
	if p.Interventions != nil {
		c.genTo = end
	}
	c.drawEpisodes(r)
	c.drawChanges(r)
	if p.Interventions == nil {
		c.buildPhases(r, plan, seats)
	} else {
		c.runPlays(p, r, plan, seats)
	}
	c.reason = -1
	if c.Churned {
		c.reason = c.drawReason(r)
		c.Reason = reasons[c.reason]
	}
}

// decideChurn walks the contract terms from the first one ending in the
// period to the first one ending after it, deciding at each renewal.
func (c *customer) decideChurn(r *rng) {
	x := coefRisk * c.Risk
	if !c.Trained {
		x += coefNoTraining
	}
	if !c.AutoRenew {
		x += coefNoAutoRenew
	}
	switch c.seg {
	case segSMB:
		x += coefSMB
	case segEnt:
		x += coefEnt
	}
	base := baseAnnual
	if c.TermMonths == 1 {
		base = baseMonthly
	}
	c.PlannedChurn = data.NoDate
	for k := c.firstTerm(c.entry); ; k++ {
		te := c.termEnd(k)
		logit := base + x
		if k == 0 {
			logit += coefFirstRenewal
		}
		if r.chance(sigmoid(logit)) {
			c.PlannedChurn, c.AtRenewal = te, true
			if c.TermMonths == 12 && r.chance(midTermShare) {
				lo, hi := max(c.termStart(k)+30, c.entry+1), te-1
				if lo < hi {
					c.PlannedChurn, c.AtRenewal = lo+data.Date(r.IntN(int(hi-lo))), false
				}
			}
			break
		}
		if te >= c.end {
			break
		}
	}
	c.Churned = c.PlannedChurn.Valid() && c.PlannedChurn <= c.end
}

func (c *customer) drawEpisodes(r *rng) {
	c.EpisodeStart, c.ScareStart = data.NoDate, data.NoDate
	c.champDay, c.scareChampDay = data.NoDate, data.NoDate
	if c.PlannedChurn.Valid() && !r.chance(SilentShare) {
		for s := Sign(0); s < numSigns; s++ {
			if r.chance(Mechanisms[s].Share) {
				c.Signs = c.Signs.With(s)
			}
		}
		l := data.Date(r.days(EpisodeDays[0], EpisodeDays[1]))
		c.EpisodeStart = c.PlannedChurn - l
		c.churnEp = episode{start: c.EpisodeStart, peak: c.PlannedChurn, end: c.PlannedChurn, amp: 1, signs: c.Signs}
		if c.Signs.Has(ChampionLoss) {
			c.champDay = c.EpisodeStart + data.Date(r.days(0, int(l)/2))
		}
	}
	if r.chance(ScareShare) {
		c.Scare = true
		c.ScareStart = c.entry - 60 + data.Date(r.days(0, int(c.last-c.entry)+60))
		for s := Sign(0); s < numSigns; s++ {
			share := Mechanisms[s].Share
			if s > GoingSilent {
				share *= ScarePointShare
			}
			if r.chance(share) {
				c.ScareSigns = c.ScareSigns.With(s)
			}
		}
		if c.ScareSigns == 0 {
			c.ScareSigns = c.ScareSigns.With([]Sign{UsageDecline, TicketSurge, NPSDrop, GoingSilent}[r.IntN(4)])
		}
		l := data.Date(r.days(EpisodeDays[0], EpisodeDays[1]))
		c.scare = episode{start: c.ScareStart, peak: c.ScareStart + l, end: c.ScareStart + l + ScareRecoveryDays, amp: ScarePeak, signs: c.ScareSigns}
		if c.ScareSigns.Has(ChampionLoss) {
			c.scareChampDay = c.ScareStart + data.Date(r.days(0, int(l)/2))
		}
	}
}

// drawChanges draws the dated subscription changes in [entry, last]:
// baseline seat changes and plan upgrades, and the Downgrade sign.
func (c *customer) drawChanges(r *rng) {
	poisson := func(perYear float64, kind int) {
		t := float64(c.entry)
		for {
			t += r.ExpFloat64() * 365 / perYear
			if t > float64(c.genTo) {
				return
			}
			c.changes = append(c.changes, change{day: data.Date(t), kind: kind})
		}
	}
	poisson(0.3*0.8, seatUp)
	poisson(0.3*0.2, seatDown)
	poisson(0.06, planUp)
	add := func(d data.Date, ep bool) {
		if d >= c.entry && d <= c.genTo {
			c.changes = append(c.changes, change{day: d, kind: signDowngrade, ep: ep})
		}
	}
	if c.Signs.Has(Downgrade) {
		add(c.EpisodeStart+data.Date(r.days(0, int(c.PlannedChurn-c.EpisodeStart)-20)), true)
	}
	if c.ScareSigns.Has(Downgrade) {
		add(c.ScareStart+data.Date(r.days(0, int(c.scare.peak-c.ScareStart))), false)
	}
	slices.SortStableFunc(c.changes, func(a, b change) int { return cmp.Compare(a.day, b.day) })
}

func (c *customer) mrrOf(plan int, seats int64) float64 {
	m := float64(seats) * seatPrice[plan]
	if c.TermMonths == 12 {
		m *= annualDiscount
	}
	return math.Round(m*100) / 100
}

func (c *customer) buildPhases(r *rng, plan int, seats int64) {
	p := phase{start: math.MinInt32 + 1, plan: plan, seats: seats, users: float64(seats) * c.util}
	p.mrr = c.mrrOf(p.plan, p.seats)
	c.phases = append(c.phases, p)
	for _, ch := range c.changes {
		q := p
		q.start = ch.day
		switch ch.kind {
		case seatUp:
			f := r.between(1.1, 1.5)
			q.seats = int64(math.Ceil(float64(q.seats) * f))
			q.users *= f
		case seatDown:
			f := r.between(0.7, 0.9)
			q.seats = max(1, int64(math.Floor(float64(q.seats)*f)))
			q.users *= f
		case planUp:
			q.plan = min(q.plan+1, planEnt)
		case signDowngrade:
			q.seats = max(1, int64(math.Round(float64(q.seats)*(1-r.between(0.3, 0.6)))))
			if r.chance(0.4) {
				q.plan = max(q.plan-1, planBasic)
			}
		}
		q.mrr = c.mrrOf(q.plan, q.seats)
		if q.mrr == p.mrr {
			continue // nothing billable changed (plan already at the top)
		}
		c.phases = append(c.phases, q)
		p = q
	}
}

// phaseAt returns the index of the phase in force on day t, searching
// forward from hint (pass 0 when days are not increasing).
func (c *customer) phaseAt(t data.Date, hint int) int {
	i := hint
	for i+1 < len(c.phases) && c.phases[i+1].start <= t {
		i++
	}
	return i
}

// drawReason picks a churn reason that fits the churner's signs.
func (c *customer) drawReason(r *rng) int {
	if c.Signs == 0 {
		return []int{reasonAcquired, reasonBudget, reasonOther}[r.pick([]float64{0.4, 0.35, 0.25})]
	}
	if r.chance(0.2) {
		return reasonCompetitor
	}
	var cands [8]int
	n := 0
	addIf := func(s Sign, reason int) {
		if c.Signs.Has(s) {
			cands[n] = reason
			n++
		}
	}
	addIf(UsageDecline, reasonNoLongerNeeded)
	addIf(TicketSurge, reasonPoorSupport)
	addIf(PaymentTrouble, reasonBudget)
	addIf(Downgrade, reasonBudget)
	addIf(ChampionLoss, reasonChampion)
	addIf(NPSDrop, reasonProductFit)
	if n == 0 {
		return reasonProductFit
	}
	return cands[r.IntN(n)]
}
