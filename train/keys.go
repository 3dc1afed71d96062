package train

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/churnlab/churn/data"
)

// KeySketchFPRate is the false-positive rate KeySketch is sized for.
const KeySketchFPRate = 0.01

// KeySketch is a Bloom filter of the (customer_id, as_of) keys of the rows
// a model was fitted on, stored in its manifest so that an evaluation can
// tell which of its rows the model trained on. Has never misses a key that
// was added; it wrongly reports about FPRate of the other keys (sized for
// 1%: 9.6 bits and 7 hashes a key, 1.2 MB at a million training rows,
// 1.6 MB as base64 in model.json). The bits depend only on the keys, so
// equal training rows give equal sketches. A KeySketch is not safe for
// concurrent Add.
type KeySketch struct {
	Keys   int     `json:"keys"`    // keys added
	Hashes int     `json:"hashes"`  // hash functions per key
	FPRate float64 `json:"fp_rate"` // false-positive rate it was sized for
	Bits   []byte  `json:"bits"`    // the filter, len×8 bits (base64 in JSON)
}

// NewKeySketch returns an empty sketch sized for n keys at false-positive
// rate fp (0 < fp < 1).
func NewKeySketch(n int, fp float64) *KeySketch {
	m := math.Ceil(-float64(max(n, 1)) * math.Log(fp) / (math.Ln2 * math.Ln2))
	k := max(1, int(math.Round(m/float64(max(n, 1))*math.Ln2)))
	return &KeySketch{Hashes: k, FPRate: fp, Bits: make([]byte, (int(m)+7)/8)}
}

// keyHashes returns two independent 64-bit hashes of the key, for double
// hashing.
func keyHashes(id string, asOf data.Date) (uint64, uint64) {
	h := fnv.New64a()
	h.Write([]byte(id))
	var b [5]byte // a separator, then the date
	binary.LittleEndian.PutUint32(b[1:], uint32(int32(asOf)))
	h.Write(b[:])
	x := h.Sum64()
	mix := func(z uint64) uint64 {
		z ^= z >> 30
		z *= 0xbf58476d1ce4e5b9
		z ^= z >> 27
		z *= 0x94d049bb133111eb
		return z ^ z>>31
	}
	return mix(x), mix(x+0x9e3779b97f4a7c15) | 1
}

// Add records a key.
func (s *KeySketch) Add(id string, asOf data.Date) {
	h1, h2 := keyHashes(id, asOf)
	m := uint64(len(s.Bits)) * 8
	for i := 0; i < s.Hashes; i++ {
		b := (h1 + uint64(i)*h2) % m
		s.Bits[b/8] |= 1 << (b % 8)
	}
	s.Keys++
}

// Has reports whether the key was (probably) added.
func (s *KeySketch) Has(id string, asOf data.Date) bool {
	h1, h2 := keyHashes(id, asOf)
	m := uint64(len(s.Bits)) * 8
	for i := 0; i < s.Hashes; i++ {
		b := (h1 + uint64(i)*h2) % m
		if s.Bits[b/8]&(1<<(b%8)) == 0 {
			return false
		}
	}
	return true
}

// Validate reports a sketch that cannot be used.
func (s *KeySketch) Validate() error {
	if len(s.Bits) == 0 || s.Hashes < 1 || s.Hashes > 64 || s.Keys < 0 || !(s.FPRate > 0 && s.FPRate < 1) {
		return fmt.Errorf("training key sketch: %d bytes, %d hashes, %d keys, rate %v", len(s.Bits), s.Hashes, s.Keys, s.FPRate)
	}
	return nil
}
