package synth

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/churnlab/churn/data"
)

// Interventions turns on the simulated retention loop (docs/generator.md,
// "Interventions"): every month, customers whose warning signs show are
// targeted by a play, a share is held out as control, and the plays have
// the planted effects of Plays. Nil Params.Interventions generates no loop.
type Interventions struct {
	// ControlShare is the share of targeted customers held out as control,
	// in [0, 1): the Share of the experiment (see Params.Experiment).
	ControlShare float64
	// Compliance is the probability that a treated customer is reached, in
	// (0, 1]. It must be at least the largest planted effect: a reached
	// customer at risk is saved with probability RRR / Compliance.
	Compliance float64
}

// DefaultInterventions returns the loop of `churn generate --interventions`:
// control share 0.2, compliance 0.85.
func DefaultInterventions() Interventions {
	return Interventions{ControlShare: 0.2, Compliance: 0.85}
}

// Validate reports the first invalid field.
func (iv *Interventions) Validate() error {
	maxRRR := 0.0
	for i := range Plays {
		maxRRR = max(maxRRR, Plays[i].RRR)
		for _, x := range Plays[i].ByStage {
			maxRRR = max(maxRRR, x)
		}
	}
	switch {
	case !(iv.ControlShare >= 0 && iv.ControlShare < 1):
		return fmt.Errorf("control-share must be in [0, 1) (got %g)", iv.ControlShare)
	case !(iv.Compliance >= maxRRR && iv.Compliance <= 1):
		return fmt.Errorf("compliance must be between %g (the largest planted effect) and 1 (got %g)", maxRRR, iv.Compliance)
	}
	return nil
}

// ExperimentCohort is the Cohort of the generated experiment.
const ExperimentCohort = "generated"

// Experiment returns the control-group split of the simulated loop:
// data.Experiment{Seed: int64(p.Seed), Cohort: ExperimentCohort, Share:
// p.Interventions.ControlShare}. The seed is the generator's seed read as a
// signed 64-bit integer (two's complement for seeds of 2^63 and more), so
// anyone can recompute a customer's group from the data:
// Experiment.Group(play, customer_id). The zero Experiment without
// interventions.
func (p *Params) Experiment() data.Experiment {
	if p.Interventions == nil {
		return data.Experiment{}
	}
	return data.Experiment{Seed: int64(p.Seed), Cohort: ExperimentCohort, Share: p.Interventions.ControlShare}
}

// Targeting and outcome constants of the simulated loop.
const (
	// HorizonDays is the window of the planted effects: a play's effect is
	// a relative reduction of the risk of churning in (day, day + 90].
	HorizonDays = 90
	// TargetIntensity is the episode intensity (churn or scare) at which
	// warning signs count as visible and the customer is targeted.
	TargetIntensity = 0.35
	// TargetRisk is the latent risk z from which a customer without
	// visible signs is targeted anyway (about 7% of customers).
	TargetRisk = 1.5
)

// Lifecycle stages, as features' lifecycle_stage names them.
const (
	StageOnboarding = "onboarding"
	StageActive     = "active"
	StageRenewal    = "renewal"
	StagePastEnd    = "past_contract_end"
)

// Stages lists the lifecycle stages. It must not be modified.
var Stages = []string{StageOnboarding, StageActive, StageRenewal, StagePastEnd}

// Stage windows of features' defaults (features.Config OnboardingDays and
// RenewalDays).
const (
	onboardingDays = 90
	renewalDays    = 90
)

// Play documents one simulated retention play and its planted effect. The
// generator reads Plays, so the documentation cannot drift from it.
type Play struct {
	// Name is the play: a playbook category (predict/playbook.yaml).
	Name string
	// Signs are the warning signs whose play it is (empty for plays chosen
	// by the risk drivers).
	Signs []Sign
	// RRR is the planted intent-to-treat relative risk reduction over
	// HorizonDays in every lifecycle stage not in ByStage:
	// P(churn in window | treat) = (1 − RRR) · P(churn in window | control).
	RRR float64
	// ByStage overrides RRR in some lifecycle stages.
	ByStage map[string]float64
	// Note is what the interventions row says about a reached customer.
	Note string
	// Why explains the planted effect.
	Why string
}

// Effect returns the planted RRR of the play in a lifecycle stage.
func (pl *Play) Effect(stage string) float64 {
	if x, ok := pl.ByStage[stage]; ok {
		return x
	}
	return pl.RRR
}

