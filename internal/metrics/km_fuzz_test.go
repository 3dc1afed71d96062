package metrics

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzKaplanMeier: for any times, events and weights the curve is a
// non-increasing step function in [0, 1] with its band around it, the
// at-risk counts fall, and nothing panics.
func FuzzKaplanMeier(f *testing.F) {
	f.Add([]byte{6, 1, 1, 6, 0, 1, 7, 1, 2, 9, 0, 1, 10, 1, 1})
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0, 1, 0, 0, 2, 1, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tm, w []float64
		var ev []bool
		for len(b) >= 3 {
			tm = append(tm, float64(b[0]))
			ev = append(ev, b[1]&1 == 1)
			w = append(w, float64(b[2])/16)
			b = b[3:]
		}
		if len(b) == 2 {
			// A NaN time is left out, not a crash.
			tm = append(tm, math.Float64frombits(binary.LittleEndian.Uint64(append(b, 0xf8, 0x7f, 0, 0, 0, 0)[:8])|0x7ff8000000000000))
			ev = append(ev, true)
			w = append(w, 1)
		}
		c := KaplanMeier(tm, ev, w, 0.9)
		prev, prevRisk := 1.0, math.Inf(1)
		for _, p := range c.Points {
			if !(p.Survival >= 0 && p.Survival <= prev) || !(p.Lower <= p.Survival && p.Survival <= p.Upper) ||
				!(p.Lower >= 0 && p.Upper <= 1) || !(p.AtRisk <= prevRisk) {
				t.Fatalf("bad point %+v after survival %v, at risk %v", p, prev, prevRisk)
			}
			prev, prevRisk = p.Survival, p.AtRisk
		}
		if s, lo, up := c.At(1e9); len(c.Points) > 0 && (s != prev || lo > s || up < s) {
			t.Fatalf("At past the end: %v [%v, %v], last %v", s, lo, up, prev)
		}
	})
}
