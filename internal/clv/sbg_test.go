package clv

import (
	"context"
	"encoding/csv"
	"errors"
	"math"
	"os"
	"strconv"
	"testing"
)

// fh2007 reads testdata/sbg_fader_hardie_2007.csv: cohort → survivors by
// period.
func fh2007(t *testing.T) map[string][]float64 {
	t.Helper()
	f, err := os.Open("testdata/sbg_fader_hardie_2007.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for _, r := range rows[1:] {
		p, err1 := strconv.Atoi(r[1])
		v, err2 := strconv.ParseFloat(r[2], 64)
		if err1 != nil || err2 != nil || p != len(out[r[0]]) {
			t.Fatalf("bad row %v", r)
		}
		out[r[0]] = append(out[r[0]], v)
	}
	return out
}

// TestFitSBGFaderHardie2007 fits years 1–7 of Table 1's cohorts and checks
// the published α and β to 3 significant digits.
func TestFitSBGFaderHardie2007(t *testing.T) {
	data := fh2007(t)
	for _, c := range []struct {
		cohort      string
		alpha, beta float64
	}{
		{"regular", 0.704, 1.182},
		{"high_end", 0.668, 3.806},
	} {
		alive := data[c.cohort]
		if len(alive) != 13 {
			t.Fatalf("%s: %d periods", c.cohort, len(alive))
		}
		fit, err := FitSBG(context.Background(), alive[:8], nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sig3(fit.Alpha, c.alpha) || !sig3(fit.Beta, c.beta) || !fit.Converged || fit.Periods != 7 {
			t.Errorf("%s: %+v, want α %v β %v", c.cohort, fit, c.alpha, c.beta)
		}
		if !(fit.SE.Alpha > 0 && fit.SE.Beta > 0) {
			t.Errorf("%s: standard errors %+v", c.cohort, fit.SE)
		}
		// The likelihood at the optimum is the one sbgLL gives there.
		if ll, _, _ := sbgLL(fit.SBG, alive[:8], false); math.Abs(ll-fit.LogLikelihood) > 1e-9*math.Abs(ll) {
			t.Errorf("%s: log-likelihood %v, recomputed %v", c.cohort, fit.LogLikelihood, ll)
		}
		// The projection tracks the holdout years 8–12 within 2 points
		// (the paper's Figure 4: the sBG projection is close).
		for p := 8; p <= 12; p++ {
			if got, want := 1000*fit.Survival(p), alive[p]; math.Abs(got-want) > 20 {
				t.Errorf("%s: projected year %d: %.1f alive, actual %v", c.cohort, p, got, want)
			}
		}
		t.Logf("%s: %+v", c.cohort, fit)
	}
}

func TestSBGCurves(t *testing.T) {
	m := SBG{Alpha: 0.668, Beta: 3.806}
	// S(t) = Π r(i), r(t) = (β+t−1)/(α+β+t−1).
	s := 1.0
	for tt := 1; tt <= 200; tt++ {
		s *= (m.Beta + float64(tt) - 1) / (m.Alpha + m.Beta + float64(tt) - 1)
		if got := m.Survival(tt); math.Abs(got-s) > 1e-12*s {
			t.Errorf("S(%d) = %v, product of retentions %v", tt, got, s)
		}
		if got := m.Survival(tt) / m.Survival(tt-1); math.Abs(got-m.Retention(tt)) > 1e-12 {
			t.Errorf("S(%d)/S(%d) = %v, Retention %v", tt, tt-1, got, m.Retention(tt))
		}
	}
	if m.Survival(0) != 1 || m.Survival(-3) != 1 || !math.IsNaN(m.Retention(0)) {
		t.Error("S(0), S(−3) should be 1, r(0) NaN")
	}
}

// TestDERL checks the closed form against the direct sum
// Σ_{k≥0} S(n+1+k)/S(n)/(1+d)^k and the d = 0 limits.
func TestDERL(t *testing.T) {
	for _, m := range []SBG{{Alpha: 0.668, Beta: 3.806}, {Alpha: 0.704, Beta: 1.182}, {Alpha: 3, Beta: 8}} {
		for _, n := range []int{0, 1, 4, 50} {
			for _, d := range []float64{0.1, 0.01} {
				// S(n+1+k)/S(n) = Π_{j=1..k+1} r(n+j), by the running product.
				var want float64
				ratio, disc := 1.0, 1.0
				for k := 0; k < 20000; k++ {
					ratio *= m.Retention(n + 1 + k)
					want += ratio * disc
					disc /= 1 + d
				}
				if got := m.DERL(n, d); math.Abs(got-want) > 1e-9*want {
					t.Errorf("%+v n=%d d=%v: DERL %v, direct sum %v", m, n, d, got, want)
				}
			}
		}
	}
	m := SBG{Alpha: 3, Beta: 8}
	if got, want := m.DERL(2, 0), 10.0/2; got != want {
		t.Errorf("d = 0, α > 1: %v, want (β+n)/(α−1) = %v", got, want)
	}
	if got := m.DERL(2, 1e-9); math.Abs(got-5) > 1e-6 {
		t.Errorf("d → 0: %v, want → 5", got)
	}
	if got := (SBG{Alpha: 0.7, Beta: 1.2}).DERL(0, 0); !math.IsInf(got, 1) {
		t.Errorf("d = 0, α ≤ 1: %v, want +Inf", got)
	}
	if !math.IsNaN(m.DERL(-1, 0.1)) || !math.IsNaN(m.DERL(1, -0.1)) {
		t.Error("n < 0 or d < 0 should give NaN")
	}
}

func TestFitSBGErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		alive []float64
	}{
		{"empty", nil},
		{"one period", []float64{100}},
		{"empty cohort", []float64{0, 0}},
		{"rising", []float64{100, 80, 90}},
		{"negative", []float64{100, -1}},
		{"NaN", []float64{100, math.NaN()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := FitSBG(context.Background(), c.alive, nil); !errors.Is(err, ErrData) {
				t.Errorf("error %v, want ErrData", err)
			}
		})
	}
	// Nobody churns, or everybody in period 1: no finite optimum. The fit
	// either fails with ErrFit or stops at a finite likelihood.
	for _, alive := range [][]float64{{100, 100, 100}, {100, 0, 0}} {
		fit, err := FitSBG(context.Background(), alive, nil)
		if err != nil && !errors.Is(err, ErrFit) || err == nil && !(fit.LogLikelihood <= 0 && fit.Alpha > 0 && fit.Beta > 0) {
			t.Errorf("%v: %+v, %v", alive, fit, err)
		}
	}
}

