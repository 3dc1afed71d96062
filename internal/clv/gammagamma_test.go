package clv

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/churnlab/churn/internal/randx"
)

// synthGG draws n repeat customers from Gamma-Gamma: x uniform on 1..20,
// ν ~ Gamma(q, γ), each transaction's spend ~ Gamma(p, ν).
func synthGG(rng *rand.Rand, m GammaGamma, n int) []Summary {
	s := make([]Summary, n)
	for i := range s {
		x := 1 + rng.IntN(20)
		ν := randx.Gamma(rng, m.Q) / m.Gamma
		var sum float64
		for range x {
			sum += randx.Gamma(rng, m.P) / ν
		}
		s[i] = Summary{Frequency: float64(x), Recency: 1, T: 2, Monetary: sum / float64(x)}
	}
	return s
}

func TestGammaGammaGradient(t *testing.T) {
	d, err := newGGData(synthGG(rand.New(rand.NewPCG(1, 1)), GammaGamma{P: 6, Q: 4, Gamma: 15}, 20000))
	if err != nil {
		t.Fatal(err)
	}
	m := GammaGamma{P: 5, Q: 3, Gamma: 20}
	got := d.eval(m, true)
	p := []float64{m.P, m.Q, m.Gamma}
	g := []float64{got.gp, got.gq, got.gg}
	for j := range p {
		h := 1e-6 * p[j]
		q := slices.Clone(p)
		q[j] += h
		up := d.eval(GammaGamma{q[0], q[1], q[2]}, false).ll
		q[j] -= 2 * h
		dn := d.eval(GammaGamma{q[0], q[1], q[2]}, false).ll
		if num := (up - dn) / (2 * h); math.Abs(num-g[j]) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("gradient %d: analytic %v, numeric %v", j, g[j], num)
		}
	}
}

func TestFitGammaGammaSynthetic(t *testing.T) {
	truth := GammaGamma{P: 6, Q: 4, Gamma: 15}
	s := synthGG(rand.New(rand.NewPCG(2, 2)), truth, 20000)
	// One-time buyers and zero spend are skipped.
	s = append(s, Summary{Frequency: 0, T: 3}, Summary{Frequency: 2, Recency: 1, T: 3, Monetary: 0})
	fit, err := FitGammaGamma(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Customers != 20000 || !fit.Converged {
		t.Fatalf("%+v", fit)
	}
	got := []float64{fit.P, fit.Q, fit.Gamma}
	want := []float64{truth.P, truth.Q, truth.Gamma}
	se := []float64{fit.SE.P, fit.SE.Q, fit.SE.Gamma}
	for j := range got {
		if !(se[j] > 0) || math.Abs(got[j]-want[j]) > 4*se[j] {
			t.Errorf("parameter %d: %v ± %v, truth %v", j, got[j], se[j], want[j])
		}
	}
}

func TestFitGammaGammaErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		s    []Summary
	}{
		{"empty", nil},
		{"no repeat customers", []Summary{{Frequency: 0, T: 3}, {Frequency: 1, Recency: 1, T: 3, Monetary: 0}}},
		{"negative spend", []Summary{{Frequency: 1, Recency: 1, T: 3, Monetary: -1}}},
		{"NaN spend", []Summary{{Frequency: 1, Recency: 1, T: 3, Monetary: math.NaN()}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := FitGammaGamma(ctx, c.s, nil); !errors.Is(err, ErrData) {
				t.Errorf("error %v, want ErrData", err)
			}
		})
	}
}

func TestExpectedSpend(t *testing.T) {
	m := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	for _, c := range []struct {
		s    Summary
		want float64
	}{
		// p(γ + x·m̄)/(px + q − 1), by hand.
		{Summary{Frequency: 2, Monetary: 30}, 6.25 * (15.44 + 60) / (12.5 + 2.74)},
		// x = 0: the population mean pγ/(q−1), whatever Monetary says.
		{Summary{Frequency: 0, Monetary: 99}, 6.25 * 15.44 / 2.74},
		{Summary{Frequency: 0}, 6.25 * 15.44 / 2.74},
	} {
		if got := m.ExpectedSpend(c.s); math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("ExpectedSpend(%+v) = %v, want %v", c.s, got, c.want)
		}
	}
	if got := (GammaGamma{P: 1, Q: 0.5, Gamma: 1}).ExpectedSpend(Summary{}); !math.IsInf(got, 1) {
		t.Errorf("q < 1, x = 0: %v, want +Inf", got)
	}
}

func TestCLV(t *testing.T) {
	bg := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	gg := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	s := Summary{Frequency: 2, Recency: 30.43, T: 38.86, Monetary: 25}
	spend := gg.ExpectedSpend(s)
	// Undiscounted, the months telescope to E[Y(12 months)]·E[M].
	if got, want := CLV(bg, gg, s, CLVOptions{Months: 12}), bg.ExpectedPurchases(52, s)*spend; math.Abs(got-want) > 1e-12*want {
		t.Errorf("undiscounted CLV %v, want %v", got, want)
	}
	// One month at 10% a year: E[Y(52/12)]·E[M]/1.1^(1/12).
	if got, want := CLV(bg, gg, s, CLVOptions{Months: 1, AnnualDiscount: 0.1}), bg.ExpectedPurchases(52.0/12, s)*spend/math.Pow(1.1, 1.0/12); math.Abs(got-want) > 1e-12*want {
		t.Errorf("one month CLV %v, want %v", got, want)
	}
	// Two months by hand.
	e1, e2 := bg.ExpectedPurchases(52.0/12, s), bg.ExpectedPurchases(2*52.0/12, s)
	want := spend * (e1/math.Pow(1.1, 1.0/12) + (e2-e1)/math.Pow(1.1, 2.0/12))
	if got := CLV(bg, gg, s, CLVOptions{Months: 2, AnnualDiscount: 0.1}); math.Abs(got-want) > 1e-12*want {
		t.Errorf("two months CLV %v, want %v", got, want)
	}
	if got := CLV(bg, gg, s, CLVOptions{}); got != 0 {
		t.Errorf("zero months: %v", got)
	}
	if d, u := CLV(bg, gg, s, CLVOptions{Months: 12, AnnualDiscount: 0.1}), CLV(bg, gg, s, CLVOptions{Months: 12}); !(d < u && d > 0.9*u) {
		t.Errorf("discounted %v, undiscounted %v", d, u)
	}
}
