package pgsink

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/pgtest"
	"github.com/churnlab/churn/predict"
)

// benchRows is the size of the load benchmarks' partition (issue 14: 1M).
var benchRows = func() int {
	if n, err := strconv.Atoi(os.Getenv("CHURN_PGSINK_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}()

// writeFakePartition writes a predictions partition of n rows (and an
// alerts partition of n/20) with plausible values: what churn publish
// loads, without scoring a million customers first.
func writeFakePartition(tb testing.TB, out string, asOf data.Date, n int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	texts := []string{"active users down 45% vs the previous 30 days", "3 support tickets in the last 30 days, up from 0",
		"NPS 3 (detractor) in the last survey", "no login in the last 21 days", "2 failed payments in the last 90 days"}
	tiers := []string{"high", "medium", "low"}
	scored := time.Date(2024, 12, 1, 6, 30, 0, 0, time.UTC)
	write := func(kind, file string, cols []predict.Column, rows int) {
		dir := predict.PartitionDir(out, kind, asOf)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			tb.Fatal(err)
		}
		w, err := data.NewWriter(f, predict.ColumnSpecs(cols), data.WriterOptions{RowGroupRows: 100_000})
		if err != nil {
			tb.Fatal(err)
		}
		const chunk = 50_000
		vecs := make([]data.Vec, len(cols))
		for lo := 0; lo < rows; lo += chunk {
			hi := min(rows, lo+chunk)
			for i, c := range cols {
				v := data.NewVec(c.Type)
				for r := lo; r < hi; r++ {
					null := c.Nullable && rng.IntN(5) == 0
					switch c.Type {
					case data.TypeString:
						switch {
						case null:
							v.AppendNull()
						case c.Name == "customer_id":
							v.AppendString(fmt.Sprintf("C%08d", r))
						case c.Name == "risk_tier":
							v.AppendString(tiers[rng.IntN(3)])
						default:
							v.AppendString(texts[rng.IntN(len(texts))])
						}
					case data.TypeFloat64:
						if null {
							v.AppendNull()
						} else {
							v.AppendFloat(rng.Float64())
						}
					case data.TypeInt64:
						v.AppendInt(int64(r + 1))
					case data.TypeBool:
						v.AppendBool(rng.IntN(2) == 0)
					case data.TypeDate:
						if null {
							v.AppendNull()
						} else {
							v.AppendDate(asOf)
						}
					case data.TypeTimestamp:
						v.AppendTime(data.Timestamp(scored.UnixMicro()))
					}
				}
				vecs[i] = v
			}
			if err := w.Write(hi-lo, vecs); err != nil {
				tb.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
		mf, _ := json.Marshal(predict.Manifest{SchemaVersion: predict.SchemaVersion, AsOf: asOf.String(), Rows: int64(rows), ModelVersion: "sha256:bench", ScoredAt: scored.Format(time.RFC3339Nano)})
		for name, b := range map[string][]byte{predict.ManifestFile: mf, predict.SuccessFile: nil} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	write(predict.PredictionsDir, "part-00000.parquet", predict.PredictionColumns, n)
	write(predict.AlertsDir, predict.AlertsParquet, predict.AlertColumns, n/20)
}

// BenchmarkPublish loads a partition of benchRows predictions (and
// benchRows/20 alerts) into PostgreSQL, replacing the date each time:
// DELETE, COPY, the runs row, one transaction. rows/s counts predictions.
func BenchmarkPublish(b *testing.B) {
	db := pgtest.New(b)
	out := b.TempDir()
	asOf := data.MakeDate(2024, 12, 1)
	writeFakePartition(b, out, asOf, benchRows)
	o := Options{Sink: predict.SinkConfig{URL: db.URL}, Out: out, Dates: []data.Date{asOf}}
	b.Setenv("PGPASSWORD", pgtest.Password)
	ctx := context.Background()
	if _, err := Publish(ctx, o); err != nil { // the first load creates the tables
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := Publish(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkPsqlCopy is the peer: psql's \copy of the same rows as CSV
// into the same table (DELETE and COPY in one transaction), PostgreSQL's
// own bulk load from a file with no Parquet decoding.
func BenchmarkPsqlCopy(b *testing.B) {
	if _, err := exec.LookPath("psql"); err != nil {
		b.Skip("psql is not installed")
	}
	db := pgtest.New(b)
	out := b.TempDir()
	asOf := data.MakeDate(2024, 12, 1)
	writeFakePartition(b, out, asOf, benchRows)
	b.Setenv("PGPASSWORD", pgtest.Password)
	if _, err := Publish(context.Background(), Options{Sink: predict.SinkConfig{URL: db.URL}, Out: out, Dates: []data.Date{asOf}}); err != nil {
		b.Fatal(err)
	}
	csv := filepath.Join(out, "predictions.csv")
	psql := func(args ...string) {
		cmd := exec.Command("psql", append([]string{db.URL, "-v", "ON_ERROR_STOP=1", "-q"}, args...)...)
		if o, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("psql %v: %v\n%s", args, err, o)
		}
	}
	psql("-c", `\copy churn.predictions TO '`+csv+`' CSV`)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		psql("-1", "-c", "DELETE FROM churn.predictions WHERE as_of = '"+asOf.String()+"'", "-c", `\copy churn.predictions FROM '`+csv+`' CSV`)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
}
