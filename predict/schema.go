package predict

import (
	"fmt"
	"strings"

	"github.com/churnlab/churn/data"
)

// SchemaVersion is the version of the predictions and alerts schemas,
// recorded in each file's footer (key churn.predictions.schema_version) and
// in _manifest.json. It changes when a column is removed, renamed or
// retyped; adding a column keeps it.
const SchemaVersion = 1

// Column is one column of an output file.
type Column struct {
	Name     string
	Type     data.Type
	Nullable bool
	Doc      string
}

func (c Column) spec() data.ColumnSpec {
	return data.ColumnSpec{Name: c.Name, Type: c.Type, Optional: c.Nullable, Dict: c.Type == data.TypeString && c.Name != "customer_id"}
}

func reasonColumns() []Column {
	var out []Column
	for k := 1; k <= MaxReasons; k++ {
		p := fmt.Sprintf("reason_%d_", k)
		nth := [...]string{"", "top", "second", "third"}[k]
		out = append(out,
			Column{p + "feature", data.TypeString, true, fmt.Sprintf("feature of the %s reason: the feature with the %slargest positive contribution (null when fewer features raise the risk)", nth, ordinal(k))},
			Column{p + "contribution", data.TypeFloat64, true, "its contribution to the model's logit (log-odds), > 0"},
			Column{p + "text", data.TypeString, true, "the reason in business words with the value, e.g. \"active users down 45% vs the previous 30 days\""},
			Column{p + "category", data.TypeString, true, "its playbook category (docs/playbook.md)"},
		)
	}
	return out
}

func ordinal(k int) string { return [...]string{"", "", "2nd ", "3rd "}[k] }

// reasonMethodColumn says how a row's reasons were computed.
var reasonMethodColumn = Column{"reason_method", data.TypeString, false,
	"how the reasons were computed: exact (SHAP values: XGBoost's TreeSHAP, or the linear contributions of logistic regression), approx (Saabas: changes of the expected value along the customer's path in each tree) or none (reasons.method none: no reasons); docs/predictions.md#reasons"}

// PredictionColumns are the columns of predictions/as_of=DATE/part-*.parquet,
// in file order.
var PredictionColumns = append(append([]Column{
	{"customer_id", data.TypeString, false, "customer identifier"},
	{"as_of", data.TypeDate, false, "as-of date: features use only data before this day; the partition folder repeats it"},
	{"churn_probability", data.TypeFloat64, false, "calibrated probability that the customer churns within the model's horizon after as_of"},
	{"risk_tier", data.TypeString, false, "high, medium or low, by the configured capacities and thresholds (docs/predictions.md#risk-tiers)"},
	{"rank", data.TypeInt64, false, "1 = first to act on, the file order: by churn_probability descending, ties by customer_id (rank_by risk, the default); with rank_by saved_mrr and a trusted uplift model, the targeted customers (high and medium) first by expected_mrr_saved descending (unknown counts as 0), then churn_probability, then customer_id, and the low tier after them by risk (docs/playbook.md#ranking-by-who-can-be-saved)"},
	{"revenue_at_risk", data.TypeFloat64, true, "churn_probability × annual_revenue; where annual_revenue is null (an order-based business without MRR), churn_probability × clv, the value the customer is expected to bring over the CLV horizon; null when both are null"},
	{"annual_revenue", data.TypeFloat64, true, "12 × MRR at as_of: the mrr feature (point in time), else the customers table's mrr (today's); null when unknown or negative"},
	{"p_alive", data.TypeFloat64, true, "probability that the customer is still an active buyer at as_of (BG/NBD): the model's p_alive feature; null when the model has none (businesses without orders) or the customer has no order before as_of (docs/lifetime.md)"},
	{"clv", data.TypeFloat64, true, "customer lifetime value at as_of: expected spend over the next features.lifetime.clv_months months (12), discounted at annual_discount (10 % a year), from BG/NBD and Gamma-Gamma with the parameters the model's spec holds; the model's clv feature, null likewise (docs/lifetime.md)"},
	{"expected_uplift", data.TypeFloat64, true, "expected reduction of the churn probability within the horizon if the customer's play is run: churn_probability × the uplift model's relative risk reduction 1 − p_treat / p_control for the customer's play; negative when the play is expected to raise it; null in the low tier (no play targets it) and without a trusted uplift model (docs/playbook.md#ranking-by-who-can-be-saved)"},
	{"expected_mrr_saved", data.TypeFloat64, true, "expected_uplift × annual_revenue / 12: the monthly revenue the play is expected to save; null when either is null"},
}, reasonColumns()...),
	reasonMethodColumn,
	Column{"recommended_action", data.TypeString, false, "the playbook's action for the top reason's category (the profile category's when reason_method is none) and the lifecycle stage; low_risk's for the low tier"},
	Column{"owner_role", data.TypeString, false, "who does it, from the playbook (csm, cs_lead, account_executive, billing, ...)"},
	Column{"play", data.TypeString, true, "the play that targets the customer: the playbook category whose action is recommended_action (reason_1_category; profile when reason_method is none; none when no feature raises the risk); null in the low tier, which no play targets (docs/playbook.md#control-groups)"},
	Column{"treatment_group", data.TypeString, true, "treat or control: the customer's group in the retention experiment for its play, a hash of control.seed, control.cohort, play and customer_id (docs/playbook.md#control-groups); control customers must not be contacted because of churn and get no alerts; null when not targeted (play null)"},
	Column{"alerted", data.TypeBool, false, "whether an alert was raised for the customer (the alerts are in alerts/as_of=DATE); false for control customers, whose alerts are withheld"},
	Column{"previous_as_of", data.TypeDate, true, "as-of date of the previous run: the most recent earlier partition in the same output folder (null when none)"},
	Column{"previous_probability", data.TypeFloat64, true, "churn_probability in the previous run (null when none, or the customer was not scored then)"},
	Column{"previous_tier", data.TypeString, true, "risk_tier in the previous run (null likewise)"},
	Column{"probability_change", data.TypeFloat64, true, "churn_probability − previous_probability (null likewise)"},
	Column{"lifecycle_stage", data.TypeString, true, "onboarding, active, renewal or past_contract_end at as_of (null when the model has no lifecycle_stage feature)"},
	Column{"owner", data.TypeString, true, "the customer's CSM (customers.owner; null when unknown)"},
	Column{"model_version", data.TypeString, false, "version of the model that scored the row"},
	Column{"scored_at", data.TypeTimestamp, false, "when the run scored (UTC)"},
)

