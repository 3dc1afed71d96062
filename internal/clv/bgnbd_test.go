package clv

import (
	"context"
	"encoding/csv"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/churnlab/churn/internal/randx"
)

const cdnowDir = "../../../shared/data/cdnow"

// cdnowSummaries reads the published CDNOW summary (ID, frequency,
// recency, T; Fader and Hardie's file as shipped with lifetimes).
func cdnowSummaries(t testing.TB) []Summary {
	t.Helper()
	f, err := os.Open(cdnowDir + "/cdnow_customers_summary.csv")
	if err != nil {
		t.Skipf("shared data not found at %s: %v", cdnowDir, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var s []Summary
	for _, r := range rows[1:] {
		var v [3]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		s = append(s, Summary{Frequency: v[0], Recency: v[1], T: v[2]})
	}
	return s
}

// sig3 reports whether got equals want to 3 significant digits.
func sig3(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	e := math.Pow(10, math.Floor(math.Log10(math.Abs(want)))-2)
	return math.Abs(got-want) <= e/2+1e-12
}

// TestBGNBDPeerGolden checks the customer-level quantities against
// testdata/bgnbd_peer.csv: mpmath at 50 digits from the published
// formulas (bench/lifetime_peer.py golden), heavy buyers with 500 and 2000
// repeat purchases included. Among them: Fader, Hardie and Lee's (2005)
// worked example, E[Y(39) | x=2, tₓ=30.43, T=38.86] = 1.226, and the
// top customers of lifetimes' CDNOW tutorial.
func TestBGNBDPeerGolden(t *testing.T) {
	f, err := os.Open("testdata/bgnbd_peer.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 20 {
		t.Fatalf("%d golden rows", len(rows))
	}
	for _, r := range rows[1:] {
		v := make([]float64, 12)
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j], 64); err != nil {
				t.Fatal(err)
			}
		}
		m := BGNBD{R: v[0], Alpha: v[1], A: v[2], B: v[3]}
		s := Summary{Frequency: v[4], Recency: v[5], T: v[6]}
		h := v[7]
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"PAlive", m.PAlive(s), v[8]},
			{"ExpectedPurchases", m.ExpectedPurchases(h, s), v[9]},
			{"ProbNoPurchase", m.ProbNoPurchase(h, s), v[10]},
			{"UnconditionalPurchases", m.UnconditionalPurchases(h), v[11]},
		} {
			if math.Abs(c.got-c.want) > 1e-10*math.Abs(c.want) {
				t.Errorf("%v %+v t=%v: %s = %.17g, want %.17g (rel. error %.2g)", m, s, h, c.name, c.got, c.want, math.Abs(c.got-c.want)/c.want)
			}
		}
	}
}

// TestBGNBDHeavyBuyer: a customer with 500 repeat purchases (and 100,000)
// gets finite predictions that behave as the model says: for a short
// horizon E[Y(t)] ≈ P(alive)·t·(r+x)/(α+T), the posterior mean rate; for a
// long one with a > 1 it tends to P(alive)·(a+b+x−1)/(a−1).
func TestBGNBDHeavyBuyer(t *testing.T) {
	m := BGNBD{R: 0.5, Alpha: 3, A: 1.5, B: 4}
	for _, x := range []float64{500, 1e5} {
		s := Summary{Frequency: x, Recency: 38.9, T: 39}
		pa := m.PAlive(s)
		if !(pa > 0 && pa < 1) {
			t.Fatalf("x=%v: PAlive = %v", x, pa)
		}
		short := 1e-4
		want := pa * short * (m.R + x) / (m.Alpha + s.T)
		if got := m.ExpectedPurchases(short, s); math.Abs(got-want) > 1e-3*want {
			t.Errorf("x=%v: E[Y(%v)] = %v, want ≈ %v", x, short, got, want)
		}
		long := 1e12
		want = pa * (m.A + m.B + x - 1) / (m.A - 1)
		if got := m.ExpectedPurchases(long, s); math.Abs(got-want) > 1e-3*want {
			t.Errorf("x=%v: E[Y(%v)] = %v, want ≈ %v", x, long, got, want)
		}
		ll := m.LogLikelihood([]Summary{s})
		if math.IsNaN(ll) || math.IsInf(ll, 0) {
			t.Errorf("x=%v: log-likelihood %v", x, ll)
		}
	}
}

// TestExpectedPurchasesAtAOne: a = 1 is a removable singularity of
// (a+b+x−1)/(a−1)·[…]; the value there is the limit of its neighbours.
func TestExpectedPurchasesAtAOne(t *testing.T) {
	s := Summary{Frequency: 3, Recency: 20, T: 30}
	at := func(a float64) float64 { return BGNBD{R: 0.3, Alpha: 4, A: a, B: 2}.ExpectedPurchases(26, s) }
	lo, mid, hi := at(1-1e-7), at(1), at(1+1e-7)
	if math.IsNaN(mid) || math.Abs(mid-(lo+hi)/2) > 1e-6*mid {
		t.Errorf("E at a = 1: %v, neighbours %v %v", mid, lo, hi)
	}
	// r ≫ a+b at a = 1 (found by FuzzBGNBDPredictions): Euler's series
	// cancels and the direct one divides by a−1, so the value is
	// interpolated; it must agree with the direct values just outside.
	big := func(a float64) float64 {
		return BGNBD{R: 480, Alpha: 2.1, A: a, B: 0.5}.ExpectedPurchases(1, Summary{})
	}
	lo, mid, hi = big(1-3e-4), big(1), big(1+3e-4)
	if math.IsNaN(mid) || mid <= 0 || math.Abs(mid-(lo+hi)/2) > 1e-5*mid {
		t.Errorf("r = 480, a = 1: E = %v, neighbours %v %v", mid, lo, hi)
	}
}

