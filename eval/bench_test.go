package eval

import (
	"context"
	"testing"
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