// TestSBGGradient: the analytic gradient of the log-likelihood matches
// central differences, for moderate and for huge (nearly homogeneous)
// parameters, and the log-likelihood stays ≤ 0.
func TestSBGGradient(t *testing.T) {
	alive := []float64{1000, 631, 468, 382, 326, 289, 262, 241}
	for _, m := range []SBG{{0.7, 1.2}, {3, 0.4}, {4.5e14, 5.2e14}} {
		ll, ga, gb := sbgLL(m, alive, true)
		if !(ll <= 0) {
			t.Errorf("%+v: log-likelihood %v > 0", m, ll)
		}
		for j, g := range []float64{ga, gb} {
			h := 1e-6
			up, dn := m, m
			if j == 0 {
				h *= m.Alpha
				up.Alpha += h
				dn.Alpha -= h
			} else {
				h *= m.Beta
				up.Beta += h
				dn.Beta -= h
			}
			lu, _, _ := sbgLL(up, alive, false)
			ld, _, _ := sbgLL(dn, alive, false)
			if num := (lu - ld) / (2 * h); math.Abs(num-g) > 1e-5*math.Max(math.Abs(num), 1e-12) {
				t.Errorf("%+v: gradient %d analytic %v, numeric %v", m, j, g, num)
			}
		}
	}
}
