package features

import (
	"fmt"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
)

// Kind is how a feature's values are represented.
type Kind string

// Feature kinds.
const (
	Numeric     Kind = "numeric"     // a number (float64; NaN when missing)
	Flag        Kind = "flag"        // 0 or 1 (NaN when missing)
	Categorical Kind = "categorical" // a string level ("" when missing), one-hot encoded by Encoder
)

// Def describes one feature.
type Def struct {
	Name        string `json:"name"`
	Group       string `json:"group"`
	Description string `json:"description"` // business words
	Unit        string `json:"unit"`
	Kind        Kind   `json:"kind"`
	// Needs lists alternative requirements as "table" or "table.column";
	// the feature is available when every item of at least one
	// alternative is present in the dataset.
	Needs [][]string `json:"needs"`
	// Static marks a value known only today (taken from the customers
	// table), which may leak into past snapshots.
	Static bool `json:"static,omitempty"`
	// Missing says when the value is missing.
	Missing string `json:"missing,omitempty"`
	// Risk is +1 when higher values mean more churn risk, -1 when lower
	// values do, 0 when neither is expected.
	Risk int `json:"risk"`

	id int // position in the value array; -1 for attributes
}

// Feature groups, in output order.
var groupOrder = []string{"usage", "payments", "contacts", "tickets", "nps", "lifecycle", "intent", "purchases", "attributes"}

// GroupNames returns the feature groups in output order.
func GroupNames() []string { return slices.Clone(groupOrder) }

func knownGroup(g string) bool { return slices.Contains(groupOrder, g) }

// Feature ids: positions in the per-customer value array.
const (
	fActiveUsers = iota
	fActiveUsersTrend
	fActiveUsersRatio
	fUtilisation
	fDaysSinceActivity
	fZeroUsageWeeks
	fSessionsTrend

	fLatePaymentsM
	fLatePaymentsL
	fFailedPaymentsM
	fDaysPastDue
	fDaysToPayChange
	fMRRChangePct
	fDowngrades
	fUpgrades
	fPaymentMethodChanged

	fStakeholderChangesM
	fStakeholderChangesL
	fDaysSinceInteraction
	fInteractionsVsPrior
	fInboundShare

	fTicketsS
	fTicketsM
	fTicketsTrend
	fEscalations
	fOpenTickets
	fResolutionHours
	fLowCSAT
	fRepeatComplaints

	fNPSLast
	fNPSDetractor
	fNPSChange
	fDaysSinceSurvey

	fTenure
	fDaysToRenewal
	fStage
	fSeats
	fMRR
	fPlan
	fSegment
	fRegion
	fAutoRenew

	fDataExports
	fBillingQuestions
	fCancelViews
	fTrainingViews

	fDaysSinceOrder
	fOrdersS
	fOrdersM
	fOrderRateRatio
	fSpendTrend
	fAOVChange
	fOrdersTotal
	fPAlive
	fExpectedPurchases
	fCLV

	numFixed
)

