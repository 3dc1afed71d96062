package synth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// shopParams is the shop the statistical tests share.
var shopParams = synth.Params{Customers: 6000, Months: 24, Seed: 7, Business: synth.BusinessEcommerce}

var shopShared onceDataset

// shopDataset generates the shop of shopParams once per test binary.
func shopDataset(t *testing.T) (string, *synth.Summary) {
	t.Helper()
	return shopShared.get(t, "shop", shopParams)
}

// TestShopDeterministic generates the same shop twice, with different
// numbers of workers, and compares the files byte for byte.
func TestShopDeterministic(t *testing.T) {
	p := synth.Params{Customers: 2100, Months: 12, Seed: 42, Business: synth.BusinessEcommerce} // three chunks
	a, b := filepath.Join(scratch, "shop-det-a"), filepath.Join(scratch, "shop-det-b")
	generate(t, a, p, synth.WriteOptions{Workers: 1})
	generate(t, b, p, synth.WriteOptions{Workers: 3})
	for _, name := range []string{data.Customers + ".parquet", data.Orders + ".parquet", synth.TruthFile} {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs (%d and %d bytes)", name, len(x), len(y))
		}
	}
	c := filepath.Join(scratch, "shop-det-c")
	p.Seed = 43
	generate(t, c, p, synth.WriteOptions{})
	if bytes.Equal(readFile(t, a, data.Orders), readFile(t, c, data.Orders)) {
		t.Error("seeds 42 and 43 gave the same orders")
	}
}

// TestShopCustomersIndependentOfCount checks that the first customers of
// a shop do not change when more customers are generated.
func TestShopCustomersIndependentOfCount(t *testing.T) {
	small, large := filepath.Join(scratch, "shop-indep-small"), filepath.Join(scratch, "shop-indep-large")
	p := synth.Params{Customers: 300, Months: 12, Seed: 3, Business: synth.BusinessEcommerce}
	generate(t, small, p, synth.WriteOptions{})
	p.Customers = 1500
	generate(t, large, p, synth.WriteOptions{})
	hs, hl := histories(t, small), histories(t, large)
	if len(hs) != 300 || len(hl) != 1500 {
		t.Fatalf("got %d and %d customers", len(hs), len(hl))
	}
	for i := range hs {
		a, b := hs[i], hl[i]
		if a.Customer.ID != b.Customer.ID || a.Customer.SignupDate != b.Customer.SignupDate || !slices.Equal(a.Orders, b.Orders) {
			t.Fatalf("customer %s differs between 300 and 1500 customers", a.Customer.ID)
		}
	}
}

