package features

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
)

// BenchmarkBuildDir builds features as of 2024-10-01 over the dataset in
// $CHURN_BENCH_DATA (e.g. one made by churn generate or bench/duck_gen.sql);
// it is skipped when the variable is unset. $CHURN_BENCH_GROUPS limits the
// feature groups (comma-separated). bench/features.sh compares it
// with DuckDB on the same files.
func BenchmarkBuildDir(b *testing.B) {
	ds := benchDataset(b, "a dataset directory")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var groups []string
		if g := os.Getenv("CHURN_BENCH_GROUPS"); g != "" {
			groups = strings.Split(g, ",")
		}
		_, st, err := Build(context.Background(), ds, BuildOptions{AsOf: []data.Date{data.MakeDate(2024, 10, 1)}, Label: LabelConfig{Mode: LabelNone}, Config: Config{Groups: groups}}, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Rows)/b.Elapsed().Seconds()*float64(i+1), "rows/s")
	}
}

// BenchmarkFitLifetimeDir fits the lifetime models at 12 monthly as-of
// dates (2023-11-01 … 2024-10-01, as a nightly training table's) over the
// dataset in $CHURN_BENCH_DATA, which needs an orders table (churn generate
// --business ecommerce): the pre-pass Build adds for order-based data.
func BenchmarkFitLifetimeDir(b *testing.B) {
	ds := benchDataset(b, "a dataset directory with orders")
	var dates []data.Date
	for m := 0; m < 12; m++ {
		dates = append(dates, data.MakeDate(2023, time.Month(11+m), 1))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		fits, err := FitLifetime(context.Background(), ds, dates, 0)
		if err != nil {
			b.Fatal(err)
		}
		if fits[len(fits)-1].BGNBD == nil {
			b.Fatalf("no BG/NBD fit: %s", fits[len(fits)-1].Note)
		}
	}
}

// BenchmarkSampleDir measures churn features --sample over the dataset in
// $CHURN_BENCH_DATA at 12 monthly as-of dates (2023-09-01 … 2024-08-01):
// the label pass alone (labels), the whole sample of 20,000 customers
// (sample: labels, then the features of the kept customers), and the
// whole table (full) for comparison.
func BenchmarkSampleDir(b *testing.B) {
	ds := benchDataset(b, "a dataset directory")
	var dates []data.Date
	for m := 0; m < 12; m++ {
		dates = append(dates, data.MakeDate(2023, time.Month(9+m), 1))
	}
	opt := BuildOptions{AsOf: dates, Label: LabelConfig{Mode: LabelAuto, Horizon: 90}}
	so := SampleOptions{Size: 20000, Seed: 1}
	ctx := context.Background()
	b.Run("labels", func(b *testing.B) {
		o := opt
		_, bld, err := newBuild(ctx, ds, &o)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := planStrata(ctx, ds, bld, o, so); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sample", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, _, err := BuildSample(ctx, ds, opt, so, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, err := Build(ctx, ds, opt, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchDataset opens the dataset in $CHURN_BENCH_DATA (closed when b ends),
// or skips b when the variable is unset; what says what the dataset must be.
func benchDataset(b *testing.B, what string) *data.Dataset {
	b.Helper()
	dir := os.Getenv("CHURN_BENCH_DATA")
	if dir == "" {
		b.Skip("set CHURN_BENCH_DATA to " + what)
	}
	ds, err := data.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ds.Close() })
	return ds
}