// naiveLL is the BG/NBD log-likelihood of one customer written as in
// lifetimes' BetaGeoFitter, without grouping.
func naiveLL(m BGNBD, s Summary) float64 {
	r, α, a, b, x := m.R, m.Alpha, m.A, m.B, s.Frequency
	a1 := lgamma(r+x) - lgamma(r) + r*math.Log(α)
	a2 := lgamma(a+b) + lgamma(b+x) - lgamma(b) - lgamma(a+b+x)
	a3 := -(r + x) * math.Log(α+s.T)
	if x == 0 {
		return a1 + a2 + a3
	}
	a4 := math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(α+s.Recency)
	return a1 + a2 + math.Log(math.Exp(a3)+math.Exp(a4))
}

// synthBGNBD draws n customers from BG/NBD with the given parameters,
// observed for T weeks, T uniform on 1..365 days. With days true the
// purchases are summarised as features.RFM does (distinct purchase days,
// times in whole days / 7: few distinct (x, tₓ, T), but only nearly
// BG/NBD); with days false times are exact.
func synthBGNBD(rng *rand.Rand, m BGNBD, n int, days bool) []Summary {
	s := make([]Summary, n)
	for i := range s {
		λ := randx.Gamma(rng, m.R) / m.Alpha
		p := randx.Beta(rng, m.A, m.B)
		nd := 1 + rng.IntN(365)
		T := float64(nd) / 7
		var t float64
		x, last := 0, 0.0
		for {
			t += rng.ExpFloat64() / λ
			if t > T {
				break
			}
			d := t * 7
			if days {
				d = math.Floor(d)
			}
			if d != last {
				x++
				last = d
			}
			if rng.Float64() < p {
				break
			}
		}
		s[i] = Summary{Frequency: float64(x), T: T}
		if x > 0 {
			s[i].Recency = last / 7
		}
	}
	return s
}

// TestBGNBDGroupedLikelihood: the grouped, chunked log-likelihood equals
// the plain per-customer sum, and its analytic gradient the central
// differences of that sum.
func TestBGNBDGroupedLikelihood(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	truth := BGNBD{R: 0.3, Alpha: 5, A: 0.8, B: 2.5}
	s := synthBGNBD(rng, truth, 30000, true) // several chunks of cells
	d, err := newBGData(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.cells) >= len(s) || len(d.cells) <= chunkSize {
		t.Fatalf("%d cells for %d customers: want grouping and more than one chunk", len(d.cells), len(s))
	}
	m := BGNBD{R: 0.4, Alpha: 3, A: 1.2, B: 2}
	var want float64
	for _, v := range s {
		want += naiveLL(m, v)
	}
	got := d.eval(m, true)
	if math.Abs(got.ll-want) > 1e-9*math.Abs(want) {
		t.Errorf("grouped LL %v, plain %v", got.ll, want)
	}
	p := []float64{m.R, m.Alpha, m.A, m.B}
	g := []float64{got.gr, got.gα, got.ga, got.gb}
	for j := range p {
		h := 1e-6 * p[j]
		q := slices.Clone(p)
		q[j] += h
		up := d.eval(BGNBD{q[0], q[1], q[2], q[3]}, false).ll
		q[j] -= 2 * h
		dn := d.eval(BGNBD{q[0], q[1], q[2], q[3]}, false).ll
		if num := (up - dn) / (2 * h); math.Abs(num-g[j]) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("gradient %d: analytic %v, numeric %v", j, g[j], num)
		}
	}
}

