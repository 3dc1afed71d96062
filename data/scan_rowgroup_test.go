package data_test

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// assemble builds every customer's History from ScanRowGroup's pieces, as
// a distributed reader does: pieces grouped by customer, appended in
// (table, file, row group) order, sorted by time.
func assemble(t *testing.T, ds *data.Dataset, opt data.ScanOptions) map[string]*data.History {
	t.Helper()
	type piece struct {
		ref data.RowGroupRef
		h   *data.History
	}
	pieces := map[string][]piece{}
	tables := append([]string{data.Customers}, opt.Tables...)
	for _, name := range tables {
		refs, rows := ds.RowGroups(name)
		if len(refs) != len(rows) {
			t.Fatalf("%s: %d refs, %d row counts", name, len(refs), len(rows))
		}
		for _, ref := range refs {
			err := ds.ScanRowGroup(context.Background(), ref, opt, func(h *data.History) error {
				pieces[h.Customer.ID] = append(pieces[h.Customer.ID], piece{ref, h.Clone()})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	order := map[string]int{}
	for i, name := range data.TableNames() {
		order[name] = i
	}
	out := map[string]*data.History{}
	for id, ps := range pieces {
		slices.SortFunc(ps, func(a, b piece) int {
			return cmp.Or(cmp.Compare(order[a.ref.Table], order[b.ref.Table]), cmp.Compare(a.ref.File, b.ref.File), cmp.Compare(a.ref.RowGroup, b.ref.RowGroup))
		})
		var h *data.History
		for _, p := range ps {
			if p.ref.Table == data.Customers {
				h = p.h
			}
		}
		if h == nil {
			continue // orphan rows: no customer
		}
		for _, p := range ps {
			if p.ref.Table != data.Customers {
				h.Append(p.h)
			}
		}
		h.Present = ds.Present(opt)
		h.SortByTime()
		out[id] = h
	}
	return out
}

// TestScanRowGroupAssemblesScan checks that histories assembled from
// row-group pieces equal Scan's, on generated data with Hive-partitioned
// tables of several files and small row groups.
func TestScanRowGroupAssemblesScan(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Generate(ctx, dir, synth.Params{Customers: 300, Months: 12, Seed: 9}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	splitTable(t, dir, data.UsageTable, 3)
	splitTable(t, dir, data.Payments, 2)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for _, opt := range []data.ScanOptions{
		{Attrs: true},
		{Tables: []string{data.UsageTable, data.Payments}, Columns: map[string][]string{data.UsageTable: {"date", "sessions"}}},
		{Tables: []string{data.Tickets}, Keep: func(id string) bool { return data.ShardOf(id, 3) == 1 }},
	} {
		if opt.Tables == nil {
			for _, tf := range ds.Tables() {
				if tf.Table.Name != data.Customers {
					opt.Tables = append(opt.Tables, tf.Table.Name)
				}
			}
		}
		want := map[string]*data.History{}
		if _, err := ds.Scan(ctx, data.KeyRange{}, opt, func(h *data.History) error {
			want[h.Customer.ID] = h.Clone()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got := assemble(t, ds, opt)
		if len(got) != len(want) || len(want) == 0 {
			t.Fatalf("%d customers assembled, Scan has %d", len(got), len(want))
		}
		for id, w := range want {
			// %+v: empty and nil slices alike, NaN equal to NaN.
			if g := fmt.Sprintf("%+v", got[id]); g != fmt.Sprintf("%+v", w) {
				t.Fatalf("customer %s: assembled\n%+v\nScan\n%+v", id, got[id], w)
			}
		}
	}
}

func TestScanRowGroupErrors(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := synth.Generate(ctx, dir, synth.Params{Customers: 20, Months: 3, Seed: 1}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	nop := func(*data.History) error { return nil }
	for _, ref := range []data.RowGroupRef{{Table: "nope"}, {Table: data.Customers, File: 3}, {Table: data.Customers, RowGroup: 9}} {
		if err := ds.ScanRowGroup(ctx, ref, data.ScanOptions{}, nop); err == nil {
			t.Errorf("%+v: no error", ref)
		}
	}
}

// splitTable replaces dir/table.parquet by a Hive-style folder of n files
// of small row groups (synth.SplitTable), rows dealt out in runs of 97 so
// that a customer's rows span files and row groups.
func splitTable(t *testing.T, dir, table string, n int) {
	t.Helper()
	if err := synth.SplitTable(dir, table, n, 97, 200); err != nil {
		t.Fatal(err)
	}
}
