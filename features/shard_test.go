package features

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// TestBuildShards: n shards of a build, merged, give the rows, schema and
// spec of the unsharded build, for a subscription business and an
// order-based one, whose lifetime fits are population-wide: every shard
// fits them on all customers' orders, so every shard's spec is the
// unsharded spec, byte for byte.
func TestBuildShards(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		p    synth.Params
		opt  BuildOptions
		n    int
	}{
		{"subscription", synth.Params{Customers: 600, Months: 24, Seed: 5},
			BuildOptions{AsOf: []data.Date{day("2024-06-01"), day("2024-09-01")}}, 3},
		{"ecommerce", synth.Params{Customers: 600, Months: 24, Seed: 3, Business: synth.BusinessEcommerce},
			BuildOptions{AsOf: []data.Date{day("2024-06-01"), day("2024-09-01")}, Label: LabelConfig{Mode: LabelInactivity}}, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := synth.Generate(ctx, filepath.Join(dir, "data"), c.p, synth.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			ds, err := data.Open(filepath.Join(dir, "data"))
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			whole := filepath.Join(dir, "whole.parquet")
			spec, st, err := BuildFile(ctx, ds, c.opt, whole)
			if err != nil {
				t.Fatal(err)
			}
			if c.name == "ecommerce" && len(spec.Lifetime) == 0 {
				t.Fatal("the ecommerce spec has no lifetime fits: the test would prove nothing about them")
			}
			var paths []string
			for i := 0; i < c.n; i++ {
				opt := c.opt
				opt.Shard = data.Shard{Index: i, Count: c.n}
				path := filepath.Join(dir, "shards", opt.Shard.FileName())
				if _, _, err := BuildFile(ctx, ds, opt, path); err != nil {
					t.Fatal(err)
				}
				if raw, want := rawSpec(t, path), rawSpec(t, whole); raw != want {
					t.Fatalf("shard %v's spec differs from the unsharded one:\n%s\n%s", opt.Shard, raw, want)
				}
				paths = append(paths, path)
			}
			merged := filepath.Join(dir, "merged.parquet")
			mspec, mst, err := MergeShardsFile(ctx, []string{filepath.Join(dir, "shards")}, data.WriterOptions{}, merged)
			if err != nil {
				t.Fatal(err)
			}
			if rawSpec(t, merged) != rawSpec(t, whole) || len(mspec.Features) != len(spec.Features) {
				t.Error("the merged spec differs from the unsharded one")
			}
			if mst.Rows != st.Rows || mst.Labelled != st.Labelled || mst.Positives != st.Positives || mst.Customers != st.Customers {
				t.Errorf("merged stats %+v, unsharded %+v", mst, st)
			}
			sameTables(t, whole, merged)
		})
	}
}

func rawSpec(t *testing.T, path string) string {
	t.Helper()
	f, err := data.OpenFile(path, &data.Table{Name: "features", Columns: []data.Column{{Name: ColCustomerID, Type: data.TypeString, Required: true}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, _ := f.Metadata(MetadataKey)
	return raw
}

// sameTables fails unless the feature tables hold the same rows in the
// same order.
func sameTables(t *testing.T, a, b string) {
	t.Helper()
	ctx := context.Background()
	ta, err := ReadTable(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := ReadTable(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if ta.Len() != tb.Len() || ta.Len() == 0 {
		t.Fatalf("%d rows vs %d", ta.Len(), tb.Len())
	}
	eq := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	for r := 0; r < ta.Len(); r++ {
		if ta.IDs[r] != tb.IDs[r] || ta.AsOf[r] != tb.AsOf[r] || !eq(ta.Label[r], tb.Label[r]) {
			t.Fatalf("row %d: %s %s %v vs %s %s %v", r, ta.IDs[r], ta.AsOf[r], ta.Label[r], tb.IDs[r], tb.AsOf[r], tb.Label[r])
		}
		for i := range ta.Num {
			if ta.Cat[i] != nil {
				if ta.Cat[i][r] != tb.Cat[i][r] {
					t.Fatalf("row %d, %s: %q vs %q", r, ta.Spec.Features[i].Name, ta.Cat[i][r], tb.Cat[i][r])
				}
			} else if !eq(ta.Num[i][r], tb.Num[i][r]) {
				t.Fatalf("row %d, %s: %v vs %v", r, ta.Spec.Features[i].Name, ta.Num[i][r], tb.Num[i][r])
			}
		}
	}
}

// TestMergeShardsBadSets: incomplete, duplicated or non-shard inputs fail
// with a *data.ShardSetError and leave no file.
func TestMergeShardsBadSets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Generate(ctx, filepath.Join(dir, "data"), synth.Params{Customers: 200, Months: 24, Seed: 2}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	opt := BuildOptions{AsOf: []data.Date{day("2024-06-01")}}
	var paths []string
	for i := 0; i < 2; i++ {
		o := opt
		o.Shard = data.Shard{Index: i, Count: 2}
		path := filepath.Join(dir, o.Shard.FileName())
		if _, _, err := BuildFile(ctx, ds, o, path); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	whole := filepath.Join(dir, "whole.parquet")
	if _, _, err := BuildFile(ctx, ds, opt, whole); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other", "shard-00001-of-00002.parquet")
	o := opt
	o.AsOf, o.Shard = []data.Date{day("2024-07-01")}, data.Shard{Index: 1, Count: 2}
	if _, _, err := BuildFile(ctx, ds, o, other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing", paths[:1], "shard(s) 1 of 2 missing"},
		{"duplicate", []string{paths[0], paths[1], paths[1]}, "shard 1/2 is given twice"},
		{"not a shard", []string{paths[0], whole}, "not a shard"},
		{"other spec", []string{paths[0], other}, "its feature spec differs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.parquet")
			_, _, err := MergeShardsFile(ctx, c.paths, data.WriterOptions{}, out)
			var se *data.ShardSetError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a *data.ShardSetError with %q", err, c.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed merge left %s", out)
			}
		})
	}
}
