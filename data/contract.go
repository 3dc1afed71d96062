package data

import (
	"fmt"
	"sort"
	"strings"
)

// Column describes one column of a contract table.
type Column struct {
	Name string
	Type Type
	// Required columns must be present and hold no nulls. Other columns may be
	// absent from a file (then every value is missing) or hold nulls.
	Required bool
	// Values, when set, is the vocabulary of a string column. Open
	// vocabularies list the values churn understands and accept others.
	Values []string
	Open   bool
	// Min and Max bound numeric values when Max > Min (inclusive).
	Min, Max float64
	// NotEmpty marks a STRING column whose values name something: an
	// empty string is an error (a null is one only in a required column).
	NotEmpty bool
	// Plausible, when set, is the largest magnitude a value of a DOUBLE
	// column plausibly has: larger ones are warned about (a unit or
	// placeholder mistake), since features computed from them can
	// overflow.
	Plausible float64
	Doc       string
}

// plausibleMoney bounds money and duration columns: beyond it a value is a
// unit or placeholder mistake, whatever the currency.
const plausibleMoney = 1e12

// Table describes one table of the contract.
type Table struct {
	Name     string
	Required bool
	// Time is the column rows are ordered by within a customer; "" for the
	// customers table, which has one row per customer.
	Time    string
	Columns []Column
	// Extra reports whether columns outside the contract are kept (as
	// customer attributes). Other tables ignore extra columns.
	Extra bool
	Doc   string
}

// Table names.
const (
	Customers     = "customers"
	Subscriptions = "subscriptions"
	UsageTable    = "usage"
	Payments      = "payments"
	Contacts      = "contacts"
	Tickets       = "tickets"
	Surveys       = "surveys"
	Signals       = "signals"
	Orders        = "orders"
	ChurnEvents   = "churn_events"
	Interventions = "interventions"
)

// KeyColumn is the column every table is keyed and sorted by.
const KeyColumn = "customer_id"

func key() Column {
	return Column{Name: KeyColumn, Type: TypeString, Required: true, Doc: "customer identifier, the key of every table"}
}

