package xgb

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExplainerMatchesXGBoost checks that Explainer.Exact and Approx give
// XGBoost's pred_contribs and approx_contribs bit for bit, on models with
// missing values, repeated features on a path, deep trees (past the
// 64-split cache key), a base_score other than 0.5 and a round limit, and
// with the cache on, off and too small to hold everything.
func TestExplainerMatchesXGBoost(t *testing.T) {
	for _, tc := range []struct {
		name    string
		p, n    int
		missing float64
		rounds  int
		use     int // IterationEnd; 0 = all
		params  []param
		cache   int
		wide    bool // a column has more than 254 split conditions
	}{
		{name: "depth 4", p: 8, n: 2000, missing: 0.2, rounds: 40},
		{name: "depth 6 few features", p: 6, n: 2000, missing: 0.1, rounds: 30, params: []param{{"max_depth", "6"}}},
		{name: "depth 8 no cache key", p: 10, n: 3000, missing: 0.3, rounds: 10, params: []param{{"max_depth", "8"}, {"min_child_weight", "0"}}},
		{name: "base score 0.3 and round limit", p: 8, n: 1500, missing: 0.2, rounds: 30, use: 12, params: []param{{"base_score", "0.3"}}},
		{name: "cache off", p: 8, n: 1000, missing: 0.2, rounds: 20, cache: -1},
		{name: "cache tiny", p: 8, n: 1000, missing: 0.2, rounds: 20, cache: 2000},
		{name: "wide codes", p: 6, n: 4000, missing: 0.1, rounds: 60, params: []param{{"max_depth", "6"}, {"max_bin", "1024"}, {"min_child_weight", "0"}}, wide: true},
		{name: "subsample and colsample", p: 12, n: 2000, missing: 0.1, rounds: 25, params: []param{{"subsample", "0.7"}, {"colsample_bytree", "0.6"}, {"max_depth", "5"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			X, y := synth(11, tc.n, tc.p, tc.missing)
			b := trainModel(t, append(append([]param{}, baseParams...), tc.params...), X, y, tc.p, tc.rounds)
			raw, err := b.SaveJSON()
			if err != nil {
				t.Fatal(err)
			}
			// Rows not seen in training, with their own missing values.
			Xt, _ := synth(12, 700, tc.p, tc.missing)
			m := newMatrix(t, Xt, nil, tc.p)
			exact, _ := predict(t, b, m, PredictOptions{Contribs: true, IterationEnd: tc.use})
			approx, _ := predict(t, b, m, PredictOptions{Contribs: true, ApproxContribs: true, IterationEnd: tc.use})
			trees, err := ParseTrees(raw, tc.use)
			if err != nil {
				t.Fatal(err)
			}
			if trees.Wide() != tc.wide {
				t.Fatalf("Wide() = %v, want %v", trees.Wide(), tc.wide)
			}
			// Both ways of computing decision masks are exercised: tables
			// (few split conditions) and split by split (wide codes).
			tables := 0
			for i := range trees.trees {
				if trees.trees[i].maskTab != nil {
					tables++
				}
			}
			if tc.wide && tables != 0 || tc.name == "depth 4" && tables != len(trees.trees) {
				t.Fatalf("%d of %d trees have mask tables", tables, len(trees.trees))
			}
			e := trees.NewExplainer()
			switch {
			case tc.cache < 0:
				e.CacheBytes = 0
			case tc.cache > 0:
				e.CacheBytes = tc.cache
			}
			p, n := tc.p, len(Xt)/tc.p
			codes, err := trees.Encode(Xt, n)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, n*(p+1))
			// Twice over, so that the second pass reads the cache.
			for pass := range 2 {
				for _, k := range []struct {
					name string
					f    func(c Codes, out []float32) error
					want []float32
				}{{"exact", e.Exact, exact}, {"approx", e.Approx, approx}} {
					if err := k.f(codes, got); err != nil {
						t.Fatal(err)
					}
					for j := range got {
						if math.Float32bits(got[j]) != math.Float32bits(k.want[j]) {
							t.Fatalf("pass %d row %d %s: column %d = %v, XGBoost %v", pass, j/(p+1), k.name, j%(p+1), got[j], k.want[j])
						}
					}
				}
			}
			t.Logf("cache hits %d, misses %d", e.Hits, e.Misses)
		})
	}
}

// TestParseTreesRefuses checks the models and settings ParseTrees refuses,
// each with an error that says why.
func TestParseTreesRefuses(t *testing.T) {
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
			_, err := ParseTrees(tc.data, tc.rounds)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	trees, err := ParseTrees(model, 2)
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
	trees, err := ParseTrees(model, 0)
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
	other, err := ParseTrees(model, 1)
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

// FuzzParseTrees feeds arbitrary bytes to ParseTrees. It must return an
// error or trees, never crash; trees it accepts must explain rows (missing
// values included) without failing, with contributions that sum to what
// the trees predict.
func FuzzParseTrees(f *testing.F) {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(model)
	f.Add([]byte(`{"learner":{},"version":[1,7,4]}`))
	f.Add(bytes.Replace(model, []byte(`"default_left":[0,0,1,`), []byte(`"default_left":[1,1,1,`), 1))
	f.Add(bytes.Replace(model, []byte(`"split_indices":[1,0,0,`), []byte(`"split_indices":[1,1,1,`), 1))
	f.Add(bytes.Replace(model, []byte(`"sum_hessian":[1E2,2.4E1`), []byte(`"sum_hessian":[1E2,-2.4E1`), 1))
	X, _ := synth(17, 40, 6, 0.3)
	f.Fuzz(func(t *testing.T, data []byte) {
		trees, err := ParseTrees(data, 0)
		if err != nil || trees.NumFeatures() != 6 {
			return
		}
		codes, err := trees.Encode(X, 40)
		if err != nil {
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
