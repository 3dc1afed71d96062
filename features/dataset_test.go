package features

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// writeDataset writes histories (sorted by customer id) as a contract
// dataset in dir, one file per table in tables.
func writeDataset(t testing.TB, dir string, hs []*data.History, tables ...string) {
	t.Helper()
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b *data.History) int {
		switch {
		case a.Customer.ID < b.Customer.ID:
			return -1
		case a.Customer.ID > b.Customer.ID:
			return 1
		}
		return 0
	})
	for _, name := range append([]string{data.Customers}, tables...) {
		tb, _ := data.LookupTable(name)
		specs := data.Specs(tb)
		cols := make([]data.Vec, len(specs))
		for i, s := range specs {
			cols[i] = data.NewVec(s.Type)
		}
		n := 0
		str := func(v *data.Vec, s string) {
			if s == "" {
				v.AppendNull()
			} else {
				v.AppendString(s)
			}
		}
		boolv := func(v *data.Vec, b int8) {
			if b < 0 {
				v.AppendNull()
			} else {
				v.AppendBool(b == 1)
			}
		}
		for _, h := range hs {
			id := h.Customer.ID
			row := func(f ...func()) {
				cols[0].AppendString(id)
				for _, g := range f {
					g()
				}
				n++
			}
			c := cols
			switch name {
			case data.Customers:
				x := h.Customer
				row(func() { c[1].AppendDate(x.SignupDate) }, func() { str(&c[2], x.Plan) }, func() { str(&c[3], x.Segment) }, func() { str(&c[4], x.Region) },
					func() { c[5].AppendInt(x.Seats) }, func() { c[6].AppendFloat(x.MRR) }, func() { c[7].AppendDate(x.ContractEnd) }, func() { str(&c[8], x.Owner) },
					func() { c[9].AppendDate(x.ChurnDate) }, func() { boolv(&c[10], x.Churned) })
			case data.Subscriptions:
				for _, s := range h.Subscriptions {
					row(func() { c[1].AppendDate(s.Start) }, func() { c[2].AppendDate(s.End) }, func() { c[3].AppendString(s.Plan) }, func() { c[4].AppendInt(s.Seats) },
						func() { c[5].AppendFloat(s.MRR) }, func() { str(&c[6], s.BillingFrequency) }, func() { boolv(&c[7], s.AutoRenew) })
				}
			case data.UsageTable:
				for _, u := range h.Usage {
					row(func() { c[1].AppendDate(u.Date) }, func() { c[2].AppendInt(u.ActiveUsers) }, func() { c[3].AppendInt(u.Sessions) }, func() { c[4].AppendFloat(u.Minutes) }, func() { str(&c[5], u.Feature) })
				}
			case data.Payments:
				for _, p := range h.Payments {
					row(func() { c[1].AppendDate(p.InvoiceDate) }, func() { c[2].AppendDate(p.DueDate) }, func() { c[3].AppendDate(p.PaidDate) }, func() { c[4].AppendFloat(p.Amount) },
						func() { c[5].AppendString(p.Status) }, func() { str(&c[6], p.PlanChange) }, func() { str(&c[7], p.Method) })
				}
			case data.Contacts:
				for _, x := range h.Contacts {
					row(func() { c[1].AppendTime(x.TS) }, func() { c[2].AppendString(x.Kind) }, func() { str(&c[3], x.Role) }, func() { str(&c[4], x.Channel) }, func() { str(&c[5], x.Direction) })
				}
			case data.Tickets:
				for _, x := range h.Tickets {
					row(func() { c[1].AppendTime(x.OpenedAt) }, func() { c[2].AppendTime(x.ClosedAt) }, func() { c[3].AppendString(x.Priority) }, func() { str(&c[4], x.Category) },
						func() { c[5].AppendBool(x.Escalated) }, func() { c[6].AppendInt(x.CSAT) })
				}
			case data.Surveys:
				for _, x := range h.Surveys {
					row(func() { c[1].AppendTime(x.TS) }, func() { c[2].AppendInt(x.NPS) })
				}
			case data.Signals:
				for _, x := range h.Signals {
					row(func() { c[1].AppendTime(x.TS) }, func() { c[2].AppendString(x.Kind) })
				}
			case data.Orders:
				for _, x := range h.Orders {
					row(func() { c[1].AppendTime(x.TS) }, func() { c[2].AppendFloat(x.Amount) }, func() { c[3].AppendInt(x.Items) })
				}
			case data.ChurnEvents:
				for _, x := range h.ChurnEvents {
					row(func() { c[1].AppendDate(x.ChurnDate) }, func() { str(&c[2], x.Reason) }, func() { c[3].AppendDate(x.ReactivatedAt) })
				}
			}
		}
		f, err := data.CreateAtomic(filepath.Join(dir, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := data.NewWriter(f, specs, data.WriterOptions{RowGroupRows: 7})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(n, cols); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBuildRoundTrip writes histories as Parquet, builds the feature table
// and checks each row equals Compute on the in-memory history.
func TestBuildRoundTrip(t *testing.T) {
	dir := t.TempDir()
	r := newRand()
	hs := []*data.History{fixture()}
	for i := 0; i < 40; i++ {
		h := randomHistory(r)
		h.Customer.ID = "R" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		h.Customer.ChurnDate = data.NoDate
		if i%4 == 0 {
			h.Customer.ChurnDate = day("2024-08-01") + data.Date(i)
		}
		hs = append(hs, h)
	}
	tables := []string{data.Subscriptions, data.UsageTable, data.Payments, data.Contacts, data.Tickets, data.Surveys, data.Signals, data.Orders}
	writeDataset(t, dir, hs, tables...)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	out := filepath.Join(t.TempDir(), "f.parquet")
	dates := []data.Date{day("2024-04-01"), fixtureT}
	spec, st, err := BuildFile(context.Background(), ds, BuildOptions{AsOf: dates, Label: LabelConfig{Mode: LabelChurnDate}, Workers: 3}, out)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Label.Mode != LabelChurnDate || len(spec.Features) < 50 {
		t.Fatalf("spec: mode %s, %d features", spec.Label.Mode, len(spec.Features))
	}
	tab, err := ReadTable(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if int64(tab.Len()) != st.Rows || st.Rows == 0 {
		t.Fatalf("read %d rows, built %d", tab.Len(), st.Rows)
	}
	cfg := spec.Config
	lc := LabelConfig{Mode: LabelChurnDate, Horizon: 90, DataEnd: day(spec.Label.DataEnd)}
	byID := map[string]*data.History{}
	for _, h := range hs {
		h.Present = data.TableSet(0).With(data.Customers)
		for _, tb := range tables {
			h.Present = h.Present.With(tb)
		}
		byID[h.Customer.ID] = h
	}
	var rows int
	for _, h := range hs {
		for _, T := range dates {
			wantLabel, active := Label(h, T, &lc)
			if !active {
				continue
			}
			rows++
			i := slices.IndexFunc(tab.IDs, func(id string) bool { return id == h.Customer.ID })
			for i < tab.Len() && tab.IDs[i] == h.Customer.ID && tab.AsOf[i] != T {
				i++
			}
			if i < 0 || i >= tab.Len() || tab.IDs[i] != h.Customer.ID {
				t.Fatalf("no row for %s at %s", h.Customer.ID, T)
			}
			if !approx(tab.Label[i], wantLabel) {
				t.Errorf("%s at %s: label %v, want %v", h.Customer.ID, T, tab.Label[i], wantLabel)
			}
			var v Values
			Compute(h, T, &cfg, &v)
			fit, err := spec.LifetimeAt(T)
			if err != nil || fit == nil || fit.AsOf != T.String() {
				t.Fatalf("at %s: lifetime fit %+v (%v), want the fit of %s", T, fit, err, T)
			}
			if err := ComputeLifetime(h, T, fit, &cfg, &v); err != nil {
				t.Fatal(err)
			}
			for k, d := range spec.Features {
				if d.Kind == Categorical {
					if tab.Cat[k][i] != v.Cat[d.id] {
						t.Errorf("%s at %s: %s = %q, want %q", h.Customer.ID, T, d.Name, tab.Cat[k][i], v.Cat[d.id])
					}
					continue
				}
				if got, want := tab.Num[k][i], v.Num[d.id]; math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
					t.Errorf("%s at %s: %s = %v, want %v", h.Customer.ID, T, d.Name, got, want)
				}
			}
		}
	}
	if rows != tab.Len() {
		t.Errorf("table has %d rows, want %d", tab.Len(), rows)
	}

	// A spec read back from the file (as models store it) builds the same
	// rows: the builder finds features by name, not by position.
	b, err := NewBuilder(ds, tab.Spec, lc)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Table
	if _, err := b.Run(context.Background(), dates, 2, false, func(bt *Batch) error {
		parts = append(parts, bt.Table(tab.Spec))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again := Concat(tab.Spec, parts)
	if again.Len() != tab.Len() {
		t.Fatalf("rebuilt %d rows, want %d", again.Len(), tab.Len())
	}
	for k, d := range tab.Spec.Features {
		for i := 0; i < tab.Len(); i++ {
			if d.Kind == Categorical {
				if again.Cat[k][i] != tab.Cat[k][i] {
					t.Fatalf("row %d %s: rebuilt %q, want %q", i, d.Name, again.Cat[k][i], tab.Cat[k][i])
				}
			} else if got, want := again.Num[k][i], tab.Num[k][i]; math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Fatalf("row %d %s: rebuilt %v, want %v", i, d.Name, got, want)
			}
		}
	}
	if !slices.IsSortedFunc(tab.IDs, func(a, b string) int {
		if a < b {
			return -1
		} else if a > b {
			return 1
		}
		return 0
	}) {
		t.Error("rows are not in customer order")
	}

}

// TestBuildAsOfOutsideData checks that an as-of date outside the data is
// an error naming the data's first and last dates, not a table of zero or
// unlabelled rows that train later refuses with a misleading label error
// (issue 9, item 14).
func TestBuildAsOfOutsideData(t *testing.T) {
	ds := randomDataset(t, 10)
	first, last := DataRange(ds)
	if first == data.NoDate || last == data.NoDate || first >= last {
		t.Fatalf("DataRange = %s, %s", first, last)
	}
	tests := []struct {
		name  string
		dates []data.Date
		end   data.Date // --data-end; NoDate: inferred
		bad   string    // the date named in the error; "" = no error
	}{
		{"far past", []data.Date{day("1800-01-01")}, data.NoDate, "1800-01-01"},
		{"far future", []data.Date{day("9999-12-31")}, data.NoDate, "9999-12-31"},
		{"on the first day: no history before it", []data.Date{first}, data.NoDate, first.String()},
		{"one snapshot of several outside", []data.Date{first.AddDays(30), last.AddDays(40)}, data.NoDate, last.AddDays(40).String()},
		{"the day after the data end: scoring", []data.Date{last.AddDays(1)}, data.NoDate, ""},
		{"two days after the data end", []data.Date{last.AddDays(2)}, data.NoDate, last.AddDays(2).String()},
		{"after the inferred end, within an explicit one", []data.Date{last.AddDays(10)}, last.AddDays(20), ""},
		{"inside", []data.Date{first.AddDays(1), last}, data.NoDate, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "f.parquet")
			_, _, err := BuildFile(context.Background(), ds, BuildOptions{AsOf: tt.dates, Label: LabelConfig{Mode: LabelChurnDate, DataEnd: tt.end}, Workers: 1}, out)
			if tt.bad == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrAsOfOutsideData) {
				t.Fatalf("err = %v, want ErrAsOfOutsideData", err)
			}
			end := last
			if tt.end != data.NoDate {
				end = tt.end
			}
			for _, want := range []string{tt.bad, first.String(), end.String()} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Error("a table was written")
			}
		})
	}
}

// randomDataset writes n random customers (ids C000…) with usage and
// tickets and opens the dataset; it is closed when the test ends.
func randomDataset(t *testing.T, n int) *data.Dataset {
	t.Helper()
	dir := t.TempDir()
	r := newRand()
	var hs []*data.History
	for i := 0; i < n; i++ {
		h := randomHistory(r)
		h.Customer.ID = fmt.Sprintf("C%03d", i)
		hs = append(hs, h)
	}
	writeDataset(t, dir, hs, data.UsageTable, data.Tickets)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}
