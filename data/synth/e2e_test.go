package synth_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// TestGenerateLargeE2E generates the benchmark volume (1M customers × 24
// months, or CHURN_E2E_CUSTOMERS) and reads it back in parallel shards, as
// the feature stage will. Run with CHURN_E2E=1 (make e2e).
func TestGenerateLargeE2E(t *testing.T) {
	if os.Getenv("CHURN_E2E") == "" {
		t.Skip("set CHURN_E2E=1 to run")
	}
	n := 1_000_000
	if s := os.Getenv("CHURN_E2E_CUSTOMERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "big")
	start := time.Now()
	sum := generate(t, dir, synth.Params{Customers: n, Months: 24, Seed: 1}, synth.WriteOptions{})
	t.Logf("generated %d customers in %v", n, time.Since(start))
	for _, ts := range sum.Tables {
		t.Logf("%-14s %11d rows %6.1f per customer %6d MB", ts.Name, ts.Rows, float64(ts.Rows)/float64(n), ts.Bytes>>20)
	}
	if u := float64(sum.Rows(data.UsageTable)) / float64(n); u < 75 || u > 100 {
		t.Errorf("%.1f usage rows per customer", u)
	}

	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	cust := ds.Table(data.Customers).Files[0]
	for i := range cust.NumRowGroups() {
		if rows := cust.RowGroupRows(i); rows > 1<<15 {
			t.Errorf("customers row group %d has %d rows; readers shard on these", i, rows)
		}
	}
	shards := ds.Shards(4)
	if n >= 200_000 && len(shards) != 4 {
		t.Errorf("%d shards, want 4", len(shards))
	}
	start = time.Now()
	var mu sync.Mutex
	var total data.ScanStats
	var wg sync.WaitGroup
	errs := make([]error, len(shards))
	for i, r := range shards {
		wg.Go(func() {
			st, err := ds.Scan(context.Background(), r, data.ScanOptions{}, func(h *data.History) error { return nil })
			errs[i] = err
			mu.Lock()
			total.Merge(st)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("scanned %d customers in %d shards in %v", total.Customers, len(shards), time.Since(start))
	if total.Customers != int64(n) {
		t.Errorf("scanned %d customers, want %d", total.Customers, n)
	}
	for _, name := range synth.Tables[1:] {
		if total.Rows[name] != sum.Rows(name) || total.Orphans[name] != 0 {
			t.Errorf("%s: %d rows bound, %d orphans; file has %d", name, total.Rows[name], total.Orphans[name], sum.Rows(name))
		}
	}
}
