package features

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/clv"
)

// cdnowFit holds the published CDNOW parameters (BG/NBD: Fader, Hardie and
// Lee 2005; Gamma-Gamma: lifetimes' documentation), as fitted parameters
// of one date.
func cdnowFit(asOf string) LifetimeFit {
	return LifetimeFit{AsOf: asOf, Customers: 2357,
		BGNBD:      &BGNBDParams{BGNBD: clv.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}, Customers: 2357, Converged: true},
		GammaGamma: &GammaGammaParams{GammaGamma: clv.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}, Customers: 946, Converged: true},
	}
}

func orderHistory(id string, orders ...data.Order) *data.History {
	h := &data.History{Customer: data.Customer{ID: id, SignupDate: data.NoDate, ChurnDate: data.NoDate, Churned: -1}, Orders: orders}
	h.Present = h.Present.With(data.Customers).With(data.Orders)
	return h
}

func order(ts string, amount float64) data.Order {
	return data.Order{TS: at(ts), Amount: amount, Items: 1}
}

// TestComputeLifetime checks the lifetime features of hand-made histories
// against the clv functions on their hand-worked calibration summaries,
// with the published CDNOW parameters.
func TestComputeLifetime(t *testing.T) {
	cfg := defaultConfig()
	T := day("2024-07-01")
	fit := cdnowFit("2024-07-01")
	noGG := fit
	noGG.GammaGamma = nil
	noBG := fit
	noBG.BGNBD = nil
	h90 := cfg.Lifetime.HorizonDays
	tests := []struct {
		name string
		h    *data.History
		fit  *LifetimeFit
		// want is the summary the features are computed from; nil means
		// they are missing.
		want   *clv.Summary
		noCLV  bool
		reason string
	}{
		{"no orders", orderHistory("A"), &fit, nil, false, "no order: missing"},
		{"only orders on or after T", orderHistory("B", order("2024-07-01", 10), order("2024-08-01", 20)), &fit, nil, false, "orders at T are after the calibration period"},
		{"one order", orderHistory("C", order("2024-06-03T10:00", 40)), &fit,
			&clv.Summary{Frequency: 0, Recency: 0, T: 27.0 / 7}, false, "first purchase 06-03, T's eve 06-30: 27 days"},
		{"repeat buyer", orderHistory("D", order("2024-01-01T09:00", 10), order("2024-01-01T18:00", 5), order("2024-02-05", 30), order("2024-04-01T12:00", 20), order("2024-04-01T13:00", 40), order("2024-07-01", 999)), &fit,
			&clv.Summary{Frequency: 2, Recency: 91.0 / 7, T: 181.0 / 7, Monetary: 45}, false,
			"days 01-01, 02-05, 04-01: 2 repeat days, last 91 days after the first, T's eve (06-30) 181 days; repeat spend (30 + 60) / 2; the order at T ignored"},
		{"no Gamma-Gamma fit", orderHistory("E", order("2024-01-01", 10), order("2024-03-01", 30)), &noGG,
			&clv.Summary{Frequency: 1, Recency: 60.0 / 7, T: 181.0 / 7, Monetary: 30}, true, "clv needs spend parameters"},
		{"no BG/NBD fit", orderHistory("F", order("2024-01-01", 10)), &noBG, nil, false, "nothing without purchase parameters"},
		{"no fit", orderHistory("G", order("2024-01-01", 10)), nil, nil, false, "a date before every fit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v Values
			v.reset()
			v.Num[fOrdersTotal] = 42 // not a lifetime feature: left alone
			if err := ComputeLifetime(tt.h, T, tt.fit, cfg, &v); err != nil {
				t.Fatal(err)
			}
			if v.Num[fOrdersTotal] != 42 {
				t.Error("ComputeLifetime changed another feature")
			}
			if s, ok := RFM(tt.h.Orders, T); tt.want != nil && (!ok || !approxSummary(s, *tt.want)) {
				t.Fatalf("RFM = %+v, %v; want %+v (%s)", s, ok, *tt.want, tt.reason)
			}
			want := [3]float64{nan, nan, nan}
			if tt.want != nil {
				s, _ := RFM(tt.h.Orders, T)
				bg := tt.fit.BGNBD.BGNBD
				want[0] = bg.PAlive(s)
				want[1] = bg.ExpectedPurchases(float64(h90)/7, s)
				if !tt.noCLV {
					want[2] = clv.CLV(bg, tt.fit.GammaGamma.GammaGamma, s, clv.CLVOptions{Months: 12, AnnualDiscount: 0.10})
				}
				if !(want[0] > 0 && want[0] <= 1 && want[1] > 0) {
					t.Fatalf("implausible expectations %v", want)
				}
			}
			got := [3]float64{v.Num[fPAlive], v.Num[fExpectedPurchases], v.Num[fCLV]}
			for i, name := range []string{"p_alive", "expected_purchases_90d", "clv"} {
				if !close12(got[i], want[i]) {
					t.Errorf("%s = %v, want %v (%s)", name, got[i], want[i], tt.reason)
				}
			}
		})
	}
}

