package predict

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/churnlab/churn/features"
)

// MaxReasons is the number of reasons written per customer.
const MaxReasons = 3

// Reason is one of a customer's top reasons: a feature that raises its
// churn risk, by how much, and why in business words.
type Reason struct {
	Feature string `json:"feature"`
	// Contribution is the feature's contribution to the model's logit
	// (log-odds); reasons have positive contributions.
	Contribution float64 `json:"contribution"`
	Text         string  `json:"text"`
	Category     string  `json:"category"`
}

// reasonRef is a reason as kept per customer until the output is written:
// the feature's index in the spec (-1: none) and the interned text.
type reasonRef struct {
	feat    int16
	contrib float32 // contributions come from XGBoost as float32
	text    string
}

// value is one feature value of a row.
type value struct {
	num     float64 // numeric and flag features; NaN when missing
	str     string  // categorical features; "" when missing
	missing bool
}

// rowValues gives a template the other feature values of the same row.
type rowValues interface {
	// num returns the named numeric feature, NaN when missing or absent.
	num(name string) float64
}

// template renders the reason text of the features whose names match re.
// n is the number in the name (a window in days or weeks), 0 without one.
type template struct {
	re *regexp.Regexp
	// missing is the text when the value is missing ("" for the generic
	// one); it may hold one %d for n.
	missing string
	text    func(v value, n int, row rowValues, cfg *features.Config) string
}

func tmpl(pattern, missing string, text func(v value, n int, row rowValues, cfg *features.Config) string) template {
	return template{re: regexp.MustCompile("^" + pattern + "$"), missing: missing, text: text}
}

// numeric wraps a text function of a number.
func numeric(f func(x float64, n int) string) func(value, int, rowValues, *features.Config) string {
	return func(v value, n int, _ rowValues, _ *features.Config) string { return f(v.num, n) }
}

