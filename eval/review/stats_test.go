package review

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/churnlab/churn/internal/metrics"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// TestWilson checks the Wilson score interval against Newcombe (1998),
// "Two-sided confidence intervals for the single proportion", Table I,
// method 3 (score interval without continuity correction).
func TestWilson(t *testing.T) {
	z := zScore(0.95)
	if !near(z, 1.959964, 1e-6) {
		t.Fatalf("z(0.95) = %v", z)
	}
	tests := []struct {
		name   string
		x, n   float64
		lo, hi float64
	}{
		{"81/263", 81, 263, 0.2553, 0.3662},
		{"15/148", 15, 148, 0.0624, 0.1605},
		{"0/20", 0, 20, 0, 0.1611},
		{"1/29", 1, 29, 0.0061, 0.1718},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := wilson(tt.x, tt.n, z)
			if !near(lo, tt.lo, 5e-5) || !near(hi, tt.hi, 5e-5) {
				t.Errorf("wilson = %.4f–%.4f, want %.4f–%.4f", lo, hi, tt.lo, tt.hi)
			}
		})
	}
	if lo, hi := wilson(0, 0, z); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("wilson of 0/0 = %v, %v; want NaN", lo, hi)
	}
}

// TestNewcombe checks the hybrid score interval of a difference of
// proportions against Newcombe (1998), "Interval estimation for the
// difference between independent proportions: comparison of eleven
// methods", Table II, method 10.
func TestNewcombe(t *testing.T) {
	z := zScore(0.95)
	tests := []struct {
		name           string
		x1, n1, x2, n2 float64
		d, lo, hi      float64
	}{
		{"56/70 − 48/80", 56, 70, 48, 80, 0.2, 0.0524, 0.3339},
		{"9/10 − 3/10", 9, 10, 3, 10, 0.6, 0.1705, 0.8090},
		{"5/56 − 0/29", 5, 56, 0, 29, 0.0893, -0.0381, 0.1926},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, lo, hi := newcombe(tt.x1, tt.n1, tt.x2, tt.n2, z)
			if !near(d, tt.d, 5e-5) || !near(lo, tt.lo, 5e-5) || !near(hi, tt.hi, 5e-5) {
				t.Errorf("newcombe = %.4f [%.4f, %.4f], want %.4f [%.4f, %.4f]", d, lo, hi, tt.d, tt.lo, tt.hi)
			}
		})
	}
}

// TestKatz checks the Katz log interval of a relative risk against the
// worked example of Katz, Baptista, Azen and Pike (1978) as SciPy documents
// it (scipy.stats.contingency.relative_risk: 10/75 exposed against 12/225
// control, RR 2.5, 95% interval 1.1262–5.5499), and the zero-cell rule.
func TestKatz(t *testing.T) {
	z := zScore(0.95)
	rr, lo, hi := katz(10, 75, 12, 225, z)
	if !near(rr, 2.5, 1e-12) || !near(lo, 1.1261564003469628, 1e-6) || !near(hi, 5.549850800541033, 1e-6) {
		t.Errorf("katz(10/75, 12/225) = %v [%v, %v]", rr, lo, hi)
	}
	// No event among the treated: the interval comes from the table with
	// 0.5 added to each cell, the estimate stays 0.
	rr, lo, hi = katz(0, 20, 5, 20, z)
	se := math.Sqrt(1/0.5 - 1/21.0 + 1/5.5 - 1/21.0)
	center := math.Log((0.5 / 21) / (5.5 / 21))
	if rr != 0 || !near(lo, math.Exp(center-z*se), 1e-12) || !near(hi, math.Exp(center+z*se), 1e-12) {
		t.Errorf("katz(0/20, 5/20) = %v [%v, %v]", rr, lo, hi)
	}
	if rr, _, _ := katz(0, 20, 0, 30, z); !math.IsNaN(rr) {
		t.Errorf("katz with no event at all = %v, want NaN", rr)
	}
}

// TestCompare checks how an arm comparison turns into uplift and relative
// risk reduction, signs included.
func TestCompare(t *testing.T) {
	e := twoArms{churnT: 48, nT: 80, churnC: 56, nC: 70}.compare(zScore(0.95))
	// Uplift is control − treated: the Newcombe example above.
	if !near(e.Uplift, 0.2, 1e-12) || !near(e.UpLo, 0.0524, 5e-5) || !near(e.UpHi, 0.3339, 5e-5) {
		t.Errorf("uplift %v [%v, %v]", e.Uplift, e.UpLo, e.UpHi)
	}
	if !near(e.RR, 0.75, 1e-12) || !near(e.RRR, 0.25, 1e-12) || !near(e.RRRLo, 1-e.RRHi, 1e-12) || !near(e.RRRHi, 1-e.RRLo, 1e-12) || !(e.RRRLo < 0.25 && e.RRRHi > 0.25) {
		t.Errorf("RR %v [%v, %v], RRR %v [%v, %v]", e.RR, e.RRLo, e.RRHi, e.RRR, e.RRRLo, e.RRRHi)
	}
}