func approxSummary(a, b clv.Summary) bool {
	return approx(a.Frequency, b.Frequency) && approx(a.Recency, b.Recency) && approx(a.T, b.T) && approx(a.Monetary, b.Monetary)
}

// TestLifetimeConfig checks the defaults (defined once, here), the
// validation and that the feature names follow the settings.
func TestLifetimeConfig(t *testing.T) {
	var lt LifetimeConfig
	lt.EnsureDefaults()
	if lt.HorizonDays != 90 || lt.CLVMonths != 12 || *lt.AnnualDiscount != 0.10 {
		t.Fatalf("defaults %+v", lt)
	}
	zero := 0.0
	cfg := Config{Lifetime: LifetimeConfig{HorizonDays: 30, AnnualDiscount: &zero}}
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Lifetime.Discount() != 0 {
		t.Errorf("an explicit 0 discount became %v", cfg.Lifetime.Discount())
	}
	if n := defs(&cfg)[fExpectedPurchases].Name; n != "expected_purchases_30d" {
		t.Errorf("name %s, want expected_purchases_30d", n)
	}
	neg := -0.5
	for _, bad := range []LifetimeConfig{{HorizonDays: -1}, {CLVMonths: -3}, {AnnualDiscount: &neg}} {
		c := Config{Lifetime: bad}
		c.EnsureDefaults()
		if c.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
}

// TestLifetimeAt is the rule for which parameters a row uses: the latest
// fit dated on or before T; none before the first.
func TestLifetimeAt(t *testing.T) {
	spec := &Spec{Lifetime: []LifetimeFit{cdnowFit("2024-01-01"), cdnowFit("2024-03-01")}}
	spec.Lifetime[1].Customers = 99
	tests := []struct {
		T    string
		want string // "" = none
	}{
		{"2023-12-31", ""},
		{"2024-01-01", "2024-01-01"},
		{"2024-02-15", "2024-01-01"},
		{"2024-03-01", "2024-03-01"},
		{"2025-06-01", "2024-03-01"},
	}
	for _, tt := range tests {
		f, err := spec.LifetimeAt(day(tt.T))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if f != nil {
			got = f.AsOf
		}
		if got != tt.want {
			t.Errorf("at %s: fit of %q, want %q", tt.T, got, tt.want)
		}
	}
	spec.Lifetime[0], spec.Lifetime[1] = spec.Lifetime[1], spec.Lifetime[0]
	if _, err := spec.LifetimeAt(day("2024-06-01")); err == nil {
		t.Error("fits out of date order accepted")
	}
}

// lifetimeHistory makes a BG/NBD-like buyer: a first purchase in 2023, a
// personal rate of purchase days, and after each purchase a chance of
// dropping out for good; spend per order around a personal mean.
func lifetimeHistory(r *rand.Rand, id string) *data.History {
	first := day("2023-01-01").Start() + data.Timestamp(r.Int64N(365*86400e6))
	end := day("2025-06-30").Start()
	rate := r.ExpFloat64() / 20 // purchase days per day
	drop := 0.05 + 0.4*r.Float64()
	mean := 20 + 80*r.Float64()
	var orders []data.Order
	for ts := first; ts < end; {
		orders = append(orders, data.Order{TS: ts, Amount: mean * (0.5 + r.Float64()), Items: 1})
		if r.Float64() < drop {
			break
		}
		ts += data.Timestamp((r.ExpFloat64()/rate + 1) * 86400e6)
	}
	return orderHistory(id, orders...)
}

func lifetimePopulation(seed uint64, n int) []*data.History {
	r := rand.New(rand.NewPCG(seed, 3))
	hs := make([]*data.History, n)
	for i := range hs {
		hs[i] = lifetimeHistory(r, fmt.Sprintf("L%04d", i))
	}
	return hs
}

func summariesAt(hs []*data.History, T data.Date) []clv.Summary {
	var out []clv.Summary
	for _, h := range hs {
		if s, ok := RFM(h.Orders, T); ok {
			out = append(out, s)
		}
	}
	return out
}

// mutateFutureOrders changes the orders of h on or after T: adds, deletes
// and rewrites them (the order-table mutations of TestNoLeakage, and more).
func mutateFutureOrders(r *rand.Rand, h *data.History, T data.Date) {
	ts := T.Start()
	h.Orders = slices.DeleteFunc(h.Orders, func(o data.Order) bool { return o.TS >= ts && r.IntN(2) == 0 })
	for i := range h.Orders {
		if o := &h.Orders[i]; o.TS >= ts {
			o.Amount, o.TS = r.Float64()*1000, futureTime(r, T)
		}
	}
	for i, n := 0, r.IntN(20); i < n; i++ {
		h.Orders = append(h.Orders, data.Order{TS: futureTime(r, T), Amount: r.Float64() * 500, Items: 2})
	}
	// An order at T's first instant: the first one the cut must leave out.
	h.Orders = append(h.Orders, data.Order{TS: ts, Amount: 77, Items: 1})
	h.SortByTime()
}

// TestLifetimeNoLeakage is the leakage property of the lifetime features:
// mutating, adding or removing the orders on or after T of every customer
// at once leaves the parameters fitted at T and every customer's p_alive,
// expected purchases and clv at T bit-identical.
func TestLifetimeNoLeakage(t *testing.T) {
	ctx := context.Background()
	cfg := defaultConfig()
	hs := lifetimePopulation(1, 400)
	r := rand.New(rand.NewPCG(5, 6))
	for _, T := range []data.Date{day("2023-09-01"), day("2024-03-15"), day("2025-01-01")} {
		want, err := fitLifetime(ctx, T, summariesAt(hs, T))
		if err != nil {
			t.Fatal(err)
		}
		if want.BGNBD == nil || want.GammaGamma == nil {
			t.Fatalf("at %s: no fit to compare (%s)", T, want.Note)
		}
		for k := 0; k < 3; k++ {
			future := make([]*data.History, len(hs))
			for i, h := range hs {
				future[i] = h.Clone()
				mutateFutureOrders(r, future[i], T)
			}
			got, err := fitLifetime(ctx, T, summariesAt(future, T))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("at %s: future orders changed the fit:\n%+v %+v\n%+v %+v", T, *want.BGNBD, *want.GammaGamma, *got.BGNBD, *got.GammaGamma)
			}
			for i := range hs {
				var a, b Values
				if err := ComputeLifetime(hs[i], T, &want, cfg, &a); err != nil {
					t.Fatal(err)
				}
				if err := ComputeLifetime(future[i], T, &got, cfg, &b); err != nil {
					t.Fatal(err)
				}
				if diff, ok := sameValues(&a, &b); !ok {
					t.Fatalf("%s at %s: %s", hs[i].Customer.ID, T, diff)
				}
			}
		}
	}
}

