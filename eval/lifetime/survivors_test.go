package lifetime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

func TestReadSurvivors(t *testing.T) {
	ok := "cohort,period,alive\nregular,0,1000\nregular,1,631\nregular,2,468\nhigh end,0,1000\nhigh end,1,869\nhigh end,2,743\n"
	got, err := ReadSurvivors(strings.NewReader(ok), "s.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Cohort{{"regular", []float64{1000, 631, 468}}, {"high end", []float64{1000, 869, 743}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v", got)
	}
	tests := []struct {
		name, in string
		row      int64
		column   string
		err      error // nil: only the message is checked
		msg      string
	}{
		{"empty file", "", 0, "", data.ErrEmpty, "empty"},
		{"header only", "cohort,period,alive\n", 0, "", data.ErrEmpty, "no cohort rows"},
		{"wrong header", "cohort,t,alive\na,0,1\n", 1, "", ErrSurvivorsHeader, `value "cohort,t,alive"`},
		{"header case", "Cohort,period,alive\n", 1, "", ErrSurvivorsHeader, ""},
		{"extra column", "cohort,period,alive,x\n", 1, "", nil, "wrong number of fields"},
		{"short row", "cohort,period,alive\na,0\n", 2, "", nil, "wrong number of fields"},
		{"period not a number", "cohort,period,alive\na,x,10\n", 2, "period", ErrNotInteger, `value "x"`},
		{"negative alive", "cohort,period,alive\na,0,-1\n", 2, "alive", ErrNotInteger, ""},
		{"alive with a fraction", "cohort,period,alive\na,0,10.5\n", 2, "alive", ErrNotInteger, ""},
		{"alive with a plus", "cohort,period,alive\na,0,+10\n", 2, "alive", ErrNotInteger, ""},
		{"alive too large", "cohort,period,alive\na,0,99999999999999999\n", 2, "alive", ErrNotInteger, ""},
		{"empty cohort name", "cohort,period,alive\n,0,10\n", 2, "cohort", ErrCohortName, ""},
		{"cohort of nobody", "cohort,period,alive\na,0,0\na,1,0\na,2,0\n", 2, "alive", ErrEmptyCohort, ""},
		{"first period not 0", "cohort,period,alive\na,1,10\n", 2, "period", ErrPeriodOrder, "starts at period 1"},
		{"gap in periods", "cohort,period,alive\na,0,10\na,1,9\na,3,8\n", 4, "period", ErrPeriodOrder, "period 3 after 1"},
		{"repeated period", "cohort,period,alive\na,0,10\na,1,9\na,1,8\n", 4, "period", ErrPeriodOrder, ""},
		{"alive increases", "cohort,period,alive\na,0,10\na,1,9\na,2,11\n", 4, "alive", ErrAliveIncreases, "11 after 9"},
		{"cohort split", "cohort,period,alive\na,0,10\na,1,9\na,2,8\nb,0,5\nb,1,4\nb,2,3\na,3,7\n", 8, "cohort", ErrCohortAgain, ""},
		{"too few periods", "cohort,period,alive\na,0,10\na,1,9\nb,0,5\nb,1,4\nb,2,3\n", 2, "period", ErrTooFewPeriods, `cohort "a"`},
		{"too few periods at the end", "cohort,period,alive\na,0,10\na,1,9\na,2,8\nb,0,5\n", 5, "period", ErrTooFewPeriods, ""},
		{"bad quote", "cohort,period,alive\n\"a,0,10\n", 2, "", nil, "quote"},
		{"invalid UTF-8", "cohort,period,alive\n\xff,0,10\n", 2, "cohort", ErrCohortName, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSurvivors(strings.NewReader(tt.in), "s.csv")
			var ie *data.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error %v (%T), want a *data.InputError", err, err)
			}
			if ie.File != "s.csv" || ie.Row != tt.row || ie.Column != tt.column {
				t.Errorf("error at %s row %d column %q, want row %d column %q: %v", ie.File, ie.Row, ie.Column, tt.row, tt.column, err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q lacks %q", err, tt.msg)
			}
		})
	}
}

