package features

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestComputeOverflow checks that a feature which is not finite although
// its inputs are (huge amounts whose ratio or sum overflows), or whose input
// is infinite, is an *OverflowError naming the customer, the as-of date, the
// feature and the source columns, instead of a +Inf that training later
// refuses without saying where it came from.
func TestComputeOverflow(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(h *data.History)
		feature string
		columns []string
	}{
		{"MRR change from huge subscription MRR", func(h *data.History) {
			h.Subscriptions[0].MRR, h.Subscriptions[1].MRR = 0.5, 1e308
		}, "mrr_change_90d_pct", []string{"subscriptions.mrr"}},
		{"MRR change from huge invoices", func(h *data.History) {
			h.Present = data.TableSet(0).With(data.Customers).With(data.Payments)
			for i := range h.Payments {
				h.Payments[i].Amount = 1e-300
			}
			h.Payments[7].Amount = 1e10 // the last invoice before T; the one 90 days before is tiny
		}, "mrr_change_90d_pct", []string{"payments.amount"}},
		{"spend summed past the largest double", func(h *data.History) {
			h.Orders[4].Amount, h.Orders[5].Amount = 1e308, 1e308
		}, "spend_trend_90d", []string{"orders.amount"}},
		{"MRR beyond float32", func(h *data.History) {
			h.Present = data.TableSet(0).With(data.Customers)
			h.Customer.MRR = 1e39
		}, "mrr", []string{"customers.mrr"}},
		{"infinite MRR in customers", func(h *data.History) {
			h.Present = data.TableSet(0).With(data.Customers)
			h.Customer.MRR = math.Inf(1)
		}, "mrr", []string{"customers.mrr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fixture()
			tt.edit(h)
			var v Values
			err := Compute(h, fixtureT, defaultConfig(), &v)
			var oe *OverflowError
			if !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an *OverflowError", err)
			}
			if oe.Customer != "C1" || oe.AsOf != fixtureT || oe.Feature != tt.feature || !slices.Equal(oe.Columns, tt.columns) || math.Abs(oe.Value) <= math.MaxFloat32 {
				t.Fatalf("err = %+v; want customer C1, as of %s, feature %s, columns %v", oe, fixtureT, tt.feature, tt.columns)
			}
			for _, s := range append([]string{"C1", "2024-07-01", tt.feature}, tt.columns...) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q does not mention %s", err, s)
				}
			}
		})
	}
	// The fixture itself is finite everywhere.
	var v Values
	if err := Compute(fixture(), fixtureT, defaultConfig(), &v); err != nil {
		t.Fatal(err)
	}
}

// TestBuildOverflow checks that the error stops a feature build, with the
// customer and date, rather than writing +Inf into the feature table.
func TestBuildOverflow(t *testing.T) {
	dir := t.TempDir()
	h := fixture()
	h.Orders[4].Amount, h.Orders[5].Amount = 1e308, 1e308
	writeDataset(t, dir, []*data.History{h}, data.Orders)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	_, _, err = BuildFile(context.Background(), ds, BuildOptions{AsOf: []data.Date{fixtureT}, Label: LabelConfig{Mode: LabelChurnDate}}, filepath.Join(t.TempDir(), "f.parquet"))
	var oe *OverflowError
	if !errors.As(err, &oe) || oe.Customer != "C1" || oe.Feature != "spend_trend_90d" {
		t.Fatalf("err = %v, want the spend_trend_90d overflow of C1", err)
	}
}

// TestBuildAttributeOverflow checks the same for a numeric customer
// attribute, which becomes a feature as it is.
func TestBuildAttributeOverflow(t *testing.T) {
	dir := t.TempDir()
	ids, signup, revenue := data.NewVec(data.TypeString), data.NewVec(data.TypeDate), data.NewVec(data.TypeFloat64)
	for i, x := range []float64{5, 1e39, 7} {
		ids.AppendString(string(rune('a' + i)))
		signup.AppendDate(day("2023-01-01"))
		revenue.AppendFloat(x)
	}
	f, err := os.Create(filepath.Join(dir, "customers.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := data.NewWriter(f, []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "signup_date", Type: data.TypeDate}, {Name: "revenue", Type: data.TypeFloat64}}, data.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(3, []data.Vec{ids, signup, revenue}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	_, _, err = BuildFile(context.Background(), ds, BuildOptions{AsOf: []data.Date{day("2023-01-02")}, Label: LabelConfig{Mode: LabelNone}}, filepath.Join(t.TempDir(), "f.parquet"))
	var oe *OverflowError
	if !errors.As(err, &oe) || oe.Customer != "b" || !strings.Contains(oe.Feature, "revenue") || !slices.Equal(oe.Columns, []string{"customers.revenue"}) {
		t.Fatalf("err = %v, want the revenue overflow of b", err)
	}
}
