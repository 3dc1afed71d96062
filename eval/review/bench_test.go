package review

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
)

// BenchmarkReview measures a whole review of the fixture (two runs of 40
// customers): fixed costs, the per-run resampling above all.
func BenchmarkReview(b *testing.B) {
	f := newFixture(b)
	ds := f.open(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), Options{Dataset: ds, Out: f.out, AsOf: day("2024-12-01"), Now: fixedNow}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPartition measures reading one closed and one open predictions
// partition the way Run does, one goroutine, in the steady state of a
// nightly review (its targeted customers already units). It needs a folder
// written by bench/reviewbench: CHURN_BENCH_REVIEW=DIR with DIR/data and
// DIR/out (bench/review.sh's, or reviewbench -customers N -data DIR/data
// -out DIR/out).
func BenchmarkPartition(b *testing.B) {
	dir := os.Getenv("CHURN_BENCH_REVIEW")
	if dir == "" {
		b.Skip("CHURN_BENCH_REVIEW is not set")
	}
	ds, err := data.Open(filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
	opt := Options{Dataset: ds, Out: filepath.Join(dir, "out"), AsOf: day("2024-12-01")}
	cfg := DefaultConfig()
	parts, _, err := listPartitions(opt.Out, opt.AsOf, nil)
	if err != nil {
		b.Fatal(err)
	}
	lc, err := resolveLabel(opt, parts)
	if err != nil {
		b.Fatal(err)
	}
	rv := &reviewer{opt: opt, cfg: cfg, lc: lc, asOf: opt.AsOf, z: zScore(cfg.Level), strID: map[string]int32{}}
	if rv.out, err = loadOutcomes(context.Background(), ds, lc, cfg.Workers); err != nil {
		b.Fatal(err)
	}
	rv.meas = newMeasured(rv.out, sampleCut(int64(rv.out.n()), cfg.MaxRows), cfg.Seed)
	for _, status := range []string{"closed", "open"} {
		var p *partition
		for i := range parts {
			if rv.out.closed(parts[i].asOf) == (status == "closed") {
				p = &parts[i]
			}
		}
		if p == nil {
			continue
		}
		b.Run(status, func(b *testing.B) {
			w := &worker{set: &unitSet{}}
			w.set.at.reserve(rv.out.n())
			var rows int
			b.ReportAllocs()
			for b.Loop() {
				run, _, err := rv.partition(context.Background(), p, w)
				if err != nil {
					b.Fatal(err)
				}
				rows = run.Rows
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
