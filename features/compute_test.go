package features

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/churnlab/churn/data"
)

func byName(cfg *Config) map[string]Def {
	m := map[string]Def{}
	for _, d := range defs(cfg) {
		m[d.Name] = d
	}
	return m
}

// TestComputeFixture checks every fixed feature against values worked out by
// hand from fixture(); the comment on each case shows the arithmetic.
func TestComputeFixture(t *testing.T) {
	cfg := defaultConfig()
	var v Values
	Compute(fixture(), fixtureT, cfg, &v)
	nanv := math.NaN()
	tests := []struct {
		name string
		want float64
		why  string
	}{
		{"active_users_30d", 7, "rows 06-03..06-24: (10+8+6+4)/4"},
		{"active_users_trend_12w", (-218.0 / 143) / (188.0 / 12), "weekly 20×8,10,8,6,4: OLS slope -218/143 over mean 188/12"},
		{"active_users_ratio_30d", 0.35, "7 / mean of 05-06..05-27 (20)"},
		{"utilisation", 0.7, "7 users / 10 seats of the period in force"},
		{"days_since_activity", 7, "last active 06-24"},
		{"zero_usage_weeks", 0, "active in the last week"},
		{"sessions_trend_12w", (-218.0 / 143) / (188.0 / 12), "sessions are 2× users: same relative trend"},
		{"late_payments_90d", 2, "invoices since 04-02: 05-01 paid late, 06-15 overdue at T (paid after T)"},
		{"late_payments_180d", 3, "plus 04-01 paid 05-10 after due 05-01"},
		{"failed_payments_90d", 1, "06-01 failed, due 06-15"},
		{"days_past_due", 16, "06-01 invoice unpaid, due 06-15: 16 days"},
		{"days_to_pay_change", 55.0 / 3, "(50+39+9)/3 - (14+19+10)/3"},
		{"mrr_change_90d_pct", -100.0 / 6, "600 on 04-02 → 500 on 06-30"},
		{"downgrades_180d", 1, "05-01 period: 600 → 500"},
		{"upgrades_180d", 0, "the 08-01 upgrade is after T"},
		{"payment_method_changed_180d", 1, "card → invoice on 05-01"},
		{"stakeholder_changes_90d", 1, "stakeholder_left 05-20"},
		{"stakeholder_changes_180d", 2, "plus champion_changed 02-01"},
		{"days_since_interaction", 21, "last interaction 06-10"},
		{"interactions_30d_vs_prior", 1, "(1+1)/(2/2+1)"},
		{"inbound_share_90d", 2.0 / 3, "04-10 in, 05-15 out, 06-10 in"},
		{"tickets_30d", 2, "06-05, 06-20"},
		{"tickets_90d", 4, "04-15, 05-20, 06-05, 06-20"},
		{"tickets_trend", 1.5, "(2+1)/(3 tickets in [03-03,06-01) × 30/90 + 1)"},
		{"escalations_90d", 2, "04-15 and 06-05"},
		{"open_tickets", 2, "06-05 closes after T, 06-20 never closed"},
		{"resolution_hours_90d", 24, "closed since 04-02: 36h and 12h"},
		{"low_csat_90d", 1, "04-15 rated 1; 06-05's rating comes after T"},
		{"repeat_complaints_90d", 2, "billing twice since 04-02"},
		{"nps_last", 5, "answer of 04-01"},
		{"nps_detractor", 1, "5 ≤ 6"},
		{"nps_change", -4, "9 → 5"},
		{"days_since_survey", 91, "04-01 → 07-01"},
		{"tenure_days", 533, "2023-01-15 → 2024-07-01"},
		{"days_to_renewal", 198, "period end 09-30 unknown at T: next anniversary of 2023-01-15 is 2025-01-15"},
		{"seats", 10, "period in force, not today's 99"},
		{"mrr", 500, "period in force, not today's 9999"},
		{"auto_renew", 0, "period in force"},
		{"data_exports_30d", 2, "06-20, 06-25"},
		{"billing_questions_30d", 0, "05-01 is older than 30 days"},
		{"cancel_page_views_30d", 1, "06-30 23:59; 07-01 00:00 is at T"},
		{"training_views_90d", 1, "04-05; 03-01 is older"},
		{"days_since_order", 11, "06-20"},
		{"orders_30d", 1, "06-20"},
		{"orders_90d", 2, "05-01, 06-20"},
		{"order_rate_ratio_90d", 2.0 / (4.0 / 276 * 90), "4 orders in the 276 days before 04-02, 2 in the last 90"},
		{"spend_trend_90d", 1.5, "180 since 04-02 against 120 in [01-03, 04-02)"},
		{"aov_change_90d", 1.125, "90 per order since 04-02 against 320/4"},
		{"orders_total", 6, "orders before T"},
		// Population parameters are not Compute's: ComputeLifetime sets
		// these (TestComputeLifetime).
		{"p_alive", nanv, "left to ComputeLifetime"},
		{"expected_purchases_90d", nanv, "left to ComputeLifetime"},
		{"clv", nanv, "left to ComputeLifetime"},
	}
	names := byName(cfg)
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := names[tt.name]
			if !ok {
				t.Fatalf("no feature %s", tt.name)
			}
			seen[tt.name] = true
			if got := v.Num[d.id]; !approx(got, tt.want) {
				t.Errorf("%s = %v, want %v (%s)", tt.name, got, tt.want, tt.why)
			}
		})
	}
	cats := map[string]string{"lifecycle_stage": StageActive, "plan": "basic", "segment": "mid", "region": "emea"}
	for name, want := range cats {
		seen[name] = true
		if got := v.Cat[names[name].id]; got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for name := range names {
		if !seen[name] {
			t.Errorf("feature %s has no hand-worked case", name)
		}
	}
}

