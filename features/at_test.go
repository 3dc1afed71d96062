package features

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/churnlab/churn/data"
)

var atTables = []string{data.Subscriptions, data.UsageTable, data.Payments, data.Contacts, data.Tickets, data.Surveys, data.Signals, data.Orders}

// atHistories makes n random customers, each with one or two key dates.
func atHistories(r *rand.Rand, n int) ([]*data.History, []Key) {
	var hs []*data.History
	var keys []Key
	for i := range n {
		h := randomHistory(r)
		h.Customer.ID = fmt.Sprintf("K%03d", i)
		h.Customer.ChurnDate = data.NoDate
		if i%3 == 0 {
			h.Customer.ChurnDate = day("2024-06-01") + data.Date(r.IntN(300))
		}
		hs = append(hs, h)
		for k := 0; k <= i%2; k++ {
			keys = append(keys, Key{CustomerID: h.Customer.ID, AsOf: day("2023-06-01") + data.Date(r.IntN(700))})
		}
	}
	return hs, keys
}

func openAt(t *testing.T, hs []*data.History) (*data.Dataset, *Spec, LabelConfig) {
	t.Helper()
	dir := t.TempDir()
	writeDataset(t, dir, hs, atTables...)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	spec, lc, err := NewSpec(ds, Config{}, LabelConfig{Mode: LabelChurnDate, Horizon: 60})
	if err != nil {
		t.Fatal(err)
	}
	// Lifetime parameters as a model's spec carries them: fitted on this
	// dataset at a few dates between the keys.
	if spec.Lifetime, err = FitLifetime(context.Background(), ds, []data.Date{day("2023-09-01"), day("2024-03-01"), day("2024-09-01")}, 2); err != nil {
		t.Fatal(err)
	}
	return ds, spec, lc
}

// TestBuildAt checks that each key's row is Compute and Label on the
// customer's history at the key's date, that duplicate keys give one row,
// and that keys of unknown or inactive customers give none.
func TestBuildAt(t *testing.T) {
	r := newRand()
	hs, keys := atHistories(r, 30)
	keys = append(keys, keys[0], Key{CustomerID: "nobody", AsOf: day("2024-01-01")})
	ds, spec, lc := openAt(t, hs)
	tab, err := BuildAt(context.Background(), ds, spec, lc, keys, 2)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, h := range hs {
		h.Present = data.TableSet(0).With(data.Customers)
		for _, tb := range atTables {
			h.Present = h.Present.With(tb)
		}
		seen := map[data.Date]bool{}
		for _, k := range keys {
			if k.CustomerID != h.Customer.ID || seen[k.AsOf] {
				continue
			}
			seen[k.AsOf] = true
			i := tab.Lookup(k.CustomerID, k.AsOf)
			wantLabel, active := Label(h, k.AsOf, &lc)
			if !active {
				if i >= 0 {
					t.Errorf("%s at %s: a row for a customer who is not one then", k.CustomerID, k.AsOf)
				}
				continue
			}
			if i < 0 {
				t.Fatalf("no row for %s at %s", k.CustomerID, k.AsOf)
			}
			rows++
			if !approx(tab.Label[i], wantLabel) {
				t.Errorf("%s at %s: label %v, want %v", k.CustomerID, k.AsOf, tab.Label[i], wantLabel)
			}
			var v Values
			Compute(h, k.AsOf, &spec.Config, &v)
			fit, err := spec.LifetimeAt(k.AsOf)
			if err != nil {
				t.Fatal(err)
			}
			if err := ComputeLifetime(h, k.AsOf, fit, &spec.Config, &v); err != nil {
				t.Fatal(err)
			}
			for f, d := range spec.Features {
				if d.Kind == Categorical {
					if tab.Cat[f][i] != v.Cat[d.id] {
						t.Errorf("%s at %s: %s = %q, want %q", k.CustomerID, k.AsOf, d.Name, tab.Cat[f][i], v.Cat[d.id])
					}
				} else if got, want := tab.Num[f][i], v.Num[d.id]; math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Errorf("%s at %s: %s = %v, want %v", k.CustomerID, k.AsOf, d.Name, got, want)
				}
			}
		}
	}
	if rows != tab.Len() || rows < 20 {
		t.Errorf("%d rows checked, the table has %d", rows, tab.Len())
	}
	if tab.Lookup("nobody", day("2024-01-01")) != -1 {
		t.Error("a row for an unknown customer")
	}
}

// TestBuildAtNoLeakage is the leakage property for rows at keys: changing
// anything a customer's history holds on or after its key's date (the
// mutations of TestNoLeakage) changes none of its features there, the
// lifetime features (from the spec's frozen fits) included.
func TestBuildAtNoLeakage(t *testing.T) {
	r := newRand()
	hs, keys := atHistories(r, 40)
	// One key per customer: rows of another key between two dates may
	// legitimately change the later one's features.
	var one []Key
	at := map[string]data.Date{}
	for _, k := range keys {
		if _, ok := at[k.CustomerID]; !ok {
			at[k.CustomerID] = k.AsOf
			one = append(one, k)
		}
	}
	ds, spec, lc := openAt(t, hs)
	want, err := BuildAt(context.Background(), ds, spec, lc, one, 2)
	if err != nil {
		t.Fatal(err)
	}
	var future []*data.History
	for _, h0 := range hs {
		h := h0.Clone()
		for _, m := range mutations {
			m(r, h, at[h.Customer.ID])
		}
		h.SortByTime()
		future = append(future, h)
	}
	ds2, _, _ := openAt(t, future)
	// The same spec and label settings: the labels may differ, the
	// features may not.
	got, err := BuildAt(context.Background(), ds2, spec, lc, one, 2)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for i := range want.Len() {
		j := got.Lookup(want.IDs[i], want.AsOf[i])
		if j < 0 {
			continue // a churn date moved onto the key's date: no longer a customer then
		}
		compared++
		for f, d := range spec.Features {
			if d.Kind == Categorical {
				if want.Cat[f][i] != got.Cat[f][j] {
					t.Errorf("%s at %s: %s changed from %q to %q", want.IDs[i], want.AsOf[i], d.Name, want.Cat[f][i], got.Cat[f][j])
				}
			} else if a, b := want.Num[f][i], got.Num[f][j]; math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
				t.Errorf("%s at %s: %s changed from %v to %v", want.IDs[i], want.AsOf[i], d.Name, a, b)
			}
		}
	}
	if compared < 20 || compared < want.Len()*3/4 {
		t.Fatalf("only %d rows of %d compared", compared, want.Len())
	}
}
