package features

import (
	"context"
	"slices"

	"github.com/churnlab/churn/data"
)

// Key names one feature row: a customer as of a date.
type Key struct {
	CustomerID string
	AsOf       data.Date
}

// BuildAt computes the feature rows of spec at the given keys: each key's
// customer's features as of its date, from data strictly before that date
// as every feature row is, and its label under lc (which must be resolved,
// with the data end known: see NewSpec and ResolveLabel). Only the keys'
// customers are computed, each at its own dates, so keys spread over many
// dates cost one row each. Duplicate keys give one row. A key whose
// customer is not in the dataset, or not a customer on its date (churned
// before it, or signed up after it), gives none.
//
// The table's rows are in customer_id order, a customer's by date (Lookup
// finds a key's row). keys is not modified.
func BuildAt(ctx context.Context, ds *data.Dataset, spec *Spec, lc LabelConfig, keys []Key, workers int) (*Table, error) {
	b, err := NewBuilder(ds, spec, lc)
	if err != nil {
		return nil, err
	}
	dates := map[string][]data.Date{}
	for _, k := range keys {
		dates[k.CustomerID] = append(dates[k.CustomerID], k.AsOf)
	}
	for id, ds := range dates {
		slices.Sort(ds)
		dates[id] = slices.Compact(ds)
	}
	var parts []*Table
	opt := RunOptions{
		Workers: workers,
		Keep:    func(id string) bool { _, ok := dates[id]; return ok },
		DatesOf: func(id string) []data.Date { return dates[id] },
	}
	if _, err := b.RunWith(ctx, opt, func(bt *Batch) error {
		if bt.N > 0 {
			parts = append(parts, bt.Table(spec))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return Concat(spec, parts), nil
}

// Lookup returns the row of t for customer id as of date, or -1; t's rows
// must be in customer_id order, a customer's by date (as BuildAt, Build
// and ReadTable of a built table give them).
func (t *Table) Lookup(id string, date data.Date) int {
	i, found := slices.BinarySearch(t.IDs, id)
	if !found {
		return -1
	}
	for ; i < t.Len() && t.IDs[i] == id; i++ {
		if t.AsOf[i] == date {
			return i
		}
	}
	return -1
}
