package imports

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
)

// The four public data sets in /work/shared/data, imported with the shipped
// example mappings. Expected counts were checked by hand against the files
// (Python's csv module and awk): see docs/import.md.
func TestImportSharedDatasets(t *testing.T) {
	tests := []struct {
		name    string
		rows    map[string]int64 // rows per output table
		churned int64            // -1: no churned column
		nulls   map[string]int64 // "table.column" → blanks read as null
		check   func(t *testing.T, sum *Summary, cust map[string]*data.History, attrs []data.AttrColumn)
	}{
		{
			name:    "telco",
			rows:    map[string]int64{data.Customers: 7043},
			churned: 1869,
			nulls:   map[string]int64{"customers.TotalCharges": 11},
			check: func(t *testing.T, sum *Summary, cust map[string]*data.History, attrs []data.AttrColumn) {
				c := cust["7590-VHVEG"]
				if c == nil {
					t.Fatal("customer 7590-VHVEG missing")
				}
				if c.Customer.Plan != "Month-to-month" || c.Customer.MRR != 29.85 || c.Customer.Churned != 0 || c.Customer.ChurnDate.Valid() {
					t.Errorf("7590-VHVEG = %+v", c.Customer)
				}
				if a := attr(t, attrs, c, "TotalCharges"); a.Num != 29.85 {
					t.Errorf("TotalCharges = %+v", a)
				}
				if a := attr(t, attrs, c, "Partner"); a.Num != 1 {
					t.Errorf("Partner = %+v, want true (Yes)", a)
				}
				if a := attr(t, attrs, c, "InternetService"); a.Str != "DSL" {
					t.Errorf("InternetService = %+v", a)
				}
				if cust["3668-QPYBK"].Customer.Churned != 1 {
					t.Error("3668-QPYBK should be churned")
				}
				// The 11 blank TotalCharges are the tenure-0 customers.
				blank := 0
				for _, h := range cust {
					if attr(t, attrs, h, "TotalCharges").Null {
						blank++
						if attr(t, attrs, h, "tenure").Num != 0 {
							t.Errorf("%s: blank TotalCharges with tenure %v", h.Customer.ID, attr(t, attrs, h, "tenure").Num)
						}
					}
				}
				if blank != 11 {
					t.Errorf("%d blank TotalCharges, want 11", blank)
				}
				want := map[string]data.Type{"SeniorCitizen": data.TypeBool, "tenure": data.TypeFloat64, "TotalCharges": data.TypeFloat64, "gender": data.TypeString, "PaperlessBilling": data.TypeBool}
				for _, a := range attrs {
					if w, ok := want[a.Name]; ok && a.Type != w {
						t.Errorf("attribute %s read as %s, want %s", a.Name, a.Type, w)
					}
				}
				if len(attrs) != 17 {
					t.Errorf("%d attributes, want 17 (21 columns less customerID, Contract, MonthlyCharges, Churn)", len(attrs))
				}
			},
		},
		{
			name:    "orange",
			rows:    map[string]int64{data.Customers: 2666},
			churned: 388,
			check: func(t *testing.T, sum *Summary, cust map[string]*data.History, attrs []data.AttrColumn) {
				c := cust["orange-0001"]
				if c == nil || c.Customer.Region != "KS" || c.Customer.Churned != 0 {
					t.Fatalf("orange-0001 = %+v", c)
				}
				if a := attr(t, attrs, c, "account_length"); a.Num != 128 {
					t.Errorf("account_length = %+v", a)
				}
				if a := attr(t, attrs, c, "area_code"); a.Str != "415" {
					t.Errorf("area_code = %+v (declared string)", a)
				}
				if a := attr(t, attrs, c, "voice_mail_plan"); a.Num != 1 {
					t.Errorf("voice_mail_plan = %+v", a)
				}
				if last := cust["orange-2666"]; last == nil || last.Customer.Region != "TN" {
					t.Errorf("last row = %+v", last)
				}
			},
		},
		{
			name: "ravenstack",
			rows: map[string]int64{data.Customers: 500, data.Subscriptions: 5000, data.UsageTable: 25000, data.Tickets: 2000, data.ChurnEvents: 600},
			// accounts.churn_flag is TRUE for 110 accounts; churn_flag wins.
			churned: 110,
			nulls:   map[string]int64{"subscriptions.end_date": 4514, "tickets.csat": 825},
			check: func(t *testing.T, sum *Summary, cust map[string]*data.History, attrs []data.AttrColumn) {
				l := sum.Label
				// 75 flagged accounts have events, 35 have none, and 277
				// unflagged accounts have events (checked with Python).
				if l == nil || l.Churned != 110 || l.WithChurnDate != 75 || l.ChurnedWithoutEvents != 35 || l.EventsWithoutChurned != 277 {
					t.Errorf("label = %+v", l)
				}
				c := cust["A-1e50e0"] // churned, events 2023-11-01 and 2024-04-26
				if c.Customer.Churned != 1 || c.Customer.ChurnDate != date(t, "2024-04-26") || len(c.ChurnEvents) != 2 {
					t.Errorf("A-1e50e0 = %+v, events %+v", c.Customer, c.ChurnEvents)
				}
				if c.Customer.Plan != "Pro" || c.Customer.Seats != 19 || c.Customer.SignupDate != date(t, "2023-02-21") {
					t.Errorf("A-1e50e0 = %+v", c.Customer)
				}
				if a := attr(t, attrs, c, "is_trial"); a.Num != 1 {
					t.Errorf("is_trial = %+v", a)
				}
				if a := attr(t, attrs, c, "industry"); a.Str != "Cybersecurity" {
					t.Errorf("industry = %+v", a)
				}
				c = cust["A-712f1c"]
				if len(c.Tickets) != 6 {
					t.Fatalf("A-712f1c tickets = %+v", c.Tickets)
				}
				tk := c.Tickets[0] // T-0024de,A-712f1c,2023-07-27,2023-07-28 3:00,...,high,74,,FALSE
				if tk.OpenedAt.Time() != time.Date(2023, 7, 27, 0, 0, 0, 0, time.UTC) || tk.ClosedAt.Time() != time.Date(2023, 7, 28, 3, 0, 0, 0, time.UTC) ||
					tk.Priority != "high" || tk.Escalated || tk.CSAT != data.NullInt {
					t.Errorf("ticket = %+v", tk)
				}
				if tk := c.Tickets[4]; tk.CSAT != 4 || tk.ClosedAt.Time() != time.Date(2024, 2, 28, 19, 0, 0, 0, time.UTC) {
					t.Errorf("ticket T-81a9e7 = %+v", tk)
				}
				var usage, withFeature int
				for _, h := range cust {
					usage += len(h.Usage)
					for _, u := range h.Usage {
						if u.Feature != "" && u.Sessions != data.NullInt && u.ActiveUsers == data.NullInt {
							withFeature++
						}
					}
				}
				if usage != 25000 || withFeature != 25000 {
					t.Errorf("usage rows %d, with feature and sessions %d", usage, withFeature)
				}
			},
		},
		{
			name: "cdnow",
			// 6,919 purchases on 6,696 distinct customer-days of 2,357 customers.
			rows:    map[string]int64{data.Customers: 2357, data.Orders: 6696},
			churned: -1,
			check: func(t *testing.T, sum *Summary, cust map[string]*data.History, attrs []data.AttrColumn) {
				if m := sum.Table(data.Orders).Merged; m != 223 {
					t.Errorf("merged %d rows, want 223", m)
				}
				c := cust["00314"] // 19970102 1 3.99; 19970113 10 166.89 and 4 60.25
				if c == nil || len(c.Orders) != 2 {
					t.Fatalf("00314 = %+v", c)
				}
				o := c.Orders[1]
				if o.TS.Date() != date(t, "1997-01-13") || math.Abs(o.Amount-227.14) > 1e-9 || o.Items != 14 {
					t.Errorf("00314 day 2 = %+v", o)
				}
				if c.Customer.SignupDate != date(t, "1997-01-02") {
					t.Errorf("00314 signup = %v", c.Customer.SignupDate)
				}
				var total float64
				var items int64
				for _, h := range cust {
					for _, o := range h.Orders {
						total += o.Amount
						items += o.Items
					}
				}
				if math.Abs(total-244091.94) > 1e-6 || items != 16479 {
					t.Errorf("total %.2f dollars, %d cds; want 244091.94 and 16479", total, items)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(filepath.Join("..", "..", "examples", tt.name+".yaml"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), tt.name)
			sum, err := Import(context.Background(), m, Options{Out: out, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.rows {
				ts := sum.Table(name)
				if ts == nil || ts.Rows != want {
					t.Errorf("table %s: summary %+v, want %d rows", name, ts, want)
				}
			}
			if len(sum.Tables) != len(tt.rows) {
				t.Errorf("%d tables, want %d", len(sum.Tables), len(tt.rows))
			}
			for _, ts := range sum.Tables {
				for col, n := range ts.Nulls {
					if tt.nulls[ts.Table+"."+col] != n {
						t.Errorf("nulls %s.%s = %d, want %d", ts.Table, col, n, tt.nulls[ts.Table+"."+col])
					}
				}
				for key, n := range tt.nulls {
					if table, col := splitKey(key); table == ts.Table && ts.Nulls[col] != n {
						t.Errorf("nulls %s = %d, want %d", key, ts.Nulls[col], n)
					}
				}
				if ts.Skipped != 0 || len(ts.Coerced) != 0 || ts.Orphans != 0 {
					t.Errorf("table %s: skipped %d, coerced %v, orphans %d", ts.Table, ts.Skipped, ts.Coerced, ts.Orphans)
				}
			}
			cs := sum.Table(data.Customers)
			switch {
			case tt.churned < 0 && cs.Churned != nil:
				t.Errorf("churned = %d, want no churned column", *cs.Churned)
			case tt.churned >= 0 && (cs.Churned == nil || *cs.Churned != tt.churned):
				t.Errorf("churned = %v, want %d", cs.Churned, tt.churned)
			}
			hs, st, attrs := scanAll(t, out)
			if st.Customers != tt.rows[data.Customers] {
				t.Errorf("scan saw %d customers", st.Customers)
			}
			for name, want := range tt.rows {
				if name != data.Customers && st.Rows[name] != want {
					t.Errorf("scan bound %d %s rows, want %d", st.Rows[name], name, want)
				}
			}
			checkSorted(t, out)
			tt.check(t, sum, byID(hs), attrs)
		})
	}
}

func splitKey(k string) (string, string) {
	for i := range k {
		if k[i] == '.' {
			return k[:i], k[i+1:]
		}
	}
	return k, ""
}

// checkSorted verifies that every table file is in contract order: Sort
// finds nothing to do.
func checkSorted(t *testing.T, dir string) {
	t.Helper()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for _, tf := range ds.Tables() {
		for _, f := range tf.Files {
			n, sorted, err := sortFile(context.Background(), f.Path, tf.Table, nil, false, "")
			if err != nil || !sorted || n != f.NumRows {
				t.Errorf("%s: sorted=%v rows=%d err=%v", f.Path, sorted, n, err)
			}
		}
	}
}

// The same mapping and data give byte-identical files.
func TestImportDeterministic(t *testing.T) {
	m, err := Load(filepath.Join("..", "..", "examples", "ravenstack.yaml"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for i := 0; i < 2; i++ {
		out := filepath.Join(t.TempDir(), "rs")
		if _, err := Import(context.Background(), m, Options{Out: out, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	for _, name := range data.TableNames() {
		a, errA := os.ReadFile(filepath.Join(outs[0], name+".parquet"))
		b, errB := os.ReadFile(filepath.Join(outs[1], name+".parquet"))
		if os.IsNotExist(errA) && os.IsNotExist(errB) {
			continue
		}
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between runs (%v, %v)", name, errA, errB)
		}
	}
}
