package clv

import (
	"math/rand/v2"
	"testing"
)

// TestScoreAllMatchesMethods: the grouped, parallel scorer gives exactly
// the numbers of the methods called one by one.
func TestScoreAllMatchesMethods(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	bg := BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	gg := GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
	s := synthBGNBD(rng, bg, 5000, true)
	for i := range s {
		if s[i].Frequency > 0 {
			s[i].Monetary = 5 + 50*rng.Float64()
		}
	}
	// x = 0 with a stray recency is the same cell as recency 0.
	s = append(s, Summary{T: 3, Recency: 1}, Summary{T: 3}, Summary{Frequency: 500, Recency: 38, T: 39, Monetary: 20})
	opt := CLVOptions{Months: 12, AnnualDiscount: 0.1}
	got := ScoreAll(bg, gg, s, 90.0/7, opt)
	if len(got) != len(s) {
		t.Fatalf("%d scores for %d customers", len(got), len(s))
	}
	for i, v := range s {
		want := Score{
			PAlive:            bg.PAlive(v),
			ExpectedPurchases: bg.ExpectedPurchases(90.0/7, v),
			ProbNoPurchase:    bg.ProbNoPurchase(90.0/7, v),
			ExpectedSpend:     gg.ExpectedSpend(v),
			CLV:               CLV(bg, gg, v, opt),
		}
		if got[i] != want {
			t.Fatalf("customer %d %+v: ScoreAll %+v, methods %+v", i, v, got[i], want)
		}
	}
	if z := ScoreAll(bg, GammaGamma{P: 1, Q: 0.5, Gamma: 1}, s[:1], 1, CLVOptions{}); z[0].CLV != 0 {
		t.Errorf("zero months with infinite spend: CLV %v, want 0", z[0].CLV)
	}
}
