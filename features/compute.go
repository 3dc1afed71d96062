package features

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/churnlab/churn/data"
)

var nan = math.NaN()

// Values holds the fixed features of one customer at one as-of date,
// indexed by feature id: numbers in Num (NaN when missing) and the levels of
// categorical features in Cat ("" when missing).
type Values struct {
	Num [numFixed]float64
	Cat [numFixed]string

	// life holds factors of the lifetime features shared by customers with
	// the same repeat purchases and age: ComputeLifetime's scratch cache.
	life lifeCache
}

func (v *Values) reset() {
	for i := range v.Num {
		v.Num[i] = nan
		v.Cat[i] = ""
	}
}

// groupMask selects the feature groups to compute.
type groupMask uint16

func maskOf(groups []string) groupMask {
	if len(groups) == 0 {
		return ^groupMask(0)
	}
	var m groupMask
	for _, g := range groups {
		for i, name := range groupOrder {
			if name == g {
				m |= 1 << i
			}
		}
	}
	return m
}

func (m groupMask) has(g int) bool { return m&(1<<g) != 0 }

// Group indexes into groupOrder.
const (
	gUsage = iota
	gPayments
	gContacts
	gTickets
	gNPS
	gLifecycle
	gIntent
	gPurchases
	gAttributes
)

// view is a customer's history cut at the as-of date: only rows strictly
// before T. Date fields of those rows that lie on or after T (end_date,
// paid_date, closed_at) are unknown at T and every computation checks them.
type view struct {
	c     *data.Customer
	T     data.Date
	ts    data.Timestamp // T at midnight UTC
	subs  []data.Subscription
	usage []data.Usage
	pays  []data.Payment
	cons  []data.Contact
	tiks  []data.Ticket
	srvs  []data.Survey
	sigs  []data.Signal
	ords  []data.Order
	// hasSubs says the dataset has a subscriptions table: dated values come
	// from it rather than from today's customers row.
	hasSubs bool
}

func cut(h *data.History, T data.Date) view {
	ts := T.Start()
	return view{
		c:       &h.Customer,
		T:       T,
		ts:      ts,
		subs:    h.Subscriptions[:sort.Search(len(h.Subscriptions), func(i int) bool { return h.Subscriptions[i].Start >= T })],
		usage:   h.Usage[:sort.Search(len(h.Usage), func(i int) bool { return h.Usage[i].Date >= T })],
		pays:    h.Payments[:sort.Search(len(h.Payments), func(i int) bool { return h.Payments[i].InvoiceDate >= T })],
		cons:    h.Contacts[:sort.Search(len(h.Contacts), func(i int) bool { return h.Contacts[i].TS >= ts })],
		tiks:    h.Tickets[:sort.Search(len(h.Tickets), func(i int) bool { return h.Tickets[i].OpenedAt >= ts })],
		srvs:    h.Surveys[:sort.Search(len(h.Surveys), func(i int) bool { return h.Surveys[i].TS >= ts })],
		sigs:    h.Signals[:sort.Search(len(h.Signals), func(i int) bool { return h.Signals[i].TS >= ts })],
		ords:    h.Orders[:sort.Search(len(h.Orders), func(i int) bool { return h.Orders[i].TS >= ts })],
		hasSubs: h.Present.Has(data.Subscriptions),
	}
}

// since returns the first instant of the day n days before T.
func (v *view) since(n int) data.Timestamp { return v.T.AddDays(-n).Start() }

// known returns d if it lies before T, else NoDate: a date on or after the
// as-of date is unknown at it.
func (v *view) known(d data.Date) data.Date {
	if d == data.NoDate || d >= v.T {
		return data.NoDate
	}
	return d
}

func (v *view) knownTime(t data.Timestamp) data.Timestamp {
	if t == data.NoTime || t >= v.ts {
		return data.NoTime
	}
	return t
}

// Compute fills out with the fixed features of the customer in h as of T,
// computing only the groups in cfg.Groups (all when empty). It reads only
// rows strictly before T and date fields that lie before T, so rows and
// dates on or after T cannot change the result. h's tables must be ordered
// by time (data.Scan guarantees it). Compute is a pure function: safe for
// concurrent use with distinct outputs.
//
// A feature that comes out infinite or beyond the float32 range the model
// computes in — huge amounts, their sums or ratios, an infinite input — is
// an *OverflowError naming the customer, T, the feature and its source
// columns; out then holds the values computed.
func Compute(h *data.History, T data.Date, cfg *Config, out *Values) error {
	return computeMask(h, T, cfg, maskOf(cfg.Groups), out)
}

