package predict

import (
	"context"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
)

// shopFixture is a generated shop (orders, no subscriptions) and a model
// trained on it with the inactivity label: an order-based business.
var shopFixture = sync.OnceValues(func() (*fixture, error) {
	p := synth.Params{Customers: 1200, Months: 24, Seed: 3, Business: synth.BusinessEcommerce}
	return newFixture("shop-", p, 10, features.LabelConfig{Mode: features.LabelInactivity}, 40)
})

// TestRunOrderBased checks the predictions of an order-based business:
// p_alive and clv are the model's lifetime features as of the run's date,
// computed with the parameters the model's spec froze (not refitted on the
// scored customers), annual_revenue is null and revenue_at_risk is
// churn_probability × clv.
func TestRunOrderBased(t *testing.T) {
	f, err := shopFixture()
	if err != nil {
		t.Fatalf("shop fixture: %v", err)
	}
	ctx := context.Background()
	spec := f.model.Manifest.Spec
	if len(spec.Lifetime) != 10 {
		t.Fatalf("the model carries %d lifetime fits, want 10 (one per training date)", len(spec.Lifetime))
	}
	for _, fit := range spec.Lifetime {
		if fit.BGNBD == nil || fit.GammaGamma == nil {
			t.Fatalf("fit of %s: %s", fit.AsOf, fit.Note)
		}
	}
	out := t.TempDir()
	res, err := Run(ctx, f.options(out, asOfB))
	if err != nil {
		t.Fatal(err)
	}
	// What the model's features are as of the date, built apart from
	// predict with the model's spec: the latest fit on or before it.
	fit, err := spec.LifetimeAt(asOfB)
	if err != nil || fit == nil || fit.AsOf != spec.Lifetime[len(spec.Lifetime)-1].AsOf {
		t.Fatalf("fit at %s: %+v, %v", asOfB, fit, err)
	}
	lc, err := features.ResolveLabel(f.ds, features.LabelConfig{Mode: features.LabelNone, Horizon: spec.Label.HorizonDay})
	if err != nil {
		t.Fatal(err)
	}
	rows := readPredictions(t, res.PredictionsDir)
	keys := make([]features.Key, len(rows))
	for i, r := range rows {
		keys[i] = features.Key{CustomerID: r.ID, AsOf: asOfB}
	}
	want, err := features.BuildAt(ctx, f.ds, spec, lc, keys, 2)
	if err != nil {
		t.Fatal(err)
	}
	pa, cv := indexOf(spec, "p_alive"), indexOf(spec, "clv")
	withCLV := 0
	for _, r := range rows {
		i := want.Lookup(r.ID, asOfB)
		if i < 0 {
			t.Fatalf("%s scored but has no feature row", r.ID)
		}
		if !sameFloat(r.PAlive, want.Num[pa][i]) || !sameFloat(r.CLV, want.Num[cv][i]) {
			t.Fatalf("%s: p_alive %v, clv %v; the features are %v, %v", r.ID, r.PAlive, r.CLV, want.Num[pa][i], want.Num[cv][i])
		}
		if !math.IsNaN(r.Annual) {
			t.Fatalf("%s: annual_revenue %v without MRR", r.ID, r.Annual)
		}
		if math.IsNaN(r.CLV) {
			if !math.IsNaN(r.Revenue) {
				t.Fatalf("%s: revenue_at_risk %v without revenue or clv", r.ID, r.Revenue)
			}
			continue
		}
		withCLV++
		if r.Revenue != r.Prob*r.CLV {
			t.Fatalf("%s: revenue_at_risk %v, want churn_probability %v × clv %v", r.ID, r.Revenue, r.Prob, r.CLV)
		}
		if !(r.PAlive >= 0 && r.PAlive <= 1) {
			t.Fatalf("%s: p_alive %v", r.ID, r.PAlive)
		}
	}
	if withCLV < len(rows)*9/10 {
		t.Fatalf("only %d of %d customers have a clv", withCLV, len(rows))
	}
}

// TestRunSubscriptionNoLifetime checks that a subscription business's
// predictions have null p_alive and clv, and revenue at risk from the
// annual revenue as before.
func TestRunSubscriptionNoLifetime(t *testing.T) {
	f := getFixture(t)
	res, err := Run(context.Background(), f.options(t.TempDir(), asOfB))
	if err != nil {
		t.Fatal(err)
	}
	known := 0
	for _, r := range readPredictions(t, res.PredictionsDir) {
		if !math.IsNaN(r.PAlive) || !math.IsNaN(r.CLV) {
			t.Fatalf("%s: p_alive %v, clv %v in a subscription business", r.ID, r.PAlive, r.CLV)
		}
		if !math.IsNaN(r.Annual) {
			known++
			if r.Revenue != r.Prob*r.Annual {
				t.Fatalf("%s: revenue_at_risk %v, want %v × %v", r.ID, r.Revenue, r.Prob, r.Annual)
			}
		}
	}
	if known == 0 {
		t.Fatal("no customer with an annual revenue")
	}
}

// TestRevenueAtRisk is the rule: the annual revenue when known, else the
// lifetime value, else unknown.
func TestRevenueAtRisk(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		annual, clv, want float64
	}{
		{1200, 300, 0.5 * 1200},
		{nan, 300, 0.5 * 300},
		{nan, nan, nan},
		{nan, -5, nan},
		{0, 300, 0},
	} {
		cs := customerScore{prob: 0.5, annual: tt.annual, clv: tt.clv}
		if got := cs.revenueAtRisk(); !sameFloat(got, tt.want) {
			t.Errorf("annual %v, clv %v: %v, want %v", tt.annual, tt.clv, got, tt.want)
		}
	}
}

func indexOf(spec *features.Spec, name string) int {
	for i, d := range spec.Features {
		if d.Name == name {
			return i
		}
	}
	return -1
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestRunBeforeFirstFit: scoring at a date before the model's first
// lifetime fit gives missing p_alive and clv (never a later fit's
// parameters) and says so in the log.
func TestRunBeforeFirstFit(t *testing.T) {
	f, err := shopFixture()
	if err != nil {
		t.Fatalf("shop fixture: %v", err)
	}
	var logs strings.Builder
	opt := f.options(t.TempDir(), data.MakeDate(2023, 6, 1))
	opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	res, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	rows := readPredictions(t, res.PredictionsDir)
	for _, r := range rows {
		if !math.IsNaN(r.PAlive) || !math.IsNaN(r.CLV) || !math.IsNaN(r.Revenue) {
			t.Fatalf("%s: p_alive %v, clv %v, revenue_at_risk %v before the first fit", r.ID, r.PAlive, r.CLV, r.Revenue)
		}
	}
	if len(rows) == 0 || !strings.Contains(logs.String(), "before the model's first lifetime fit") {
		t.Errorf("%d rows; log:\n%s", len(rows), logs.String())
	}
}
