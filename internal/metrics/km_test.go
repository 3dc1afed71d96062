package metrics

import (
	"math"
	"slices"
	"testing"
)

// gehan6MP is the 6-MP arm of Freireich et al.'s leukaemia remission
// trial as analysed by Gehan (1965): weeks in remission, false = censored.
var gehan6MP = struct {
	time  []float64
	event []bool
}{
	time:  []float64{6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35},
	event: []bool{true, true, true, false, true, false, true, false, false, true, true, false, false, false, true, true, false, false, false, false, false},
}

// TestKaplanMeierGehan checks the textbook 6-MP curve: Ŝ and Greenwood
// standard errors as published (e.g. Kleinbaum and Klein, Survival
// Analysis, ch. 2; R's survfit), the 95% log(−log) band as R's
// survfit(conf.type = "log-log") prints it, and the median 23 weeks with
// CI [13, NA).
func TestKaplanMeierGehan(t *testing.T) {
	c := KaplanMeier(gehan6MP.time, gehan6MP.event, nil, 0.95)
	want := []struct {
		time, atRisk, events, surv, se, lower, upper float64
	}{
		{6, 21, 3, 0.8571, 0.0764, 0.6197, 0.9516},
		{7, 17, 1, 0.8067, 0.0869, 0.5631, 0.9228},
		{10, 15, 1, 0.7529, 0.0963, 0.5032, 0.8894},
		{13, 12, 1, 0.6902, 0.1068, 0.4316, 0.8491},
		{16, 11, 1, 0.6275, 0.1141, 0.3675, 0.8049},
		{22, 7, 1, 0.5378, 0.1282, 0.2678, 0.7468},
		{23, 6, 1, 0.4482, 0.1346, 0.1881, 0.6801},
	}
	if c.N != 21 || c.Events != 9 {
		t.Errorf("N %v, events %v; want 21, 9", c.N, c.Events)
	}
	// One point per distinct time: 16 of them.
	if len(c.Points) != 16 {
		t.Fatalf("%d points, want 16", len(c.Points))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.00005 }
	k := 0
	for _, p := range c.Points {
		if p.Events == 0 {
			continue
		}
		w := want[k]
		k++
		// Greenwood's SE of Ŝ from the band's half-width on the log(−log)
		// scale: σ = log(log L / log Ŝ)/z·|log Ŝ|, σ·Ŝ the SE of Ŝ.
		sigma := math.Log(math.Log(p.Lower)/math.Log(p.Survival)) / 1.959963984540054 * math.Abs(math.Log(p.Survival))
		if p.Time != w.time || p.AtRisk != w.atRisk || p.Events != w.events || !near(p.Survival, w.surv) ||
			!near(sigma*p.Survival, w.se) || !near(p.Lower, w.lower) || !near(p.Upper, w.upper) {
			t.Errorf("point %+v (SE %.4f), want %+v", p, sigma*p.Survival, w)
		}
	}
	// The tie at 6: three events and one censoring, the censored at risk.
	if p := c.Points[0]; p.Censored != 1 || p.AtRisk != 21 {
		t.Errorf("first point %+v", p)
	}
	if c.Median != 23 || c.MedianLower != 13 || !math.IsNaN(c.MedianUpper) {
		t.Errorf("median %v [%v, %v], want 23 [13, NaN]", c.Median, c.MedianLower, c.MedianUpper)
	}
	for _, a := range []struct{ t, s float64 }{{0, 1}, {5.9, 1}, {6, 0.857142857}, {9, 0.806722689}, {22.5, 0.537815126}, {100, 0.448179272}} {
		if s, lo, up := c.At(a.t); math.Abs(s-a.s) > 1e-9 || lo > s || up < s {
			t.Errorf("At(%v) = %v [%v, %v], want %v", a.t, s, lo, up, a.s)
		}
	}
}

