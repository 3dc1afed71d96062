package pipeline

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/churnlab/churn/beam/internal/wire"
	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*fileRef)(nil)).Elem())
	register.DoFn4x1[context.Context, *sdf.LockRTracker, fileRef, func(string, []byte), error](&readFn{})
	register.Emitter2[string, []byte]()
}

// fileRef is one Parquet file of a table of the dataset: the element the
// source splits by row group.
type fileRef struct {
	Table     string
	File      int
	RowGroups int64
}

// scanSpec is the part of data.ScanOptions that travels to workers.
type scanSpec struct {
	Tables  []string
	Columns map[string][]string
	Attrs   bool
}

func specOf(o data.ScanOptions) scanSpec {
	return scanSpec{Tables: o.Tables, Columns: o.Columns, Attrs: o.Attrs}
}

func (s scanSpec) options() data.ScanOptions {
	return data.ScanOptions{Tables: s.Tables, Columns: s.Columns, Attrs: s.Attrs}
}

// tables lists the tables a scan with s reads: customers first, then the
// others in contract order.
func (s scanSpec) tables(ds *data.Dataset) []string {
	present := ds.Present(s.options())
	var out []string
	for _, t := range data.Contract {
		if present.Has(t.Name) {
			out = append(out, t.Name)
		}
	}
	return out
}

// fileRefs lists the files of the tables a scan with s reads.
func fileRefs(ds *data.Dataset, s scanSpec) []fileRef {
	var refs []fileRef
	for _, table := range s.tables(ds) {
		rgs, _ := ds.RowGroups(table)
		for _, r := range rgs {
			if n := len(refs); n > 0 && refs[n-1].Table == table && refs[n-1].File == r.File {
				refs[n-1].RowGroups++
				continue
			}
			refs = append(refs, fileRef{Table: table, File: r.File, RowGroups: 1})
		}
	}
	return refs
}

// readFn is the Parquet source: a splittable DoFn over the row groups of
// one file (one restriction a row group, splittable further by the
// runner), emitting for each run of a customer's rows a piece keyed by
// customer_id. Customers that --customers and --exclude-customers leave
// out send only their row counts (the scan statistics count every
// customer, as churn's do).
type readFn struct {
	Dir     string
	Scan    scanSpec
	Only    string // --customers file
	Exclude string // --exclude-customers file

	ds   *data.Dataset
	keep func(string) bool
	buf  []byte
}

func (fn *readFn) Setup() error {
	ds, err := data.Open(fn.Dir)
	if err != nil {
		return err
	}
	fn.ds = ds
	fn.keep, err = customerKeep(fn.Only, fn.Exclude)
	return err
}

func (fn *readFn) Teardown() {
	if fn.ds != nil {
		fn.ds.Close()
	}
}

func (fn *readFn) CreateInitialRestriction(f fileRef) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: f.RowGroups}
}

func (fn *readFn) SplitRestriction(_ fileRef, r offsetrange.Restriction) []offsetrange.Restriction {
	return r.SizedSplits(1)
}

func (fn *readFn) RestrictionSize(_ fileRef, r offsetrange.Restriction) float64 { return r.Size() }

func (fn *readFn) CreateTracker(r offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(offsetrange.NewTracker(r))
}

