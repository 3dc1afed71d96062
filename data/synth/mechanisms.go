package synth

import (
	"math/bits"
	"strings"

	"github.com/churnlab/churn/data"
)

// Sign identifies a planted warning sign.
type Sign uint8

// The warning signs, in the order of Mechanisms.
const (
	UsageDecline    Sign = iota // weekly usage and utilisation fall
	TicketSurge                 // more, more urgent and more escalated tickets, lower CSAT
	ChampionLoss                // the champion leaves and is replaced
	PaymentTrouble              // late and failed payments
	Downgrade                   // seats cut (and sometimes the plan)
	NPSDrop                     // NPS answers fall to detractor scores
	GoingSilent                 // fewer interactions and survey answers
	DataExport                  // data_export signals near the end
	BillingQuestion             // billing_question signals near the end
	CancelPageView              // cancel_page_view signals near the end
	numSigns
)

// String returns the mechanism name of s.
func (s Sign) String() string {
	if int(s) < len(Mechanisms) {
		return Mechanisms[s].Name
	}
	return "sign?"
}

// gradual reports whether s follows the episode's intensity ramp (the others
// are point events placed in a window before churn).
func (s Sign) gradual() bool { return s <= GoingSilent && s != ChampionLoss && s != Downgrade }

// SignSet is a set of Signs.
type SignSet uint16

// Has reports whether s holds x.
func (s SignSet) Has(x Sign) bool { return s&(1<<x) != 0 }

// With returns s plus x.
func (s SignSet) With(x Sign) SignSet { return s | 1<<x }

// Len returns the number of signs in s.
func (s SignSet) Len() int { return bits.OnesCount16(uint16(s)) }

// String lists the names of the signs, comma-separated ("" when empty).
func (s SignSet) String() string {
	var names []string
	for x := Sign(0); x < numSigns; x++ {
		if s.Has(x) {
			names = append(names, x.String())
		}
	}
	return strings.Join(names, ",")
}

// Mechanism documents one planted warning sign. The generator reads Share
// and Strength from Mechanisms, so the documentation cannot drift from
// what is generated.
type Mechanism struct {
	Sign Sign
	// Name is a stable identifier, e.g. "usage_decline".
	Name string
	// Tables lists the tables that carry the sign.
	Tables []string
	// Share is the probability that a churner with warning signs shows this
	// sign; signs are drawn independently of each other. The share of all
	// churners is Share × (1 − SilentShare).
	Share float64
	// Strength is the size of the effect at full intensity; Effect says what
	// it multiplies or adds.
	Strength float64
	// LeadDays is the range of days before churn_date in which the sign
	// shows: gradual signs ramp up over the whole episode (EpisodeDays),
	// point events fall inside the range.
	LeadDays [2]int
	// Effect describes the change, with intensity r rising linearly from 0
	// at the episode start to 1 on the churn date.
	Effect string
	// Baseline describes the same events for customers without the sign.
	Baseline string
}

// EpisodeDays is the range of lengths, in days, of a churner's warning-sign
// episode: the ramp starts L days before churn_date, L uniform in the range.
var EpisodeDays = [2]int{60, 120}

// Noise parameters.
const (
	// SilentShare is the share of churners with no warning sign at all
	// (sudden churn: acquisitions, budget cuts).
	SilentShare = 0.15
	// ScareShare is the share of customers (churners or not) with one
	// "scare" episode: warning signs that rise and fade without churn.
	ScareShare = 0.15
	// ScarePeak is the intensity a scare reaches (1 for a churn episode).
	ScarePeak = 0.7
	// ScareRecoveryDays is how long a scare takes to fade after its peak.
	ScareRecoveryDays = 45
	// ScarePointShare scales Share for the point-event signs of a scare.
	ScarePointShare = 0.5
)

