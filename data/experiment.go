package data

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// Treatment groups of a retention experiment (docs/playbook.md#control-groups).
const (
	GroupTreat   = "treat"
	GroupControl = "control"
)

// Experiment identifies one retention experiment: customers targeted by a
// play are split into treat and control by a hash of (Seed, Cohort, play,
// customer id), so the split is stable across nightly runs for the
// experiment's life and can be recomputed from the data alone, years later,
// without the prediction files. A new Cohort (or Seed) rotates the groups.
//
// Share is the control share in [0, 1]; 0 turns control groups off (every
// targeted customer is treated).
type Experiment struct {
	Seed   int64
	Cohort string
	Share  float64
}

// Draw returns the customer's uniform draw in [0, 1) for play: the top 53
// bits of the first 8 bytes (big-endian) of SHA-256("churn-control" NUL seed
// NUL cohort NUL play NUL customerID), divided by 2^53, with seed in
// decimal. Any tool with SHA-256 recomputes it, e.g. in Python:
//
//	(int.from_bytes(sha256(msg).digest()[:8], "big") >> 11) / 2**53
//
// It is a pure function, safe for concurrent use.
func (e Experiment) Draw(play, customerID string) float64 {
	h := sha256.New()
	var buf [20]byte
	h.Write([]byte("churn-control\x00"))
	h.Write(strconv.AppendInt(buf[:0], e.Seed, 10))
	h.Write([]byte{0})
	h.Write([]byte(e.Cohort))
	h.Write([]byte{0})
	h.Write([]byte(play))
	h.Write([]byte{0})
	h.Write([]byte(customerID))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Group returns GroupControl when the customer's draw for play is below
// Share, else GroupTreat.
func (e Experiment) Group(play, customerID string) string {
	if e.Share > 0 && e.Draw(play, customerID) < e.Share {
		return GroupControl
	}
	return GroupTreat
}
