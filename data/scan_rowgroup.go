package data

import (
	"context"
	"fmt"
)

// RowGroupRef names one row group of one file of a dataset's table: the
// unit of work of a distributed reader (churn-beam's Parquet source splits
// a table into these).
type RowGroupRef struct {
	Table    string
	File     int // index into TableFiles.Files
	RowGroup int
}

// RowGroups lists the row groups of the named table, file by file, and the
// rows of each (nil when the dataset has no such table).
func (ds *Dataset) RowGroups(table string) (refs []RowGroupRef, rows []int64) {
	tf := ds.tables[table]
	if tf == nil {
		return nil, nil
	}
	for fi, f := range tf.Files {
		for rg := 0; rg < f.NumRowGroups(); rg++ {
			refs = append(refs, RowGroupRef{Table: table, File: fi, RowGroup: rg})
			rows = append(rows, f.RowGroupRows(rg))
		}
	}
	return refs, rows
}

// Present returns the set of tables a History built with opt holds: the
// customers table and those of opt.Tables (every table when nil) that the
// dataset has. Scan sets History.Present to it; a distributed reader that
// assembles histories from ScanRowGroup's pieces sets it the same way.
func (ds *Dataset) Present(opt ScanOptions) TableSet {
	set := TableSet(0).With(Customers)
	if opt.Tables == nil {
		for name := range ds.tables {
			set = set.With(name)
		}
		return set
	}
	for _, name := range opt.Tables {
		if ds.tables[name] != nil {
			set = set.With(name)
		}
	}
	return set
}

// ScanRowGroup reads one row group (ref) with the columns of opt (Columns,
// and Attrs for the customers table) and calls fn once per run of rows
// sharing a customer_id, in file order. For the customers table fn gets one
// customer at a time in h.Customer; for any other table h.Customer.ID is
// the run's customer and the run's rows are in the table's slice of h (the
// others empty). Rows are not joined to customers nor checked for order
// across row groups: the caller groups the pieces by customer_id (merging
// them with History.Merge). opt.Keep, when set, skips the runs of other
// customers. h and its strings are reused after fn returns: fn must copy
// what it keeps (encoding h is enough).
func (ds *Dataset) ScanRowGroup(ctx context.Context, ref RowGroupRef, opt ScanOptions, fn func(h *History) error) error {
	tf := ds.tables[ref.Table]
	if tf == nil {
		return fmt.Errorf("scan: the dataset has no table %s", ref.Table)
	}
	if ref.File < 0 || ref.File >= len(tf.Files) {
		return fmt.Errorf("scan: table %s has no file %d", ref.Table, ref.File)
	}
	f := tf.Files[ref.File]
	if ref.RowGroup < 0 || ref.RowGroup >= f.NumRowGroups() {
		return fmt.Errorf("scan: %s has no row group %d", f.Path, ref.RowGroup)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sel, err := selection(tf.Table, opt.Columns[ref.Table])
	if err != nil {
		return err
	}
	b, _ := tf.batches.Get().(*Batch)
	if b == nil {
		b = new(Batch)
	}
	defer tf.batches.Put(b)
	b.TransientKeys = false
	customers := ref.Table == Customers
	if err := f.ReadRowGroup(ref.RowGroup, sel, customers && opt.Attrs, b); err != nil {
		return err
	}
	var h History
	bind := binders[ref.Table]
	keys := &b.Cols[0]
	for lo := 0; lo < b.N; {
		id := keys.Str(lo)
		hi := lo + 1
		for hi < b.N && keys.Str(hi) == id {
			hi++
		}
		if customers {
			// One customer a row: duplicates are the grouping's to report.
			hi = lo + 1
		}
		if opt.Keep != nil && !opt.Keep(id) {
			lo = hi
			continue
		}
		h.Reset()
		if customers {
			bindCustomer(b, lo, &h.Customer)
		} else {
			h.Customer.ID = id
			bind(b, lo, hi, &h)
		}
		if err := fn(&h); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// Append adds the event rows of o to h's (the customer is left alone): a
// reader assembling a customer's History from ScanRowGroup's pieces appends
// them in file and row-group order, then calls SortByTime, and gets the
// History Scan would have made.
func (h *History) Append(o *History) {
	h.Subscriptions = append(h.Subscriptions, o.Subscriptions...)
	h.Usage = append(h.Usage, o.Usage...)
	h.Payments = append(h.Payments, o.Payments...)
	h.Contacts = append(h.Contacts, o.Contacts...)
	h.Tickets = append(h.Tickets, o.Tickets...)
	h.Surveys = append(h.Surveys, o.Surveys...)
	h.Signals = append(h.Signals, o.Signals...)
	h.Orders = append(h.Orders, o.Orders...)
	h.ChurnEvents = append(h.ChurnEvents, o.ChurnEvents...)
	h.Interventions = append(h.Interventions, o.Interventions...)
}