// Contract lists the tables of a dataset in a fixed order: customers first.
// It must not be modified.
var Contract = []*Table{
	{
		Name: Customers, Required: true, Extra: true,
		Doc: "one row per customer, holding today's values; extra columns are kept as customer attributes",
		Columns: []Column{
			key(),
			{Name: "signup_date", Type: TypeDate, Doc: "first day as a customer; needed for tenure and to know who existed at an as-of date"},
			{Name: "plan", Type: TypeString, Doc: "current plan (today's value)"},
			{Name: "segment", Type: TypeString, Doc: "customer segment, e.g. smb, mid, ent"},
			{Name: "region", Type: TypeString, Doc: "sales region"},
			{Name: "seats", Type: TypeInt64, Min: 0, Max: 1e9, Doc: "licensed seats today"},
			{Name: "mrr", Type: TypeFloat64, Plausible: plausibleMoney, Doc: "monthly recurring revenue today, in the account currency"},
			{Name: "contract_end", Type: TypeDate, Doc: "current contract end (renewal date)"},
			{Name: "owner", Type: TypeString, Doc: "customer success manager"},
			{Name: "churn_date", Type: TypeDate, Doc: "day the customer left; null while a customer; the label source"},
			{Name: "churned", Type: TypeBool, Doc: "label for snapshot data without dates: true if the customer churned"},
		},
	},
	{
		Name: Subscriptions, Time: "start_date",
		Doc: "history of plan, seat and price changes: the point-in-time source for MRR, seats, plan and contract end",
		Columns: []Column{
			key(),
			{Name: "start_date", Type: TypeDate, Required: true, Doc: "first day of this subscription period"},
			{Name: "end_date", Type: TypeDate, Doc: "last day of the period (contract end); null if open-ended"},
			{Name: "plan", Type: TypeString, Required: true, Doc: "plan in this period"},
			{Name: "seats", Type: TypeInt64, Required: true, Min: 0, Max: 1e9, Doc: "licensed seats in this period"},
			{Name: "mrr", Type: TypeFloat64, Required: true, Plausible: plausibleMoney, Doc: "monthly recurring revenue in this period"},
			{Name: "billing_frequency", Type: TypeString, Values: []string{"monthly", "quarterly", "annual"}, Open: true, Doc: "how often the customer is billed"},
			{Name: "auto_renew", Type: TypeBool, Doc: "whether the period renews automatically"},
		},
	},
	{
		Name: UsageTable, Time: "date",
		Doc: "product usage, one row per customer-day (or per customer-day-feature, or per event)",
		Columns: []Column{
			key(),
			{Name: "date", Type: TypeDate, Required: true, Doc: "day of use"},
			{Name: "active_users", Type: TypeInt64, Min: 0, Max: 1e9, Doc: "distinct active users that day"},
			{Name: "sessions", Type: TypeInt64, Min: 0, Max: 1e12, Doc: "sessions (or uses) that day"},
			{Name: "minutes", Type: TypeFloat64, Plausible: plausibleMoney, Doc: "minutes of use that day"},
			{Name: "feature", Type: TypeString, Doc: "product feature used, for per-feature rows"},
		},
	},
	{
		Name: Payments, Time: "invoice_date",
		Doc: "invoices and their payment",
		Columns: []Column{
			key(),
			{Name: "invoice_date", Type: TypeDate, Required: true, Doc: "day the invoice was issued"},
			{Name: "due_date", Type: TypeDate, Doc: "day payment was due"},
			{Name: "paid_date", Type: TypeDate, Doc: "day it was paid; null while unpaid"},
			{Name: "amount", Type: TypeFloat64, Required: true, Plausible: plausibleMoney, Doc: "invoice amount"},
			{Name: "status", Type: TypeString, Required: true, Values: []string{"paid", "late", "failed", "refunded", "open"}, Doc: "paid (on time), late (paid after the due date), failed, refunded or open; as last known"},
			{Name: "plan_change", Type: TypeString, Values: []string{"upgrade", "downgrade", "none"}, Doc: "plan change billed on this invoice"},
			{Name: "method", Type: TypeString, Doc: "payment method, e.g. card, invoice, direct_debit"},
		},
	},
	{
		Name: Contacts, Time: "ts",
		Doc: "interactions with the customer and changes of its stakeholders",
		Columns: []Column{
			key(),
			{Name: "ts", Type: TypeTimestamp, Required: true, Doc: "when it happened (UTC)"},
			{Name: "kind", Type: TypeString, Required: true, Values: []string{"interaction", "stakeholder_added", "stakeholder_left", "champion_changed"}, Doc: "what happened"},
			{Name: "role", Type: TypeString, Doc: "role of the person, e.g. admin, champion, executive"},
			{Name: "channel", Type: TypeString, Doc: "email, call, meeting, chat"},
			{Name: "direction", Type: TypeString, Values: []string{"inbound", "outbound"}, Doc: "inbound (customer reached out) or outbound"},
		},
	},
	{
		Name: Tickets, Time: "opened_at",
		Doc: "support tickets",
		Columns: []Column{
			key(),
			{Name: "opened_at", Type: TypeTimestamp, Required: true, Doc: "when the ticket was opened (UTC)"},
			{Name: "closed_at", Type: TypeTimestamp, Doc: "when it was closed; null while open"},
			{Name: "priority", Type: TypeString, Required: true, Values: []string{"low", "medium", "high", "urgent"}, Open: true, Doc: "ticket priority"},
			{Name: "category", Type: TypeString, Doc: "topic of the ticket, e.g. billing, bug, how_to"},
			{Name: "escalated", Type: TypeBool, Required: true, Doc: "whether the ticket was escalated"},
			{Name: "csat", Type: TypeInt64, Min: 1, Max: 5, Doc: "satisfaction rating 1-5; null if not rated"},
		},
	},
	{
		Name: Surveys, Time: "ts",
		Doc: "NPS survey answers",
		Columns: []Column{
			key(),
			{Name: "ts", Type: TypeTimestamp, Required: true, Doc: "when the answer was given (UTC)"},
			{Name: "nps", Type: TypeInt64, Required: true, Min: 0, Max: 10, Doc: "likelihood to recommend, 0-10"},
		},
	},
	{
		Name: Signals, Time: "ts",
		Doc: "explicit intent and engagement signals from product analytics",
		Columns: []Column{
			key(),
			{Name: "ts", Type: TypeTimestamp, Required: true, Doc: "when it happened (UTC)"},
			{Name: "kind", Type: TypeString, Required: true, Values: []string{"data_export", "billing_question", "cancel_page_view", "training_view"}, Open: true, Doc: "what the customer did"},
		},
	},
	{
		Name: Orders, Time: "ts",
		Doc: "purchases, for businesses without subscriptions (retail, e-commerce)",
		Columns: []Column{
			key(),
			{Name: "ts", Type: TypeTimestamp, Required: true, Doc: "when the order was placed (UTC)"},
			{Name: "amount", Type: TypeFloat64, Required: true, Plausible: plausibleMoney, Doc: "order value"},
			{Name: "items", Type: TypeInt64, Min: 0, Max: 1e12, Doc: "number of items"},
		},
	},
	{
		Name: ChurnEvents, Time: "churn_date",
		Doc: "churn events, an alternative label source to customers.churn_date",
		Columns: []Column{
			key(),
			{Name: "churn_date", Type: TypeDate, Required: true, Doc: "day the customer left"},
			{Name: "reason", Type: TypeString, Doc: "stated reason"},
			{Name: "reactivated_at", Type: TypeDate, Doc: "day the customer came back, if they did"},
		},
	},
	{
		Name: Interventions, Time: "ts",
		Doc: "what the team did about at-risk customers (retention plays, contacts and deliberate holdouts), read by churn review; a row with group control records a customer targeted by a play and held out on purpose",
		Columns: []Column{
			key(),
			{Name: "ts", Type: TypeTimestamp, Required: true, Doc: "when the customer was targeted or contacted (UTC); the review's window starts on its day"},
			{Name: "play", Type: TypeString, Required: true, NotEmpty: true, Doc: "the play: a playbook category (usage, support, stakeholder, billing, renewal, intent, nps, going_silent, training, purchases, profile, none) or a team-defined name; not empty"},
			{Name: "owner", Type: TypeString, Doc: "who ran the play"},
			{Name: "channel", Type: TypeString, Doc: "how the customer was reached, e.g. call, email, meeting"},
			{Name: "note", Type: TypeString, Doc: "free text"},
			{Name: "group", Type: TypeString, Values: []string{GroupTreat, GroupControl}, Doc: "treatment group, for teams that run their own experiments; null when the row is not part of one"},
			{Name: "contacted", Type: TypeBool, Doc: "whether the customer was actually reached; null means true unless group is control"},
		},
	},
}

