// Package randx draws variates math/rand/v2 does not offer: Gamma and
// Beta. The functions take the caller's *rand.Rand, so randomness comes
// only from an explicit, seeded source and the same source gives the same
// numbers; they are as safe for concurrent use as that source (a
// *rand.Rand is not). The package imports nothing of churn's.
package randx