// Mechanisms lists the planted warning signs, indexed by Sign. The
// generator reads its parameters from here; it must not be modified.
var Mechanisms = []Mechanism{
	{
		Sign: UsageDecline, Name: "usage_decline", Tables: []string{data.UsageTable},
		Share: 0.80, Strength: 0.60, LeadDays: EpisodeDays,
		Effect:   "weekly active_users, sessions and minutes are multiplied by (1 − 0.60·r), so usage and utilisation (active_users/seats) end at 40% of their level",
		Baseline: "usage follows the customer's utilisation with ±8% weekly noise, a drift of N(0, 15%) a year, an onboarding ramp and a holiday dip",
	},
	{
		Sign: TicketSurge, Name: "ticket_surge", Tables: []string{data.Tickets},
		Share: 0.60, Strength: 3.0, LeadDays: EpisodeDays,
		Effect:   "the ticket rate is multiplied by (1 + 3·r); P(escalated) = 0.05 + 0.30·r; P(high) = 0.15 + 0.20·r and P(urgent) = 0.05 + 0.15·r; mean CSAT falls by 1.5·r",
		Baseline: "0.15 (smb), 0.27 (mid), 0.45 (ent) tickets a month, times exp(0.25·risk)",
	},
	{
		Sign: ChampionLoss, Name: "champion_loss", Tables: []string{data.Contacts},
		Share: 0.35, Strength: 1, LeadDays: [2]int{30, 120},
		Effect:   "a stakeholder_left contact (role champion) and, an hour later, a champion_changed contact, in the first half of the episode",
		Baseline: "stakeholder_added 0.3, stakeholder_left 0.2 and champion_changed 0.1 a year",
	},
	{
		Sign: PaymentTrouble, Name: "payment_trouble", Tables: []string{data.Payments},
		Share: 0.40, Strength: 0.45, LeadDays: EpisodeDays,
		Effect:   "each invoice is late with probability baseline + 0.45·r and fails with probability baseline + 0.12·r",
		Baseline: "late 3% (card), 8% (invoice), 2% (direct debit); failed 1.5% (card), 0.5% otherwise; refunded 0.3%",
	},
	{
		Sign: Downgrade, Name: "downgrade", Tables: []string{data.Subscriptions, data.Payments},
		Share: 0.25, Strength: 0.45, LeadDays: [2]int{20, 120},
		Effect:   "seats are cut by 30–60% (mean 45%), and with probability 0.4 the plan drops one level; a new subscription row starts and the next invoice says plan_change=downgrade; active users do not fall with the seats, so utilisation rises",
		Baseline: "seat changes 0.3 a year (80% +10–50%, 20% −10–30%), plan upgrades 0.06 a year",
	},
	{
		Sign: NPSDrop, Name: "nps_drop", Tables: []string{data.Surveys},
		Share: 0.55, Strength: 5, LeadDays: EpisodeDays,
		Effect:   "the mean NPS answer falls by 5·r, to detractor scores (0–6)",
		Baseline: "a survey every 91 days, answered with probability 0.55; NPS ~ N(8 − 0.8·risk, 1.5) rounded and clipped to 0–10",
	},
	{
		Sign: GoingSilent, Name: "going_silent", Tables: []string{data.Contacts, data.Surveys},
		Share: 0.50, Strength: 0.80, LeadDays: EpisodeDays,
		Effect:   "the interaction rate is multiplied by (1 − 0.80·r) and the survey answer rate by (1 − 0.5·r)",
		Baseline: "0.5 (smb), 1 (mid), 2 (ent) interactions a month, 55% outbound",
	},
	{
		Sign: DataExport, Name: "data_export", Tables: []string{data.Signals},
		Share: 0.45, Strength: 2, LeadDays: [2]int{1, 45},
		Effect:   "1–3 data_export signals (mean 2) in the last 45 days before churn",
		Baseline: "0.25 a year",
	},
	{
		Sign: BillingQuestion, Name: "billing_question", Tables: []string{data.Signals},
		Share: 0.35, Strength: 1.5, LeadDays: [2]int{1, 60},
		Effect:   "1–2 billing_question signals (mean 1.5) in the last 60 days before churn",
		Baseline: "0.5 a year",
	},
	{
		Sign: CancelPageView, Name: "cancel_page_view", Tables: []string{data.Signals},
		Share: 0.30, Strength: 2, LeadDays: [2]int{1, 30},
		Effect:   "1–3 cancel_page_view signals (mean 2) in the last 30 days before churn",
		Baseline: "0.08 a year",
	},
}

// Driver documents one term of the churn model: the per-renewal churn
// probability is sigmoid(sum of the terms that apply).
type Driver struct {
	Name  string
	Logit float64
	Doc   string
}

// Drivers lists the terms of the churn decision, made once per contract
// term: at each renewal the customer leaves with probability sigmoid(Σ).
// It documents constants of the generator and must not be modified.
var Drivers = []Driver{
	{"base_annual", baseAnnual, "intercept for annual contracts (decided once a year)"},
	{"base_monthly", baseMonthly, "intercept for monthly contracts (decided every month)"},
	{"risk", coefRisk, "times the latent risk z ~ N(0, 1); z also lowers utilisation (−0.08·z), NPS (−0.8·z) and the chance of training (see no_training) and raises the ticket rate (×exp(0.25·z))"},
	{"no_training", coefNoTraining, "when the customer never views training material (no training_view signals); P(trained) = sigmoid(0.8 − 0.9·z)"},
	{"first_renewal", coefFirstRenewal, "at the customer's first renewal (onboarding stage)"},
	{"no_auto_renew", coefNoAutoRenew, "when auto_renew is false (25% of customers)"},
	{"segment_smb", coefSMB, "smb customers (mid 0)"},
	{"segment_ent", coefEnt, "enterprise customers"},
}

// Churn model coefficients, documented in Drivers.
const (
	baseAnnual       = -2.9
	baseMonthly      = -5.35
	coefRisk         = 0.9
	coefNoTraining   = 0.8
	coefFirstRenewal = 0.4
	coefNoAutoRenew  = 0.4
	coefSMB          = 0.3
	coefEnt          = -0.5
	// midTermShare is the share of annual-contract churners who leave
	// before the end of their term (the others leave on the contract end).
	midTermShare = 0.15
)