func approx(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// TestComputeMissing checks that features are missing (NaN), not zero, when
// the history cannot say, and zero when it can.
func TestComputeMissing(t *testing.T) {
	cfg := defaultConfig()
	h := &data.History{Customer: data.Customer{ID: "C2", SignupDate: day("2024-06-20"), Seats: data.NullInt, MRR: math.NaN(), ContractEnd: data.NoDate, ChurnDate: data.NoDate}}
	for _, tb := range []string{data.Customers, data.Subscriptions, data.UsageTable, data.Payments, data.Contacts, data.Tickets, data.Surveys, data.Signals, data.Orders} {
		h.Present = h.Present.With(tb)
	}
	var v Values
	Compute(h, fixtureT, cfg, &v)
	names := byName(cfg)
	zero := map[string]bool{
		"stakeholder_changes_90d": true, "stakeholder_changes_180d": true, "interactions_30d_vs_prior": false,
		"tickets_30d": true, "tickets_90d": true, "escalations_90d": true, "open_tickets": true, "low_csat_90d": true, "repeat_complaints_90d": true,
		"data_exports_30d": true, "billing_questions_30d": true, "cancel_page_views_30d": true, "training_views_90d": true,
		"orders_30d": true, "orders_90d": true, "orders_total": true,
	}
	one := map[string]bool{"interactions_30d_vs_prior": true, "tickets_trend": true}
	for name, d := range names {
		got := v.Num[d.id]
		switch {
		case d.Kind == Categorical:
		case name == "tenure_days":
			if got != 11 {
				t.Errorf("tenure_days = %v, want 11", got)
			}
		case zero[name]:
			if got != 0 {
				t.Errorf("%s = %v, want 0 (an empty table is a real zero)", name, got)
			}
		case one[name]:
			if got != 1 {
				t.Errorf("%s = %v, want 1 (no change from nothing)", name, got)
			}
		default:
			if !math.IsNaN(got) {
				t.Errorf("%s = %v, want NaN (missing)", name, got)
			}
		}
	}
	if got := v.Cat[fStage]; got != StageOnboarding {
		t.Errorf("stage = %q, want onboarding", got)
	}
}

// TestComputeStaticFallback checks values taken from today's customers row
// when the dataset has no subscription history.
func TestComputeStaticFallback(t *testing.T) {
	h := fixture()
	h.Present = data.TableSet(0).With(data.Customers).With(data.Payments)
	h.Subscriptions = nil
	var v Values
	Compute(h, fixtureT, defaultConfig(), &v)
	if v.Num[fSeats] != 99 || v.Num[fMRR] != 9999 || v.Cat[fPlan] != "pro" {
		t.Errorf("seats, mrr, plan = %v, %v, %q; want today's 99, 9999, pro", v.Num[fSeats], v.Num[fMRR], v.Cat[fPlan])
	}
	if want := float64(day("2030-01-01") - fixtureT); v.Num[fDaysToRenewal] != want {
		t.Errorf("days_to_renewal = %v, want %v", v.Num[fDaysToRenewal], want)
	}
	// Revenue change from invoice amounts (all 500) and no plan_change column.
	if v.Num[fMRRChangePct] != 0 || v.Num[fDowngrades] != 0 {
		t.Errorf("mrr change, downgrades = %v, %v; want 0, 0", v.Num[fMRRChangePct], v.Num[fDowngrades])
	}
}

func TestStages(t *testing.T) {
	tests := []struct {
		name   string
		signup string
		subs   []data.Subscription
		want   string
	}{
		{"onboarding", "2024-05-01", nil, StageOnboarding},
		{"renewal window", "2023-09-01", []data.Subscription{{Start: day("2023-09-01"), End: data.NoDate, BillingFrequency: "annual", Seats: 1, MRR: 1}}, StageRenewal},
		{"past contract end", "2023-01-01", []data.Subscription{{Start: day("2023-01-01"), End: day("2024-05-31"), Seats: 1, MRR: 1}}, StagePastEnd},
		{"monthly never renewal", "2023-09-01", []data.Subscription{{Start: day("2023-09-01"), End: data.NoDate, BillingFrequency: "monthly", Seats: 1, MRR: 1}}, StageActive},
		{"active", "2023-01-01", []data.Subscription{{Start: day("2023-01-01"), End: data.NoDate, BillingFrequency: "annual", Seats: 1, MRR: 1}}, StageActive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &data.History{Customer: data.Customer{SignupDate: day(tt.signup), ContractEnd: data.NoDate}, Subscriptions: tt.subs}
			h.Present = data.TableSet(0).With(data.Customers).With(data.Subscriptions)
			var v Values
			Compute(h, fixtureT, defaultConfig(), &v)
			if got := v.Cat[fStage]; got != tt.want {
				t.Errorf("stage = %q, want %q (days to renewal %v)", got, tt.want, v.Num[fDaysToRenewal])
			}
		})
	}
}

