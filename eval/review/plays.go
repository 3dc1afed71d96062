package review

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
)

// contactKey identifies a customer and a play.
func contactKey(cust, play int32) uint64 { return uint64(uint32(cust))<<32 | uint64(uint32(play)) }

// readInterventions reads the interventions table, if the dataset has one
// (data.Dataset.ReadInterventions: rows of known customers): rows with a
// group become units dated the day of ts, added to set, and the days each
// customer was reached by each play (Intervention.Reached) are returned,
// for the per-protocol comparison. nil without the table.
func (rv *reviewer) readInterventions(ctx context.Context, set *unitSet) (map[uint64][]data.Date, error) {
	ds := rv.opt.Dataset
	if !ds.Has(data.Interventions) {
		return nil, nil
	}
	rows, err := ds.ReadInterventions(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the interventions: %w", err)
	}
	contacts := map[uint64][]data.Date{}
	var cands []candidate
	var treat []bool // of each candidate
	var units, unknown int64
	rv.mu.Lock()
	for i := range rows {
		iv := &rows[i]
		ci := rv.out.lookup(iv.CustomerID)
		if ci < 0 {
			unknown++ // not among the customers the label scan saw
			continue
		}
		g := int8(-1)
		if iv.Group != "" {
			if g = groupIndex(iv.Group); g < 0 {
				rv.mu.Unlock()
				return nil, fmt.Errorf("interventions: customer %s, play %s: group %q: want treat or control (churn validate %s reports every such row)", iv.CustomerID, iv.Play, iv.Group, ds.Dir)
			}
		}
		d := iv.TS.Date()
		if d >= rv.asOf {
			continue // after the review date: not known yet
		}
		pid := rv.intern(iv.Play)
		if iv.Reached() {
			k := contactKey(ci, pid)
			contacts[k] = append(contacts[k], d)
		}
		if g >= 0 {
			units++
			cands = append(cands, candidate{h: rv.out.ids.hashOf(iv.CustomerID), play: pid, cust: ci, date: d, row: int32(len(cands))})
			treat = append(treat, g == 1)
		}
	}
	rv.inputs.InterventionRows += int64(len(rows))
	rv.inputs.InterventionUnits += units
	rv.inputs.UnknownCustomers += unknown
	rv.mu.Unlock()
	built := make([]unit, len(cands))
	for k, c := range cands {
		built[k] = unit{cust: c.cust, date: c.date, play: c.play, treat: treat[k], tier: -1, stage: -1, cat: -1, owner: -1, prob: math.NaN(), mrr: math.NaN()}
	}
	if err := rv.lifecycleOf(ctx, built); err != nil {
		return nil, err
	}
	set.add(cands, &rv.out.ids, func(c *candidate) unit { return built[c.row] })
	return contacts, nil
}

