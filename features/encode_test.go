package features

import (
	"math"
	"slices"
	"testing"
)

func TestEncoder(t *testing.T) {
	spec := &Spec{Features: []Def{{Name: "mrr", Kind: Numeric}, {Name: "plan", Kind: Categorical}, {Name: "flag", Kind: Flag}}}
	plans := []string{"pro", "pro", "pro", "basic", "basic", "ent", "", "pro"}
	tab := &Table{Spec: spec, IDs: make([]string, len(plans)), Num: [][]float64{make([]float64, len(plans)), nil, make([]float64, len(plans))}, Cat: [][]string{nil, plans, nil}}
	tab.Num[0][6] = math.NaN()
	e := FitEncoder(tab, nil, EncoderOptions{MinCount: 2})
	wantNames := []string{"mrr", "plan=pro", "plan=basic", "plan=(other)", "flag"}
	if got := e.Names(); !slices.Equal(got, wantNames) {
		t.Fatalf("names = %v, want %v", got, wantNames)
	}
	m, n := e.Matrix(tab, []int{0, 3, 5, 6})
	if n != 4 {
		t.Fatalf("rows = %d", n)
	}
	want := [][]float32{
		{0, 1, 0, 0, 0},                   // pro
		{0, 0, 1, 0, 0},                   // basic
		{0, 0, 0, 1, 0},                   // ent: rare → other
		{float32(math.NaN()), 0, 0, 0, 0}, // missing plan: all zero; missing mrr: NaN
	}
	for r := range want {
		for j := range want[r] {
			got, w := m[r*5+j], want[r][j]
			if got != w && !(math.IsNaN(float64(got)) && math.IsNaN(float64(w))) {
				t.Errorf("row %d col %s = %v, want %v", r, wantNames[j], got, w)
			}
		}
	}
	// Unseen levels at scoring time go to (other).
	tab.Cat[1][0] = "brand-new"
	m, _ = e.Matrix(tab, []int{0})
	if m[3] != 1 || m[1] != 0 {
		t.Errorf("unseen level encoded as %v", m[:5])
	}
}
