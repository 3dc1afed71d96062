package pgsink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/pgtest"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(child())
	}
	os.Exit(pgtest.Main(m))
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Dates of the fixture (the generated period is 2023-01-01 … 2024-12-31).
var (
	asOfA = data.MakeDate(2024, 11, 1)
	asOfB = data.MakeDate(2024, 12, 1)
)

func clock(h int) func() time.Time {
	return func() time.Time { return time.Date(2024, 12, 1, h, 30, 0, 123456000, time.UTC) }
}

// fixture is real churn predict output: out holds dates A and B scored at
// 06:30, outAgain date A scored again at 07:30 (the same rows with
// another scored_at: a rerun).
type fixture struct {
	out, outAgain string
}

var fixtureOnce = sync.OnceValues(func() (*fixture, error) {
	ctx := context.Background()
	root, err := os.MkdirTemp("", "churn-pgsink-test")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "data")
	if _, err := synth.Generate(ctx, dir, synth.Params{Customers: 800, Months: 24, Seed: 5}, synth.WriteOptions{}); err != nil {
		return nil, err
	}
	ds, err := data.Open(dir)
	if err != nil {
		return nil, err
	}
	var dates []data.Date
	for m := 0; m < 12; m++ {
		dates = append(dates, data.DateOf(time.Date(2023, time.Month(7+m), 1, 0, 0, 0, 0, time.UTC)))
	}
	ft := filepath.Join(root, "train.parquet")
	if _, _, err := features.BuildFile(ctx, ds, features.BuildOptions{AsOf: dates}, ft); err != nil {
		return nil, err
	}
	tab, err := features.ReadTable(ctx, ft)
	if err != nil {
		return nil, err
	}
	m, err := train.Fit(ctx, tab, train.Params{Rounds: 30, Seed: 1, EarlyStopping: -1}, train.FitOptions{Logger: quiet})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	f := &fixture{out: filepath.Join(root, "out"), outAgain: filepath.Join(root, "again")}
	for _, r := range []struct {
		out  string
		asOf data.Date
		now  func() time.Time
	}{{f.out, asOfA, clock(6)}, {f.out, asOfB, clock(6)}, {f.outAgain, asOfA, clock(7)}} {
		if _, err := predict.Run(ctx, predict.Options{Dataset: ds, Model: m, AsOf: r.asOf, Out: r.out, Now: r.now, Logger: quiet, Workers: 2}); err != nil {
			return nil, err
		}
	}
	return f, nil
})

func getFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := fixtureOnce()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return f
}

// parquetRows reads a partition's rows with parquet-go alone (not churn's
// column readers), as strings keyed by column name, sorted by key.
func parquetRows(t testing.TB, dir string, key ...string) []map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Parquet files in %s (%v)", dir, err)
	}
	var out []map[string]string
	for _, path := range files {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := parquet.OpenFile(bytesReaderAt(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		leaves := pf.Schema().Columns()
		for _, rg := range pf.RowGroups() {
			rows := rg.Rows()
			buf := make([]parquet.Row, 128)
			for {
				n, err := rows.ReadRows(buf)
				for _, row := range buf[:n] {
					m := map[string]string{}
					for _, v := range row {
						name := leaves[v.Column()][0]
						m[name] = valueString(pf.Schema(), name, v)
					}
					out = append(out, m)
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			rows.Close()
		}
	}
	sortRows(out, key)
	return out
}

// valueString formats a Parquet value like pgString formats the database's.
func valueString(s *parquet.Schema, name string, v parquet.Value) string {
	if v.IsNull() {
		return "NULL"
	}
	lt, _ := s.Lookup(name)
	typ := lt.Node.Type().LogicalType()
	switch {
	case typ != nil && strings.HasPrefix(typ.String(), "DATE"):
		return data.Date(v.Int32()).String()
	case typ != nil && strings.HasPrefix(typ.String(), "TIMESTAMP"):
		return time.UnixMicro(v.Int64()).UTC().Format(time.RFC3339Nano)
	}
	switch v.Kind() {
	case parquet.ByteArray:
		return string(v.ByteArray())
	case parquet.Double:
		return fmt.Sprintf("%v", v.Double())
	case parquet.Int64:
		return fmt.Sprintf("%d", v.Int64())
	case parquet.Boolean:
		return fmt.Sprintf("%v", v.Boolean())
	}
	return fmt.Sprintf("unexpected %v", v.Kind())
}

// pgString formats a value scanned by pgx.
func pgString(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 && x.Location() == time.UTC {
			// A date, or a timestamp at midnight: both print the same.
			return data.DateOf(x).String()
		}
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return fmt.Sprintf("%v", x)
	case int64:
		return fmt.Sprintf("%d", x)
	}
	return fmt.Sprintf("%v", v)
}

func sortRows(rows []map[string]string, key []string) {
	sort.Slice(rows, func(i, j int) bool {
		for _, k := range key {
			if rows[i][k] != rows[j][k] {
				return rows[i][k] < rows[j][k]
			}
		}
		return false
	})
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