// templates covers every fixed feature of the features package, whatever
// its windows. TestTemplatesCoverEveryFeature checks that none falls back to
// the generic text.
var templates = []template{
	// usage
	tmpl(`active_users_(\d+)d`, "no usage on record", numeric(func(x float64, n int) string {
		if x == 0 {
			return fmt.Sprintf("no active users in the last %d days", n)
		}
		return fmt.Sprintf("%s active users on average in the last %d days", decimal(x, 1), n)
	})),
	tmpl(`active_users_trend_(\d+)w`, "too little usage history for a trend", numeric(func(x float64, n int) string { return weeklyTrend("active users", x, n) })),
	tmpl(`active_users_ratio_(\d+)d`, "no active users in the %d days before the last ones", numeric(func(x float64, n int) string {
		return change("active users", x, fmt.Sprintf("vs the previous %d days", n))
	})),
	tmpl(`utilisation`, "seat utilisation not known (no seats or no usage on record)", numeric(func(x float64, _ int) string {
		return fmt.Sprintf("%s of licensed seats in use", percent(x))
	})),
	tmpl(`days_since_activity`, "no product use on record", numeric(func(x float64, _ int) string {
		return "last product use " + ago(x)
	})),
	tmpl(`zero_usage_weeks`, "no product use on record", numeric(func(x float64, _ int) string {
		switch {
		case x == 0:
			return "product used in the last week"
		case x == 1:
			return "1 week without any product use"
		}
		return fmt.Sprintf("%s weeks in a row without any product use", decimal(x, 0))
	})),
	tmpl(`sessions_trend_(\d+)w`, "too little usage history for a trend", numeric(func(x float64, n int) string { return weeklyTrend("sessions", x, n) })),

	// payments
	tmpl(`late_payments_(\d+)d`, "no invoices on record", numeric(func(x float64, n int) string {
		return count(x, "late payment", "late payments") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`failed_payments_(\d+)d`, "no invoices on record", numeric(func(x float64, n int) string {
		return count(x, "failed payment", "failed payments") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`days_past_due`, "no invoices on record", numeric(func(x float64, _ int) string {
		if x <= 0 {
			return "no overdue invoice"
		}
		return "an invoice " + days(x) + " past due"
	})),
	tmpl(`days_to_pay_change`, "fewer than 6 paid invoices on record", numeric(func(x float64, _ int) string {
		switch r := math.Round(x); {
		case r > 0:
			return "paying invoices " + days(r) + " slower than before"
		case r < 0:
			return "paying invoices " + days(-r) + " faster than before"
		}
		return "paying invoices as fast as before"
	})),
	tmpl(`mrr_change_(\d+)d_pct`, "no revenue on record %d days ago", numeric(func(x float64, n int) string {
		return change("monthly revenue", 1+x/100, fmt.Sprintf("in the last %d days", n))
	})),
	tmpl(`downgrades_(\d+)d`, "no plan history on record", numeric(func(x float64, n int) string {
		return count(x, "downgrade", "downgrades") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`upgrades_(\d+)d`, "no plan history on record", numeric(func(x float64, n int) string {
		return count(x, "upgrade", "upgrades") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`payment_method_changed_(\d+)d`, "payment method not recorded on 2 invoices in the last %d days", numeric(func(x float64, n int) string {
		if x > 0 {
			return fmt.Sprintf("payment method changed in the last %d days", n)
		}
		return fmt.Sprintf("payment method unchanged in the last %d days", n)
	})),

	// contacts
	tmpl(`stakeholder_changes_(\d+)d`, "no contact history on record", numeric(func(x float64, n int) string {
		return count(x, "key stakeholder change", "key stakeholder changes") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`days_since_interaction`, "no interaction on record", numeric(func(x float64, _ int) string {
		return "last interaction " + ago(x)
	})),
	tmpl(`interactions_(\d+)d_vs_prior`, "no contact history on record", numeric(func(x float64, n int) string {
		switch r := math.Round(x * 100); {
		case r < 100:
			return fmt.Sprintf("fewer interactions than usual in the last %d days (%s of the usual rate)", n, percent(x))
		case r > 100:
			return fmt.Sprintf("more interactions than usual in the last %d days (%s× the usual rate)", n, decimal(x, 1))
		}
		return fmt.Sprintf("interactions at the usual rate in the last %d days", n)
	})),
	tmpl(`inbound_share_(\d+)d`, "no interaction with a direction in the last %d days", numeric(func(x float64, n int) string {
		return fmt.Sprintf("%s of interactions in the last %d days started by the customer", percent(x), n)
	})),

	// tickets
	tmpl(`tickets_(\d+)d`, "no ticket history on record", numeric(func(x float64, n int) string {
		return count(x, "support ticket", "support tickets") + fmt.Sprintf(" opened in the last %d days", n)
	})),
	tmpl(`tickets_trend`, "no ticket history on record", func(v value, _ int, _ rowValues, cfg *features.Config) string {
		switch r := math.Round(v.num * 10); {
		case r > 10:
			return fmt.Sprintf("tickets at %s× the usual rate in the last %d days", decimal(v.num, 1), cfg.Short)
		case r < 10:
			return fmt.Sprintf("fewer tickets than usual in the last %d days", cfg.Short)
		}
		return fmt.Sprintf("tickets at the usual rate in the last %d days", cfg.Short)
	}),
	tmpl(`escalations_(\d+)d`, "no ticket history on record", numeric(func(x float64, n int) string {
		return count(x, "escalated ticket", "escalated tickets") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`open_tickets`, "no ticket history on record", numeric(func(x float64, _ int) string {
		if x == 0 {
			return "no open tickets"
		}
		return count(x, "ticket", "tickets") + " still open"
	})),
	tmpl(`resolution_hours_(\d+)d`, "no ticket closed in the last %d days", numeric(func(x float64, n int) string {
		d := decimal(x, 0) + " hours"
		if x >= 72 {
			d = decimal(x/24, 1) + " days"
		}
		return fmt.Sprintf("tickets took %s on average to resolve in the last %d days", d, n)
	})),
	tmpl(`low_csat_(\d+)d`, "no ticket history on record", func(v value, n int, _ rowValues, cfg *features.Config) string {
		return count(v.num, "ticket", "tickets") + fmt.Sprintf(" rated %d or lower for satisfaction in the last %d days", cfg.LowCSAT, n)
	}),
	tmpl(`repeat_complaints_(\d+)d`, "no ticket history on record", numeric(func(x float64, n int) string {
		if x <= 1 {
			return fmt.Sprintf("no repeated complaints in the last %d days", n)
		}
		return fmt.Sprintf("%s tickets about the same topic in the last %d days", decimal(x, 0), n)
	})),

	// nps
	tmpl(`nps_last`, "no NPS answer on record", func(v value, _ int, row rowValues, cfg *features.Config) string {
		return npsText(v.num, row.num("nps_change"), cfg)
	}),
	tmpl(`nps_detractor`, "no NPS answer on record", func(v value, _ int, row rowValues, cfg *features.Config) string {
		if last := row.num("nps_last"); !math.IsNaN(last) {
			return npsText(last, row.num("nps_change"), cfg)
		}
		if v.num == 1 {
			return fmt.Sprintf("latest NPS answer a detractor (%d or lower)", cfg.DetractorMax)
		}
		return "latest NPS answer not a detractor"
	}),
	tmpl(`nps_change`, "fewer than two NPS answers on record", func(v value, _ int, row rowValues, _ *features.Config) string {
		now := ""
		if last := row.num("nps_last"); !math.IsNaN(last) {
			now = " (now " + decimal(last, 0) + ")"
		}
		switch {
		case v.num < 0:
			return "NPS down " + count(-v.num, "point", "points") + now
		case v.num > 0:
			return "NPS up " + count(v.num, "point", "points") + now
		}
		return "NPS unchanged" + now
	}),
	tmpl(`days_since_survey`, "no NPS answer on record", numeric(func(x float64, _ int) string {
		return "last NPS answer " + ago(x)
	})),

	// lifecycle
	tmpl(`tenure_days`, "signup date unknown", numeric(func(x float64, _ int) string {
		return "customer for " + duration(x)
	})),
	tmpl(`days_to_renewal`, "no contract end known", numeric(func(x float64, _ int) string {
		switch {
		case x > 0:
			return "renewal in " + days(x)
		case x < 0:
			return "contract ended " + ago(-x)
		}
		return "renewal today"
	})),
	tmpl(`lifecycle_stage`, "lifecycle stage not known", func(v value, _ int, _ rowValues, cfg *features.Config) string {
		switch v.str {
		case features.StageOnboarding:
			return fmt.Sprintf("in onboarding (first %d days)", cfg.OnboardingDays)
		case features.StageRenewal:
			return fmt.Sprintf("in the renewal window (contract ends within %d days)", cfg.RenewalDays)
		case features.StagePastEnd:
			return "past the contract end"
		}
		return "lifecycle stage " + v.str
	}),
	tmpl(`seats`, "no subscription known", numeric(func(x float64, _ int) string {
		return count(x, "licensed seat", "licensed seats")
	})),
	tmpl(`mrr`, "no subscription known", numeric(func(x float64, _ int) string {
		return "monthly revenue " + money(x)
	})),
	tmpl(`plan`, "no subscription known", func(v value, _ int, _ rowValues, _ *features.Config) string {
		return "on the " + v.str + " plan"
	}),
	tmpl(`segment`, "segment unknown", func(v value, _ int, _ rowValues, _ *features.Config) string {
		return "in the " + v.str + " segment"
	}),
	tmpl(`region`, "region unknown", func(v value, _ int, _ rowValues, _ *features.Config) string {
		return "in the " + v.str + " region"
	}),
	tmpl(`auto_renew`, "auto-renew not recorded", numeric(func(x float64, _ int) string {
		if x > 0 {
			return "auto-renew is on"
		}
		return "auto-renew is off"
	})),

	// intent
	tmpl(`data_exports_(\d+)d`, "no product signals on record", numeric(func(x float64, n int) string {
		return count(x, "data export", "data exports") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`billing_questions_(\d+)d`, "no product signals on record", numeric(func(x float64, n int) string {
		return count(x, "billing question", "billing questions") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`cancel_page_views_(\d+)d`, "no product signals on record", numeric(func(x float64, n int) string {
		return "visited the cancellation page " + times(x) + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`training_views_(\d+)d`, "no product signals on record", numeric(func(x float64, n int) string {
		if x == 0 {
			return fmt.Sprintf("no training material viewed in the last %d days", n)
		}
		return "training material viewed " + times(x) + fmt.Sprintf(" in the last %d days", n)
	})),

	// purchases
	tmpl(`days_since_order`, "no order on record", numeric(func(x float64, _ int) string {
		return "last order " + ago(x)
	})),
	tmpl(`orders_(\d+)d`, "no order history on record", numeric(func(x float64, n int) string {
		return count(x, "order", "orders") + fmt.Sprintf(" in the last %d days", n)
	})),
	tmpl(`order_rate_ratio_(\d+)d`, "first order less than %d days ago", numeric(func(x float64, n int) string {
		switch r := math.Round(x * 100); {
		case r < 100:
			return fmt.Sprintf("ordering %s less often than usual in the last %d days", percent(1-x), n)
		case r > 100:
			return fmt.Sprintf("ordering %s more often than usual in the last %d days", percent(x-1), n)
		}
		return fmt.Sprintf("ordering as often as usual in the last %d days", n)
	})),
	tmpl(`spend_trend_(\d+)d`, "no spend in the %d days before the last ones", numeric(func(x float64, n int) string {
		return change("spend", x, fmt.Sprintf("vs the previous %d days", n))
	})),
	tmpl(`aov_change_(\d+)d`, "no order in the last %d days or none before", numeric(func(x float64, n int) string {
		return change("average order value", x, fmt.Sprintf("in the last %d days vs before", n))
	})),
	tmpl(`orders_total`, "no order history on record", numeric(func(x float64, _ int) string {
		return count(x, "order", "orders") + " in total"
	})),
	tmpl(`p_alive`, "no order history on record", numeric(func(x float64, _ int) string {
		return percent(x) + " likely to still be buying, given how often and how recently they bought"
	})),
	tmpl(`expected_purchases_(\d+)d`, "no order history on record", numeric(func(x float64, n int) string {
		if math.Round(x*10) == 0 {
			return fmt.Sprintf("not expected to buy in the next %d days", n)
		}
		return "expected to buy on " + decimal(x, 1) + fmt.Sprintf(" days in the next %d days", n)
	})),
	tmpl(`clv`, "no order history on record", func(v value, _ int, _ rowValues, cfg *features.Config) string {
		return fmt.Sprintf("expected to spend %s in the next %d months (lifetime value)", money(v.num), cfg.Lifetime.CLVMonths)
	}),
}

// renderer renders the reasons of one spec: each feature's template and
// category are looked up once.
type renderer struct {
	spec   *features.Spec
	byName map[string]int
	tmpl   []*template // nil: the generic text
	n      []int
	cat    []string
	// intern shares equal texts between customers; reasons repeat a lot
	// ("no late payments in the last 90 days").
	intern map[string]string
}

func newRenderer(spec *features.Spec, pb *Playbook) *renderer {
	r := &renderer{spec: spec, byName: map[string]int{}, intern: map[string]string{}}
	for i := range spec.Features {
		d := &spec.Features[i]
		r.byName[d.Name] = i
		t, n := lookupTemplate(d)
		r.tmpl = append(r.tmpl, t)
		r.n = append(r.n, n)
		r.cat = append(r.cat, pb.CategoryOf(d))
	}
	return r
}

// lookupTemplate returns the template of a fixed feature and the number in
// its name; attributes and unknown features get nil.
func lookupTemplate(d *features.Def) (*template, int) {
	if d.Group == "attributes" {
		return nil, 0
	}
	for i := range templates {
		t := &templates[i]
		m := t.re.FindStringSubmatch(d.Name)
		if m == nil {
			continue
		}
		n := 0
		if len(m) > 1 {
			n, _ = strconv.Atoi(m[1])
		}
		return t, n
	}
	return nil, 0
}

// tableRow reads the values of row r of a feature table.
type tableRow struct {
	r   *renderer
	tab *features.Table
	row int
}

func (t tableRow) num(name string) float64 {
	i, ok := t.r.byName[name]
	if !ok || t.tab.Num[i] == nil {
		return math.NaN()
	}
	return t.tab.Num[i][t.row]
}

func (t tableRow) value(i int) value {
	if c := t.tab.Cat[i]; c != nil {
		s := c[t.row]
		return value{str: s, num: math.NaN(), missing: s == ""}
	}
	x := t.tab.Num[i][t.row]
	return value{num: x, missing: math.IsNaN(x)}
}

// text renders feature i of a row in business words.
func (r *renderer) text(i int, row tableRow) string {
	d := &r.spec.Features[i]
	v := row.value(i)
	t, n := r.tmpl[i], r.n[i]
	var s string
	switch {
	case t == nil:
		s = genericText(d, v)
	case v.missing && t.missing != "":
		s = t.missing
		if strings.Contains(s, "%d") {
			s = fmt.Sprintf(s, n)
		}
	case v.missing:
		s = genericText(d, v)
	default:
		s = t.text(v, n, row, &r.spec.Config)
	}
	return r.internString(s)
}

// internString returns the shared copy of s.
func (r *renderer) internString(s string) string {
	if in, ok := r.intern[s]; ok {
		return in
	}
	s = strings.Clone(s)
	r.intern[s] = s
	return s
}

// genericText describes a value with the feature's own description: the
// text of customer attributes and of features without a template.
func genericText(d *features.Def, v value) string {
	name := d.Name
	if d.Group != "attributes" {
		name = d.Description
	}
	switch {
	case v.missing && d.Group == "attributes":
		return name + " not recorded"
	case v.missing:
		return name + ": unknown (" + d.Missing + ")"
	case d.Kind == features.Categorical:
		return name + " is " + v.str
	case d.Kind == features.Flag && v.num == 1:
		return name + ": yes"
	case d.Kind == features.Flag:
		return name + ": no"
	}
	return name + " is " + decimal(v.num, 2)
}

// top fills out with the features of the largest positive contributions
// (contrib holds one per spec feature; the bias is not included), largest
// first, ties by feature order. Unused entries get feat -1.
func (r *renderer) top(contrib []float64, row tableRow, out *[MaxReasons]reasonRef) {
	var idx [MaxReasons]int
	k := 0
	for i, c := range contrib {
		if !(c > 0) {
			continue
		}
		// insertion into the top MaxReasons, largest first
		j := k
		if j == MaxReasons {
			if c <= contrib[idx[MaxReasons-1]] {
				continue
			}
			j--
		} else {
			k++
		}
		for j > 0 && c > contrib[idx[j-1]] {
			idx[j] = idx[j-1]
			j--
		}
		idx[j] = i
	}
	for j := range out {
		if j < k {
			i := idx[j]
			out[j] = reasonRef{feat: int16(i), contrib: float32(contrib[i]), text: r.text(i, row)}
		} else {
			out[j] = reasonRef{feat: -1}
		}
	}
}

// ---- number formatting ----

// decimal formats x with at most prec decimals, trailing zeros dropped,
// and thousands separators.
func decimal(x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return group(s)
}

// group inserts thousands separators into the integer part of a number.
func group(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if len(intPart) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	lead := len(intPart) % 3
	if lead > 0 {
		b.WriteString(intPart[:lead])
	}
	for i := lead; i < len(intPart); i += 3 {
		if b.Len() > len(sign) {
			b.WriteByte(',')
		}
		b.WriteString(intPart[i : i+3])
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// count formats "3 late payments", "1 late payment", "no late payments";
// fractional counts (means) keep one decimal.
func count(x float64, one, many string) string {
	switch {
	case x == 0:
		return "no " + many
	case x == 1:
		return "1 " + one
	}
	return decimal(x, 1) + " " + many
}

// times formats "once", "twice", "3 times".
func times(x float64) string {
	switch x {
	case 0:
		return "no times"
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return decimal(x, 0) + " times"
}

func percent(x float64) string { return decimal(math.Round(x*100), 0) + "%" }

func days(x float64) string {
	if math.Round(x) == 1 {
		return "1 day"
	}
	return decimal(x, 0) + " days"
}

func ago(x float64) string {
	if math.Round(x) == 0 {
		return "today"
	}
	return days(x) + " ago"
}

// duration formats a number of days as days, months or years.
func duration(x float64) string {
	switch {
	case x < 90:
		return days(x)
	case x < 730:
		return decimal(math.Floor(x/30.44), 0) + " months"
	}
	return decimal(x/365.25, 1) + " years"
}

func money(x float64) string {
	if math.Abs(x) >= 100 {
		return decimal(x, 0)
	}
	return decimal(x, 2)
}

// change describes a ratio now/before: "active users down 45% vs …".
func change(what string, ratio float64, when string) string {
	switch pct := math.Round((ratio - 1) * 100); {
	case pct < 0:
		return fmt.Sprintf("%s down %s%% %s", what, decimal(-pct, 0), when)
	case pct > 0:
		return fmt.Sprintf("%s up %s%% %s", what, decimal(pct, 0), when)
	}
	return fmt.Sprintf("%s unchanged %s", what, when)
}

// weeklyTrend describes a slope relative to the mean per week.
func weeklyTrend(what string, x float64, weeks int) string {
	switch pct := math.Round(x * 100); {
	case pct < 0:
		return fmt.Sprintf("%s falling %s%% a week over the last %d weeks", what, decimal(-pct, 0), weeks)
	case pct > 0:
		return fmt.Sprintf("%s rising %s%% a week over the last %d weeks", what, decimal(pct, 0), weeks)
	}
	return fmt.Sprintf("%s flat over the last %d weeks", what, weeks)
}

// npsText formats "NPS 4 (detractor), down 5 points".
func npsText(last, change float64, cfg *features.Config) string {
	kind := "promoter"
	switch {
	case last <= float64(cfg.DetractorMax):
		kind = "detractor"
	case last <= 8:
		kind = "passive"
	}
	s := fmt.Sprintf("NPS %s (%s)", decimal(last, 0), kind)
	switch {
	case change < 0:
		s += ", down " + count(-change, "point", "points")
	case change > 0:
		s += ", up " + count(change, "point", "points")
	}
	return s
}

// Explainer renders a feature of a table row in business words, as the
// predictions' reasons do ("active users down 45% vs the previous 30
// days"). Other packages (the evaluation report) use it through a function
// value, so they need not import predict. It is not safe for concurrent use.
type Explainer struct{ r *renderer }

// NewExplainer returns an Explainer for tables of spec, with the built-in
// playbook's categories.
func NewExplainer(spec *features.Spec) *Explainer {
	return &Explainer{r: newRenderer(spec, DefaultPlaybook())}
}

// Text renders feature f of row i of t (a table of the explainer's spec).
func (e *Explainer) Text(t *features.Table, i, f int) string {
	return e.r.text(f, tableRow{r: e.r, tab: t, row: i})
}