func openLifetime(t *testing.T, hs []*data.History) *data.Dataset {
	t.Helper()
	dir := t.TempDir()
	writeDataset(t, dir, hs, data.Orders)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

func lifetimeCols(t *testing.T, spec *Spec) []int {
	t.Helper()
	var cols []int
	for _, name := range []string{"p_alive", "expected_purchases_90d", "clv"} {
		i := slices.Index(spec.Names(), name)
		if i < 0 {
			t.Fatalf("no feature %s in %v", name, spec.Names())
		}
		cols = append(cols, i)
	}
	return cols
}

// TestBuildLifetime checks the lifetime features of a built table end to
// end: the spec records a fit per as-of date equal to a fit on the RFM
// summaries of the histories cut at that date (the pre-pass reads nothing
// at or after it), every row equals ComputeLifetime with its date's fit,
// and rebuilding the dataset with every customer's orders on or after the
// dates mutated changes neither the fits nor the values.
func TestBuildLifetime(t *testing.T) {
	ctx := context.Background()
	hs := lifetimePopulation(2, 300)
	dates := []data.Date{day("2024-01-01"), day("2024-07-01")}
	ds := openLifetime(t, hs)
	opt := BuildOptions{AsOf: dates, Label: LabelConfig{Mode: LabelInactivity}, Workers: 3}
	tab, _, _, err := BuildTable(ctx, ds, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := tab.Spec
	if len(spec.Lifetime) != len(dates) {
		t.Fatalf("%d lifetime fits, want %d", len(spec.Lifetime), len(dates))
	}
	for k, T := range dates {
		var cut []clv.Summary
		for _, h := range hs {
			c := h.Clone()
			c.Orders = slices.DeleteFunc(c.Orders, func(o data.Order) bool { return o.TS >= T.Start() })
			if s, ok := RFM(c.Orders, T); ok {
				cut = append(cut, s)
			}
		}
		want, err := fitLifetime(ctx, T, cut)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(spec.Lifetime[k], want) {
			t.Errorf("fit at %s: %+v, want %+v", T, spec.Lifetime[k], want)
		}
		bg, err := clv.FitBGNBD(ctx, cut, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := spec.Lifetime[k].BGNBD; got == nil || got.BGNBD != bg.BGNBD || got.Customers != len(cut) {
			t.Errorf("BG/NBD at %s: %+v, want a fit on the truncated histories %+v (%d customers)", T, got, bg.BGNBD, len(cut))
		}
	}
	cols := lifetimeCols(t, spec)
	byID := map[string]*data.History{}
	for _, h := range hs {
		byID[h.Customer.ID] = h
	}
	present := 0
	for i := range tab.Len() {
		T := tab.AsOf[i]
		var v Values
		f, _ := spec.LifetimeAt(T)
		if f.AsOf != T.String() {
			t.Fatalf("row at %s uses the fit of %s", T, f.AsOf)
		}
		if err := ComputeLifetime(byID[tab.IDs[i]], T, f, &spec.Config, &v); err != nil {
			t.Fatal(err)
		}
		for j, id := range []int{fPAlive, fExpectedPurchases, fCLV} {
			if got, want := tab.Num[cols[j]][i], v.Num[id]; math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("%s at %s: %s = %v, want %v", tab.IDs[i], T, spec.Features[cols[j]].Name, got, want)
			}
		}
		if !math.IsNaN(v.Num[fCLV]) {
			present++
		}
	}
	if present < tab.Len()/2 {
		t.Fatalf("only %d of %d rows have a clv", present, tab.Len())
	}

	// Every customer's orders on or after the first date mutated: the
	// rows of the first date, and its fit, stay bit-identical.
	r := rand.New(rand.NewPCG(9, 9))
	future := make([]*data.History, len(hs))
	for i, h := range hs {
		future[i] = h.Clone()
		mutateFutureOrders(r, future[i], dates[0])
	}
	opt.AsOf = dates[:1]
	ds2 := openLifetime(t, future)
	tab2, _, _, err := BuildTable(ctx, ds2, opt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tab2.Spec.Lifetime[0], spec.Lifetime[0]) {
		t.Fatalf("future orders changed the fit at %s:\n%+v\n%+v", dates[0], tab2.Spec.Lifetime[0], spec.Lifetime[0])
	}
	compared := 0
	for i := range tab.Len() {
		if tab.AsOf[i] != dates[0] {
			continue
		}
		j := tab2.Lookup(tab.IDs[i], dates[0])
		if j < 0 {
			t.Fatalf("%s lost its row", tab.IDs[i])
		}
		compared++
		for _, c := range cols {
			if a, b := tab.Num[c][i], tab2.Num[c][j]; math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Fatalf("%s: %s changed from %v to %v", tab.IDs[i], spec.Features[c].Name, a, b)
			}
		}
	}
	if compared < 100 {
		t.Fatalf("only %d rows compared", compared)
	}
}

// TestLifetimeFrozen is the scoring rule: with a spec read from a model,
// nothing is refitted; a customer's lifetime features as of T come from
// the spec's latest fit on or before T, whoever else is scored with it,
// and are missing before the first fit.
func TestLifetimeFrozen(t *testing.T) {
	ctx := context.Background()
	hs := lifetimePopulation(3, 200)
	dates := []data.Date{day("2024-01-01"), day("2024-04-01")}
	ds := openLifetime(t, hs)
	var buf bytesBuffer
	spec, _, err := Build(ctx, ds, BuildOptions{AsOf: dates, Label: LabelConfig{Mode: LabelInactivity}}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	// The spec as a model stores it: JSON, read back.
	enc, err := spec.encode()
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := DecodeSpec([]byte(enc))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(frozen.Lifetime, spec.Lifetime) {
		t.Fatal("the lifetime fits did not survive the spec's JSON")
	}
	lc, err := ResolveLabel(ds, LabelConfig{Mode: LabelNone, Horizon: 90})
	if err != nil {
		t.Fatal(err)
	}
	cols := lifetimeCols(t, frozen)
	keysAt := func(hs []*data.History, T data.Date) []Key {
		var keys []Key
		for _, h := range hs {
			keys = append(keys, Key{CustomerID: h.Customer.ID, AsOf: T})
		}
		return keys
	}
	for _, tt := range []struct {
		T    string
		want string // the fit used; "" = none
	}{
		{"2023-11-01", ""},
		{"2024-01-01", "2024-01-01"},
		{"2024-02-20", "2024-01-01"},
		{"2024-09-30", "2024-04-01"},
	} {
		T := day(tt.T)
		all, err := BuildAt(ctx, ds, frozen, lc, keysAt(hs, T), 2)
		if err != nil {
			t.Fatal(err)
		}
		// The same customers scored in a dataset of ten of them: the
		// population scored is not refitted.
		few := openLifetime(t, hs[:10])
		some, err := BuildAt(ctx, few, frozen, lc, keysAt(hs[:10], T), 1)
		if err != nil {
			t.Fatal(err)
		}
		if some.Len() == 0 {
			t.Fatalf("at %s: no rows", T)
		}
		f, _ := frozen.LifetimeAt(T)
		if (f == nil) != (tt.want == "") || (f != nil && f.AsOf != tt.want) {
			t.Fatalf("at %s: fit %+v, want %q", T, f, tt.want)
		}
		known := 0
		for i := range some.Len() {
			j := all.Lookup(some.IDs[i], T)
			if !math.IsNaN(some.Num[cols[0]][i]) {
				known++
			}
			for _, c := range cols {
				a, b := some.Num[c][i], all.Num[c][j]
				if math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
					t.Fatalf("%s at %s: %s is %v scored with 10 customers, %v with all", some.IDs[i], T, frozen.Features[c].Name, a, b)
				}
				if tt.want == "" && !math.IsNaN(a) {
					t.Fatalf("%s at %s: %s = %v before every fit", some.IDs[i], T, frozen.Features[c].Name, a)
				}
			}
		}
		if tt.want != "" && known == 0 {
			t.Fatalf("at %s: no customer has a p_alive", T)
		}
	}
}

// bytesBuffer is an io.Writer that keeps nothing.
type bytesBuffer struct{ n int }

func (b *bytesBuffer) Write(p []byte) (int, error) { b.n += len(p); return len(p), nil }

// TestFitLifetimeGroups checks that scanning the dates in groups (to bound
// memory) gives the fits of one scan, whatever the workers.
func TestFitLifetimeGroups(t *testing.T) {
	ctx := context.Background()
	ds := openLifetime(t, lifetimePopulation(4, 150))
	dates := []data.Date{day("2024-05-01"), day("2023-10-01"), day("2024-01-01"), day("2024-01-01")}
	want, err := FitLifetime(ctx, ds, dates, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 3 || want[0].AsOf != "2023-10-01" || want[2].AsOf != "2024-05-01" {
		t.Fatalf("fits not one per date in order: %+v", want)
	}
	for _, perScan := range []int{1, 2} {
		for _, workers := range []int{1, 3} {
			got, err := fitLifetimeGroups(ctx, ds, []data.Date{day("2023-10-01"), day("2024-01-01"), day("2024-05-01")}, workers, perScan)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%d dates per scan, %d workers: %+v, want %+v", perScan, workers, got, want)
			}
		}
	}
}

// close12 reports whether a and b agree to 1e-12 relative (both NaN
// agree).
func close12(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b)) || a == b
}

