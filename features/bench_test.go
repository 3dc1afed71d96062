package features

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// BenchmarkBuildDir builds features as of 2024-10-01 over the dataset in
// $CHURN_BENCH_DATA (e.g. one made by churn generate or bench/duck_gen.sql);
// it is skipped when the variable is unset. $CHURN_BENCH_GROUPS limits the
// feature groups (comma-separated). bench/features.sh compares it
// with DuckDB on the same files.
func BenchmarkBuildDir(b *testing.B) {
	dir := os.Getenv("CHURN_BENCH_DATA")
	if dir == "" {
		b.Skip("set CHURN_BENCH_DATA to a dataset directory")
	}
	ds, err := data.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer ds.Close()
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