// defs returns the fixed feature definitions for the windows of cfg, indexed
// by feature id.
func defs(cfg *Config) []Def {
	S, M, L, W := cfg.Short, cfg.Medium, cfg.Long, cfg.TrendWeeks
	d := make([]Def, numFixed)
	set := func(id int, def Def) {
		def.id = id
		d[id] = def
	}
	alt := func(items ...string) [][]string { return [][]string{items} }
	usage := alt("usage")
	noUsage := "no usage rows before the as-of date"

	set(fActiveUsers, Def{Name: fmt.Sprintf("active_users_%dd", S), Group: "usage", Unit: "users", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("average active users per usage record in the last %d days (0 when none recorded)", S),
		Needs:       alt("usage.active_users"), Missing: noUsage})
	set(fActiveUsersTrend, Def{Name: fmt.Sprintf("active_users_trend_%dw", W), Group: "usage", Unit: "share of mean per week", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("slope of weekly active users over the last %d weeks, relative to their mean (−0.05 = falling 5%% of the mean each week)", W),
		Needs:       alt("usage.active_users"), Missing: "fewer than 3 weeks of usage in the window, or no active users at all"})
	set(fActiveUsersRatio, Def{Name: fmt.Sprintf("active_users_ratio_%dd", S), Group: "usage", Unit: "ratio", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("active users in the last %d days against the %d days before (0.55 = down 45%%)", S, S),
		Needs:       alt("usage.active_users"), Missing: "no active users in the earlier window"})
	set(fUtilisation, Def{Name: "utilisation", Group: "usage", Unit: "share of seats", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("licence utilisation: average active users in the last %d days divided by licensed seats", S),
		Needs:       [][]string{{"usage.active_users", "subscriptions"}, {"usage.active_users", "customers.seats"}}, Missing: "seats unknown or zero, or no usage rows"})
	set(fDaysSinceActivity, Def{Name: "days_since_activity", Group: "usage", Unit: "days", Kind: Numeric, Risk: 1,
		Description: "days since the last recorded use of the product",
		Needs:       usage, Missing: "never used before the as-of date"})
	set(fZeroUsageWeeks, Def{Name: "zero_usage_weeks", Group: "usage", Unit: "weeks", Kind: Numeric, Risk: 1,
		Description: "whole weeks in a row, up to the as-of date, without any use",
		Needs:       usage, Missing: noUsage})
	set(fSessionsTrend, Def{Name: fmt.Sprintf("sessions_trend_%dw", W), Group: "usage", Unit: "share of mean per week", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("slope of weekly sessions over the last %d weeks, relative to their mean", W),
		Needs:       alt("usage.sessions"), Missing: "fewer than 3 weeks of usage in the window, or no sessions at all"})

	pay := alt("payments")
	noPay := "no invoices before the as-of date"
	set(fLatePaymentsM, Def{Name: fmt.Sprintf("late_payments_%dd", M), Group: "payments", Unit: "invoices", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("invoices issued in the last %d days that were paid after their due date or are overdue", M),
		Needs:       pay, Missing: noPay})
	set(fLatePaymentsL, Def{Name: fmt.Sprintf("late_payments_%dd", L), Group: "payments", Unit: "invoices", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("invoices issued in the last %d days that were paid after their due date or are overdue", L),
		Needs:       pay, Missing: noPay})
	set(fFailedPaymentsM, Def{Name: fmt.Sprintf("failed_payments_%dd", M), Group: "payments", Unit: "invoices", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("failed payments on invoices issued in the last %d days (known once the invoice was due)", M),
		Needs:       pay, Missing: noPay})
	set(fDaysPastDue, Def{Name: "days_past_due", Group: "payments", Unit: "days", Kind: Numeric, Risk: 1,
		Description: "days the oldest unpaid, overdue invoice is past its due date (0 when nothing is overdue)",
		Needs:       pay, Missing: noPay})
	set(fDaysToPayChange, Def{Name: "days_to_pay_change", Group: "payments", Unit: "days", Kind: Numeric, Risk: 1,
		Description: "change in days taken to pay: the last 3 paid invoices against the 3 before (positive = paying slower)",
		Needs:       alt("payments.paid_date"), Missing: "fewer than 6 invoices paid before the as-of date"})
	set(fMRRChangePct, Def{Name: fmt.Sprintf("mrr_change_%dd_pct", M), Group: "payments", Unit: "%", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("change in monthly recurring revenue over the last %d days, in percent", M),
		Needs:       [][]string{{"subscriptions"}, {"payments"}}, Missing: fmt.Sprintf("no revenue known %d days before the as-of date", M)})
	set(fDowngrades, Def{Name: fmt.Sprintf("downgrades_%dd", L), Group: "payments", Unit: "changes", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("plan or seat downgrades in the last %d days", L),
		Needs:       [][]string{{"subscriptions"}, {"payments.plan_change"}}, Missing: "no subscription or invoice history before the as-of date"})
	set(fUpgrades, Def{Name: fmt.Sprintf("upgrades_%dd", L), Group: "payments", Unit: "changes", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("plan or seat upgrades in the last %d days", L),
		Needs:       [][]string{{"subscriptions"}, {"payments.plan_change"}}, Missing: "no subscription or invoice history before the as-of date"})
	set(fPaymentMethodChanged, Def{Name: fmt.Sprintf("payment_method_changed_%dd", L), Group: "payments", Unit: "flag", Kind: Flag, Risk: 1,
		Description: fmt.Sprintf("1 if the payment method changed between invoices in the last %d days", L),
		Needs:       alt("payments.method"), Missing: "fewer than 2 invoices with a method in the window"})

	con := alt("contacts")
	set(fStakeholderChangesM, Def{Name: fmt.Sprintf("stakeholder_changes_%dd", M), Group: "contacts", Unit: "changes", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("key stakeholders added, leaving or champion changes in the last %d days", M),
		Needs:       con, Missing: "never"})
	set(fStakeholderChangesL, Def{Name: fmt.Sprintf("stakeholder_changes_%dd", L), Group: "contacts", Unit: "changes", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("key stakeholders added, leaving or champion changes in the last %d days", L),
		Needs:       con, Missing: "never"})
	set(fDaysSinceInteraction, Def{Name: "days_since_interaction", Group: "contacts", Unit: "days", Kind: Numeric, Risk: 1,
		Description: "days since the last interaction with the customer",
		Needs:       con, Missing: "no interaction before the as-of date"})
	set(fInteractionsVsPrior, Def{Name: fmt.Sprintf("interactions_%dd_vs_prior", S), Group: "contacts", Unit: "ratio", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("interactions in the last %d days against the customer's own average over the %d days before, (n+1)/(avg+1); below 1 = going silent", S, 2*S),
		Needs:       con, Missing: "never"})
	set(fInboundShare, Def{Name: fmt.Sprintf("inbound_share_%dd", M), Group: "contacts", Unit: "share", Kind: Numeric, Risk: 0,
		Description: fmt.Sprintf("share of interactions in the last %d days that the customer started", M),
		Needs:       alt("contacts.direction"), Missing: "no interaction with a direction in the window"})

	tik := alt("tickets")
	set(fTicketsS, Def{Name: fmt.Sprintf("tickets_%dd", S), Group: "tickets", Unit: "tickets", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("support tickets opened in the last %d days", S), Needs: tik, Missing: "never"})
	set(fTicketsM, Def{Name: fmt.Sprintf("tickets_%dd", M), Group: "tickets", Unit: "tickets", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("support tickets opened in the last %d days", M), Needs: tik, Missing: "never"})
	set(fTicketsTrend, Def{Name: "tickets_trend", Group: "tickets", Unit: "ratio", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("tickets in the last %d days against the customer's rate over the %d days before, (n+1)/(expected+1); above 1 = rising", S, M),
		Needs:       tik, Missing: "never"})
	set(fEscalations, Def{Name: fmt.Sprintf("escalations_%dd", M), Group: "tickets", Unit: "tickets", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("escalated tickets opened in the last %d days", M), Needs: tik, Missing: "never"})
	set(fOpenTickets, Def{Name: "open_tickets", Group: "tickets", Unit: "tickets", Kind: Numeric, Risk: 1,
		Description: "tickets still open at the as-of date", Needs: tik, Missing: "never"})
	set(fResolutionHours, Def{Name: fmt.Sprintf("resolution_hours_%dd", M), Group: "tickets", Unit: "hours", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("mean hours to resolve tickets closed in the last %d days", M),
		Needs:       alt("tickets.closed_at"), Missing: "no ticket closed in the window"})
	set(fLowCSAT, Def{Name: fmt.Sprintf("low_csat_%dd", M), Group: "tickets", Unit: "tickets", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("tickets closed in the last %d days rated %d or lower for satisfaction", M, cfg.LowCSAT),
		Needs:       alt("tickets.csat", "tickets.closed_at"), Missing: "never"})
	set(fRepeatComplaints, Def{Name: fmt.Sprintf("repeat_complaints_%dd", M), Group: "tickets", Unit: "tickets", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("most tickets about one category in the last %d days (persistent complaints)", M),
		Needs:       alt("tickets.category"), Missing: "never"})

	srv := alt("surveys")
	set(fNPSLast, Def{Name: "nps_last", Group: "nps", Unit: "score 0-10", Kind: Numeric, Risk: -1,
		Description: "latest NPS answer", Needs: srv, Missing: "no survey answer before the as-of date"})
	set(fNPSDetractor, Def{Name: "nps_detractor", Group: "nps", Unit: "flag", Kind: Flag, Risk: 1,
		Description: fmt.Sprintf("1 if the latest NPS answer is a detractor (%d or lower)", cfg.DetractorMax), Needs: srv, Missing: "no survey answer before the as-of date"})
	set(fNPSChange, Def{Name: "nps_change", Group: "nps", Unit: "points", Kind: Numeric, Risk: -1,
		Description: "change between the last two NPS answers", Needs: srv, Missing: "fewer than 2 answers"})
	set(fDaysSinceSurvey, Def{Name: "days_since_survey", Group: "nps", Unit: "days", Kind: Numeric, Risk: 0,
		Description: "days since the latest NPS answer", Needs: srv, Missing: "no survey answer before the as-of date"})

	set(fTenure, Def{Name: "tenure_days", Group: "lifecycle", Unit: "days", Kind: Numeric, Risk: -1,
		Description: "days since the customer signed up", Needs: alt("customers.signup_date"), Missing: "signup date unknown"})
	set(fDaysToRenewal, Def{Name: "days_to_renewal", Group: "lifecycle", Unit: "days", Kind: Numeric, Risk: -1,
		Description: "days until the contract renews or ends (negative = past its end)",
		Needs:       [][]string{{"subscriptions"}, {"customers.contract_end"}}, Missing: "no contract known at the as-of date"})
	set(fStage, Def{Name: "lifecycle_stage", Group: "lifecycle", Unit: "stage", Kind: Categorical, Risk: 0,
		Description: fmt.Sprintf("onboarding (first %d days), renewal (within %d days of contract end), past_contract_end, or active", cfg.OnboardingDays, cfg.RenewalDays),
		Needs:       [][]string{{"customers.signup_date"}, {"subscriptions"}, {"customers.contract_end"}}, Missing: "never (active when nothing is known)"})
	set(fSeats, Def{Name: "seats", Group: "lifecycle", Unit: "seats", Kind: Numeric, Risk: 0,
		Description: "licensed seats", Needs: [][]string{{"subscriptions"}, {"customers.seats"}}, Missing: "no subscription at the as-of date"})
	set(fMRR, Def{Name: "mrr", Group: "lifecycle", Unit: "currency per month", Kind: Numeric, Risk: 0,
		Description: "monthly recurring revenue", Needs: [][]string{{"subscriptions"}, {"customers.mrr"}}, Missing: "no subscription at the as-of date"})
	set(fPlan, Def{Name: "plan", Group: "lifecycle", Unit: "plan", Kind: Categorical, Risk: 0,
		Description: "plan", Needs: [][]string{{"subscriptions"}, {"customers.plan"}}, Missing: "no subscription at the as-of date"})
	set(fSegment, Def{Name: "segment", Group: "lifecycle", Unit: "segment", Kind: Categorical, Risk: 0, Static: true,
		Description: "customer segment", Needs: alt("customers.segment"), Missing: "segment unknown"})
	set(fRegion, Def{Name: "region", Group: "lifecycle", Unit: "region", Kind: Categorical, Risk: 0, Static: true,
		Description: "sales region", Needs: alt("customers.region"), Missing: "region unknown"})
	set(fAutoRenew, Def{Name: "auto_renew", Group: "lifecycle", Unit: "flag", Kind: Flag, Risk: -1,
		Description: "1 if the current subscription renews automatically", Needs: alt("subscriptions.auto_renew"), Missing: "no subscription at the as-of date, or not recorded"})

	sig := alt("signals")
	set(fDataExports, Def{Name: fmt.Sprintf("data_exports_%dd", S), Group: "intent", Unit: "events", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("data-export requests in the last %d days", S), Needs: sig, Missing: "never"})
	set(fBillingQuestions, Def{Name: fmt.Sprintf("billing_questions_%dd", S), Group: "intent", Unit: "events", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("billing questions in the last %d days", S), Needs: sig, Missing: "never"})
	set(fCancelViews, Def{Name: fmt.Sprintf("cancel_page_views_%dd", S), Group: "intent", Unit: "events", Kind: Numeric, Risk: 1,
		Description: fmt.Sprintf("visits to the cancellation page in the last %d days", S), Needs: sig, Missing: "never"})
	set(fTrainingViews, Def{Name: fmt.Sprintf("training_views_%dd", M), Group: "intent", Unit: "events", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("views of training material in the last %d days (0 = unaware of the learning material)", M), Needs: sig, Missing: "never"})

	ord := alt("orders")
	set(fDaysSinceOrder, Def{Name: "days_since_order", Group: "purchases", Unit: "days", Kind: Numeric, Risk: 1,
		Description: "days since the last order", Needs: ord, Missing: "no order before the as-of date"})
	set(fOrdersS, Def{Name: fmt.Sprintf("orders_%dd", S), Group: "purchases", Unit: "orders", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("orders in the last %d days", S), Needs: ord, Missing: "never"})
	set(fOrdersM, Def{Name: fmt.Sprintf("orders_%dd", M), Group: "purchases", Unit: "orders", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("orders in the last %d days", M), Needs: ord, Missing: "never"})
	set(fOrderRateRatio, Def{Name: fmt.Sprintf("order_rate_ratio_%dd", M), Group: "purchases", Unit: "ratio", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("orders in the last %d days against the customer's own earlier rate (below 1 = buying less often)", M),
		Needs:       ord, Missing: fmt.Sprintf("first order less than %d days before the as-of date", M)})
	set(fSpendTrend, Def{Name: fmt.Sprintf("spend_trend_%dd", M), Group: "purchases", Unit: "ratio", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("spend in the last %d days against the %d days before", M, M), Needs: ord, Missing: "no spend in the earlier window"})
	set(fAOVChange, Def{Name: fmt.Sprintf("aov_change_%dd", M), Group: "purchases", Unit: "ratio", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("average order value in the last %d days against the average before", M), Needs: ord, Missing: "no order in the window or none before it"})
	set(fOrdersTotal, Def{Name: "orders_total", Group: "purchases", Unit: "orders", Kind: Numeric, Risk: -1,
		Description: "orders before the as-of date", Needs: ord, Missing: "never"})

	// The probability models' features (lifetime.go): population
	// parameters fitted on every customer's orders before the as-of date,
	// applied to the customer's own purchase days.
	lt := &cfg.Lifetime
	noFit := "no order before the as-of date, or no BG/NBD parameters fitted on or before it (see the spec's lifetime fits)"
	set(fPAlive, Def{Name: "p_alive", Group: "purchases", Unit: "probability", Kind: Numeric, Risk: -1,
		Description: "probability that the customer is still an active buyer, from how often and how recently they bought on distinct days (BG/NBD, Fader, Hardie and Lee 2005)",
		Needs:       ord, Missing: noFit})
	set(fExpectedPurchases, Def{Name: fmt.Sprintf("expected_purchases_%dd", lt.HorizonDays), Group: "purchases", Unit: "purchase days", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("expected days with a purchase in the next %d days (BG/NBD)", lt.HorizonDays),
		Needs:       ord, Missing: noFit})
	set(fCLV, Def{Name: "clv", Group: "purchases", Unit: "currency", Kind: Numeric, Risk: -1,
		Description: fmt.Sprintf("customer lifetime value: expected spend over the next %d months, discounted at %g%% a year (BG/NBD purchases × Gamma-Gamma spend per purchase day)", lt.CLVMonths, 100*lt.Discount()),
		Needs:       ord, Missing: noFit + "; or no Gamma-Gamma parameters (too few repeat buyers with a positive spend)"})
	return d
}

// available reports whether the dataset described by has satisfies one of
// the alternatives of needs.
func available(needs [][]string, has func(table, column string) bool) bool {
	for _, alt := range needs {
		ok := true
		for _, item := range alt {
			t, c, _ := strings.Cut(item, ".")
			if !has(t, c) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// datasetHas adapts a Dataset to available.
func datasetHas(ds *data.Dataset) func(table, column string) bool {
	return func(table, column string) bool {
		tf := ds.Table(table)
		if tf == nil {
			return false
		}
		return column == "" || tf.HasColumn(column)
	}
}
