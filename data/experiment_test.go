package data

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"testing"
)

func TestExperimentDraw(t *testing.T) {
	e := Experiment{Seed: 7, Cohort: "2024q4", Share: 0.1}
	// The documented recipe, spelled out independently.
	msg := "churn-control\x007\x002024q4\x00usage\x00C0001"
	sum := sha256.Sum256([]byte(msg))
	want := float64(binary.BigEndian.Uint64(sum[:8])>>11) / math.Exp2(53)
	if got := e.Draw("usage", "C0001"); got != want {
		t.Fatalf("Draw = %v, want %v", got, want)
	}
	// The split is stable, depends on every input, and has the share.
	n, control := 20000, 0
	for i := range n {
		id := testCustomerID(i)
		if e.Group("usage", id) != e.Group("usage", id) {
			t.Fatal("unstable group")
		}
		if e.Group("usage", id) == GroupControl {
			control++
		}
	}
	if share := float64(control) / float64(n); math.Abs(share-0.1) > 0.01 {
		t.Errorf("control share %.3f, want 0.1±0.01", share)
	}
	for _, o := range []Experiment{{Seed: 8, Cohort: "2024q4"}, {Seed: 7, Cohort: "2025q1"}} {
		if o.Draw("usage", "C0001") == e.Draw("usage", "C0001") {
			t.Errorf("%+v draws like %+v", o, e)
		}
	}
	if e.Draw("support", "C0001") == e.Draw("usage", "C0001") {
		t.Error("the play does not change the draw")
	}
	if (Experiment{Share: 0}).Group("usage", "C0001") != GroupTreat {
		t.Error("share 0 must treat everyone")
	}
	if (Experiment{Share: 1}).Group("usage", "C0001") != GroupControl {
		t.Error("share 1 must hold everyone out")
	}
}

// testCustomerID returns a customer id like the generator's.
func testCustomerID(i int) string {
	const digits = "0123456789"
	b := []byte("C000000")
	for j := len(b) - 1; j > 0 && i > 0; j-- {
		b[j] = digits[i%10]
		i /= 10
	}
	return string(b)
}