func TestPaymentStatusWithoutDates(t *testing.T) {
	T := fixtureT
	h := &data.History{Customer: data.Customer{SignupDate: day("2023-01-01")}}
	h.Present = data.TableSet(0).With(data.Payments)
	inv := func(date, status string) data.Payment {
		return data.Payment{InvoiceDate: day(date), DueDate: day(date) + 14, PaidDate: data.NoDate, Amount: 10, Status: status}
	}
	h.Payments = []data.Payment{inv("2024-05-01", "paid"), inv("2024-05-15", "late"), inv("2024-06-01", "failed"), inv("2024-06-10", "open"), inv("2024-06-25", "open")}
	var v Values
	Compute(h, T, defaultConfig(), &v)
	// late: 05-15 (status late, due 05-29 < T) and 06-10 (open, due 06-24 < T); 06-25 is not yet due.
	if v.Num[fLatePaymentsM] != 2 || v.Num[fFailedPaymentsM] != 1 || v.Num[fDaysPastDue] != float64(T-day("2024-06-15")) {
		t.Errorf("late, failed, past due = %v, %v, %v", v.Num[fLatePaymentsM], v.Num[fFailedPaymentsM], v.Num[fDaysPastDue])
	}
}

// TestLifecycle checks that Lifecycle, on a scan reading only
// LifecycleInputs, gives the mrr and lifecycle_stage that Compute gives on
// the whole history, with and without a subscriptions table.
func TestLifecycle(t *testing.T) {
	r := newRand()
	var hs []*data.History
	for i := 0; i < 60; i++ {
		h := randomHistory(r)
		h.Customer.ID = fmt.Sprintf("C%03d", i)
		hs = append(hs, h)
	}
	dates := []data.Date{day("2023-02-01"), day("2023-09-15"), day("2024-06-01"), day("2025-07-01")}
	cfg := defaultConfig()
	for _, tables := range [][]string{{data.Subscriptions, data.UsageTable}, {data.UsageTable}} {
		t.Run(fmt.Sprint(tables), func(t *testing.T) {
			dir := t.TempDir()
			writeDataset(t, dir, hs, tables...)
			ds, err := data.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			type got struct {
				mrr   float64
				stage string
			}
			run := func(opt data.ScanOptions, f func(h *data.History, T data.Date) got) []got {
				var out []got
				if _, err := ds.Scan(context.Background(), data.KeyRange{}, opt, func(h *data.History) error {
					for _, T := range dates {
						out = append(out, f(h, T))
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return out
			}
			want := run(data.ScanOptions{}, func(h *data.History, T data.Date) got {
				var v Values
				if err := Compute(h, T, cfg, &v); err != nil {
					t.Fatal(err)
				}
				return got{v.Num[fMRR], v.Cat[fStage]}
			})
			have := run(LifecycleInputs(), func(h *data.History, T data.Date) got {
				m, s := Lifecycle(h, T, cfg)
				return got{m, s}
			})
			known := 0
			for i := range want {
				if !approx(have[i].mrr, want[i].mrr) || have[i].stage != want[i].stage {
					t.Fatalf("row %d: Lifecycle %+v, Compute %+v", i, have[i], want[i])
				}
				if !math.IsNaN(want[i].mrr) && want[i].stage != "" {
					known++
				}
			}
			if known == 0 {
				t.Fatal("no revenue was known: the test checks nothing")
			}
		})
	}
}
