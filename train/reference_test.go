package train

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// sortedEdges are the decile edges as numericDistribution found them
// before selection: read from the sorted values, repeats dropped.
func sortedEdges(xs []float64) []float64 {
	vals := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	slices.Sort(vals)
	var edges []float64
	for q := 1; q < 10 && len(vals) > 0; q++ {
		if e := vals[q*len(vals)/10]; len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

func TestNumericDistributionMatchesSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(n int, f func(i int) float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = f(i)
		}
		return xs
	}
	cases := []struct {
		name string
		xs   []float64
	}{
		{"empty", nil},
		{"all missing", gen(50, func(int) float64 { return math.NaN() })},
		{"one value", []float64{3}},
		{"tiny", []float64{2, 1, 2}},
		{"normal", gen(10000, func(int) float64 { return r.NormFloat64() })},
		{"normal with missing", gen(10007, func(int) float64 {
			if r.IntN(10) == 0 {
				return math.NaN()
			}
			return r.NormFloat64()
		})},
		{"few levels", gen(5003, func(int) float64 { return float64(r.IntN(4)) })},
		{"mostly zero", gen(4000, func(int) float64 {
			if r.IntN(20) == 0 {
				return r.ExpFloat64()
			}
			return 0
		})},
		{"constant", gen(3000, func(int) float64 { return 7 })},
		{"ascending", gen(2999, func(i int) float64 { return float64(i) })},
		{"descending", gen(3001, func(i int) float64 { return float64(-i) })},
		{"organ pipe", gen(4096, func(i int) float64 { return float64(min(i, 4095-i)) })},
		{"infinities", gen(1000, func(i int) float64 { return []float64{math.Inf(-1), 0, math.Inf(1)}[i%3] })},
	}
	for n := 1; n <= 40; n++ {
		cases = append(cases, struct {
			name string
			xs   []float64
		}{"random small", gen(n, func(int) float64 { return float64(r.IntN(n)) })})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.xs)
			got := numericDistribution("x", in, nil)
			if want := sortedEdges(c.xs); !reflect.DeepEqual(got.Edges, want) {
				t.Errorf("edges %v, sorting gives %v", got.Edges, want)
			}
			// Every value falls in the bin the edges give it.
			want := make([]float64, len(got.Edges)+2)
			for _, v := range c.xs {
				want[got.Bin(v)]++
			}
			normalise(want, float64(len(c.xs)))
			if !reflect.DeepEqual(got.Shares, want) {
				t.Errorf("shares %v, want %v", got.Shares, want)
			}
			if !slices.EqualFunc(in, c.xs, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Error("the input was modified")
			}
		})
	}
}

func TestSelectRanks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 300; trial++ {
		n := 1 + r.IntN(2000)
		xs := make([]float64, n)
		levels := 1 + r.IntN(n)
		for i := range xs {
			xs[i] = float64(r.IntN(levels))
		}
		var ranks []int
		for k := r.IntN(12); k > 0; k-- {
			ranks = append(ranks, r.IntN(n))
		}
		slices.Sort(ranks)
		sorted := slices.Sorted(slices.Values(xs))
		selectRanks(xs, ranks)
		for _, k := range ranks {
			if xs[k] != sorted[k] {
				t.Fatalf("trial %d (n %d, %d levels): xs[%d] = %v, sorting gives %v", trial, n, levels, k, xs[k], sorted[k])
			}
		}
		if !slices.Equal(slices.Sorted(slices.Values(xs)), sorted) {
			t.Fatalf("trial %d: selection lost or changed values", trial)
		}
	}
}

func BenchmarkNumericDistribution(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, 800000)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		numericDistribution("x", xs, nil)
	}
}
