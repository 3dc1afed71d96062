package xgbtree

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// synth draws n rows of p standard normal values; a fraction missing of
// the values in the first three columns is NaN.
func synth(seed uint64, n, p int, missing float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	X := make([]float32, n*p)
	for i := range X {
		X[i] = float32(r.NormFloat64())
		if i%p < 3 && r.Float64() < missing {
			X[i] = float32(math.NaN())
		}
	}
	return X
}

// TestParseRefuses checks the models and settings Parse refuses,
// each with an error that says why.
func TestParseRefuses(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte {
		t.Helper()
		if !bytes.Contains(model, []byte(old)) {
			t.Fatalf("tiny_model.json lacks %s", old)
		}
		return bytes.Replace(model, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct {
		name   string
		data   []byte
		rounds int
		want   string
	}{
		{"not JSON", []byte("binf"), 0, "not valid JSON"},
		{"regression objective", edit(`"name":"binary:logistic"`, `"name":"reg:squarederror"`), 0, "only binary:logistic"},
		{"base score 1", edit(`"base_score":"5E-1"`, `"base_score":"1"`), 0, "base_score"},
		{"base score text", edit(`"base_score":"5E-1"`, `"base_score":"half"`), 0, "base_score"},
		{"zero cover", edit(`"sum_hessian":[1E2,`, `"sum_hessian":[0E0,`), 0, "sum_hessian"},
		{"NaN split", edit(`"split_conditions":[-5.823123E-1,`, `"split_conditions":[NaN,`), 0, "not valid JSON"},
		{"negative rounds", model, -1, "rounds -1"},
		{"too many features", edit(`"num_feature":"6","num_target"`, `"num_feature":"2000000000","num_target"`), 0, "at most 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data, tc.rounds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	trees, err := Parse(model, 2)
	if err != nil {
		t.Fatal(err)
	}
	if trees.NumTrees() != 2 || trees.NumFeatures() != 6 {
		t.Errorf("rounds 2: %d trees, %d features; want 2 and 6", trees.NumTrees(), trees.NumFeatures())
	}
}

// TestExplainerShapes checks that rows and outputs of the wrong shape are
// refused, not read out of bounds.
func TestExplainerShapes(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	trees, err := Parse(model, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, -1} {
		if _, err := trees.Encode(make([]float32, 7), n); !errors.Is(err, ErrRowLength) {
			t.Errorf("Encode of 7 values as %d rows of 6: err = %v", n, err)
		}
	}
	codes, err := trees.Encode(make([]float32, 12), 2)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Parse(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Encode(make([]float32, 12), 2)
	if err != nil {
		t.Fatal(err)
	}
	e := trees.NewExplainer()
	for _, tc := range []struct {
		name  string
		codes Codes
		out   int
		want  error
	}{
		{"short output", codes, 13, ErrRowLength},
		{"long output", codes, 15, ErrRowLength},
		{"another model's codes", foreign, 14, ErrCodes},
		{"no codes", Codes{}, 0, ErrCodes},
	} {
		for _, f := range []func(Codes, []float32) error{e.Exact, e.Approx} {
			if err := f(tc.codes, make([]float32, tc.out)); !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			}
		}
	}
	if err := e.Exact(codes, make([]float32, 14)); err != nil {
		t.Errorf("right shapes: %v", err)
	}
}

// FuzzParse feeds arbitrary bytes to Parse. It must return an
// error or trees, never crash; trees it accepts must explain rows (missing
// values included) without failing, with contributions that sum to what
// the trees predict.
func FuzzParse(f *testing.F) {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(model)
	f.Add([]byte(`{"learner":{},"version":[1,7,4]}`))
	f.Add(bytes.Replace(model, []byte(`"default_left":[0,0,1,`), []byte(`"default_left":[1,1,1,`), 1))
	f.Add(bytes.Replace(model, []byte(`"split_indices":[1,0,0,`), []byte(`"split_indices":[1,1,1,`), 1))
	f.Add(bytes.Replace(model, []byte(`"sum_hessian":[1E2,2.4E1`), []byte(`"sum_hessian":[1E2,-2.4E1`), 1))
	X := synth(17, 40, 6, 0.3)
	f.Fuzz(func(t *testing.T, data []byte) {
		trees, err := Parse(data, 0)
		if err != nil || trees.NumFeatures() != 6 {
			return
		}
		codes, err := trees.Encode(X, 40)
		if err != nil {
			t.Fatal(err)
		}
		if err := trees.Margins(X, 40, make([]float32, 40)); err != nil {
			t.Fatal(err)
		}
		e := trees.NewExplainer()
		exact, approx := make([]float32, 40*7), make([]float32, 40*7)
		if err := e.Exact(codes, exact); err != nil {
			t.Fatal(err)
		}
		if err := e.Approx(codes, approx); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			var se, sa float64
			for j := range 7 {
				se += float64(exact[i*7+j])
				sa += float64(approx[i*7+j])
			}
			if d := math.Abs(se - sa); d > 1e-3*(1+math.Abs(sa)) && !math.IsNaN(d) && !math.IsInf(se, 0) {
				t.Fatalf("row %d: exact contributions sum to %v, approx to %v", i, se, sa)
			}
		}
	})
}

// TestUpper checks the binary search of Encode against a linear count, on
// every value around every cut of lists of every length up to 40, with
// repeated cuts and -0.
func TestUpper(t *testing.T) {
	for n := range 41 {
		cuts := make([]float32, n)
		for i := range cuts {
			cuts[i] = float32(i/2) - 3 // pairs of equal values: Encode's cuts are distinct, upper need not care
		}
		if n > 7 {
			cuts[6], cuts[7] = float32(math.Copysign(0, -1)), 0
		}
		for _, c := range append(slices.Clone(cuts), -100, 100) {
			for _, v := range []float32{c, math.Nextafter32(c, -200), math.Nextafter32(c, 200)} {
				want := 0
				for _, x := range cuts {
					if x <= v {
						want++
					}
				}
				if got := upper(cuts, v); got != want {
					t.Fatalf("n %d, v %v: upper = %d, want %d", n, v, got, want)
				}
			}
		}
	}
}