func TestKaplanMeierEdges(t *testing.T) {
	t.Run("no subjects", func(t *testing.T) {
		c := KaplanMeier(nil, nil, nil, 0.95)
		if len(c.Points) != 0 || c.N != 0 || !math.IsNaN(c.Median) || !math.IsNaN(c.MedianLower) || !math.IsNaN(c.MedianUpper) {
			t.Errorf("%+v", c)
		}
		if s, lo, up := c.At(3); s != 1 || lo != 1 || up != 1 {
			t.Errorf("At on an empty curve: %v %v %v", s, lo, up)
		}
	})
	t.Run("all censored", func(t *testing.T) {
		c := KaplanMeier([]float64{1, 2, 2, 3}, []bool{false, false, false, false}, nil, 0.95)
		if len(c.Points) != 3 || c.Events != 0 || !math.IsNaN(c.Median) {
			t.Errorf("%+v", c)
		}
		for _, p := range c.Points {
			if p.Survival != 1 || p.Lower != 1 || p.Upper != 1 {
				t.Errorf("point %+v, want survival and band 1", p)
			}
		}
	})
	t.Run("all events", func(t *testing.T) {
		c := KaplanMeier([]float64{4, 1, 2, 3}, []bool{true, true, true, true}, nil, 0.95)
		want := []float64{0.75, 0.5, 0.25, 0}
		for i, p := range c.Points {
			if math.Abs(p.Survival-want[i]) > 1e-15 || p.AtRisk != float64(4-i) || !(p.Lower <= p.Survival && p.Survival <= p.Upper) {
				t.Errorf("point %d: %+v, want survival %v", i, p, want[i])
			}
		}
		if last := c.Points[3]; last.Lower != 0 || last.Upper != 0 {
			t.Errorf("band at Ŝ = 0: %+v", last)
		}
		if c.Median != 2 {
			t.Errorf("median %v, want 2 (first time Ŝ ≤ 0.5)", c.Median)
		}
	})
	t.Run("zero weights and NaN times are left out", func(t *testing.T) {
		got := KaplanMeier([]float64{1, 2, math.NaN(), 3, 5}, []bool{true, false, true, true, true}, []float64{1, 1, 1, 0, 1}, 0.95)
		want := KaplanMeier([]float64{1, 2, 5}, []bool{true, false, true}, nil, 0.95)
		if !slices.Equal(got.Points, want.Points) || got.N != 3 || got.Events != 2 {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("weights count as copies", func(t *testing.T) {
		got := KaplanMeier([]float64{1, 2, 3, 4}, []bool{true, false, true, true}, []float64{2, 1, 3, 1}, 0.9)
		want := KaplanMeier([]float64{1, 1, 2, 3, 3, 3, 4}, []bool{true, true, false, true, true, true, true}, nil, 0.9)
		if len(got.Points) != len(want.Points) {
			t.Fatalf("%d points, want %d", len(got.Points), len(want.Points))
		}
		for i := range got.Points {
			g, w := got.Points[i], want.Points[i]
			if g.Time != w.Time || g.AtRisk != w.AtRisk || math.Abs(g.Survival-w.Survival) > 1e-15 || math.Abs(g.Lower-w.Lower) > 1e-12 || math.Abs(g.Upper-w.Upper) > 1e-12 {
				t.Errorf("point %d: %+v, want %+v", i, g, w)
			}
		}
	})
	t.Run("events before censorings at a tie", func(t *testing.T) {
		// Two at risk at time 1: one event, one censored. Ŝ(1) = 1/2.
		c := KaplanMeier([]float64{1, 1}, []bool{false, true}, nil, 0.95)
		if len(c.Points) != 1 || c.Points[0].Survival != 0.5 || c.Points[0].AtRisk != 2 {
			t.Errorf("%+v", c.Points)
		}
	})
	t.Run("inputs unchanged", func(t *testing.T) {
		tm := []float64{3, 1, 2}
		ev := []bool{true, false, true}
		w := []float64{1, 2, 3}
		KaplanMeier(tm, ev, w, 0.95)
		if !slices.Equal(tm, []float64{3, 1, 2}) || !slices.Equal(ev, []bool{true, false, true}) || !slices.Equal(w, []float64{1, 2, 3}) {
			t.Error("inputs modified")
		}
	})
	t.Run("level 0 means 0.95", func(t *testing.T) {
		a := KaplanMeier(gehan6MP.time, gehan6MP.event, nil, 0)
		b := KaplanMeier(gehan6MP.time, gehan6MP.event, nil, 0.95)
		if !slices.Equal(a.Points, b.Points) {
			t.Error("level 0 differs from 0.95")
		}
	})
	t.Run("length mismatch panics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		KaplanMeier([]float64{1, 2}, []bool{true}, nil, 0.95)
	})
}