var contractIndex = func() map[string]*Table {
	m := make(map[string]*Table, len(Contract))
	for _, t := range Contract {
		m[t.Name] = t
	}
	return m
}()

// LookupTable returns the contract table with the given name.
func LookupTable(name string) (*Table, bool) {
	t, ok := contractIndex[name]
	return t, ok
}

// TableNames returns the contract's table names in contract order.
func TableNames() []string {
	names := make([]string, len(Contract))
	for i, t := range Contract {
		names[i] = t.Name
	}
	return names
}

// ColumnIndex returns the index of the named column in t, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// Column returns the named column; it panics if t has none, which is a
// programmer error.
func (t *Table) Column(name string) *Column {
	i := t.ColumnIndex(name)
	if i < 0 {
		panic(fmt.Sprintf("data: table %s has no column %s", t.Name, name))
	}
	return &t.Columns[i]
}

// InVocabulary reports whether v is an allowed value of c.
func (c *Column) InVocabulary(v string) bool {
	if len(c.Values) == 0 || c.Open {
		return true
	}
	for _, x := range c.Values {
		if x == v {
			return true
		}
	}
	return false
}

// unknownTableError explains a file or folder that is not a contract table.
func unknownTableError(name string) error {
	names := TableNames()
	sort.Strings(names)
	return fmt.Errorf("%w %q (known tables: %s)", ErrUnknownTable, name, strings.Join(names, ", "))
}