// Plays lists the simulated plays with their planted effects, in the order
// of their codes. It documents constants of the generator and must not be
// modified.
var Plays = []Play{
	{Name: "usage", Signs: []Sign{UsageDecline}, RRR: 0, ByStage: map[string]float64{StageActive: 0.6}, Note: "adoption review",
		Why: "an adoption push with an established team brings the abandoned workflows back; in onboarding or near a renewal other conversations decide, and it changes nothing (works in one stage only)"},
	{Name: "support", Signs: []Sign{TicketSurge}, RRR: 0.6, Note: "escalation review with the CS lead",
		Why: "fixing the open issues removes the reason to leave (strong)"},
	{Name: "stakeholder", Signs: []Sign{ChampionLoss}, RRR: 0.3, Note: "met the new stakeholder",
		Why: "restating the value to the new champion"},
	{Name: "billing", Signs: []Sign{PaymentTrouble, Downgrade}, RRR: 0.15, Note: "billing conversation",
		Why: "a better-fitting plan helps a little (weak)"},
	{Name: "nps", Signs: []Sign{NPSDrop}, RRR: 0.15, Note: "NPS follow-up call",
		Why: "closing the loop on a detractor helps a little (weak)"},
	{Name: "going_silent", Signs: []Sign{GoingSilent}, RRR: 0.3, Note: "re-engagement check-in",
		Why: "a business review re-engages the account"},
	{Name: "intent", Signs: []Sign{DataExport, BillingQuestion, CancelPageView}, RRR: 0, Note: "executive call",
		Why: "by the time a customer exports its data the decision is made (no effect)"},
	{Name: "renewal", RRR: 0.3, Note: "early renewal conversation",
		Why: "a high-risk customer near its renewal, met early by the account executive"},
	{Name: "training", RRR: 0.15, Note: "training invitation",
		Why: "a high-risk customer who never trained learns the product (weak)"},
	{Name: "profile", RRR: 0, Note: "account plan review",
		Why: "a general account review of a high-risk customer changes nothing (no effect)"},
}

// Play codes for the risk-driven plays.
var (
	playRenewal  = playIndex("renewal")
	playTraining = playIndex("training")
	playProfile  = playIndex("profile")
	signPlay     = func() (m [numSigns]int) {
		for i := range m {
			m[i] = -1
		}
		for i := range Plays {
			for _, s := range Plays[i].Signs {
				m[s] = i
			}
		}
		for s, i := range m {
			if i < 0 {
				panic(fmt.Sprintf("synth: sign %s has no play", Sign(s)))
			}
		}
		return m
	}()
)

func playIndex(name string) int {
	i := slices.IndexFunc(Plays, func(p Play) bool { return p.Name == name })
	if i < 0 {
		panic("synth: no play " + name)
	}
	return i
}

// Assignment is one simulated targeting of a customer by a play: a row of
// the interventions table.
type Assignment struct {
	// Day is the targeting day, the first of a month; the row's ts falls
	// on it.
	Day  data.Date
	Play string
	// Stage is the customer's lifecycle stage on Day, computed as features'
	// lifecycle_stage computes it from the subscriptions as they stood on
	// Day (a later save can remove a monthly contract's end date from the
	// data; see docs/generator.md).
	Stage string
	// Group is data.GroupTreat or data.GroupControl.
	Group string
	// Reached reports whether a treated customer was contacted.
	Reached bool
	// AtRisk reports whether the customer's planned churn fell in
	// (Day, Day + HorizonDays] when it was targeted.
	AtRisk bool
	// Saved reports whether the play cancelled the planned churn.
	Saved bool

	ts      data.Timestamp
	play    int
	channel int
}

// Vocabulary of the interventions table's string columns.
var (
	playNames = func() []string {
		s := make([]string, len(Plays))
		for i := range Plays {
			s[i] = Plays[i].Name
		}
		return s
	}()
	// notes: the plays' notes, then noteNotReached.
	notes = func() []string {
		s := make([]string, 0, len(Plays)+1)
		for i := range Plays {
			s = append(s, Plays[i].Note)
		}
		return append(s, "not reached")
	}()
	noteNotReached = len(Plays)
	groups         = []string{data.GroupTreat, data.GroupControl}
)