// FuzzReadSurvivors: any input gives cohorts that keep the promises (or a
// located error), and writing them back reads the same.
func FuzzReadSurvivors(f *testing.F) {
	f.Add("cohort,period,alive\nregular,0,1000\nregular,1,631\nregular,2,468\n")
	f.Add("cohort,period,alive\na,0,10\na,1,9\na,2,9\nb,0,5\nb,1,4\nb,2,0\n")
	f.Add("cohort,period,alive\n\"x,y\",0,3\n\"x,y\",1,2\n\"x,y\",2,1\n")
	f.Add("cohort,period,alive\na,0,10\na,2,9\n")
	f.Fuzz(func(t *testing.T, in string) {
		cs, err := ReadSurvivors(strings.NewReader(in), "f.csv")
		if err != nil {
			var ie *data.InputError
			if !errors.As(err, &ie) || ie.File != "f.csv" {
				t.Fatalf("error %v is not located in the file", err)
			}
			return
		}
		var b strings.Builder
		b.WriteString(SurvivorsHeader + "\n")
		for _, c := range cs {
			if c.Name == "" || len(c.Alive) < 3 || c.Alive[0] <= 0 {
				t.Fatalf("cohort %+v", c)
			}
			for k, a := range c.Alive {
				if a < 0 || (k > 0 && a > c.Alive[k-1]) {
					t.Fatalf("cohort %+v", c)
				}
				fmt.Fprintf(&b, "%s,%d,%.0f\n", quoteCSV(c.Name), k, a)
			}
		}
		again, err := ReadSurvivors(strings.NewReader(b.String()), "f.csv")
		if err != nil {
			t.Fatalf("rewritten %q: %v", b.String(), err)
		}
		if !reflect.DeepEqual(cs, again) {
			t.Fatalf("round trip: %+v, then %+v", cs, again)
		}
	})
}

func quoteCSV(s string) string {
	if strings.ContainsAny(s, "\",\r\n") || strings.TrimSpace(s) != s {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// TestSurvivorsFromData counts survivors by hand on a small dataset.
func TestSurvivorsFromData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	specs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "signup_date", Type: data.TypeDate, Optional: true},
		{Name: "plan", Type: data.TypeString, Optional: true}, {Name: "churn_date", Type: data.TypeDate, Optional: true}}
	type cust struct{ id, signup, plan, churn string }
	rows := []cust{
		{"a1", "2024-01-05", "pro", ""},           // January: stays
		{"a2", "2024-01-20", "pro", "2024-02-10"}, // churns in period 0 (before 02-20)
		{"a3", "2024-01-31", "basic", "2024-04-01"},
		{"a4", "2024-01-10", "basic", "2024-07-01"}, // churn after as-of: censored
		{"b1", "2024-02-01", "pro", "2024-03-15"},
		{"b2", "2024-02-29", "pro", ""},
		{"c1", "2024-05-20", "pro", ""}, // May: one whole month only, skipped
		{"d1", "", "pro", ""},           // no signup date
	}
	vecs := make([]data.Vec, len(specs))
	for i, s := range specs {
		vecs[i] = data.NewVec(s.Type)
	}
	date := func(v *data.Vec, s string) {
		if s == "" {
			v.AppendNull()
		} else {
			v.AppendDate(day(s))
		}
	}
	for _, r := range rows {
		vecs[0].AppendString(r.id)
		date(&vecs[1], r.signup)
		vecs[2].AppendString(r.plan)
		date(&vecs[3], r.churn)
	}
	writeParquet(t, filepath.Join(dir, "customers.parquet"), specs, len(rows), vecs)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	asOf := day("2024-06-25")
	cs, der, err := SurvivorsFromData(context.Background(), ds, SurvivorsOptions{CohortBy: ByMonth, AsOf: asOf, MinPeriods: 2})
	if err != nil {
		t.Fatal(err)
	}
	// January: the latest signup (01-31) reached period 4 (05-31 < 06-25,
	// 06-30 is not): periods 0..4. a2 is gone at period 1 (02-20), a3 at
	// period 3 (which starts on 05-01, as time.AddDate steps from 01-31).
	// February: b2 (02-29) reached period 3 (05-29): periods 0..3; b1
	// (02-01) churned on 03-15, gone at period 2 (04-01).
	want := []Cohort{{"2024-01", []float64{4, 3, 3, 2, 2}}, {"2024-02", []float64{2, 2, 1, 1}}}
	if !reflect.DeepEqual(cs, want) {
		t.Errorf("cohorts %+v, want %+v", cs, want)
	}
	if der.NoSignup != 1 || der.Customers != 8 || !reflect.DeepEqual(der.Skipped, []string{"2024-05"}) || der.AsOf != "2024-06-25" {
		t.Errorf("derived %+v", der)
	}
	// By plan: customers observed for 3 months or more; each cohort cut at
	// its least observed customer (basic: a3 from 01-31, 4 periods; pro:
	// b2 from 02-29, 3 periods).
	cs, der, err = SurvivorsFromData(context.Background(), ds, SurvivorsOptions{CohortBy: ByPlan, AsOf: asOf, MinPeriods: 3})
	if err != nil {
		t.Fatal(err)
	}
	want = []Cohort{{"basic", []float64{2, 2, 2, 1, 1}}, {"pro", []float64{4, 3, 2, 2}}}
	if !reflect.DeepEqual(cs, want) || der.TooRecent != 1 {
		t.Errorf("cohorts %+v, derived %+v", cs, der)
	}
	if _, _, err := SurvivorsFromData(context.Background(), ds, SurvivorsOptions{CohortBy: "week", MinPeriods: 2}); err == nil {
		t.Error("cohort by week accepted")
	}
}
