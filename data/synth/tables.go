package synth

import (
	"fmt"
	"slices"

	"github.com/churnlab/churn/data"
)

// The generated tables: the SaaS tables in contract order, then the shop's
// (BusinessEcommerce): its customers table, with other columns, and orders.
const (
	tCustomers = iota
	tSubscriptions
	tUsage
	tPayments
	tContacts
	tTickets
	tSurveys
	tSignals
	tChurnEvents
	tInterventions // with Params.Interventions only
	tShopCustomers // BusinessEcommerce
	tOrders        // BusinessEcommerce
	numTables
)

// Tables lists the names of the tables Generate always writes, in contract
// order; with Params.Interventions it writes data.Interventions too. It
// must not be modified.
var Tables = []string{
	data.Customers, data.Subscriptions, data.UsageTable, data.Payments, data.Contacts,
	data.Tickets, data.Surveys, data.Signals, data.ChurnEvents,
}

// ShopTables lists the names of the tables Generate writes for
// BusinessEcommerce. It must not be modified.
var ShopTables = []string{data.Customers, data.Orders}

// tableNames names every table index, data.Interventions and the shop's
// included.
var tableNames = append(slices.Clone(Tables), data.Interventions, data.Customers, data.Orders)

// TablesOf returns the names of the tables Generate writes for business
// (Params.Business; "" is BusinessSaaS), without data.Interventions.
func TablesOf(business string) []string {
	if business == BusinessEcommerce {
		return slices.Clone(ShopTables)
	}
	return slices.Clone(Tables)
}

// tablesOf returns the indexes of the tables generated under p.
func tablesOf(p *Params) []int {
	if p.ecommerce() {
		return []int{tShopCustomers, tOrders}
	}
	n := len(Tables)
	if p.Interventions != nil {
		n++
	}
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// Attributes are the extra columns of the customers table, kept by the
// reader as customer attributes: industry (STRING) and employees (INT64,
// company head count). It must not be modified.
var Attributes = []data.ColumnSpec{
	{Name: "industry", Type: data.TypeString, Optional: true, Dict: true},
	{Name: "employees", Type: data.TypeInt64, Optional: true},
}

// Specs returns the column specs of a generated table: the contract's
// columns in contract order (data.Specs), plus Attributes for customers.
func Specs(table string) ([]data.ColumnSpec, error) {
	t, ok := data.LookupTable(table)
	if !ok {
		return nil, fmt.Errorf("unknown table %q", table)
	}
	specs := data.Specs(t)
	if table == data.Customers {
		specs = append(specs, Attributes...)
	}
	return specs, nil
}

// ShopAttributes are the extra columns of the shop's customers table, kept
// by the reader as customer attributes: channel (STRING, how the customer
// was acquired). It must not be modified.
var ShopAttributes = []data.ColumnSpec{
	{Name: "channel", Type: data.TypeString, Optional: true, Dict: true},
}

// shopCustomerColumns are the contract columns of the shop's customers
// table: no plan, seats, revenue, contract or churn (churn is latent).
var shopCustomerColumns = []string{data.KeyColumn, "signup_date", "segment", "region"}

// SpecsFor returns the column specs of a table Generate writes for
// business: Specs(table), except for the shop's customers table
// (customer_id, signup_date, segment, region, then ShopAttributes).
func SpecsFor(business, table string) ([]data.ColumnSpec, error) {
	if business == BusinessEcommerce && table == data.Customers {
		return specsOf(tShopCustomers)
	}
	return Specs(table)
}

// specsOf returns the column specs of table index t.
func specsOf(t int) ([]data.ColumnSpec, error) {
	if t != tShopCustomers {
		return Specs(tableNames[t])
	}
	all, err := Specs(data.Customers)
	if err != nil {
		return nil, err
	}
	var specs []data.ColumnSpec
	for _, name := range shopCustomerColumns {
		for _, sp := range all {
			if sp.Name == name {
				specs = append(specs, sp)
			}
		}
	}
	return append(specs, ShopAttributes...), nil
}

// rowGroupRows returns the rows per row group of a table: small for
// customers, since readers shard work on its row-group boundaries.
func rowGroupRows(t int) int {
	switch t {
	case tCustomers, tShopCustomers:
		return 1 << 15
	case tUsage:
		return 1 << 19
	}
	return 1 << 18
}

// vocab lists the dictionaries of the string columns of each table; nil
// marks the key column (its dictionary is the chunk's customer ids).
var vocab = [numTables][][]string{
	tCustomers:     {nil, plans, segments, regions, owners, industries},
	tSubscriptions: {nil, plans, billings},
	tUsage:         {nil, nil},
	tPayments:      {nil, statuses, planChanges, methods},
	tContacts:      {nil, kinds, roles, channels, directions},
	tTickets:       {nil, priorities, categories},
	tSurveys:       {nil},
	tSignals:       {nil, signalKinds},
	tChurnEvents:   {nil, reasons},
	tInterventions: {nil, playNames, owners, channels, notes, groups},
	tShopCustomers: {nil, shopSegments, regions, shopChannels},
	tOrders:        {nil},
}

// table accumulates the rows of one table for a chunk of customers, one
// Vec per column. String columns hold codes into fixed dictionaries.
type table struct {
	n    int
	cols []data.Vec
}

func newTable(t int) table {
	specs, err := specsOf(t)
	if err != nil {
		panic(err) // tableNames only holds contract names
	}
	tb := table{cols: make([]data.Vec, len(specs))}
	s := 0
	for i, sp := range specs {
		tb.cols[i] = data.NewVec(sp.Type)
		if sp.Type == data.TypeString {
			if s >= len(vocab[t]) {
				panic(fmt.Sprintf("synth: table %s: no vocabulary for column %s", tableNames[t], sp.Name))
			}
			tb.cols[i].Dict = vocab[t][s]
			s++
		}
	}
	return tb
}

// reset empties the table for a new chunk whose customer ids are ids.
func (t *table) reset(ids []string) {
	t.n = 0
	for i := range t.cols {
		t.cols[i].Truncate()
	}
	t.cols[0].Dict = ids
}

// Appenders by column index; code -1 and the data sentinels mean null.
func (t *table) code(c, x int)              { t.cols[c].Codes = append(t.cols[c].Codes, int32(x)) }
func (t *table) date(c int, d data.Date)    { t.cols[c].Dates = append(t.cols[c].Dates, d) }
func (t *table) ts(c int, x data.Timestamp) { t.cols[c].Ints = append(t.cols[c].Ints, int64(x)) }
func (t *table) int(c int, x int64)         { t.cols[c].Ints = append(t.cols[c].Ints, x) }
func (t *table) float(c int, x float64)     { t.cols[c].Floats = append(t.cols[c].Floats, x) }
func (t *table) bool(c int, b bool)         { t.cols[c].AppendBool(b) }
func (t *table) row(customer int)           { t.code(0, customer); t.n++ }