// TestShopOutputUnchanged pins the bytes of a small shop: the SHA-256 of
// each file in testdata/shop_hashes.golden, and the first customers'
// rows, readable, in testdata/shop_sample.golden (rewrite both with go
// test ./data/synth -run TestShopOutputUnchanged -update, only when a
// change of the generated data is intended, and review the sample's diff).
func TestShopOutputUnchanged(t *testing.T) {
	dir := filepath.Join(scratch, "shop-golden")
	p := synth.Params{Customers: 400, Months: 13, Seed: 9, End: data.MakeDate(2024, 6, 15), Business: synth.BusinessEcommerce}
	generate(t, dir, p, synth.WriteOptions{Compression: "zstd"})
	var hashes strings.Builder
	for _, name := range []string{data.Customers + ".parquet", data.Orders + ".parquet", synth.TruthFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&hashes, "%x  %s\n", sha256.Sum256(b), name)
	}
	var sample strings.Builder
	for i, h := range histories(t, dir)[:6] {
		c := &h.Customer
		tr := synth.ShopTruthOf(p, i)
		fmt.Fprintf(&sample, "%s signup %s segment %s region %s channel %s; truth: lambda %.3f/week p %.3f repeats %d dropout %s decline %v from %s\n",
			c.ID, c.SignupDate, c.Segment, c.Region, c.Attrs[0].Str, tr.Lambda, tr.P, tr.Repeats, dateOrNone(tr.Dropout), tr.Decline, dateOrNone(tr.DeclineStart))
		for _, o := range h.Orders {
			fmt.Fprintf(&sample, "  %s  %8.2f  %d\n", o.TS.Time().Format("2006-01-02T15:04:05.000000Z"), o.Amount, o.Items)
		}
	}
	for _, g := range []struct{ path, got string }{
		{"testdata/shop_hashes.golden", hashes.String()},
		{"testdata/shop_sample.golden", sample.String()},
	} {
		if *update {
			if err := os.WriteFile(g.path, []byte(g.got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(g.path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if g.got != string(want) {
			t.Errorf("generated shop differs from %s:\n%s", g.path, g.got)
		}
	}
}

// TestShopOutputOpensAndScans checks the shop's contract: customers and
// orders only, exact schemas, channel as an attribute, and a clean scan.
func TestShopOutputOpensAndScans(t *testing.T) {
	dir, sum := shopDataset(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{synth.TruthFile, "customers.parquet", "orders.parquet"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if got := synth.TablesOf(synth.BusinessEcommerce); !slices.Equal(got, []string{data.Customers, data.Orders}) {
		t.Errorf("TablesOf(ecommerce) = %v", got)
	}
	for _, name := range synth.ShopTables {
		checkSchema(t, filepath.Join(dir, name+".parquet"), synth.BusinessEcommerce, name)
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if want := []data.AttrColumn{{Name: "channel", Type: data.TypeString}}; !slices.Equal(ds.Table(data.Customers).Attrs, want) {
		t.Errorf("customer attributes = %v, want %v", ds.Table(data.Customers).Attrs, want)
	}
	for _, col := range []string{"plan", "seats", "mrr", "contract_end", "owner", "churn_date", "churned"} {
		if ds.Table(data.Customers).Files[0].HasColumn(col) {
			t.Errorf("customers has column %s", col)
		}
	}
	st, err := ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{}, func(h *data.History) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if st.Customers != int64(shopParams.Customers) || st.Rows[data.Orders] != sum.Rows(data.Orders) || st.Orphans[data.Orders] != 0 {
		t.Errorf("scanned %d customers, %d orders (%d orphans); generated %d orders", st.Customers, st.Rows[data.Orders], st.Orphans[data.Orders], sum.Rows(data.Orders))
	}
	if v, ok := ds.Table(data.Orders).Files[0].Metadata("churn.synth"); !ok || !strings.HasSuffix(v, " business=ecommerce") {
		t.Errorf("churn.synth metadata %q", v)
	}
}

// TestShopHistoriesConsistent checks, customer by customer, what does not
// depend on chance: the data agrees with ShopTruthOf, the first order is
// on the signup day, nothing follows the dropout, and the truth file
// counts what the customers say.
func TestShopHistoriesConsistent(t *testing.T) {
	dir, sum := shopDataset(t)
	p := shopParams
	p.EnsureDefaults()
	start, end := p.Start(), p.End
	var dropped, declined int64
	for i, h := range histories(t, dir) {
		c := &h.Customer
		tr := synth.ShopTruthOf(p, i)
		if err := func() error {
			switch {
			case tr.ID != c.ID || tr.Signup != c.SignupDate || tr.Segment != c.Segment:
				return fmt.Errorf("truth %+v does not match customer %+v", tr, *c)
			case c.SignupDate < start || c.SignupDate > end || c.ChurnDate.Valid() || c.Churned >= 0 || c.Plan != "" || c.Region == "":
				return fmt.Errorf("customer row %+v", *c)
			case len(h.Orders) == 0 || h.Orders[0].TS.Date() != c.SignupDate:
				return fmt.Errorf("first order %v, signup %s", h.Orders, c.SignupDate)
			case len(h.Subscriptions)+len(h.Usage)+len(h.Payments)+len(h.ChurnEvents) > 0:
				return fmt.Errorf("SaaS rows in a shop")
			case tr.Lambda <= 0 || tr.P <= 0 || tr.P >= 1 || tr.Repeats < 1:
				return fmt.Errorf("truth %+v", tr)
			}
			last := h.Orders[len(h.Orders)-1].TS.Date()
			if tr.DroppedOut() && (last != tr.Dropout || len(h.Orders) != tr.Repeats+1) {
				return fmt.Errorf("dropped out on %s after %d repeats; last order %s, %d orders", tr.Dropout, tr.Repeats, last, len(h.Orders))
			}
			if !tr.DroppedOut() && len(h.Orders) > tr.Repeats {
				return fmt.Errorf("%d orders but %d repeats and no dropout in the period", len(h.Orders), tr.Repeats)
			}
			for k, o := range h.Orders {
				if o.Amount < 1 || o.Items < 1 || o.TS.Date() > end || k > 0 && o.TS < h.Orders[k-1].TS {
					return fmt.Errorf("order %d %+v", k, o)
				}
			}
			return nil
		}(); err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		if tr.DroppedOut() {
			dropped++
			if tr.Decline {
				declined++
			}
		}
	}
	truth, err := synth.ReadTruth(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal([]int64{sum.Churned, truth.Shop.DroppedOut, truth.Shop.AfterDecline}, []int64{dropped, dropped, declined}) ||
		truth.Params.Business != synth.BusinessEcommerce || truth.Shop.R != synth.Shop.R || truth.Interventions != nil {
		t.Errorf("summary %d dropped, truth %+v %+v; customers say %d dropped, %d after a decline", sum.Churned, truth.Params, *truth.Shop, dropped, declined)
	}
}

// TestShopModel checks the hidden population against the planted model:
// the means of λ and p, the decline share, and the geometric number of
// repeat purchases before dropout.
func TestShopModel(t *testing.T) {
	p := shopParams
	m := synth.Shop
	n := 20000
	var lambda, prob, decline, one, upTo3 float64
	for i := range n {
		tr := synth.ShopTruthOf(p, i)
		lambda += tr.Lambda
		prob += tr.P
		decline += boolf(tr.Decline)
		one += boolf(tr.Repeats == 1)
		upTo3 += boolf(tr.Repeats <= 3)
	}
	nf := float64(n)
	// Repeats is geometric given p: P(Repeats ≤ k) = 1 − E[(1 − p)^k], and
	// E[(1 − p)^k] = Π_{j<k} (b + j)/(a + b + j) for p ~ Beta(a, b).
	survive := func(k int) float64 {
		s := 1.0
		for j := range k {
			s *= (m.B + float64(j)) / (m.A + m.B + float64(j))
		}
		return s
	}
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"mean λ (repeat purchases a week)", lambda / nf, m.R / m.Alpha, 0.03 * m.R / m.Alpha},
		{"mean p (dropout after a repeat purchase)", prob / nf, m.A / (m.A + m.B), 0.005},
		{"decline share", decline / nf, m.DeclineShare, 0.015},
		{"P(repeats = 1)", one / nf, 1 - survive(1), 0.01},
		{"P(repeats ≤ 3)", upTo3 / nf, 1 - survive(3), 0.015},
	}
	for _, c := range checks {
		t.Logf("%s: %.4f (planted %.4f)", c.name, c.got, c.want)
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.4f, want %.4f ± %.4f", c.name, c.got, c.want, c.tol)
		}
	}
}

// shopRateRatio returns the customer's orders in the 90 days before asOf
// against its own earlier rate (as order_rate_ratio_90d computes it), and
// the mean amount of those orders against the earlier mean; ok is false
// without 90 days of earlier history and an earlier order.
func shopRateRatio(h *data.History, asOf data.Date) (rate, basket float64, ok bool) {
	first := h.Orders[0].TS.Date()
	earlier := float64(asOf - 90 - first)
	if earlier < 90 {
		return 0, 0, false
	}
	var nRecent, nBefore, sRecent, sBefore float64
	for _, o := range h.Orders {
		switch d := o.TS.Date(); {
		case d >= asOf:
		case d >= asOf-90:
			nRecent++
			sRecent += o.Amount
		default:
			nBefore++
			sBefore += o.Amount
		}
	}
	if nBefore == 0 || nRecent == 0 {
		return 0, 0, false
	}
	return nRecent / (nBefore / earlier * 90), (sRecent / nRecent) / (sBefore / nBefore), true
}

// TestShopPlantedDecline checks that the planted warning sign shows in the
// data: looked at the day after their dropout, customers whose purchase
// rate declined bought less often and in smaller baskets in the last 90
// days, against their own earlier rate, than customers who dropped out
// without a decline; and the dropout share is plausible.
func TestShopPlantedDecline(t *testing.T) {
	dir, sum := shopDataset(t)
	p := shopParams
	p.EnsureDefaults()
	var rate, basket [2][]float64 // without, with decline
	for i, h := range histories(t, dir) {
		tr := synth.ShopTruthOf(p, i)
		if !tr.DroppedOut() {
			continue
		}
		k := 0
		if tr.Decline {
			k = 1
		}
		if r, b, ok := shopRateRatio(h, tr.Dropout+1); ok {
			rate[k] = append(rate[k], r)
			basket[k] = append(basket[k], b)
		}
	}
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	median := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	t.Logf("order rate ratio before dropout: median %.2f with a decline (n=%d), %.2f without (n=%d)",
		median(rate[1]), len(rate[1]), median(rate[0]), len(rate[0]))
	t.Logf("basket ratio before dropout: mean %.2f with a decline, %.2f without", mean(basket[1]), mean(basket[0]))
	if len(rate[0]) < 100 || len(rate[1]) < 150 {
		t.Fatalf("too few observed dropouts: %d and %d", len(rate[0]), len(rate[1]))
	}
	if r := median(rate[1]) / median(rate[0]); r > 0.8 {
		t.Errorf("median order rate ratio with a decline / without = %.2f, want at most 0.8", r)
	}
	if r := mean(basket[1]) / mean(basket[0]); r > 0.8 {
		t.Errorf("mean basket ratio with a decline / without = %.2f, want at most 0.8", r)
	}
	// With the planted λ and p, about a third of the customers, who join
	// over the two years, drop out within them (0.33 at seed 7); the share that dropped out
	// after a decline is the planted one.
	share := float64(sum.Churned) / float64(p.Customers)
	after := float64(sum.Truth.Shop.AfterDecline) / float64(sum.Churned)
	t.Logf("dropped out within the period: %.3f; after a decline: %.3f", share, after)
	if share < 0.25 || share > 0.45 {
		t.Errorf("dropout share %.3f, want 0.25–0.45", share)
	}
	if math.Abs(after-synth.Shop.DeclineShare) > 0.04 {
		t.Errorf("share of dropouts after a decline %.3f, want %.2f ± 0.04", after, synth.Shop.DeclineShare)
	}
}

// TestShopRepeatPurchases checks that the purchase counts look like a
// shop's: among customers of a year or more, a sizeable share never
// came back, most bought again, a few bought very often, and the mean
// order value is the planted Gamma-Gamma mean.
func TestShopRepeatPurchases(t *testing.T) {
	dir, _ := shopDataset(t)
	p := shopParams
	p.EnsureDefaults()
	var n, none, many, spend, orders float64
	for _, h := range histories(t, dir) {
		for _, o := range h.Orders {
			if h.Customer.Segment == "consumer" {
				spend += o.Amount
				orders++
			}
		}
		if p.End-h.Customer.SignupDate < 365 {
			continue
		}
		n++
		repeats := float64(len(h.Orders) - 1)
		none += boolf(repeats == 0)
		many += boolf(repeats >= 20)
	}
	m := synth.Shop
	wantSpend := m.P * m.Gamma / (m.Q - 1)
	t.Logf("customers of a year or more: %.0f; no repeat %.3f, 20 or more %.3f; mean consumer order %.2f (planted %.2f)",
		n, none/n, many/n, spend/orders, wantSpend)
	if s := none / n; s < 0.08 || s > 0.3 {
		t.Errorf("share without a repeat purchase %.3f, want 0.08–0.3", s)
	}
	if s := many / n; s < 0.02 || s > 0.12 {
		t.Errorf("share with 20 or more repeat purchases %.3f, want 0.02–0.12", s)
	}
	// Decliners' last orders are smaller, so the mean is a little lower.
	if r := spend / orders / wantSpend; r < 0.8 || r > 1.05 {
		t.Errorf("mean consumer order %.2f, planted %.2f", spend/orders, wantSpend)
	}
}

func dateOrNone(d data.Date) string {
	if !d.Valid() {
		return "none"
	}
	return d.String()
}

func BenchmarkGenerateShop(b *testing.B) {
	p := synth.Params{Customers: 100_000, Months: 24, Seed: 1, Business: synth.BusinessEcommerce}
	dir := b.TempDir()
	b.ReportAllocs()
	var rows int64
	for b.Loop() {
		sum, err := synth.Generate(context.Background(), filepath.Join(dir, "out"), p, synth.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rows = sum.Rows(data.Customers) + sum.Rows(data.Orders)
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(p.Customers)*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}
