package predict

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/xgb"
	"github.com/churnlab/churn/train"
)

var update = flag.Bool("update", false, "rewrite golden files and generated docs")

// testRoot holds the shared fixture; TestMain removes it.
var testRoot string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "churn-predict-test")
	if err != nil {
		panic(err)
	}
	testRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a generated dataset and a model trained on it.
type fixture struct {
	data     string // dataset folder
	modelDir string
	ds       *data.Dataset
	model    *train.Model
}

// Dates of the fixture: the generated period is 2023-01-01 … 2024-12-31.
var (
	asOfA = data.MakeDate(2024, 11, 1)
	asOfB = data.MakeDate(2024, 12, 1)
)

// fixedNow is the clock of the tests: output bytes depend on it.
func fixedNow() time.Time { return time.Date(2024, 12, 1, 6, 30, 0, 123456789, time.UTC) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var sharedFixture = sync.OnceValues(func() (*fixture, error) {
	return newFixture("", synth.Params{Customers: 1500, Months: 24, Seed: 11}, 14, features.LabelConfig{}, 80)
})

// newFixture generates a dataset under p in testRoot/name, builds a feature
// table at the first of each month for months months from 2023-07 with the
// label config lc (through a Parquet file, as churn features writes it) and
// trains a model of rounds rounds on it.
func newFixture(name string, p synth.Params, months int, lc features.LabelConfig, rounds int) (*fixture, error) {
	ctx := context.Background()
	f := &fixture{data: filepath.Join(testRoot, name+"data"), modelDir: filepath.Join(testRoot, name+"model")}
	if _, err := synth.Generate(ctx, f.data, p, synth.WriteOptions{}); err != nil {
		return nil, err
	}
	ds, err := data.Open(f.data)
	if err != nil {
		return nil, err
	}
	var dates []data.Date
	for m := 0; m < months; m++ {
		dates = append(dates, data.DateOf(time.Date(2023, time.Month(7+m), 1, 0, 0, 0, 0, time.UTC)))
	}
	ft := filepath.Join(testRoot, name+"train.parquet")
	if _, _, err := features.BuildFile(ctx, ds, features.BuildOptions{AsOf: dates, Label: lc}, ft); err != nil {
		return nil, err
	}
	tab, err := features.ReadTable(ctx, ft)
	if err != nil {
		return nil, err
	}
	if err := f.train(ctx, tab, rounds); err != nil {
		return nil, err
	}
	f.ds = ds
	return f, nil
}

// train fits a model of the given rounds on tab, saves it in f.modelDir and
// loads it back as f.model, as churn train and churn predict would.
func (f *fixture) train(ctx context.Context, tab *features.Table, rounds int) error {
	m, err := train.Fit(ctx, tab, train.Params{Rounds: rounds, Seed: 1, EarlyStopping: -1}, train.FitOptions{Logger: quiet})
	if err != nil {
		return err
	}
	if err := m.Save(f.modelDir); err != nil {
		return err
	}
	m.Close()
	f.model, err = train.Load(f.modelDir)
	return err
}

func getFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := sharedFixture()
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return f
}

// options returns Run options over the fixture writing to out.
func (f *fixture) options(out string, asOf data.Date) Options {
	return Options{Dataset: f.ds, Model: f.model, AsOf: asOf, Out: out, Now: fixedNow, Logger: quiet, Workers: 2}
}

// table builds the fixture's feature table as of asOf with the features
// package, apart from predict: what the model scores.
func (f *fixture) table(t testing.TB, asOf data.Date) *features.Table {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.parquet")
	opt := features.BuildOptions{AsOf: []data.Date{asOf}, Config: f.model.Manifest.Spec.Config, Label: features.LabelConfig{Mode: features.LabelNone}}
	if _, _, err := features.BuildFile(ctx, f.ds, opt, path); err != nil {
		t.Fatal(err)
	}
	tab, err := features.ReadTable(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// booster loads the fixture model's trees into XGBoost itself; the test
// closes it.
func (f *fixture) booster(t testing.TB) *xgb.Booster {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(f.modelDir, train.BoosterFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := xgb.LoadBoosterJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