func (fn *readFn) ProcessElement(ctx context.Context, rt *sdf.LockRTracker, f fileRef, emit func(string, []byte)) error {
	r := rt.GetRestriction().(offsetrange.Restriction)
	opt := fn.Scan.options()
	table := tableIndex(f.Table)
	for i := r.Start; rt.TryClaim(i); i++ {
		ref := data.RowGroupRef{Table: f.Table, File: f.File, RowGroup: int(i)}
		err := fn.ds.ScanRowGroup(ctx, ref, opt, func(h *data.History) error {
			p := piece{Table: table, File: f.File, RowGroup: int(i), Rows: historyRows(h)}
			p.Data = fn.keep == nil || fn.keep(h.Customer.ID)
			fn.buf = p.append(fn.buf[:0], h)
			emit(h.Customer.ID, slices.Clone(fn.buf))
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// piece is one run of a customer's rows of one table from one row group:
// where it comes from (to put the pieces back in file order), how many
// rows it holds, and the rows (encoded History) unless only counted.
type piece struct {
	Table    int // index in data.Contract
	File     int
	RowGroup int
	Rows     int64
	Data     bool
	h        data.History
}

func (p *piece) append(b []byte, h *data.History) []byte {
	b = binary.AppendUvarint(b, uint64(p.Table))
	b = binary.AppendUvarint(b, uint64(p.File))
	b = binary.AppendUvarint(b, uint64(p.RowGroup))
	b = binary.AppendUvarint(b, uint64(p.Rows))
	if !p.Data {
		return append(b, 0)
	}
	return wire.Append(append(b, 1), h)
}

func decodePiece(b []byte) (piece, error) {
	var p piece
	var vals [4]uint64
	for i := range vals {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return p, wire.ErrShort
		}
		vals[i], b = x, b[n:]
	}
	p.Table, p.File, p.RowGroup, p.Rows = int(vals[0]), int(vals[1]), int(vals[2]), int64(vals[3])
	if len(b) == 0 {
		return p, wire.ErrShort
	}
	if p.Data = b[0] == 1; p.Data {
		if _, err := wire.Decode(b[1:], &p.h); err != nil {
			return p, err
		}
	}
	return p, nil
}

func tableIndex(name string) int {
	return slices.IndexFunc(data.Contract, func(t *data.Table) bool { return t.Name == name })
}

// historyRows counts the event rows of h (1 for a customers piece).
func historyRows(h *data.History) int64 {
	n := len(h.Subscriptions) + len(h.Usage) + len(h.Payments) + len(h.Contacts) + len(h.Tickets) +
		len(h.Surveys) + len(h.Signals) + len(h.Orders) + len(h.ChurnEvents) + len(h.Interventions)
	if n == 0 {
		return 1 // the customers row
	}
	return int64(n)
}

// assembler puts a customer's pieces back together into the History
// data.Scan would have made, and counts them as Scan does.
type assembler struct {
	present data.TableSet
	pieces  []piece
	// files names the customers table's files, for errors.
	files []string
}

// newAssembler prepares assembling histories read from ds with scan.
func newAssembler(ds *data.Dataset, scan data.ScanOptions) assembler {
	a := assembler{present: ds.Present(scan)}
	for _, f := range ds.Table(data.Customers).Files {
		a.files = append(a.files, f.Path)
	}
	return a
}

// assemble decodes the pieces of customer id into h. It reports whether
// the customer is in the customers table and is kept, and adds the counts
// to t.
func (a *assembler) assemble(id string, values func(*[]byte) bool, h *data.History, t *tally) (kept bool, err error) {
	a.pieces = a.pieces[:0]
	var b []byte
	for values(&b) {
		p, err := decodePiece(b)
		if err != nil {
			return false, fmt.Errorf("customer %s: decode a piece: %w", id, err)
		}
		a.pieces = append(a.pieces, p)
	}
	slices.SortFunc(a.pieces, func(x, y piece) int {
		return cmp.Or(cmp.Compare(x.Table, y.Table), cmp.Compare(x.File, y.File), cmp.Compare(x.RowGroup, y.RowGroup))
	})
	customers := tableIndex(data.Customers)
	found := len(a.pieces) > 0 && a.pieces[0].Table == customers
	if len(a.pieces) > 1 && a.pieces[1].Table == customers {
		file := data.Customers
		if p := a.pieces[1]; p.File < len(a.files) {
			file = fmt.Sprintf("%s (row group %d)", a.files[p.File], p.RowGroup)
		}
		return false, &data.InputError{File: file, Column: data.KeyColumn, Value: id, Err: data.ErrDuplicateKey}
	}
	for _, p := range a.pieces {
		if p.Table == customers {
			continue
		}
		if found {
			t.TableRows[p.Table] += p.Rows
		} else {
			t.Orphans[p.Table] += p.Rows
		}
	}
	if !found {
		return false, nil
	}
	t.Customers++
	if !a.pieces[0].Data {
		return false, nil
	}
	*h = a.pieces[0].h
	h.Present = a.present
	for _, p := range a.pieces[1:] {
		h.Append(&p.h)
	}
	h.SortByTime()
	return true, nil
}

// tally is what a run saw, summed over customers: features.Stats in a
// form that travels (tables by index in data.Contract).
type tally struct {
	Customers, Rows, Labelled, Positives int64
	TableRows, Orphans                   [16]int64
}

func (t *tally) add(o *tally) {
	t.Customers += o.Customers
	t.Rows += o.Rows
	t.Labelled += o.Labelled
	t.Positives += o.Positives
	for i := range t.TableRows {
		t.TableRows[i] += o.TableRows[i]
		t.Orphans[i] += o.Orphans[i]
	}
}

// countRows counts the n rows of a batch with label column lv.
func (t *tally) countRows(lv *data.Vec, n int) {
	t.Rows += int64(n)
	for r := 0; r < n; r++ {
		if x := lv.Int(r); x != data.NullInt {
			t.Labelled++
			t.Positives += x
		}
	}
}

// stats returns t as features.Stats, with the per-table counts of the
// tables read (as Scan reports them: every table of the scan, zeros
// included).
func (t *tally) stats(tables []string) features.Stats {
	st := features.Stats{Customers: t.Customers, Rows: t.Rows, Labelled: t.Labelled, Positives: t.Positives}
	st.Scan = data.ScanStats{Customers: t.Customers, Rows: map[string]int64{}, Orphans: map[string]int64{}}
	for _, name := range tables {
		if name == data.Customers {
			continue
		}
		i := tableIndex(name)
		st.Scan.Rows[name] = t.TableRows[i]
		st.Scan.Orphans[name] = t.Orphans[i]
	}
	return st
}

// mergeTallies is the combiner of encoded tallies.
func mergeTallies(a, b []byte) []byte {
	var x, y tally
	if _, err := wire.Decode(a, &x); err != nil {
		panic(err) // both ends are this binary: a bad tally is a bug
	}
	if _, err := wire.Decode(b, &y); err != nil {
		panic(err)
	}
	x.add(&y)
	return wire.Append(nil, &x)
}
