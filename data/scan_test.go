package data

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sync/errgroup"
)

func custSpecs() []ColumnSpec {
	return []ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "signup_date", Type: TypeDate, Optional: true}, {Name: "seats", Type: TypeInt64, Optional: true}, {Name: "industry", Type: TypeString, Optional: true}}
}

func usageSpecs() []ColumnSpec {
	return []ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "date", Type: TypeDate}, {Name: "active_users", Type: TypeInt64, Optional: true}}
}

// openJoinDataset writes and opens customers a, b, c and their usage:
// one orphan row before a, rows for a (out of time order), none for b,
// rows for c, an orphan after c.
func openJoinDataset(t *testing.T) *Dataset {
	t.Helper()
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs(), 3,
		[]Vec{strVec("a", "b", "c"), dateVec(t, "2024-01-01", "", "2024-03-01"), intVec(5, NullInt, 7), strVec("retail", "<null>", "bank")}, WriterOptions{})
	writeTable(t, filepath.Join(dir, "usage", "part-0.parquet"), usageSpecs(), 6,
		[]Vec{strVec("0", "a", "a", "c", "c", "d"), dateVec(t, "2024-01-01", "2024-02-02", "2024-02-01", "2024-03-02", "2024-03-03", "2024-01-01"), intVec(1, 2, 3, 4, 5, 6)},
		WriterOptions{RowGroupRows: 2})
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

