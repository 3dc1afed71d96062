package lifetime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func openFixture(t testing.TB, f fixture) *data.Dataset {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	f.write(t, dir)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

func defaultOptions(ds *data.Dataset, asOf string) Options {
	return Options{Dataset: ds, AsOf: day(asOf), HoldoutEnd: data.NoDate, HorizonDays: features.DefaultLifetimeHorizonDays, CLVMonths: features.DefaultLifetimeCLVMonths,
		AnnualDiscount: features.DefaultLifetimeAnnualDiscount, Workers: 2}
}

// TestGolden pins lifetime.json of a small synthetic dataset (regenerate
// with -update and review the diff).
func TestGolden(t *testing.T) {
	ds := openFixture(t, fixture{n: 400, seed: 1})
	r, err := Run(context.Background(), defaultOptions(ds, "2023-07-01"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "small.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("lifetime.json differs from %s (run with -update and review the diff):\n%s", golden, got)
	}
	// What the golden file must say, whatever the numbers.
	if r.Data.Fitted+int(r.Data.NoPurchaseBeforeAsOf) != 400 || r.Data.NoPurchaseBeforeAsOf != 0 {
		t.Errorf("data = %+v: every customer signed up before the as-of date", r.Data)
	}
	if r.Settings.CalibrationEnd != "2023-06-30" || r.Settings.HoldoutEnd == "" || r.Holdout == nil || len(r.Holdout.Buckets) != FrequencyBuckets {
		t.Errorf("settings %+v, holdout %+v", r.Settings, r.Holdout)
	}
	if !r.BGNBD.Converged || !r.GammaGamma.Converged {
		t.Errorf("fits did not converge: %+v %+v", r.BGNBD, r.GammaGamma)
	}
}

// TestNoLeakage changes every order on or after the as-of date (moved a day
// later, amounts doubled; or all moved to the as-of date's first instant):
// the models, scores and curves must not change, only the holdout's actual
// column may.
func TestNoLeakage(t *testing.T) {
	for _, tt := range []struct {
		probe      fixture
		holdoutEnd string
	}{
		{fixture{shiftAfter: "2023-07-01"}, "2023-12-01"},
		{fixture{pinAfter: "2023-07-01"}, "2023-07-02"},
	} {
		tt.probe.n, tt.probe.seed = 300, 2
		t.Run(fmt.Sprintf("%+v", tt.probe), func(t *testing.T) { testNoLeakage(t, tt.probe, tt.holdoutEnd) })
	}
}

func testNoLeakage(t *testing.T, probeFixture fixture, holdoutEnd string) {
	asOf := "2023-07-01"
	base := openFixture(t, fixture{n: 300, seed: 2})
	probe := openFixture(t, probeFixture)
	opt := defaultOptions(base, asOf)
	opt.HoldoutEnd = day(holdoutEnd)
	a, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Dataset = probe
	b, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, x, y any) {
		t.Helper()
		jx, _ := json.Marshal(x)
		jy, _ := json.Marshal(y)
		if !bytes.Equal(jx, jy) {
			t.Errorf("%s changed with orders after the as-of date:\n%s\n%s", name, jx, jy)
		}
	}
	same("bgnbd", a.BGNBD, b.BGNBD)
	same("gamma_gamma", a.GammaGamma, b.GammaGamma)
	same("clv", a.CLV, b.CLV)
	same("p_alive", a.PAlive, b.PAlive)
	same("kaplan_meier", a.KaplanMeier, b.KaplanMeier)
	pa, err := a.customersParquet("test")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.customersParquet("test")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pa, pb) {
		t.Error("customers.parquet changed with orders after the as-of date")
	}
	// The probe did change the data: the holdout (days moved) sees it.
	ja, _ := json.Marshal(a.Holdout)
	jb, _ := json.Marshal(b.Holdout)
	if bytes.Equal(ja, jb) {
		t.Errorf("the holdout did not see the moved orders: %s", ja)
	}
}

