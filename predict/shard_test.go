package predict

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// readTree returns the files under dir by relative path, with their bytes.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameTree fails unless the two output folders hold the same files with
// the same bytes.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	w, g := readTree(t, want), readTree(t, got)
	for name, b := range w {
		gb, ok := g[name]
		switch {
		case !ok:
			t.Errorf("%s: missing from the merged output", name)
		case !bytes.Equal(b, gb):
			t.Errorf("%s differs between unsharded and merged output:\n%s\n---\n%s", name, clipText(b), clipText(gb))
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: only in the merged output", name)
		}
	}
}

func clipText(b []byte) string {
	if len(b) > 600 || bytes.IndexByte(b, 0) >= 0 {
		return "(binary or long)"
	}
	return string(b)
}

// writeShards writes shards 0..n-1 of opt into dir and returns their paths.
func writeShards(t *testing.T, opt Options, n int, dir string) []string {
	t.Helper()
	var paths []string
	var rows int64
	for i := 0; i < n; i++ {
		s := data.Shard{Index: i, Count: n}
		path := filepath.Join(dir, s.FileName())
		res, err := WriteShard(context.Background(), opt, s, path)
		if err != nil {
			t.Fatalf("shard %v: %v", s, err)
		}
		rows += res.Rows
		paths = append(paths, path)
	}
	if rows == 0 {
		t.Fatal("the shards scored nobody")
	}
	return paths
}

// TestShardMerge: shards merged publish the same files, byte for byte, as
// an unsharded run, for a subscription business and an order-based one
// (lifetime features), with a previous run to compare with (a global join),
// and for one shard and several.
func TestShardMerge(t *testing.T) {
	for _, c := range []struct {
		name string
		fix  func(testing.TB) *fixture
		n    int
	}{
		{"subscription/3", getFixture, 3},
		{"subscription/1", getFixture, 1},
		{"ecommerce/4", getShopFixture, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.fix(t)
			ctx := context.Background()
			want, got := t.TempDir(), t.TempDir()
			// A previous partition in both, so previous_* columns are joined.
			for _, out := range []string{want, got} {
				if _, err := Run(ctx, f.options(out, asOfA)); err != nil {
					t.Fatal(err)
				}
			}
			opt := f.options(want, asOfB)
			res, err := Run(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			paths := writeShards(t, f.options("", asOfB), c.n, t.TempDir())
			mres, err := Merge(ctx, f.options(got, asOfB), paths)
			if err != nil {
				t.Fatal(err)
			}
			sameTree(t, want, got)
			if res.Features.Rows != mres.Features.Rows || res.Features.Customers != mres.Features.Customers || res.Rows != mres.Rows || res.Alerts != mres.Alerts {
				t.Errorf("merged result %+v differs from unsharded %+v", mres.Features, res.Features)
			}
		})
	}
}

func getShopFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := shopFixture()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return f
}

// TestMergeBadSets: a missing, duplicated or foreign shard fails the merge
// with a *data.ShardSetError naming the problem, and nothing is written: the
// partition a good merge published before is left as it was, and so is it
// by a cancelled merge.
func TestMergeBadSets(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	paths := writeShards(t, f.options("", asOfB), 3, dir)
	other := filepath.Join(t.TempDir(), "other.parquet")
	if _, err := WriteShard(ctx, f.options("", asOfA), data.Shard{Index: 2, Count: 3}, other); err != nil {
		t.Fatal(err)
	}
	four := filepath.Join(t.TempDir(), "four.parquet")
	if _, err := WriteShard(ctx, f.options("", asOfB), data.Shard{Index: 3, Count: 4}, four); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Merge(ctx, f.options(out, asOfB), paths); err != nil {
		t.Fatal(err)
	}
	before := readTree(t, out)
	unchanged := func(t *testing.T) {
		t.Helper()
		after := readTree(t, out)
		if len(after) != len(before) {
			t.Errorf("the output folder holds %d files, %d before", len(after), len(before))
		}
		for name, b := range before {
			if !bytes.Equal(after[name], b) {
				t.Errorf("%s changed", name)
			}
		}
	}
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := Merge(cctx, f.options(out, asOfB), paths); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		unchanged(t)
	})
	for _, c := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing", paths[:2], "shard(s) 2 of 3 missing"},
		{"missing first", paths[1:], "shard(s) 0 of 3 missing"},
		{"duplicate", append(append([]string{}, paths...), paths[1]), "shard 1/3 is given twice"},
		{"other as-of", []string{paths[0], paths[1], other}, "churn.shard.as_of is \"2024-11-01\""},
		{"other count", append(append([]string{}, paths...), four), "is shard 3/4, "},
		{"none", nil, "no shard file given"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Merge(ctx, f.options(out, asOfB), c.paths)
			var se *data.ShardSetError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a *data.ShardSetError with %q", err, c.want)
			}
			unchanged(t)
			empty := t.TempDir()
			if _, err := Merge(ctx, f.options(empty, asOfB), c.paths); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(filepath.Join(empty, PredictionsDir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed merge left %s: %v", PredictionsDir, err)
			}
		})
	}
}

