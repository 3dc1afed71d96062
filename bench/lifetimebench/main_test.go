package main

import (
	"context"
	"sync"
	"testing"

	"github.com/churnlab/churn/internal/clv"
)

var synth1M = sync.OnceValue(func() []clv.Summary { return Synth(1_000_000, 1) })

// BenchmarkLifetime1M: fitting BG/NBD and Gamma-Gamma on 1M customers'
// summaries, and scoring them (P(alive), 90-day expected purchases,
// expected spend; and clv.ScoreAll, which adds the 12-month CLV).
func BenchmarkLifetime1M(b *testing.B) {
	s := synth1M()
	ctx := context.Background()
	bg, err := clv.FitBGNBD(ctx, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	gg, err := clv.FitGammaGamma(ctx, s, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("FitBGNBD", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := clv.FitBGNBD(ctx, s, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FitGammaGamma", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := clv.FitGammaGamma(ctx, s, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ScoreMethods", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Score(bg.BGNBD, gg.GammaGamma, s)
		}
	})
	b.Run("ScoreAll", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ScoreAll(bg.BGNBD, gg.GammaGamma, s, false)
		}
	})
	b.Run("ScoreAllWithCLV", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ScoreAll(bg.BGNBD, gg.GammaGamma, s, true)
		}
	})
}

// TestSynthRecovers: the generator draws from the model it claims (a
// small sample, so the test stays fast).
func TestSynthRecovers(t *testing.T) {
	s := Synth(50_000, 2)
	gg, err := clv.FitGammaGamma(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, se, want float64 }{{gg.P, gg.SE.P, TruthGG.P}, {gg.Q, gg.SE.Q, TruthGG.Q}, {gg.Gamma, gg.SE.Gamma, TruthGG.Gamma}} {
		if d := c.got - c.want; d > 4*c.se || d < -4*c.se {
			t.Errorf("Gamma-Gamma %v ± %v, truth %v", c.got, c.se, c.want)
		}
	}
}