// TestWriteTwice: the same data gives byte-identical files.
func TestWriteTwice(t *testing.T) {
	ds := openFixture(t, fixture{n: 200, seed: 3})
	var files [2]map[string][]byte
	for k := range files {
		opt := defaultOptions(ds, "2023-08-01")
		opt.Workers = 1 + k // the split of the work must not matter
		r, err := Run(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		if err := r.Write(out, "test"); err != nil {
			t.Fatal(err)
		}
		files[k] = map[string][]byte{}
		for _, name := range []string{JSONFile, CustomersFile, HTMLFile} {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			files[k][name] = b
		}
	}
	for name, b := range files[0] {
		if !bytes.Equal(b, files[1][name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	html := string(files[0][HTMLFile])
	for _, want := range []string{`id="holdout-chart"`, `id="clv-chart"`, `id="km-chart"`, "not in the fit"} {
		if !strings.Contains(html, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("report.html has a script")
	}
}

func TestRunErrors(t *testing.T) {
	ds := openFixture(t, fixture{n: 50, seed: 4})
	noOrders := filepath.Join(t.TempDir(), "no-orders")
	fixture{n: 5, seed: 4}.write(t, noOrders)
	if err := os.Remove(filepath.Join(noOrders, "orders.parquet")); err != nil {
		t.Fatal(err)
	}
	dsNoOrders, err := data.Open(noOrders)
	if err != nil {
		t.Fatal(err)
	}
	defer dsNoOrders.Close()
	tests := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"no orders table", func(o *Options) { o.Dataset = dsNoOrders }, "dataset has no orders table"},
		{"no payments table", func(o *Options) { o.Events = EventsPayments }, "dataset has no payments table"},
		{"as-of before the first purchase", func(o *Options) { o.AsOf = day("2022-06-01") }, "no purchase before the as-of date: the first purchase is on 2023-01"},
		{"as-of after the data", func(o *Options) { o.AsOf = day("2030-01-01") }, "after the data's end"},
		{"holdout end after the data", func(o *Options) { o.HoldoutEnd = day("2030-01-01") }, "holdout end 2030-01-01 is after the data's end"},
		{"holdout end before as-of", func(o *Options) { o.HoldoutEnd = day("2023-06-01") }, "not after the as-of date"},
		{"unknown events", func(o *Options) { o.Events = "usage" }, `events "usage"`},
		{"bad horizon", func(o *Options) { o.HorizonDays = 0 }, "horizon 0 days"},
		{"bad discount", func(o *Options) { o.AnnualDiscount = math.NaN() }, "discount NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := defaultOptions(ds, "2023-07-01")
			tt.edit(&o)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("no purchase is ErrNoPurchases", func(t *testing.T) {
		o := defaultOptions(ds, "2022-06-01")
		if _, err := Run(context.Background(), o); !errors.Is(err, ErrNoPurchases) {
			t.Fatalf("error %v", err)
		}
	})
}

// TestNotFitted: customers whose first purchase is on or after the as-of
// date are counted, not fitted.
func TestNotFitted(t *testing.T) {
	ds := openFixture(t, fixture{n: 300, seed: 5, late: 20, silent: 10})
	r, err := Run(context.Background(), defaultOptions(ds, "2023-07-01"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Data.NoPurchaseBeforeAsOf != 30 || r.Data.Fitted != 300 || r.Data.Customers != 330 || len(r.cust.ids) != r.Data.Fitted {
		t.Errorf("data = %+v", r.Data)
	}
	for i := 1; i < len(r.cust.ids); i++ {
		if r.cust.ids[i] <= r.cust.ids[i-1] {
			t.Fatalf("customers not in customer_id order at %d: %s after %s", i, r.cust.ids[i], r.cust.ids[i-1])
		}
	}
}

func TestWriteRefusesOtherFolders(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "precious.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Report{}
	err := r.Write(out, "test")
	if err == nil || !strings.Contains(err.Error(), "not an earlier output") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "precious.txt")); err != nil {
		t.Fatal("the folder was touched")
	}
}

func TestLapse(t *testing.T) {
	first := day("2024-01-01")
	orders := func(days ...int) []data.Order {
		var o []data.Order
		for _, d := range days {
			o = append(o, data.Order{TS: (first + data.Date(d)).Start()})
		}
		return o
	}
	asOf := first + 365
	tests := []struct {
		name     string
		ev       []data.Order
		churn    data.Date
		useChurn bool
		time     float64
		event    bool
	}{
		{"regular buyer is censored", orders(0, 60, 120, 180, 240, 300, 360), data.NoDate, false, 364, false},
		{"first gap of 90 days", orders(0, 30, 200, 250), data.NoDate, false, 30 + 90, true},
		{"open gap past the lapse", orders(0, 80, 160, 240), data.NoDate, false, 240 + 90, true},
		{"gap of exactly 90 days lapses", orders(0, 90), data.NoDate, false, 90, true},
		{"open gap shorter than the lapse", orders(0, 80, 160, 240, 320), data.NoDate, false, 364, false},
		{"orders after as-of are ignored", orders(0, 80, 160, 240, 320, 500), data.NoDate, false, 364, false},
		{"churn date", orders(0, 30), first + 100, true, 100, true},
		{"churn after as-of is censored", orders(0), first + 400, true, 364, false},
		{"no churn date: censored", orders(0), data.NoDate, true, 364, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, ev := lapse(tt.ev, first, tt.churn, asOf, 90, tt.useChurn)
			if tm != tt.time || ev != tt.event {
				t.Errorf("lapse = %v, %v; want %v, %v", tm, ev, tt.time, tt.event)
			}
		})
	}
}

// TestPayments: paid and late invoices are purchases, failed, refunded and
// open ones are not.
func TestPayments(t *testing.T) {
	h := &data.History{Payments: []data.Payment{
		{InvoiceDate: day("2024-01-01"), Amount: 10, Status: "paid"},
		{InvoiceDate: day("2024-02-01"), Amount: 20, Status: "failed"},
		{InvoiceDate: day("2024-03-01"), Amount: 30, Status: "late"},
		{InvoiceDate: day("2024-04-01"), Amount: 40, Status: "refunded"},
		{InvoiceDate: day("2024-05-01"), Amount: 50, Status: "open"},
	}}
	got := purchases(h, EventsPayments, nil)
	if len(got) != 2 || got[0].Amount != 10 || got[1].Amount != 30 || got[1].TS != day("2024-03-01").Start() {
		t.Errorf("purchases = %+v", got)
	}
}

// TestPaymentsAsPurchases: the same purchases as paid invoices (with a
// failed invoice beside each) give the same fits and scores as orders.
func TestPaymentsAsPurchases(t *testing.T) {
	orders := openFixture(t, fixture{n: 300, seed: 6})
	payments := openFixture(t, fixture{n: 300, seed: 6, payments: true})
	a, err := Run(context.Background(), defaultOptions(orders, "2023-07-01"))
	if err != nil {
		t.Fatal(err)
	}
	o := defaultOptions(payments, "2023-07-01")
	o.Events = EventsPayments
	b, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal([]any{a.BGNBD, a.GammaGamma, a.Holdout, a.CLV, a.KaplanMeier})
	jb, _ := json.Marshal([]any{b.BGNBD, b.GammaGamma, b.Holdout, b.CLV, b.KaplanMeier})
	if !bytes.Equal(ja, jb) {
		t.Errorf("payments and orders differ:\n%s\n%s", ja, jb)
	}
	if b.Settings.Events != EventsPayments || b.Data.PurchaseEvents != a.Data.PurchaseEvents {
		t.Errorf("settings %+v, data %+v (orders %+v)", b.Settings, b.Data, a.Data)
	}
}

// TestKaplanMeierChurnDates: with churn dates in the data, the curves use
// them (churns before the as-of date only), not the lapse definition.
func TestKaplanMeierChurnDates(t *testing.T) {
	ds := openFixture(t, fixture{n: 300, seed: 7, churn: true})
	r, err := Run(context.Background(), defaultOptions(ds, "2023-07-01"))
	if err != nil {
		t.Fatal(err)
	}
	km := r.KaplanMeier
	if !strings.HasPrefix(km.Definition, "churned: the churn date") || km.Cohorts[0].Name != "all" {
		t.Fatalf("definition %q", km.Definition)
	}
	// Count the churns before the as-of date straight from the data.
	want := 0
	_, err = ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{Tables: []string{}}, func(h *data.History) error {
		if d := h.Customer.ChurnDate; d.Valid() && d < day("2023-07-01") {
			want++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if km.Cohorts[0].Churned != want || want == 0 || km.Cohorts[0].Subjects != 300 {
		t.Errorf("all: %d churned of %d, want %d", km.Cohorts[0].Churned, km.Cohorts[0].Subjects, want)
	}
}

func TestRunCancelled(t *testing.T) {
	ds := openFixture(t, fixture{n: 100, seed: 8})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, defaultOptions(ds, "2023-07-01")); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
}

// TestBoundaryFit: a calibration period too short to see dropout (ten
// weeks) puts BG/NBD's optimum on the boundary (a and b without bound):
// the run completes, its standard errors are null, not made up. (Scoring
// these parameters took minutes before internal/clv's E[Y(t)] fix:
// regression.)
func TestBoundaryFit(t *testing.T) {
	ds := openFixture(t, fixture{n: 300, seed: 5})
	r, err := Run(context.Background(), defaultOptions(ds, "2023-03-15"))
	if err != nil {
		t.Fatal(err)
	}
	if r.BGNBD.A.F() < 1e4 || r.BGNBD.SE.A.Valid() {
		t.Skipf("the optimum is no longer on the boundary (a = %v, se %v): nothing to check", r.BGNBD.A, r.BGNBD.SE.A)
	}
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"a": null`)) {
		t.Errorf("standard error of a is not null:\n%s", js[:min(len(js), 1500)])
	}
	if !r.CLV.Mean.Valid() || !r.PAlive.Mean.Valid() {
		t.Errorf("scores not finite: clv %+v p_alive %+v", r.CLV, r.PAlive)
	}
}