// TestExpectedAUC checks the expected AUC against an exact enumeration of
// every labelling of a few rows (the ratio of the expected concordant pairs
// to the expected pairs), and against the mean AUC of simulated labels.
func TestExpectedAUC(t *testing.T) {
	p := []float64{0.9, 0.7, 0.7, 0.4, 0.2, 0.05}
	var conc, pairs float64
	for mask := 0; mask < 1<<len(p); mask++ {
		prob := 1.0
		y := make([]float64, len(p))
		for i := range p {
			if mask&(1<<i) != 0 {
				y[i] = 1
				prob *= p[i]
			} else {
				prob *= 1 - p[i]
			}
		}
		for i := range p {
			for j := range p {
				if y[i] == 1 && y[j] == 0 {
					pairs += prob
					switch {
					case p[i] > p[j]:
						conc += prob
					case p[i] == p[j]:
						conc += prob / 2
					}
				}
			}
		}
	}
	if got := expectedAUC(p); !near(got, conc/pairs, 1e-12) {
		t.Errorf("expectedAUC = %v, enumeration gives %v", got, conc/pairs)
	}
	if got := expectedAUC([]float64{0.3}); !math.IsNaN(got) {
		t.Errorf("expectedAUC of one row = %v, want NaN", got)
	}

	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	q := make([]float64, n)
	for i := range q {
		q[i] = math.Pow(r.Float64(), 3) // most small, some large: churn-like
	}
	rows := &scoredRows{p: q, tier: make([]int8, n)}
	rows.sortByRank()
	b := rows.blocks()
	want := expectedAUC(rows.p)
	var sum float64
	sims := 400
	y := make([]float64, n)
	for s := 0; s < sims; s++ {
		for i, pi := range rows.p {
			y[i] = 0
			if r.Float64() < pi {
				y[i] = 1
			}
		}
		a, _ := metrics.RankAreas(b, y, nil, nil)
		sum += a
	}
	if mean := sum / float64(sims); !near(mean, want, 0.002) {
		t.Errorf("mean simulated AUC %v, expectedAUC %v", mean, want)
	}
}

func TestTopDecileLift(t *testing.T) {
	y := []float64{1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 20 rows, 3 churners
	// Top tenth: 2 rows, both churners: rate 1 against 3/20.
	if got := topDecileLift(y, nil); !near(got, 1/(3.0/20), 1e-12) {
		t.Errorf("lift = %v", got)
	}
	w := make([]float64, 20)
	for i := range w {
		w[i] = 1
	}
	w[0] = 0 // the first row is not drawn: the top tenth is rows 1 and 2
	if got := topDecileLift(y, w); !near(got, 0.5/(2.0/19), 1e-12) {
		t.Errorf("weighted lift = %v", got)
	}
	if got := topDecileLift(make([]float64, 5), nil); !math.IsNaN(got) {
		t.Errorf("lift without churners = %v", got)
	}
}

func TestScaledPercentile(t *testing.T) {
	vals := make([]float64, 101)
	for i := range vals {
		vals[i] = float64(i) / 100 // 0 … 1, sample estimate 0.5
	}
	iv := scaledPercentile(vals, 0.6, 0.5, 0.5, 0.9)
	// 5th and 95th percentiles 0.05 and 0.95: distances ±0.45, halved.
	if !near(iv.v, 0.6, 1e-12) || !near(iv.lo, 0.375, 1e-12) || !near(iv.hi, 0.825, 1e-12) {
		t.Errorf("interval %+v", iv)
	}
	// An interval that would miss the estimate is widened to it.
	if iv := scaledPercentile([]float64{0.6, 0.7}, 0.9, 0.5, 1, 0.9); iv.lo != 0.9 || iv.hi <= 0.9 {
		t.Errorf("interval %+v does not contain the estimate", iv)
	}
	if iv := scaledPercentile([]float64{math.NaN()}, 0.5, 0.5, 1, 0.9); !math.IsNaN(iv.lo) {
		t.Errorf("interval of undefined values %+v", iv)
	}
}

func TestSample(t *testing.T) {
	cut := sampleCut(1_000_000, 100_000)
	kept := 0
	for i := 0; i < 200_000; i++ {
		if sampleHash(idHash(string(rune('A'+i%26))+string(rune(i)), 0), 7) <= cut {
			kept++
		}
	}
	if kept < 18_000 || kept > 22_000 {
		t.Errorf("a 10%% hash sample kept %d of 200000", kept)
	}
	if sampleCut(10, 100) != math.MaxUint64 {
		t.Error("a run smaller than the sample is not kept whole")
	}
	if sampleHash(idHash("C1", 0), 1) == sampleHash(idHash("C1", 0), 2) {
		t.Error("the seed does not change the sample")
	}
	rows := &scoredRows{p: []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}, tier: make([]int8, 6), y: []float64{1, 0, 1, 0, 0, 1}}
	s := rows.sample(3, rand.New(rand.NewPCG(1, 1)))
	if s.Len() != 3 || !s.sorted() {
		t.Errorf("sample %+v: want 3 rows in rank order", s)
	}
}

// TestMidRanks checks the rank-sum AUC of the label simulations against
// metrics.AUC, ties included.
func TestMidRanks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 30; trial++ {
		n := 2 + r.IntN(50)
		p := make([]float64, n)
		for i := range p {
			p[i] = float64(r.IntN(6)) / 6
		}
		rows := &scoredRows{p: p, tier: make([]int8, n)}
		rows.sortByRank()
		rank := midRanks(rows.p)
		y := make([]float64, n)
		var n1, sum float64
		for i := range y {
			if r.IntN(2) == 0 {
				y[i], n1, sum = 1, n1+1, sum+rank[i]
			}
		}
		n0 := float64(n) - n1
		if n1 == 0 || n0 == 0 {
			continue
		}
		if got, want := (sum-n1*(n1+1)/2)/(n1*n0), metrics.AUC(rows.p, y, nil); !near(got, want, 1e-12) {
			t.Fatalf("trial %d: rank-sum AUC %v, metrics.AUC %v", trial, got, want)
		}
	}
}