// OverflowError reports a feature whose value is infinite, or finite but
// beyond the float32 range the model computes in. Missing values are NaN
// and fine; such a value would make training fail far from its cause
// ("value at row 12, column 40 is +Inf"), so it stops the computation where
// it arises.
type OverflowError struct {
	Customer string
	AsOf     data.Date
	Feature  string
	Value    float64 // +Inf or -Inf
	// Columns are the dataset columns the feature is computed from.
	Columns []string
}

func (e *OverflowError) Error() string {
	what := "too large for arithmetic"
	if !math.IsInf(e.Value, 0) {
		what = "beyond ±3.4e38, the largest magnitude the model can hold (XGBoost computes in float32)"
	}
	return fmt.Sprintf("customer %q as of %s: feature %s is %v, %s; it is computed from %s (churn validate reports such values as implausible_value or not_finite): fix or null them",
		e.Customer, e.AsOf, e.Feature, e.Value, what, strings.Join(e.Columns, ", "))
}

// overflows reports whether a feature value is infinite or too large for
// the model: XGBoost holds features as float32, where such values become
// infinite. NaN (missing) does not overflow.
func overflows(x float64) bool { return math.Abs(x) > math.MaxFloat32 }

// sources names the columns feature id is computed from in v's dataset.
// Numbers that can grow without bound are named by column; other features
// by what their definition needs.
func sources(id int, v *view, cfg *Config) []string {
	subs := func(with, without string) []string {
		if v.hasSubs {
			return []string{with}
		}
		return []string{without}
	}
	switch id {
	case fMRR:
		return subs("subscriptions.mrr", "customers.mrr")
	case fSeats:
		return subs("subscriptions.seats", "customers.seats")
	case fMRRChangePct:
		return subs("subscriptions.mrr", "payments.amount")
	case fUtilisation:
		return append([]string{"usage.active_users"}, subs("subscriptions.seats", "customers.seats")...)
	case fSpendTrend, fAOVChange:
		return []string{"orders.amount"}
	}
	var out []string
	for _, alt := range defs(cfg)[id].Needs {
		for _, item := range alt {
			if !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
	}
	return out
}

// checkFinite returns an *OverflowError for the first feature that
// overflows.
func checkFinite(v *view, cfg *Config, out *Values) error {
	for id, x := range out.Num {
		if overflows(x) {
			return &OverflowError{Customer: v.c.ID, AsOf: v.T, Feature: defs(cfg)[id].Name, Value: x, Columns: sources(id, v, cfg)}
		}
	}
	return nil
}

func computeMask(h *data.History, T data.Date, cfg *Config, m groupMask, out *Values) error {
	out.reset()
	v := cut(h, T)
	x := &out.Num
	if m.has(gUsage) || m.has(gLifecycle) {
		// Lifecycle first: utilisation needs seats at T.
		lifecycle(&v, cfg, out)
	}
	if m.has(gUsage) {
		usage(&v, cfg, x)
	}
	if m.has(gPayments) {
		payments(&v, cfg, x)
	}
	if m.has(gContacts) {
		contacts(&v, cfg, x)
	}
	if m.has(gTickets) {
		tickets(&v, cfg, x)
	}
	if m.has(gNPS) {
		nps(&v, cfg, x)
	}
	if m.has(gIntent) {
		intent(&v, cfg, x)
	}
	if m.has(gPurchases) {
		purchases(&v, cfg, x)
	}
	return checkFinite(&v, cfg, out)
}

func active(u *data.Usage) bool {
	return (u.ActiveUsers != data.NullInt && u.ActiveUsers > 0) ||
		(u.Sessions != data.NullInt && u.Sessions > 0) ||
		(!math.IsNaN(u.Minutes) && u.Minutes > 0)
}

// usage computes the usage group. A window with no usage rows counts as no
// use (0) once the customer has any usage row before T.
func usage(v *view, cfg *Config, x *[numFixed]float64) {
	rows := v.usage
	if len(rows) == 0 {
		return
	}
	S := data.Date(cfg.Short)
	T := v.T
	var curSum, curN, prevSum, prevN float64
	lastActive := data.NoDate
	for i := range rows {
		u := &rows[i]
		if active(u) {
			lastActive = u.Date
		}
		if u.ActiveUsers == data.NullInt {
			continue
		}
		switch {
		case u.Date >= T-S:
			curSum += float64(u.ActiveUsers)
			curN++
		case u.Date >= T-2*S:
			prevSum += float64(u.ActiveUsers)
			prevN++
		}
	}
	cur := 0.0
	if curN > 0 {
		cur = curSum / curN
	}
	x[fActiveUsers] = cur
	if prevN > 0 && prevSum > 0 {
		x[fActiveUsersRatio] = cur / (prevSum / prevN)
	}
	if seats := x[fSeats]; seats > 0 {
		x[fUtilisation] = cur / seats
	}
	if lastActive != data.NoDate {
		x[fDaysSinceActivity] = float64(T - lastActive)
	}
	// Zero-usage streak: whole weeks back from T without use, stopping at
	// the first week with use or at the customer's first usage row.
	first := rows[0].Date
	streak := 0
	if lastActive == data.NoDate {
		streak = int(T-first) / 7
	} else {
		streak = int(T-1-lastActive) / 7
	}
	x[fZeroUsageWeeks] = float64(streak)
	x[fActiveUsersTrend] = weeklyTrend(rows, T, cfg.TrendWeeks, func(u *data.Usage) int64 { return u.ActiveUsers })
	x[fSessionsTrend] = weeklyTrend(rows, T, cfg.TrendWeeks, func(u *data.Usage) int64 { return u.Sessions })
}

// weeklyTrend is the least-squares slope of the weekly mean of get over the
// last weeks whole weeks before T, divided by the mean of those weekly
// values. Weeks before the customer's first usage row are left out; later
// weeks with no rows count as 0. It is NaN with fewer than 3 weeks or a zero
// mean.
func weeklyTrend(rows []data.Usage, T data.Date, weeks int, get func(*data.Usage) int64) float64 {
	const maxWeeks = 64
	if weeks > maxWeeks {
		weeks = maxWeeks
	}
	var sum, cnt [maxWeeks]float64
	start := T - data.Date(7*weeks)
	seen := false
	for i := len(rows) - 1; i >= 0; i-- {
		u := &rows[i]
		if u.Date < start {
			break
		}
		val := get(u)
		if val == data.NullInt {
			continue
		}
		seen = true
		k := int(u.Date-start) / 7
		sum[k] += float64(val)
		cnt[k]++
	}
	if !seen {
		return nan
	}
	firstWeek := 0
	if d := rows[0].Date; d > start {
		firstWeek = int(d-start) / 7
	}
	n := weeks - firstWeek
	if n < 3 {
		return nan
	}
	var sx, sy, sxx, sxy float64
	for k := firstWeek; k < weeks; k++ {
		y := 0.0
		if cnt[k] > 0 {
			y = sum[k] / cnt[k]
		}
		fx := float64(k)
		sx += fx
		sy += y
		sxx += fx * fx
		sxy += fx * y
	}
	fn := float64(n)
	mean := sy / fn
	if mean == 0 {
		return nan
	}
	slope := (fn*sxy - sx*sy) / (fn*sxx - sx*sx)
	return slope / mean
}

// payments computes the payments group.
func payments(v *view, cfg *Config, x *[numFixed]float64) {
	M, L := data.Date(cfg.Medium), data.Date(cfg.Long)
	T := v.T
	if len(v.pays) > 0 {
		var lateM, lateL, failedM float64
		pastDue := 0.0
		for i := range v.pays {
			p := &v.pays[i]
			late, failed := invoiceState(v, p, &pastDue)
			if p.InvoiceDate >= T-L {
				if late {
					lateL++
				}
				if p.InvoiceDate >= T-M {
					if late {
						lateM++
					}
					if failed {
						failedM++
					}
				}
			}
		}
		x[fLatePaymentsM], x[fLatePaymentsL], x[fFailedPaymentsM], x[fDaysPastDue] = lateM, lateL, failedM, pastDue

		// Days to pay: the last 3 invoices paid before T against the 3 before.
		var dtp [6]float64
		n := 0
		for i := len(v.pays) - 1; i >= 0 && n < 6; i-- {
			p := &v.pays[i]
			if paid := v.known(p.PaidDate); paid != data.NoDate {
				dtp[n] = float64(paid - p.InvoiceDate)
				n++
			}
		}
		if n == 6 {
			x[fDaysToPayChange] = (dtp[0]+dtp[1]+dtp[2])/3 - (dtp[3]+dtp[4]+dtp[5])/3
		}

		// Payment method changes between consecutive invoices in the window.
		prev, withMethod, changed := "", 0, 0.0
		for i := range v.pays {
			p := &v.pays[i]
			if p.Method == "" {
				continue
			}
			withMethod++
			if prev != "" && p.Method != prev && p.InvoiceDate >= T-L {
				changed = 1
			}
			prev = p.Method
		}
		if withMethod >= 2 {
			x[fPaymentMethodChanged] = changed
		}
	}

	// Revenue change and plan changes: from the subscription history when
	// the dataset has one, else from invoices.
	if v.hasSubs {
		if len(v.subs) > 0 {
			now, then := v.mrrAt(T-1), v.mrrAt(T-M)
			if then > 0 && !math.IsNaN(now) {
				x[fMRRChangePct] = (now - then) / then * 100
			}
			var down, up float64
			for i := 1; i < len(v.subs); i++ {
				s, p := &v.subs[i], &v.subs[i-1]
				if s.Start < T-L {
					continue
				}
				switch {
				case s.MRR < p.MRR || s.MRR == p.MRR && s.Seats < p.Seats:
					down++
				case s.MRR > p.MRR || s.MRR == p.MRR && s.Seats > p.Seats:
					up++
				}
			}
			x[fDowngrades], x[fUpgrades] = down, up
		}
		return
	}
	if len(v.pays) > 0 {
		last := v.pays[len(v.pays)-1].Amount
		then := nan
		for i := range v.pays {
			if v.pays[i].InvoiceDate <= T-M {
				then = v.pays[i].Amount
			}
		}
		if then > 0 {
			x[fMRRChangePct] = (last - then) / then * 100
		}
		var down, up float64
		for i := range v.pays {
			p := &v.pays[i]
			if p.InvoiceDate < T-L {
				continue
			}
			switch p.PlanChange {
			case "downgrade":
				down++
			case "upgrade":
				up++
			}
		}
		x[fDowngrades], x[fUpgrades] = down, up
	}
}

// invoiceState says whether an invoice was late (paid after its due date,
// or unpaid and overdue) or failed, as known at T, and raises *pastDue to
// the days an unpaid invoice is overdue. A payment date on or after T means
// the invoice was unpaid at T. Without a payment date, the status is used
// once the invoice was due: paid and refunded count as settled on time,
// late as late, failed as failed, anything else as unpaid.
func invoiceState(v *view, p *data.Payment, pastDue *float64) (late, failed bool) {
	due := p.DueDate
	if due == data.NoDate {
		due = p.InvoiceDate
	}
	dueKnown := due < v.T
	unpaid := false
	switch paid := v.known(p.PaidDate); {
	case paid != data.NoDate:
		return paid > due, false
	case p.PaidDate != data.NoDate: // paid on or after T: unpaid at T
		unpaid = true
		failed = p.Status == "failed" && dueKnown
	case p.Status == "paid" || p.Status == "refunded":
		return false, false
	case p.Status == "late":
		return dueKnown, false
	case p.Status == "failed":
		unpaid, failed = true, dueKnown
	default:
		unpaid = true
	}
	if unpaid && dueKnown {
		*pastDue = math.Max(*pastDue, float64(v.T-due))
		late = !failed
	}
	return late, failed
}

// subAt returns the subscription period in force on day d, as known at T:
// the last period starting on or before d whose end (if known at T) is not
// before d. It returns nil when none is.
func (v *view) subAt(d data.Date) *data.Subscription {
	i := sort.Search(len(v.subs), func(i int) bool { return v.subs[i].Start > d }) - 1
	if i < 0 {
		return nil
	}
	s := &v.subs[i]
	if end := v.known(s.End); end != data.NoDate && end < d {
		return nil
	}
	return s
}

// mrrAt is the MRR in force on day d: NaN before the first period, 0 in a
// gap between periods.
func (v *view) mrrAt(d data.Date) float64 {
	if len(v.subs) == 0 || v.subs[0].Start > d {
		return nan
	}
	if s := v.subAt(d); s != nil {
		return s.MRR
	}
	return 0
}

func contacts(v *view, cfg *Config, x *[numFixed]float64) {
	S, M, L := cfg.Short, cfg.Medium, cfg.Long
	sinceS, since3S, sinceM, sinceL := v.since(S), v.since(3*S), v.since(M), v.since(L)
	var chM, chL, nS, nPrior, in, out float64
	last := data.NoTime
	for i := range v.cons {
		c := &v.cons[i]
		switch c.Kind {
		case "interaction":
			last = c.TS
			if c.TS >= sinceS {
				nS++
			} else if c.TS >= since3S {
				nPrior++
			}
			if c.TS >= sinceM {
				switch c.Direction {
				case "inbound":
					in++
				case "outbound":
					out++
				}
			}
		case "stakeholder_added", "stakeholder_left", "champion_changed":
			if c.TS >= sinceL {
				chL++
				if c.TS >= sinceM {
					chM++
				}
			}
		}
	}
	x[fStakeholderChangesM], x[fStakeholderChangesL] = chM, chL
	if last != data.NoTime {
		x[fDaysSinceInteraction] = float64(v.T - last.Date())
	}
	x[fInteractionsVsPrior] = (nS + 1) / (nPrior/2 + 1)
	if in+out > 0 {
		x[fInboundShare] = in / (in + out)
	}
}

func tickets(v *view, cfg *Config, x *[numFixed]float64) {
	S, M := cfg.Short, cfg.Medium
	sinceS, sinceM, sincePrior := v.since(S), v.since(M), v.since(S+M)
	var nS, nM, nPrior, esc, open, resSum, resN, low float64
	var cats map[string]int
	maxCat := 0
	for i := range v.tiks {
		t := &v.tiks[i]
		closed := v.knownTime(t.ClosedAt)
		if closed == data.NoTime {
			open++
		} else if closed >= sinceM {
			resSum += float64(closed-t.OpenedAt) / 3.6e9
			resN++
			if t.CSAT != data.NullInt && t.CSAT <= cfg.LowCSAT {
				low++
			}
		}
		switch {
		case t.OpenedAt >= sinceS:
			nS++
		case t.OpenedAt >= sincePrior:
			nPrior++
		}
		if t.OpenedAt >= sinceM {
			nM++
			if t.Escalated {
				esc++
			}
			if t.Category != "" {
				if cats == nil {
					cats = make(map[string]int, 4)
				}
				cats[t.Category]++
				maxCat = max(maxCat, cats[t.Category])
			}
		}
	}
	x[fTicketsS], x[fTicketsM], x[fEscalations], x[fOpenTickets], x[fLowCSAT] = nS, nM, esc, open, low
	x[fTicketsTrend] = (nS + 1) / (nPrior*float64(S)/float64(M) + 1)
	if resN > 0 {
		x[fResolutionHours] = resSum / resN
	}
	x[fRepeatComplaints] = float64(maxCat)
}

func nps(v *view, cfg *Config, x *[numFixed]float64) {
	n := len(v.srvs)
	if n == 0 {
		return
	}
	last := &v.srvs[n-1]
	x[fNPSLast] = float64(last.NPS)
	x[fNPSDetractor] = b2f(last.NPS <= cfg.DetractorMax)
	x[fDaysSinceSurvey] = float64(v.T - last.TS.Date())
	if n >= 2 {
		x[fNPSChange] = float64(last.NPS - v.srvs[n-2].NPS)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Stage levels.
const (
	StageOnboarding = "onboarding"
	StageActive     = "active"
	StageRenewal    = "renewal"
	StagePastEnd    = "past_contract_end"
)

// termMonths is the renewal term implied by a billing frequency: monthly
// rolling, quarterly, else annual.
func termMonths(freq string) int {
	switch freq {
	case "monthly":
		return 1
	case "quarterly":
		return 3
	}
	return 12
}

// lifecycle computes the lifecycle group. With a subscriptions table, plan,
// seats, MRR and the renewal date are taken as of T from it; without one,
// they are today's values from the customers table (static in the spec).
func lifecycle(v *view, cfg *Config, out *Values) {
	x := &out.Num
	c := v.c
	T := v.T
	tenure := nan
	if c.SignupDate != data.NoDate {
		tenure = float64(T - c.SignupDate)
		x[fTenure] = tenure
	}
	renewal, term := nan, 12
	if v.hasSubs {
		if n := len(v.subs); n > 0 {
			cur := &v.subs[n-1]
			x[fSeats] = i2f(cur.Seats)
			x[fMRR] = cur.MRR
			out.Cat[fPlan] = cur.Plan
			if cur.AutoRenew >= 0 {
				x[fAutoRenew] = float64(cur.AutoRenew)
			}
			// The term comes from the billing frequency alone: whether a
			// running period has an end is no more known at T than the
			// end itself (billing systems record cancellations as end
			// dates), so an end on or after T changes nothing.
			term = termMonths(cur.BillingFrequency)
			if end := v.known(cur.End); end != data.NoDate {
				renewal = float64(end - T)
			} else {
				// The end of a running period is unknown at T: the next
				// renewal is the next term anniversary of the first period.
				renewal = float64(data.NextAnniversary(v.subs[0].Start, term, T) - T)
			}
		}
	} else {
		x[fSeats] = i2f(c.Seats)
		x[fMRR] = c.MRR
		out.Cat[fPlan] = c.Plan
		if c.ContractEnd != data.NoDate {
			renewal = float64(c.ContractEnd - T)
		}
	}
	x[fDaysToRenewal] = renewal
	out.Cat[fSegment] = c.Segment
	out.Cat[fRegion] = c.Region
	stage := StageActive
	switch {
	case !math.IsNaN(tenure) && tenure < float64(cfg.OnboardingDays):
		stage = StageOnboarding
	case renewal < 0:
		stage = StagePastEnd
	case renewal <= float64(cfg.RenewalDays) && term >= 12:
		stage = StageRenewal
	}
	out.Cat[fStage] = stage
}

func i2f(x int64) float64 {
	if x == data.NullInt {
		return nan
	}
	return float64(x)
}

func intent(v *view, cfg *Config, x *[numFixed]float64) {
	sinceS, sinceM := v.since(cfg.Short), v.since(cfg.Medium)
	var exp, bill, cancel, train float64
	for i := range v.sigs {
		s := &v.sigs[i]
		if s.TS < sinceM {
			continue
		}
		if s.Kind == "training_view" {
			train++
			continue
		}
		if s.TS < sinceS {
			continue
		}
		switch s.Kind {
		case "data_export":
			exp++
		case "billing_question":
			bill++
		case "cancel_page_view":
			cancel++
		}
	}
	x[fDataExports], x[fBillingQuestions], x[fCancelViews], x[fTrainingViews] = exp, bill, cancel, train
}

func purchases(v *view, cfg *Config, x *[numFixed]float64) {
	n := len(v.ords)
	x[fOrdersTotal] = float64(n)
	if n == 0 {
		x[fOrdersS], x[fOrdersM] = 0, 0
		return
	}
	S, M := cfg.Short, cfg.Medium
	sinceS, sinceM, since2M := v.since(S), v.since(M), v.since(2*M)
	var nS, nM, nBefore, spendM, spendPrev, spendBefore float64
	for i := range v.ords {
		o := &v.ords[i]
		amt := o.Amount
		if math.IsNaN(amt) {
			amt = 0
		}
		switch {
		case o.TS >= sinceM:
			nM++
			spendM += amt
			if o.TS >= sinceS {
				nS++
			}
		default:
			nBefore++
			spendBefore += amt
			if o.TS >= since2M {
				spendPrev += amt
			}
		}
	}
	x[fOrdersS], x[fOrdersM] = nS, nM
	x[fDaysSinceOrder] = float64(v.T - v.ords[n-1].TS.Date())
	first := v.ords[0].TS.Date()
	if earlier := float64(v.T - data.Date(M) - first); earlier >= 1 && nBefore > 0 {
		x[fOrderRateRatio] = nM / (nBefore / earlier * float64(M))
	}
	if spendPrev > 0 {
		x[fSpendTrend] = spendM / spendPrev
	}
	if nM > 0 && nBefore > 0 && spendBefore > 0 {
		x[fAOVChange] = (spendM / nM) / (spendBefore / nBefore)
	}
}

// Lifecycle returns the customer's monthly revenue and lifecycle stage at
// T as the mrr and lifecycle_stage features compute them (the lifecycle
// group alone, with cfg's onboarding and renewal windows): from the
// subscriptions in force before T when the history has the subscriptions
// table, else today's customers row. mrr is NaN and stage "" when unknown.
// h needs what LifecycleInputs reads. Safe for concurrent use.
func Lifecycle(h *data.History, T data.Date, cfg *Config) (mrr float64, stage string) {
	var v Values
	if err := computeMask(h, T, cfg, 1<<gLifecycle, &v); err != nil {
		// Only an overflowing revenue fails: it is unknown.
		return nan, v.Cat[fStage]
	}
	return v.Num[fMRR], v.Cat[fStage]
}

// LifecycleInputs returns the scan options that read what Lifecycle
// reads: the customers' lifecycle columns and the subscriptions table.
func LifecycleInputs() data.ScanOptions {
	return data.ScanOptions{Tables: []string{data.Subscriptions}, Columns: map[string][]string{
		data.Customers: {"signup_date", "plan", "segment", "region", "seats", "mrr", "contract_end"}}}
}