// TestFitBGNBDSynthetic: a fit from the default start recovers the
// parameters of simulated customers within a few standard errors, and is
// bit-identical whatever GOMAXPROCS.
func TestFitBGNBDSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	truth := BGNBD{R: 0.6, Alpha: 8, A: 0.9, B: 3}
	s := synthBGNBD(rng, truth, 60000, false)
	fit, err := FitBGNBD(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !fit.Converged || fit.Customers != len(s) {
		t.Fatalf("%+v", fit)
	}
	got := []float64{fit.R, fit.Alpha, fit.A, fit.B}
	want := []float64{truth.R, truth.Alpha, truth.A, truth.B}
	se := []float64{fit.SE.R, fit.SE.Alpha, fit.SE.A, fit.SE.B}
	for j := range got {
		if !(se[j] > 0) || math.Abs(got[j]-want[j]) > 4*se[j] {
			t.Errorf("parameter %d: %v ± %v, truth %v", j, got[j], se[j], want[j])
		}
	}
	s = synthBGNBD(rng, truth, 60000, true)
	fit, err = FitBGNBD(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	one, err := FitBGNBD(context.Background(), s, nil)
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if one != fit {
		t.Errorf("GOMAXPROCS(1) fit %+v differs from GOMAXPROCS(%d) fit %+v", one, prev, fit)
	}
}

func TestFitBGNBDErrors(t *testing.T) {
	ctx := context.Background()
	ok := Summary{Frequency: 1, Recency: 2, T: 3}
	for _, c := range []struct {
		name string
		s    []Summary
		opt  *FitOptions
		want error
	}{
		{"empty", nil, nil, ErrData},
		{"negative frequency", []Summary{ok, {Frequency: -1, T: 3}}, nil, ErrData},
		{"NaN T", []Summary{ok, {Frequency: 0, T: math.NaN()}}, nil, ErrData},
		{"recency beyond T", []Summary{ok, {Frequency: 1, Recency: 4, T: 3}}, nil, ErrData},
		{"infinite frequency", []Summary{{Frequency: math.Inf(1), Recency: 1, T: 3}}, nil, ErrData},
		{"start of wrong length", []Summary{ok}, &FitOptions{Start: []float64{1, 1}}, ErrData},
		{"negative start", []Summary{ok}, &FitOptions{Start: []float64{1, -1, 1, 1}}, ErrData},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FitBGNBD(ctx, c.s, c.opt)
			if !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := FitBGNBD(cancelled, []Summary{ok}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
	if ll := (BGNBD{R: -1, Alpha: 1, A: 1, B: 1}).LogLikelihood([]Summary{ok}); !math.IsNaN(ll) {
		t.Errorf("LogLikelihood with r < 0 = %v, want NaN", ll)
	}
}

// TestBGNBDInputsUnchanged: the fit neither reorders nor modifies s.
func TestBGNBDInputsUnchanged(t *testing.T) {
	s := synthBGNBD(rand.New(rand.NewPCG(5, 6)), BGNBD{R: 0.5, Alpha: 4, A: 1, B: 2}, 2000, true)
	orig := slices.Clone(s)
	if _, err := FitBGNBD(context.Background(), s, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s, orig) {
		t.Error("FitBGNBD modified its input")
	}
}

func TestFitBGNBDCDNOWPublished(t *testing.T) {
	fit, err := FitBGNBD(context.Background(), cdnowSummaries(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"r", fit.R, 0.243}, {"alpha", fit.Alpha, 4.414}, {"a", fit.A, 0.793}, {"b", fit.B, 2.426},
		// Standard errors as lifetimes reports them on this file.
		{"se(r)", fit.SE.R, 0.0126}, {"se(alpha)", fit.SE.Alpha, 0.378}, {"se(a)", fit.SE.A, 0.186}, {"se(b)", fit.SE.B, 0.705},
	} {
		if !sig3(c.got, c.want) {
			t.Errorf("%s = %.6g, want %v to 3 significant digits", c.name, c.got, c.want)
		}
	}
	if math.Abs(fit.LogLikelihood-(-9582.4)) > 0.05 || !fit.Converged || fit.Customers != 2357 {
		t.Errorf("%+v: want log-likelihood -9582.4, converged, 2357 customers", fit)
	}
}

// TestFitBGNBDDegenerate: data without a finite optimum (nobody repeats;
// one customer) neither panics nor returns NaN parameters: the fit fails
// with ErrFit or stops where the likelihood stops improving.
func TestFitBGNBDDegenerate(t *testing.T) {
	for _, s := range [][]Summary{
		{{T: 10}, {T: 20}, {T: 30}},
		{{Frequency: 3, Recency: 5, T: 10}},
	} {
		fit, err := FitBGNBD(context.Background(), s, nil)
		if err != nil && !errors.Is(err, ErrFit) {
			t.Errorf("%v: error %v", s, err)
		}
		if err == nil && (math.IsNaN(fit.R+fit.Alpha+fit.A+fit.B) || math.IsNaN(fit.LogLikelihood)) {
			t.Errorf("%v: %+v", s, fit)
		}
	}
}

// TestBGNBDLifetimesTutorial: the CDNOW fit's expected purchases next week
// for the top customers of lifetimes' README ("Ranking customers from best
// to worst": customers 509, 841, 1981, 157, 1516), to 1e-5 (lifetimes'
// optimizer stops at slightly different parameters).
func TestBGNBDLifetimesTutorial(t *testing.T) {
	s := cdnowSummaries(t)
	fit, err := FitBGNBD(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   int
		want float64
	}{{509, 0.424877}, {841, 0.474738}, {1981, 0.486526}, {157, 0.662396}, {1516, 0.710623}} {
		if got := fit.ExpectedPurchases(1, s[c.id-1]); math.Abs(got-c.want) > 1e-5 {
			t.Errorf("customer %d %+v: E[Y(1)] = %.6f, lifetimes %.6f", c.id, s[c.id-1], got, c.want)
		}
	}
}
