package eval

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// BenchmarkRun measures a whole evaluation of the fixture (600 customers,
// about 4,500 rows): bootstrap, backtest refits, permutation importance.
func BenchmarkRun(b *testing.B) {
	f, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), Options{Model: f.model, Table: f.table, Config: cfg}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBootstrap measures 500 customer-bootstrap resamples of every
// metric on the fixture's labelled rows.
func BenchmarkBootstrap(b *testing.B) {
	f, err := fixture()
	if err != nil {
		b.Fatal(err)
	}
	var rows []int
	for i, y := range f.table.Label {
		if y == y {
			rows = append(rows, i)
		}
	}
	sc, err := f.model.Score(context.Background(), f.table, rows, false)
	if err != nil {
		b.Fatal(err)
	}
	y := make([]float64, len(rows))
	for k, i := range rows {
		y[k] = f.table.Label[i]
	}
	s := newScored(sc.Prob, y, calibrationEdges(sc.Prob, 10, "quantile"))
	cl, n := clusters(f.table, rows)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bootstrap(context.Background(), s, nil, cl, n, 500, 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

// scaleCustomers is the size of BenchmarkRunScale's table: 50,000
// simulated customers at 9 monthly as-of dates, about 375,000 rows, of
// which about 340,000 are evaluated: the evaluated rows of the nightly job
// at 200,000 customers (367,000).
const scaleCustomers = 50000

// scaleFixture is the fixture's simulation at scaleCustomers, with a model
// fitted on the rows of its first 5,000 customers (so that nearly every row
// is evaluated).
var scaleFixture = sync.OnceValues(func() (*fixtureSet, error) {
	t := fixtureTable(scaleCustomers, 11, 0)
	var rows []int
	for i, id := range t.IDs {
		if id <= "C05000" {
			rows = append(rows, i)
		}
	}
	p := fixtureParams
	p.MaxDepth, p.Rounds = 4, 100
	m, err := train.Fit(context.Background(), t, p, train.FitOptions{Rows: rows})
	if err != nil {
		return nil, err
	}
	return &fixtureSet{table: t, model: m}, nil
})

// BenchmarkRunScale measures eval.Run at a realistic size with the default
// configuration, with the backtest not due (backtest.every 7 on a Friday:
// every other section) and due (four refits with the model's 100 rounds on
// up to 190,000 rows). ns/row is per evaluated row.
//
//	go test -run '^$' -bench RunScale -benchtime 2x ./eval
func BenchmarkRunScale(b *testing.B) {
	f, err := scaleFixture()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		asOf data.Date
	}{{"backtest=skipped", day("2024-11-01")}, {"backtest=due", day("2024-11-07")}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Backtest.Every = 7
			rows := 0
			b.ReportAllocs()
			for b.Loop() {
				r, err := Run(context.Background(), Options{Model: f.model, Table: f.table, Config: cfg, AsOf: &bc.asOf})
				if err != nil {
					b.Fatal(err)
				}
				if r.Backtest.Skipped != (bc.name == "backtest=skipped") {
					b.Fatalf("backtest skipped = %v: %s", r.Backtest.Skipped, r.Backtest.Note)
				}
				rows = r.Data.EvaluatedRows
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(rows), "ns/row")
		})
	}
}

// BenchmarkSurvivalAcc measures the Kaplan-Meier inputs of 100,000
// customers (churn_events, one event for a third of them) and the curves
// built from them: the per-customer work of the retention section's scan,
// without the Parquet reading.
func BenchmarkSurvivalAcc(b *testing.B) {
	lc := &features.LabelConfig{Mode: features.LabelChurnEvents, Horizon: 90, DataEnd: data.MakeDate(2024, 12, 31)}
	hs := make([]data.History, 100000)
	for i := range hs {
		h := &hs[i]
		h.Customer = data.Customer{ID: fmt.Sprintf("C%07d", i), SignupDate: data.MakeDate(2019, 1, 1).AddDays(i % 2000),
			Plan: []string{"basic", "pro", "enterprise"}[i%3], Segment: []string{"smb", "mid", "ent"}[i%7%3]}
		if i%3 == 0 {
			h.ChurnEvents = []data.ChurnEvent{{ChurnDate: h.Customer.SignupDate.AddDays(30 + i%1500), ReactivatedAt: data.NoDate}}
		}
	}
	cfg := DefaultConfig()
	b.ReportAllocs()
	for b.Loop() {
		acc := newSurvivalAcc(lc, "quarter", nil)
		for i := range hs {
			acc.add(&hs[i])
		}
		if s := acc.report(Survival{}, cfg); s.Customers != len(hs) {
			b.Fatalf("%d customers", s.Customers)
		}
	}
}
