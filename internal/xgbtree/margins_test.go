package xgbtree

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func tinyTrees(t testing.TB) *Trees {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	trees, err := Parse(model, 0)
	if err != nil {
		t.Fatal(err)
	}
	return trees
}

// FuzzMargins feeds rows of arbitrary float32 bits (NaN payloads, ±Inf,
// subnormals, −0 included) to Margins of the tiny model. Every row must
// get a finite margin equal, up to float32 rounding, to the sum of its
// Saabas contributions: the same leaves reached another way.
func FuzzMargins(f *testing.F) {
	trees := tinyTrees(f)
	p := trees.NumFeatures()
	row := func(vs ...float32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f.Add(row(0, 0, 0, 0, 0, 0))
	f.Add(row(nan, nan, nan, nan, nan, nan, 1, -1, 0.5, -0.5, 2, -2))
	f.Add(row(inf, -inf, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1))))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := len(data) / (4 * p)
		X := make([]float32, n*p)
		for i := range X {
			X[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		got := make([]float32, n)
		if err := trees.Margins(X, n, got); err != nil {
			t.Fatal(err)
		}
		codes, err := trees.Encode(X, n)
		if err != nil {
			t.Fatal(err)
		}
		contrib := make([]float32, n*(p+1))
		if err := trees.NewExplainer().Approx(codes, contrib); err != nil {
			t.Fatal(err)
		}
		for i, m := range got {
			var sum float64
			for _, c := range contrib[i*(p+1) : (i+1)*(p+1)] {
				sum += float64(c)
			}
			if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) || math.Abs(float64(m)-sum) > 1e-5*(1+math.Abs(sum)) {
				t.Fatalf("row %d %v: margin %v, contributions sum to %v", i, X[i*p:(i+1)*p], m, sum)
			}
		}
	})
}

// TestMarginsShapes checks that rows and outputs of the wrong shape are
// refused, not read out of bounds, and that no rows is no work.
func TestMarginsShapes(t *testing.T) {
	trees := tinyTrees(t)
	for _, tc := range []struct {
		name       string
		x, n, outs int
		want       error
	}{
		{"no rows", 0, 0, 0, nil},
		{"two rows", 12, 2, 2, nil},
		{"short row", 11, 2, 2, ErrRowLength},
		{"long output", 12, 2, 3, ErrRowLength},
		{"negative rows", 0, -1, 0, ErrRowLength},
	} {
		for name, f := range map[string]func([]float32, int, []float32) error{"Margins": trees.Margins, "Probabilities": trees.Probabilities} {
			if err := f(make([]float32, tc.x), tc.n, make([]float32, tc.outs)); !errors.Is(err, tc.want) {
				t.Errorf("%s %s: err = %v, want %v", name, tc.name, err, tc.want)
			}
		}
	}
}