// runPlays builds the subscription phases and runs the retention loop on
// them: on the first day of each month of the period, a customer who is
// still a customer and whose warning signs show is targeted by the play of
// its dominant sign (or, without visible signs but with a high latent
// risk, by a play of its risk drivers), at most once per play. A play may
// save the customer, which cancels the planned churn; the phases are then
// rebuilt without the churn episode's downgrade after the save. Finally
// phases and changes past the customer's last day are dropped.
func (c *customer) runPlays(p *Params, r *rng, plan int, seats int64) {
	phaseState := r.src
	c.buildPhases(r, plan, seats)
	iv := p.Interventions
	exp := p.Experiment()
	ir := newRNG()
	ir.seed(p.Seed, c.Index, streamInterventions)
	// The dominant sign of each episode, drawn once: its signs share one
	// intensity ramp, so one of them is the one the team notices.
	churnSign, scareSign := ir.sign(c.Signs), ir.sign(c.ScareSigns)
	var used uint32
	for t := firstOfMonth(c.start); t <= c.end; t = addMonths(t, 1) {
		if t < c.start || c.Signup >= t || (c.PlannedChurn.Valid() && c.PlannedChurn <= t) {
			continue
		}
		play, stage := -1, ""
		xc, xs := 0.0, c.scare.at(t)
		if c.Signs != 0 {
			xc = c.churnEp.at(t)
		}
		switch {
		case max(xc, xs) >= TargetIntensity && xc >= xs:
			play = signPlay[churnSign]
		case max(xc, xs) >= TargetIntensity:
			play = signPlay[scareSign]
		case c.Risk >= TargetRisk:
			stage = c.stageAt(t)
			switch {
			case stage == StageRenewal:
				play = playRenewal
			case !c.Trained:
				play = playTraining
			default:
				play = playProfile
			}
		}
		if play < 0 || used&(1<<play) != 0 {
			continue
		}
		used |= 1 << play
		if stage == "" {
			stage = c.stageAt(t)
		}
		a := Assignment{Day: t, Play: Plays[play].Name, play: play, Stage: stage, Group: exp.Group(Plays[play].Name, c.ID)}
		// A fixed number of draws per assignment.
		reach, save := ir.Float64(), ir.Float64()
		a.ts, a.channel = at(ir, t), ir.pick([]float64{0.3, 0.5, 0.2})
		a.AtRisk = c.PlannedChurn.Valid() && c.PlannedChurn <= t+HorizonDays
		a.Reached = a.Group == data.GroupTreat && reach < iv.Compliance
		if a.Reached && a.AtRisk && save < Plays[play].Effect(a.Stage)/iv.Compliance {
			a.Saved = true
			c.save(t)
		}
		c.Assignments = append(c.Assignments, a)
	}
	if c.Saved.Valid() {
		// Rebuild the phases without the churn episode's downgrade after
		// the save: the draws of earlier changes are the same.
		c.changes = slices.DeleteFunc(c.changes, func(ch change) bool { return ch.ep && ch.day >= c.cut })
		r.src = phaseState
		c.phases = c.phases[:0]
		c.buildPhases(r, plan, seats)
	}
	for len(c.phases) > 1 && c.phases[len(c.phases)-1].start > c.last {
		c.phases = c.phases[:len(c.phases)-1]
	}
	for len(c.changes) > 0 && c.changes[len(c.changes)-1].day > c.last {
		c.changes = c.changes[:len(c.changes)-1]
	}
}

// sign draws one sign of s uniformly; it always makes one draw.
func (r *rng) sign(s SignSet) Sign {
	k := r.IntN(max(1, s.Len()))
	for x := Sign(0); x < numSigns; x++ {
		if s.Has(x) {
			if k == 0 {
				return x
			}
			k--
		}
	}
	return 0
}

// save cancels the customer's planned churn on day t: the churn episode
// stops rising and fades over ScareRecoveryDays, as a scare does, its point
// events from t on do not happen, and the customer stays to the end.
func (c *customer) save(t data.Date) {
	c.Saved, c.cut = t, t
	amp := c.churnEp.at(t)
	c.churnEp = episode{start: c.churnEp.start, peak: t, end: t + ScareRecoveryDays, amp: amp, signs: c.churnEp.signs}
	c.PlannedChurn, c.Churned, c.AtRenewal = data.NoDate, false, false
	c.last = c.end
}

// firstOfMonth returns the first day of the month of d.
func firstOfMonth(d data.Date) data.Date {
	y, m, _ := civil(d)
	return data.MakeDate(y, time.Month(m), 1)
}

// stageAt returns the lifecycle stage on day t the way features'
// lifecycle_stage computes it with default windows from the customer's
// subscription rows that start before t: onboarding in the first 90 days
// after signup; past_contract_end when the current row ended before t;
// renewal within 90 days of the next term anniversary for annually billed
// customers (the term comes from the billing frequency alone); active
// otherwise.
func (c *customer) stageAt(t data.Date) string {
	var first, cur data.Date = data.NoDate, data.NoDate
	curEnd := data.NoDate
	c.subRows(func(start, end data.Date, _ *phase) bool {
		if start >= t {
			return false
		}
		if !first.Valid() {
			first = start
		}
		cur, curEnd = start, end
		return true
	})
	renewal, term := math.NaN(), 12
	if cur.Valid() {
		term = c.billMonths
		if curEnd.Valid() && curEnd < t {
			renewal = float64(curEnd - t)
		} else {
			renewal = float64(data.NextAnniversary(first, term, t) - t)
		}
	}
	switch {
	case t-c.Signup < onboardingDays:
		return StageOnboarding
	case renewal < 0:
		return StagePastEnd
	case renewal <= renewalDays && term >= 12:
		return StageRenewal
	}
	return StageActive
}

// interventions writes the customer's assignments.
func (w *worker) interventions(t *table, ci int) {
	c := &w.c
	for i := range c.Assignments {
		a := &c.Assignments[i]
		t.row(ci)
		t.ts(1, a.ts)
		t.code(2, a.play)
		owner, channel, note := c.owner, a.channel, a.play
		switch {
		case a.Group == data.GroupControl:
			owner, channel, note = -1, -1, -1
		case !a.Reached:
			channel, note = -1, noteNotReached
		}
		t.code(3, owner)
		t.code(4, channel)
		t.code(5, note)
		g := 0
		if a.Group == data.GroupControl {
			g = 1
		}
		t.code(6, g)
		t.bool(7, a.Reached)
	}
}