// TestScorerRecords: the Scorer, fed customer histories one small batch at
// a time, gives the same records as a shard of one, and Publish of them the
// same files as Run.
func TestScorerRecords(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	sc, err := NewScorer(f.options("", asOfB))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(ctx, f.options("", asOfB), planScore)
	if err != nil {
		t.Fatal(err)
	}
	all, stats, err := p.scoreAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Histories as a worker would get them: every table, customers whole.
	var recs []Record
	var batch []*data.History
	flush := func() {
		rs, err := sc.Score(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rs...)
		batch = batch[:0]
	}
	_, err = f.ds.Scan(ctx, data.KeyRange{}, sc.ScanOptions(), func(h *data.History) error {
		batch = append(batch, h.Clone())
		if len(batch) == 7 {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
	if len(recs) != len(all.recs) {
		t.Fatalf("scorer: %d records, run: %d", len(recs), len(all.recs))
	}
	for i := range recs {
		if w := all.record(i); !sameRecord(&w, &recs[i]) {
			t.Fatalf("record %d: scorer %+v, run %+v", i, recs[i], w)
		}
	}
	want, got := t.TempDir(), t.TempDir()
	if _, err := Run(ctx, f.options(want, asOfB)); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, f.options(got, asOfB), recs, stats); err != nil {
		t.Fatal(err)
	}
	sameTree(t, want, got)
}

// sameRecord compares records with NaN equal to NaN.
func sameRecord(a, b *Record) bool {
	eq := func(x, y float64) bool { return x == y || (x != x && y != y) }
	if a.CustomerID != b.CustomerID || !eq(a.Probability, b.Probability) || !eq(a.AnnualRevenue, b.AnnualRevenue) ||
		!eq(a.PAlive, b.PAlive) || !eq(a.CLV, b.CLV) || !eq(a.ExpectedUplift, b.ExpectedUplift) ||
		a.Owner != b.Owner || a.LifecycleStage != b.LifecycleStage || a.Reasons != b.Reasons ||
		len(a.RuleNumbers) != len(b.RuleNumbers) || len(a.RuleStrings) != len(b.RuleStrings) {
		return false
	}
	for i := range a.RuleNumbers {
		if !eq(a.RuleNumbers[i], b.RuleNumbers[i]) {
			return false
		}
	}
	for i := range a.RuleStrings {
		if a.RuleStrings[i] != b.RuleStrings[i] {
			return false
		}
	}
	return true
}

// TestEmptyShard: a shard without customers (more shards than customers)
// is a valid shard file with no rows.
func TestEmptyShard(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	p, err := newPlan(ctx, f.options("", asOfB), planShard)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "empty.parquet")
	af, err := data.CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Abort()
	if err := p.writeShard(ctx, af, p.newScoring(0), data.Shard{Index: 5, Count: 9}, features.Stats{}); err != nil {
		t.Fatal(err)
	}
	if err := af.Commit(); err != nil {
		t.Fatal(err)
	}
	recs, err := readShardRecords(ctx, path, &data.Table{Name: "shard", Columns: p.shardColumns()}, p, nil)
	if err != nil || len(recs) != 0 {
		t.Fatalf("read %d records, %v", len(recs), err)
	}
}

// TestPublishParts: records scored per customer by a Scorer, written in
// parts (as churn-beam's workers do: customers dealt to parts by a hash,
// each part in customer order) and published with PublishParts give the
// same files, byte for byte, as Run; a part of another as-of date is
// refused and nothing is written.
func TestPublishParts(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	sc, err := NewScorer(f.options("", asOfB))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	recs := make([][]Record, n)
	stats := make([]features.Stats, n)
	_, err = f.ds.Scan(ctx, data.KeyRange{}, sc.ScanOptions(), func(h *data.History) error {
		k := data.ShardOf(h.Customer.ID, n)
		rs, err := sc.Score(ctx, []*data.History{h})
		stats[k].Customers++
		stats[k].Rows += int64(len(rs))
		recs[k] = append(recs[k], rs...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	parts := t.TempDir()
	for k := range recs {
		if err := sc.WriteRecords(ctx, filepath.Join(parts, fmt.Sprintf("part-%05d.parquet", k)), recs[k], stats[k]); err != nil {
			t.Fatal(err)
		}
	}
	want, got := t.TempDir(), t.TempDir()
	res, err := Run(ctx, f.options(want, asOfB))
	if err != nil {
		t.Fatal(err)
	}
	pres, err := PublishParts(ctx, f.options(got, asOfB), []string{parts})
	if err != nil {
		t.Fatal(err)
	}
	sameTree(t, want, got)
	if pres.Features.Customers != res.Features.Customers || pres.Features.Rows != res.Features.Rows {
		t.Errorf("parts stats %+v, run %+v", pres.Features, res.Features)
	}
	// Unsorted records are refused.
	if len(recs[0]) > 1 {
		rev := []Record{recs[0][1], recs[0][0]}
		if err := sc.WriteRecords(ctx, filepath.Join(t.TempDir(), "x.parquet"), rev, stats[0]); err == nil {
			t.Error("unsorted records written")
		}
	}
	// Parts of another as-of date do not fit.
	other := t.TempDir()
	if _, err := PublishParts(ctx, f.options(other, asOfA), []string{parts}); err == nil || !strings.Contains(err.Error(), "as_of") {
		t.Errorf("parts of %s published as of %s: %v", asOfB, asOfA, err)
	}
	if entries, _ := os.ReadDir(other); len(entries) != 0 {
		t.Errorf("a refused publish wrote %d entries", len(entries))
	}
}