func TestScanJoinsByCustomer(t *testing.T) {
	ds := openJoinDataset(t)
	if got := ds.Table(Customers).Attrs; len(got) != 1 || got[0].Name != "industry" {
		t.Fatalf("attrs = %v", got)
	}
	var got []*History
	st, err := ds.Scan(context.Background(), KeyRange{}, ScanOptions{Attrs: true}, func(h *History) error {
		got = append(got, h.Clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || st.Customers != 3 {
		t.Fatalf("got %d customers", len(got))
	}
	a, b, c := got[0], got[1], got[2]
	if a.Customer.ID != "a" || a.Customer.Seats != 5 || a.Customer.Attrs[0].Str != "retail" || a.Customer.SignupDate.String() != "2024-01-01" {
		t.Errorf("a = %+v", a.Customer)
	}
	if len(a.Usage) != 2 || a.Usage[0].Date.String() != "2024-02-01" || a.Usage[0].ActiveUsers != 3 {
		t.Errorf("a usage = %+v (want time order)", a.Usage)
	}
	if b.Customer.Seats != NullInt || b.Customer.SignupDate != NoDate || !b.Customer.Attrs[0].Null || len(b.Usage) != 0 {
		t.Errorf("b = %+v usage %v", b.Customer, b.Usage)
	}
	if len(c.Usage) != 2 || !c.Present.Has(UsageTable) || c.Present.Has(Tickets) {
		t.Errorf("c usage = %+v present %b", c.Usage, c.Present)
	}
	if st.Orphans[UsageTable] != 2 || st.Rows[UsageTable] != 4 {
		t.Errorf("stats = %+v", st)
	}
}

func TestScanErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  error
		msg   string
	}{
		{"no customers", func(t *testing.T, dir string) {
			writeTable(t, filepath.Join(dir, "usage.parquet"), usageSpecs(), 1, []Vec{strVec("a"), dateVec(t, "2024-01-01"), intVec(1)}, WriterOptions{})
		}, ErrNoCustomers, ""},
		{"unknown table", func(t *testing.T, dir string) {
			writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs()[:1], 1, []Vec{strVec("a")}, WriterOptions{})
			writeTable(t, filepath.Join(dir, "usages.parquet"), usageSpecs(), 1, []Vec{strVec("a"), dateVec(t, "2024-01-01"), intVec(1)}, WriterOptions{})
		}, ErrUnknownTable, "usages.parquet"},
		{"missing required column", func(t *testing.T, dir string) {
			writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs()[:1], 1, []Vec{strVec("a")}, WriterOptions{})
			writeTable(t, filepath.Join(dir, "usage.parquet"), usageSpecs()[:1], 1, []Vec{strVec("a")}, WriterOptions{})
		}, ErrSchema, "column date"},
		{"wrong type", func(t *testing.T, dir string) {
			writeTable(t, filepath.Join(dir, "customers.parquet"), []ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "seats", Type: TypeString}}, 1, []Vec{strVec("a"), strVec("x")}, WriterOptions{})
		}, ErrSchema, "column seats"},
		{"empty file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "customers.parquet"), nil, 0o644)
		}, ErrEmpty, "customers.parquet"},
		{"corrupt file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "customers.parquet"), []byte("PAR1 this is not parquet PAR1"), 0o644)
		}, ErrCorrupt, "customers.parquet"},
		{"unsorted events", func(t *testing.T, dir string) {
			writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs()[:1], 2, []Vec{strVec("a", "b")}, WriterOptions{})
			writeTable(t, filepath.Join(dir, "usage.parquet"), usageSpecs(), 3, []Vec{strVec("b", "a", "b"), dateVec(t, "2024-01-01", "2024-01-01", "2024-01-01"), intVec(1, 2, 3)}, WriterOptions{})
		}, ErrUnsorted, "usage.parquet:2"},
		{"duplicate customer", func(t *testing.T, dir string) {
			writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs()[:1], 3, []Vec{strVec("a", "b", "b")}, WriterOptions{})
		}, ErrDuplicateKey, "customers.parquet:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			ds, err := Open(dir)
			if err == nil {
				_, err = ds.Scan(context.Background(), KeyRange{}, ScanOptions{}, func(*History) error { return nil })
				ds.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.msg != "" && !contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

func TestShardsCoverEveryCustomer(t *testing.T) {
	dir := t.TempDir()
	const n = 1000
	ids := NewVec(TypeString)
	uid := NewVec(TypeString)
	ud := NewVec(TypeDate)
	for i := 0; i < n; i++ {
		id := string(rune('A'+i/100)) + string(rune('a'+(i/10)%10)) + string(rune('0'+i%10))
		ids.AppendString(id)
		for k := 0; k < i%3; k++ {
			uid.AppendString(id)
			ud.AppendDate(Date(19000 + k))
		}
	}
	writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs()[:1], n, []Vec{ids}, WriterOptions{RowGroupRows: 64})
	writeTable(t, filepath.Join(dir, "usage.parquet"), usageSpecs()[:2], uid.Len(), []Vec{uid, ud}, WriterOptions{RowGroupRows: 50})
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	shards := ds.Shards(4)
	if len(shards) != 4 {
		t.Fatalf("shards = %v", shards)
	}
	var total ScanStats
	seen := map[string]int{}
	for _, r := range shards {
		st, err := ds.Scan(context.Background(), r, ScanOptions{}, func(h *History) error {
			seen[h.Customer.ID] = len(h.Usage)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		total.Merge(st)
	}
	if len(seen) != n || total.Customers != n || total.Rows[UsageTable] != int64(uid.Len()) || total.Orphans[UsageTable] != 0 {
		t.Fatalf("seen %d customers, stats %+v", len(seen), total)
	}
	for i := 0; i < n; i++ {
		if got := seen[ids.Str(i)]; got != i%3 {
			t.Fatalf("customer %s has %d usage rows, want %d", ids.Str(i), got, i%3)
		}
	}
}

// BenchmarkScanDir reads every table of the dataset in $CHURN_BENCH_DATA
// (skipped when unset) through Scan on all cores and reports rows/s.
func BenchmarkScanDir(b *testing.B) {
	dir := os.Getenv("CHURN_BENCH_DATA")
	if dir == "" {
		b.Skip("set CHURN_BENCH_DATA to a dataset directory")
	}
	ds, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		shards := ds.Shards(runtime.GOMAXPROCS(0) * 4)
		var mu sync.Mutex
		var total ScanStats
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for _, r := range shards {
			g.Go(func() error {
				st, err := ds.Scan(context.Background(), r, ScanOptions{}, func(*History) error { return nil })
				mu.Lock()
				total.Merge(st)
				mu.Unlock()
				return err
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		rows = total.Customers
		for _, n := range total.Rows {
			rows += n
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows), "rows")
}

// TestScanKeep: a scan with Keep passes only the kept customers, with the
// same rows as a full scan, and counts like a full scan.
func TestScanKeep(t *testing.T) {
	ds := openJoinDataset(t)
	scan := func(keep func(string) bool) (map[string]*History, ScanStats) {
		got := map[string]*History{}
		st, err := ds.Scan(context.Background(), KeyRange{}, ScanOptions{Keep: keep}, func(h *History) error {
			got[h.Customer.ID] = h.Clone()
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, st
	}
	all, stAll := scan(nil)
	kept, st := scan(func(id string) bool { return id != "a" })
	if len(kept) != 2 || kept["a"] != nil || len(kept["c"].Usage) != len(all["c"].Usage) || fmt.Sprint(kept["c"].Usage) != fmt.Sprint(all["c"].Usage) || fmt.Sprint(kept["b"].Customer) != fmt.Sprint(all["b"].Customer) {
		t.Errorf("kept = %v; c usage %+v, full scan %+v", kept, kept["c"].Usage, all["c"].Usage)
	}
	if st.Customers != stAll.Customers || st.Rows[UsageTable] != stAll.Rows[UsageTable] || st.Orphans[UsageTable] != stAll.Orphans[UsageTable] {
		t.Errorf("stats %+v, full scan %+v", st, stAll)
	}
}