// lifecycleOf gives units of the interventions table, which carry no
// prediction, their customer's monthly revenue and lifecycle stage at
// their date (features.Lifecycle, as predictions compute them), by a scan
// of the lifecycle inputs.
func (rv *reviewer) lifecycleOf(ctx context.Context, cands []unit) error {
	if len(cands) == 0 {
		return nil
	}
	at := map[string][]int{}
	for k := range cands {
		id := rv.out.ids.name(cands[k].cust)
		at[id] = append(at[id], k)
	}
	cfg := features.Config{}
	if rv.opt.Features != nil {
		cfg = *rv.opt.Features
	}
	cfg.EnsureDefaults()
	_, err := rv.opt.Dataset.Scan(ctx, data.KeyRange{}, features.LifecycleInputs(), func(h *data.History) error {
		for _, k := range at[h.Customer.ID] {
			u := &cands[k]
			mrr, stage := features.Lifecycle(h, u.date, &cfg)
			u.mrr = mrr
			if stage != "" {
				rv.mu.Lock()
				u.stage = rv.intern(stage)
				rv.mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the interventions' customers: %w", err)
	}
	return nil
}

// outcomesOfUnits puts the units in a fixed order (customer, play name)
// and gives each its outcome and, with interventions, whether it was
// contacted within its window.
func (rv *reviewer) outcomesOfUnits(contacts map[uint64][]data.Date) {
	// Interned strings are numbered in the order they were met, which
	// depends on the workers: order by name instead.
	byName := make([]int32, len(rv.strs))
	names := make([]int32, len(rv.strs))
	for i := range names {
		names[i] = int32(i)
	}
	slices.SortFunc(names, func(a, b int32) int { return strings.Compare(rv.strs[a], rv.strs[b]) })
	for rank, id := range names {
		byName[id] = int32(rank)
	}
	slices.SortFunc(rv.units, func(a, b unit) int {
		return cmp.Or(cmp.Compare(a.cust, b.cust), cmp.Compare(byName[a.play], byName[b.play]))
	})
	var h data.History
	spec := rv.lc.Spec()
	for i := range rv.units {
		u := &rv.units[i]
		u.y, u.active = rv.out.label(u.cust, u.date, &h)
		if !u.active {
			rv.inputs.NotActive++
			continue
		}
		end := spec.LastDay(u.date)
		for _, d := range contacts[contactKey(u.cust, u.play)] {
			if d >= u.date && d <= end {
				u.contacted = true
				break
			}
		}
	}
	rv.inputs.Units = len(rv.units) - rv.inputs.NotActive
}

// arms counts the closed units of each arm.
func arms(units []*unit) (a twoArms, open [2]int) {
	for _, u := range units {
		switch {
		case math.IsNaN(u.y) && u.treat:
			open[0]++
		case math.IsNaN(u.y):
			open[1]++
		case u.treat:
			a.nT++
			a.churnT += u.y
		default:
			a.nC++
			a.churnC += u.y
		}
	}
	return a, open
}

func ci(lo, hi float64) CI { return CI{Num(lo), Num(hi)} }

// play measures one play (or all of them) over its units.
func (rv *reviewer) play(name string, units []*unit, perProtocol bool) Play {
	a, open := arms(units)
	e := a.compare(rv.z)
	p := Play{Name: name, Treated: int(a.nT), Control: int(a.nC), TreatedOpen: open[0], ControlOpen: open[1],
		ChurnedTreated: int(a.churnT), ChurnedControl: int(a.churnC),
		ChurnRateTreated: Num(e.RateT), ChurnRateTreatedCI: ci(e.RateTLo, e.RateTHi), ChurnRateControl: Num(e.RateC), ChurnRateControlCI: ci(e.RateCLo, e.RateCHi),
		Uplift: Num(e.Uplift), UpliftCI: ci(e.UpLo, e.UpHi), RelativeRisk: Num(e.RR), RelativeRiskCI: ci(e.RRLo, e.RRHi),
		RelativeRiskReduction: Num(e.RRR), RRRCI: ci(e.RRRLo, e.RRRHi)}
	p.CustomersSaved, p.CustomersSavedCI = Num(e.Uplift*a.nT), ci(e.UpLo*a.nT, e.UpHi*a.nT)
	var mrr float64
	for _, u := range units {
		if u.treat && !math.IsNaN(u.y) && !math.IsNaN(u.mrr) {
			mrr += u.mrr
			p.MRRKnown++
		}
	}
	p.MRRTreated = Num(mrr)
	p.MRRSaved, p.MRRSavedCI = Num(math.NaN()), ci(math.NaN(), math.NaN())
	if p.MRRKnown > 0 {
		p.MRRSaved, p.MRRSavedCI = Num(e.Uplift*mrr), ci(e.UpLo*mrr, e.UpHi*mrr)
	}
	useful := *rv.cfg.UsefulRRR
	switch min := float64(rv.cfg.MinPerArm); {
	case a.nC == 0 && open[1] == 0 && a.nT+float64(open[0]) > 0:
		p.Verdict = "no_control"
	case a.nT < min || a.nC < min:
		p.Verdict = "too_few"
	case e.UpLo > 0:
		p.Verdict = "works"
	case e.RRRHi < useful:
		p.Verdict, p.NoEvidence = "no_evidence", true
	default:
		p.Verdict = "inconclusive"
	}
	if perProtocol {
		p.PerProtocol = rv.perProtocol(units)
	}
	p.Segments, p.SegmentsLeftOut = rv.segments(units)
	p.Survival = rv.survival(units)
	return p
}

// survivalPoints is the most points a play's curves keep in review.json.
const survivalPoints = 100

// survival gives the Kaplan-Meier curves of time to churn from the unit's
// date, treated and control.
func (rv *reviewer) survival(units []*unit) []eval.SurvivalGroup {
	var arm [2]eval.SurvivalCounts
	var n [2]int
	var h data.History
	for _, u := range units {
		c := &rv.out.cust[u.cust]
		h.Customer.SignupDate, h.Customer.ChurnDate, h.Customer.Churned = c.signup, c.churnDate, c.churned
		h.ChurnEvents, h.Orders = rv.out.events[c.ev0:c.ev1], rv.out.orders[c.ord0:c.ord1]
		days, churned, ok := eval.TimeToChurn(&h, &rv.out.lc, u.date)
		if !ok {
			continue
		}
		k := 1
		if u.treat {
			k = 0
		}
		arm[k].Add(days, churned)
		n[k]++
	}
	out := []eval.SurvivalGroup{}
	for k, name := range []string{"treated", "control"} {
		if n[k] > 0 {
			out = append(out, arm[k].Group(name, rv.cfg.Level, survivalPoints))
		}
	}
	return out
}

// perProtocol compares the contacted treated units with every control
// unit (closed windows).
func (rv *reviewer) perProtocol(units []*unit) *PerProtocol {
	pp := &PerProtocol{Biased: true}
	var a twoArms
	for _, u := range units {
		if math.IsNaN(u.y) {
			continue
		}
		switch {
		case u.treat && u.contacted:
			pp.Contacted++
			a.nT++
			a.churnT += u.y
		case u.treat:
			pp.NotContacted++
		default:
			if u.contacted {
				pp.ControlContacted++
			}
			a.nC++
			a.churnC += u.y
		}
	}
	e := a.compare(rv.z)
	pp.ChurnRateContacted, pp.ChurnRateControl = Num(e.RateT), Num(e.RateC)
	pp.Uplift, pp.UpliftCI = Num(e.Uplift), ci(e.UpLo, e.UpHi)
	pp.RRR, pp.RRRCI = Num(e.RRR), ci(e.RRRLo, e.RRRHi)
	return pp
}

// segments breaks units down by reason category × lifecycle stage, keeping
// the segments where both arms have MinPerArm closed units.
func (rv *reviewer) segments(units []*unit) ([]Segment, int) {
	type key struct{ cat, stage string }
	groups := map[key][]*unit{}
	for _, u := range units {
		k := key{cmp.Or(rv.str(u.cat), "unknown"), cmp.Or(rv.str(u.stage), "unknown")}
		groups[k] = append(groups[k], u)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(strings.Compare(a.cat, b.cat), strings.Compare(a.stage, b.stage)) })
	out := []Segment{}
	left := 0
	min := float64(rv.cfg.MinPerArm)
	for _, k := range keys {
		a, _ := arms(groups[k])
		if a.nT < min || a.nC < min {
			left++
			continue
		}
		e := a.compare(rv.z)
		out = append(out, Segment{ReasonCategory: k.cat, LifecycleStage: k.stage, Treated: int(a.nT), Control: int(a.nC),
			ChurnRateTreated: Num(e.RateT), ChurnRateControl: Num(e.RateC), Uplift: Num(e.Uplift), UpliftCI: ci(e.UpLo, e.UpHi),
			RRR: Num(e.RRR), RRRCI: ci(e.RRRLo, e.RRRHi)})
	}
	return out, left
}

// plays fills the play sections of the review.
func (rv *reviewer) plays(rep *Review, perProtocol bool) {
	byPlay := map[string][]*unit{}
	first := map[int32]*unit{} // each customer's first unit of any play
	for i := range rv.units {
		u := &rv.units[i]
		if !u.active {
			continue
		}
		name := rv.strs[u.play]
		byPlay[name] = append(byPlay[name], u)
		if f, ok := first[u.cust]; !ok || u.before(f) || (u.date == f.date && u.pred == f.pred && name < rv.strs[f.play]) {
			first[u.cust] = u
		}
	}
	names := make([]string, 0, len(byPlay))
	for n := range byPlay {
		names = append(names, n)
	}
	slices.Sort(names)
	rep.Plays = []Play{}
	for _, n := range names {
		rep.Plays = append(rep.Plays, rv.play(n, byPlay[n], perProtocol))
	}
	overall := make([]*unit, 0, len(first))
	for _, u := range first {
		overall = append(overall, u)
	}
	slices.SortFunc(overall, func(a, b *unit) int { return cmp.Compare(a.cust, b.cust) })
	rep.Overall = rv.play("all plays", overall, perProtocol)
	rep.UpliftByDecile, rep.Qini = rv.byRisk(overall)
	rep.saved, rep.Saved = rv.savedCustomers()
	rep.playRuns = rv.playRuns()
}

// byRisk gives the treatment effect by decile of predicted risk and the
// Qini curve, over closed units with a probability.
func (rv *reviewer) byRisk(units []*unit) ([]Decile, Qini) {
	var us []*unit
	for _, u := range units {
		if !math.IsNaN(u.prob) && !math.IsNaN(u.y) {
			us = append(us, u)
		}
	}
	slices.SortFunc(us, func(a, b *unit) int { return cmp.Or(cmp.Compare(b.prob, a.prob), cmp.Compare(a.cust, b.cust)) })
	deciles := []Decile{}
	q := Qini{Points: []QiniPoint{}, Coefficient: Num(math.NaN())}
	n := len(us)
	if n < 10 {
		return deciles, q
	}
	for d := 0; d < 10; d++ {
		part := us[d*n/10 : (d+1)*n/10]
		a, _ := arms(part)
		e := a.compare(rv.z)
		deciles = append(deciles, Decile{Decile: d + 1, MaxProbability: Num(part[0].prob), MinProbability: Num(part[len(part)-1].prob),
			Treated: int(a.nT), Control: int(a.nC), ChurnRateTreated: Num(e.RateT), ChurnRateControl: Num(e.RateC),
			Uplift: Num(e.Uplift), UpliftCI: ci(e.UpLo, e.UpHi)})
	}
	inc := make([]float64, 11)
	var a twoArms
	for k := 0; k <= 10; k++ {
		if k > 0 {
			b, _ := arms(us[(k-1)*n/10 : k*n/10])
			a.nT, a.nC, a.churnT, a.churnC = a.nT+b.nT, a.nC+b.nC, a.churnT+b.churnT, a.churnC+b.churnC
		}
		inc[k] = 0
		if a.nT > 0 {
			inc[k] = a.churnC*ratio(a.nT, a.nC) - a.churnT
		}
	}
	var area float64
	for k := 0; k <= 10; k++ {
		random := inc[10] * float64(k) / 10
		q.Points = append(q.Points, QiniPoint{Share: Num(float64(k) / 10), Incremental: Num(inc[k]), Random: Num(random)})
		if k > 0 {
			r0 := inc[10] * float64(k-1) / 10
			area += ((inc[k] - random) + (inc[k-1] - r0)) / 2 * 0.1
		}
	}
	q.Coefficient = Num(ratio(area, a.nT))
	return deciles, q
}

// savedCustomers lists the treated units from predictions in the high
// tier whose window closed without churn, by monthly revenue.
func (rv *reviewer) savedCustomers() ([]SavedCustomer, Saved) {
	var all []SavedCustomer
	var mrr float64
	for i := range rv.units {
		u := &rv.units[i]
		if !u.active || !u.treat || !u.pred || u.tier != 0 || u.y != 0 {
			continue
		}
		all = append(all, SavedCustomer{CustomerID: rv.out.ids.name(u.cust), Play: rv.strs[u.play], AsOf: u.date.String(),
			ChurnProbability: Num(u.prob), MRR: Num(u.mrr), Owner: rv.str(u.owner), LifecycleStage: rv.str(u.stage)})
		if !math.IsNaN(u.mrr) {
			mrr += u.mrr
		}
	}
	slices.SortFunc(all, func(a, b SavedCustomer) int {
		am, bm := a.MRR.F(), b.MRR.F()
		switch {
		case math.IsNaN(am) != math.IsNaN(bm):
			if math.IsNaN(am) {
				return 1
			}
			return -1
		case am != bm && !math.IsNaN(am):
			return cmp.Compare(bm, am)
		}
		return cmp.Or(cmp.Compare(b.ChurnProbability.F(), a.ChurnProbability.F()), strings.Compare(a.CustomerID, b.CustomerID), strings.Compare(a.Play, b.Play))
	})
	s := Saved{Customers: len(all), MRR: Num(mrr), Listed: all[:min(len(all), rv.cfg.SavedListed)]}
	if s.Listed == nil {
		s.Listed = []SavedCustomer{}
	}
	return all, s
}

// playRuns groups the units by date, source and play: the run × play
// table.
func (rv *reviewer) playRuns() []PlayRun {
	type key struct {
		date data.Date
		pred bool
		play string
	}
	groups := map[key][]*unit{}
	for i := range rv.units {
		u := &rv.units[i]
		if u.active {
			k := key{u.date, u.pred, rv.strs[u.play]}
			groups[k] = append(groups[k], u)
		}
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.pred != b.pred {
			if a.pred {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.date, b.date), strings.Compare(a.play, b.play))
	})
	out := make([]PlayRun, 0, len(keys))
	for _, k := range keys {
		us := groups[k]
		a, open := arms(us)
		pr := PlayRun{AsOf: k.date.String(), Source: "interventions", Play: k.play, Window: "open",
			Treated: int(a.nT), Control: int(a.nC), TreatedOpen: open[0], ControlOpen: open[1], ChurnedTreated: int(a.churnT), ChurnedControl: int(a.churnC),
			e: a.compare(rv.z)}
		if k.pred {
			pr.Source = "predictions"
		}
		if rv.out.closed(k.date) {
			pr.Window = "closed"
		}
		for _, u := range us {
			if u.treat && !math.IsNaN(u.y) && !math.IsNaN(u.mrr) {
				pr.MRRTreated += u.mrr
			}
		}
		pr.MRRSaved = pr.e.Uplift * pr.MRRTreated
		out = append(out, pr)
	}
	return out
}
