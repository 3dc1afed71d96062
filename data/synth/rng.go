package synth

import (
	"math"
	"math/rand/v2"

	"github.com/churnlab/churn/internal/randx"
)

// Random streams of one customer. Each part of a customer draws from its
// own stream, seeded from (seed, customer index, stream), so customers are
// independent of each other and of Params.Customers, and a change to one
// table's rows does not shift the random numbers of the others.
const (
	streamProfile uint64 = iota + 1
	streamUsage
	streamPayments
	streamContacts
	streamTickets
	streamSurveys
	streamSignals
	streamInterventions
	streamOrders
)

// rng is a reseedable PCG generator; it is not safe for concurrent use.
type rng struct {
	src rand.PCG
	*rand.Rand
}

func newRNG() *rng {
	r := &rng{}
	r.Rand = rand.New(&r.src)
	return r
}

// seed positions r at the start of a customer's stream.
func (r *rng) seed(seed uint64, customer int, stream uint64) {
	a := splitmix(seed ^ splitmix(uint64(customer)+0x632BE59BD9B4E019))
	b := splitmix(a ^ stream*0x9E3779B97F4A7C15)
	r.src.Seed(a, b)
}

// splitmix is the SplitMix64 finaliser, a bijective 64-bit mixer.
func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.Float64() < p }

// between returns a uniform float in [lo, hi).
func (r *rng) between(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// days returns a uniform integer in [lo, hi] (lo when hi < lo).
func (r *rng) days(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// logUniform returns a number between lo and hi, uniform on a log scale.
func (r *rng) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(r.Float64()*math.Log(hi/lo))
}

// lognormal returns median·exp(σ·N(0,1)).
func (r *rng) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// pick returns an index drawn with the given probabilities (summing to 1;
// the last index takes any rounding remainder).
func (r *rng) pick(probs []float64) int {
	u := r.Float64()
	for i, p := range probs[:len(probs)-1] {
		if u < p {
			return i
		}
		u -= p
	}
	return len(probs) - 1
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// gamma returns a Gamma(shape, 1) variate (randx.Gamma).
func (r *rng) gamma(shape float64) float64 { return randx.Gamma(r.Rand, shape) }

// beta returns a Beta(a, b) variate (randx.Beta).
func (r *rng) beta(a, b float64) float64 { return randx.Beta(r.Rand, a, b) }
