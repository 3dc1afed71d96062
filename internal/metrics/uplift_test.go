package metrics

import (
	"math"
	"slices"
	"testing"
)

// The small example, by hand. Units by decreasing score (treat, y):
// (1,1) (0,0) (1,1) (1,0) (0,0) (0,1).
//
//	n  Nt Yt Nc Yc  Qini gain            uplift gain
//	1  1  1  0  0   1                    (1 − 0)·1 = 1
//	2  1  1  1  0   1 − 0·1/1 = 1        (1 − 0)·2 = 2
//	3  2  2  1  0   2                    (1 − 0)·3 = 3
//	4  3  2  1  0   2                    (2/3 − 0)·4 = 8/3
//	5  3  2  2  0   2                    (2/3 − 0)·5 = 10/3
//	6  3  2  3  1   2 − 1·3/3 = 1        (2/3 − 1/3)·6 = 2
//
// Qini: area 0.5+1+1.5+2+2+1.5 = 8.5; random (0,0)→(6,1): 3. The perfect
// ranking scores y·(2·treat−1) = 1,0,1,0,0,−1: points (2,2) (5,2) (6,1),
// area 2+6+1.5 = 9.5. Q = (8.5−3)/(9.5−3) = 11/13.
//
// AUUC: area 13, random (0,0)→(6,2): 6. Control responders 1 and treated
// non-responders 1, so s = treat and the perfect scores 2·[y=treat]+treat
// are 3,2,3,1,2,0: points (2,2) (4,4) (5,10/3) (6,2), area 43/3.
// AUUC = (13−6)/(43/3−6) = 21/25.
var (
	smallU = []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4}
	smallY = []float64{1, 0, 1, 0, 0, 1}
	smallT = []float64{1, 0, 1, 1, 0, 0}
)

// lcgUnits reproduces 40 units drawn by the LCG of the pure-Python
// transliteration of scikit-uplift 0.5's metrics used to check these
// functions (numpy and sklift are not installed on the build machines): it
// printed qini_auc_score 0.13632073828593785 and uplift_auc_score
// 0.16060760127645352 for them, and for the tied example below 0.10416666666666667 and
// 0.125.
func lcgUnits() (u, y, treat []float64) {
	s := uint64(12345)
	next := func() float64 {
		s = s*6364136223846793005 + 1442695040888963407
		return float64(s>>11) / (1 << 53)
	}
	for range 40 {
		u = append(u, next())
		t := 0.0
		if next() < 0.6 {
			t = 1
		}
		treat = append(treat, t)
		yy := 0.0
		if next() < 0.3+0.4*u[len(u)-1]*t {
			yy = 1
		}
		y = append(y, yy)
	}
	return u, y, treat
}

func TestQiniCurve(t *testing.T) {
	n, g := QiniCurve(smallU, smallY, smallT, nil)
	if want := []float64{0, 1, 2, 3, 4, 5, 6}; !slices.Equal(n, want) {
		t.Errorf("n = %v, want %v", n, want)
	}
	if want := []float64{0, 1, 1, 2, 2, 2, 1}; !slices.Equal(g, want) {
		t.Errorf("gain = %v, want %v", g, want)
	}
	// Ties: one point per distinct score. Scores 0.9 | 0.5 0.5 | 0.3×3 |
	// 0.1 0.1, as sklift's qini_curve gives them.
	u := []float64{0.5, 0.5, 0.3, 0.3, 0.3, 0.1, 0.9, 0.1}
	y := []float64{1, 0, 0, 1, 1, 0, 1, 0}
	tr := []float64{1, 0, 1, 0, 1, 1, 0, 0}
	n, g = QiniCurve(u, y, tr, nil)
	if want := []float64{0, 1, 3, 6, 8}; !slices.Equal(n, want) {
		t.Errorf("tied n = %v, want %v", n, want)
	}
	if want := []float64{0, 0, 0.5, 0, 0}; !slices.Equal(g, want) {
		t.Errorf("tied gain = %v, want %v", g, want)
	}
}

