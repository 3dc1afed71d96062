package synth_test

import (
	"context"
	"math"
	"testing"

	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/clv"
)

// TestShopRecoversBGNBD fits BG/NBD and Gamma-Gamma (internal/clv) on the
// features.RFM summaries of a generated shop, with every order as
// calibration (as of the day after the end), and compares them with the
// planted population (synth.Shop).
//
// The customers without a decline are a pure BG/NBD sample (the decline
// is drawn independently of λ and p): the fit recovers r, α, a and b
// within three standard errors. The decline distorts the fit on everyone:
// it stretches the last months of a decliner's life in calendar time, so
// BG/NBD reads those customers as slower buyers (α up, mean rate r/α down
// by about a sixth at seed 7) with about the same dropout process (a and
// b within their standard errors). Measured at seed 7, 6,000 customers:
// without a decline r 0.743 α 4.97 a 0.86 b 6.3, everyone r 0.818 α 6.51 a
// 0.76 b 6.0, planted 0.75, 5, 0.8, 5.
//
// Gamma-Gamma on the consumers without a decline recovers p, q and γ
// within three standard errors; business customers spend 1.8 times more
// and a decliner's last baskets shrink, so on everyone the mean spend is
// a mixture and the fit is only checked for its mean.
func TestShopRecoversBGNBD(t *testing.T) {
	dir, _ := shopDataset(t)
	p := shopParams
	p.EnsureDefaults()
	var all, plain, consumers []clv.Summary
	for i, h := range histories(t, dir) {
		s, ok := features.RFM(h.Orders, p.End+1)
		if !ok {
			t.Fatalf("%s: no order", h.Customer.ID)
		}
		all = append(all, s)
		if !synth.ShopTruthOf(p, i).Decline {
			plain = append(plain, s)
			if h.Customer.Segment == "consumer" {
				consumers = append(consumers, s)
			}
		}
	}
	ctx := context.Background()
	m := synth.Shop
	fitAll, err := clv.FitBGNBD(ctx, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	fitPlain, err := clv.FitBGNBD(ctx, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		fit  clv.BGNBDFit
	}{{"everyone", fitAll}, {"without a decline", fitPlain}} {
		t.Logf("%s (%d customers): r %.3f ± %.3f, α %.3f ± %.3f, a %.3f ± %.3f, b %.3f ± %.3f; mean rate r/α %.4f (planted %.4f)",
			f.name, f.fit.Customers, f.fit.R, f.fit.SE.R, f.fit.Alpha, f.fit.SE.Alpha, f.fit.A, f.fit.SE.A, f.fit.B, f.fit.SE.B,
			f.fit.R/f.fit.Alpha, m.R/m.Alpha)
		if !f.fit.Converged {
			t.Errorf("%s: fit did not converge", f.name)
		}
	}
	within := func(what string, got, se, want float64) {
		t.Helper()
		if math.IsNaN(se) || math.Abs(got-want) > 3*se {
			t.Errorf("%s = %.3f ± %.3f, planted %.3f: more than 3 standard errors off", what, got, se, want)
		}
	}
	within("r without a decline", fitPlain.R, fitPlain.SE.R, m.R)
	within("α without a decline", fitPlain.Alpha, fitPlain.SE.Alpha, m.Alpha)
	within("a without a decline", fitPlain.A, fitPlain.SE.A, m.A)
	within("b without a decline", fitPlain.B, fitPlain.SE.B, m.B)
	// The decline reads as slower buying, not as a different dropout.
	if rate, planted := fitAll.R/fitAll.Alpha, m.R/m.Alpha; rate > 0.92*planted || rate < 0.6*planted {
		t.Errorf("everyone's mean rate r/α = %.4f, want 60–92%% of the planted %.4f (the decline slows buying)", rate, planted)
	}
	within("a on everyone", fitAll.A, fitAll.SE.A, m.A)
	within("b on everyone", fitAll.B, fitAll.SE.B, m.B)

	gg, err := clv.FitGammaGamma(ctx, consumers, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Gamma-Gamma, consumers without a decline (%d repeat customers): p %.2f ± %.2f, q %.2f ± %.2f, γ %.1f ± %.1f (planted %g, %g, %g)",
		gg.Customers, gg.P, gg.SE.P, gg.Q, gg.SE.Q, gg.Gamma, gg.SE.Gamma, m.P, m.Q, m.Gamma)
	within("Gamma-Gamma p", gg.P, gg.SE.P, m.P)
	within("Gamma-Gamma q", gg.Q, gg.SE.Q, m.Q)
	within("Gamma-Gamma γ", gg.Gamma, gg.SE.Gamma, m.Gamma)
	ggAll, err := clv.FitGammaGamma(ctx, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	mean := func(g clv.GammaGamma) float64 { return g.P * g.Gamma / (g.Q - 1) }
	t.Logf("Gamma-Gamma, everyone: p %.2f, q %.2f, γ %.1f; mean spend %.1f (consumers planted %.1f)", ggAll.P, ggAll.Q, ggAll.Gamma, mean(ggAll.GammaGamma), m.P*m.Gamma/(m.Q-1))
	if got := mean(ggAll.GammaGamma); got < m.P*m.Gamma/(m.Q-1) || got > 1.8*m.P*m.Gamma/(m.Q-1) {
		t.Errorf("everyone's mean spend %.1f outside the consumers' %.1f … 1.8 times it", got, m.P*m.Gamma/(m.Q-1))
	}
}