// AlertColumns are the columns of alerts/as_of=DATE/alerts.parquet; the
// JSON Lines file has the same fields, with the reasons as a list.
var AlertColumns = append(append([]Column{
	{"as_of", data.TypeDate, false, "as-of date of the predictions"},
	{"rule", data.TypeString, false, "name of the alert rule that fired"},
	{"customer_id", data.TypeString, false, "customer identifier"},
	{"owner_role", data.TypeString, false, "who acts: the rule's owner_role, else the playbook's for the customer"},
	{"next_step", data.TypeString, false, "what to do: the rule's next_step, else the playbook's recommended action"},
	{"owner", data.TypeString, true, "the customer's CSM (null when unknown)"},
	{"churn_probability", data.TypeFloat64, false, "calibrated churn probability"},
	{"risk_tier", data.TypeString, false, "high, medium or low"},
	{"rank", data.TypeInt64, false, "1 = riskiest"},
	{"probability_change", data.TypeFloat64, true, "change since the previous run (null when none)"},
	{"revenue_at_risk", data.TypeFloat64, true, "churn_probability × annual revenue, else × clv (order-based businesses without MRR); null when both are unknown"},
	{"lifecycle_stage", data.TypeString, true, "lifecycle stage at as_of (null when unknown)"},
}, reasonColumns()...),
	reasonMethodColumn,
	Column{"model_version", data.TypeString, false, "version of the model"},
	Column{"scored_at", data.TypeTimestamp, false, "when the run scored (UTC)"},
)

// ColumnSpecs returns the Parquet column specs churn writes cols with.
func ColumnSpecs(cols []Column) []data.ColumnSpec {
	out := make([]data.ColumnSpec, len(cols))
	for i, c := range cols {
		out[i] = c.spec()
	}
	return out
}

// SchemaMarkdown renders the predictions and alerts schemas as Markdown
// tables. docs/predictions.md embeds it (checked by TestSchemaDoc).
func SchemaMarkdown() string {
	var b strings.Builder
	table := func(title string, cols []Column) {
		fmt.Fprintf(&b, "### %s\n\n| column | Parquet type | nullable | meaning |\n|---|---|---|---|\n", title)
		for _, c := range cols {
			null := ""
			if c.Nullable {
				null = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, parquetType(c.Type), null, c.Doc)
		}
		b.WriteString("\n")
	}
	table("predictions/as_of=YYYY-MM-DD/part-NNNNN.parquet", PredictionColumns)
	table("alerts/as_of=YYYY-MM-DD/alerts.parquet", AlertColumns)
	b.WriteString("### Fields of alert conditions\n\nBesides every feature of the model by its name (numbers, or strings for categorical features):\n\n")
	b.WriteString(AlertFieldsMarkdown())
	return b.String()
}

func parquetType(t data.Type) string {
	switch t {
	case data.TypeTimestamp:
		return "TIMESTAMP(µs, UTC)"
	case data.TypeDate:
		return "DATE"
	}
	return t.String()
}