func TestUpliftCurve(t *testing.T) {
	n, g := UpliftCurve(smallU, smallY, smallT, nil)
	want := []float64{0, 1, 2, 3, 8.0 / 3, 10.0 / 3, 2}
	if len(n) != len(want) || n[len(n)-1] != 6 {
		t.Fatalf("n = %v", n)
	}
	for k := range want {
		if !approx(g[k], want[k]) {
			t.Errorf("gain[%d] = %v, want %v", k, g[k], want[k])
		}
	}
}

func TestQiniAndAUUC(t *testing.T) {
	lu, ly, lt := lcgUnits()
	tests := []struct {
		name        string
		u, y, tr, w []float64
		qini, auuc  float64
	}{
		{name: "small, by hand", u: smallU, y: smallY, tr: smallT, qini: 11.0 / 13, auuc: 21.0 / 25},
		{name: "ties, as sklift", u: []float64{0.5, 0.5, 0.3, 0.3, 0.3, 0.1, 0.9, 0.1}, y: []float64{1, 0, 0, 1, 1, 0, 1, 0},
			tr: []float64{1, 0, 1, 0, 1, 1, 0, 0}, qini: 0.10416666666666667, auuc: 0.125},
		{name: "40 units, as sklift", u: lu, y: ly, tr: lt, qini: 0.13632073828593785, auuc: 0.16060760127645352},
		// The perfect Qini ranking is not the perfect uplift-curve one.
		{name: "perfect Qini ranking", u: []float64{1, 0, 1, 0, 0, -1}, y: smallY, tr: smallT, qini: 1, auuc: 0.8},
		{name: "reversed ranking, as sklift", u: []float64{-0.9, -0.8, -0.7, -0.6, -0.5, -0.4}, y: smallY, tr: smallT, qini: -0.41025641025641024, auuc: -0.92},
		{name: "no control units", u: smallU, y: smallY, tr: []float64{1, 1, 1, 1, 1, 1}, qini: math.NaN(), auuc: math.NaN()},
		{name: "no treated units", u: smallU, y: smallY, tr: []float64{0, 0, 0, 0, 0, 0}, qini: math.NaN(), auuc: math.NaN()},
		{name: "no favourable outcome", u: smallU, y: make([]float64, 6), tr: smallT, qini: math.NaN(), auuc: math.NaN()},
		{name: "empty", qini: math.NaN(), auuc: math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Qini(tt.u, tt.y, tt.tr, tt.w); !approx(got, tt.qini) {
				t.Errorf("Qini = %v, want %v", got, tt.qini)
			}
			if got := AUUC(tt.u, tt.y, tt.tr, tt.w); !approx(got, tt.auuc) {
				t.Errorf("AUUC = %v, want %v", got, tt.auuc)
			}
		})
	}
}

// Weights count as duplicated units, and the inputs are left alone.
func TestUpliftWeightsAndInputs(t *testing.T) {
	w := []float64{2, 1, 1, 3, 1, 2}
	var u, y, tr []float64
	for i := range w {
		for range int(w[i]) {
			u, y, tr = append(u, smallU[i]), append(y, smallY[i]), append(tr, smallT[i])
		}
	}
	if a, b := Qini(smallU, smallY, smallT, w), Qini(u, y, tr, nil); !approx(a, b) {
		t.Errorf("weighted Qini %v, duplicated %v", a, b)
	}
	if a, b := AUUC(smallU, smallY, smallT, w), AUUC(u, y, tr, nil); !approx(a, b) {
		t.Errorf("weighted AUUC %v, duplicated %v", a, b)
	}
	cu, cy, ct, cw := slices.Clone(smallU), slices.Clone(smallY), slices.Clone(smallT), slices.Clone(w)
	QiniCurve(smallU, smallY, smallT, w)
	UpliftCurve(smallU, smallY, smallT, w)
	Qini(smallU, smallY, smallT, w)
	AUUC(smallU, smallY, smallT, w)
	if !slices.Equal(cu, smallU) || !slices.Equal(cy, smallY) || !slices.Equal(ct, smallT) || !slices.Equal(cw, w) {
		t.Error("an input was modified")
	}
}