// TestLifetimeFactors checks that ComputeLifetime's shared factors give
// the clv package's PAlive, ExpectedPurchases and CLV on the customer's
// own summary, for light, heavy and lapsed buyers, one-time buyers, under
// the CDNOW and a shop's parameters, whatever order the customers come in
// (the factors are cached per repeat purchases and age).
func TestLifetimeFactors(t *testing.T) {
	cfg := defaultConfig()
	zero := 0.0
	undiscounted := defaultConfig()
	undiscounted.Lifetime = LifetimeConfig{HorizonDays: 30, CLVMonths: 36, AnnualDiscount: &zero}
	shop := cdnowFit("2024-01-01")
	shop.BGNBD.BGNBD = clv.BGNBD{R: 0.75, Alpha: 5, A: 0.8, B: 5}
	shop.GammaGamma.GammaGamma = clv.GammaGamma{P: 6, Q: 4, Gamma: 40}
	heavyQ := cdnowFit("2024-01-01")
	heavyQ.GammaGamma.GammaGamma.Q = 0.5 // no finite population mean spend
	r := rand.New(rand.NewPCG(8, 8))
	T := day("2024-07-01")
	var v Values // shared by all customers, fits and settings, as a worker's
	var hs []*data.History
	for i := 0; i < 300; i++ {
		first := T.AddDays(-1 - r.IntN(700))
		var orders []data.Order
		days := []data.Date{first}
		switch i % 4 {
		case 0: // one-time buyer
		case 1: // a few purchases
			for k := 0; k < 1+r.IntN(5); k++ {
				days = append(days, first+data.Date(r.IntN(int(T-first))))
			}
		case 2: // heavy buyer: hundreds of purchase days
			for d := first; d < T; d += data.Date(1 + r.IntN(3)) {
				days = append(days, d)
			}
		case 3: // lapsed: bought often long ago
			for k := 0; k < 20; k++ {
				days = append(days, first+data.Date(r.IntN(30)))
			}
		}
		for _, d := range days {
			orders = append(orders, data.Order{TS: d.Start() + data.Timestamp(r.Int64N(86400e6)), Amount: r.Float64() * 300, Items: 1})
		}
		h := orderHistory(fmt.Sprintf("F%03d", i), orders...)
		h.SortByTime()
		hs = append(hs, h)
	}
	for _, c := range []struct {
		name string
		fit  LifetimeFit
		cfg  *Config
	}{{"cdnow", cdnowFit("2024-01-01"), cfg}, {"shop", shop, cfg}, {"shop, 36 months undiscounted", shop, undiscounted}, {"spend without a mean", heavyQ, cfg}, {"cdnow again", cdnowFit("2024-01-01"), cfg}} {
		for pass := 0; pass < 2; pass++ {
			for _, h := range hs {
				if err := ComputeLifetime(h, T, &c.fit, c.cfg, &v); err != nil {
					t.Fatal(err)
				}
				s, _ := RFM(h.Orders, T)
				bg, gg := c.fit.BGNBD.BGNBD, c.fit.GammaGamma.GammaGamma
				lt := &c.cfg.Lifetime
				want := [3]float64{bg.PAlive(s), bg.ExpectedPurchases(float64(lt.HorizonDays)/7, s), clv.CLV(bg, gg, s, clv.CLVOptions{Months: lt.CLVMonths, AnnualDiscount: lt.Discount()})}
				if math.IsInf(gg.ExpectedSpend(s), 0) {
					want[2] = nan
				}
				got := [3]float64{v.Num[fPAlive], v.Num[fExpectedPurchases], v.Num[fCLV]}
				for k := range got {
					if !close12(got[k], want[k]) {
						t.Fatalf("%s: %s (%+v): feature %d = %v, clv gives %v", c.name, h.Customer.ID, s, k, got[k], want[k])
					}
				}
			}
		}
	}
}
