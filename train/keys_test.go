package train

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestKeySketch checks the training-key sketch: no added key is missed,
// other keys are reported at about the designed rate, it round-trips
// through JSON, and its size at a million keys is as documented.
func TestKeySketch(t *testing.T) {
	d := data.MakeDate(2024, 1, 1)
	s := NewKeySketch(20000, KeySketchFPRate)
	for i := 0; i < 10000; i++ {
		for k := 0; k < 2; k++ {
			s.Add(fmt.Sprintf("C%06d", i), d.AddDays(30*k))
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var r KeySketch
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10000; i++ {
		if !r.Has(fmt.Sprintf("C%06d", i), d) || !r.Has(fmt.Sprintf("C%06d", i), d.AddDays(30)) {
			t.Fatalf("key %d missed", i)
		}
	}
	fp := 0
	for i := 0; i < 10000; i++ {
		if r.Has(fmt.Sprintf("C%06d", i), d.AddDays(60)) || r.Has(fmt.Sprintf("X%06d", i), d) {
			fp++
		}
	}
	if rate := float64(fp) / 20000; rate > 2*KeySketchFPRate {
		t.Errorf("false-positive rate %.4f, designed %.2f", rate, KeySketchFPRate)
	}
	if n := len(NewKeySketch(1_000_000, KeySketchFPRate).Bits); n < 1_150_000 || n > 1_250_000 {
		t.Errorf("a million keys take %d bytes, documented 1.2 MB", n)
	}
}
