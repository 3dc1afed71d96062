package data

import "context"

// CustomerIntervention is one row of the interventions table with the
// customer it is about.
type CustomerIntervention struct {
	CustomerID string
	Intervention
}

// ReadInterventions returns the rows of the interventions table whose
// customer is in the customers table, in customer_id order, then ts order
// (ties keep file order), or nil when the dataset has no interventions
// table. Rows of unknown customers are skipped, as Scan skips them (churn
// validate reports them as orphans). The slice is the caller's.
//
// It holds the whole table in memory: one row per play run, small next to
// the event tables. Per-customer work that reads other tables too should
// Scan with Interventions among ScanOptions.Tables and read
// History.Interventions instead. Safe for concurrent use with other reads
// of ds.
func (ds *Dataset) ReadInterventions(ctx context.Context) ([]CustomerIntervention, error) {
	if !ds.Has(Interventions) {
		return nil, nil
	}
	var out []CustomerIntervention
	opt := ScanOptions{Tables: []string{Interventions}, Columns: map[string][]string{Customers: {}}}
	_, err := ds.Scan(ctx, KeyRange{}, opt, func(h *History) error {
		for _, iv := range h.Interventions {
			out = append(out, CustomerIntervention{CustomerID: h.Customer.ID, Intervention: iv})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
