package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

func day(s string) data.Date {
	d, err := data.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixtureSpec is a small feature spec with the features the report uses:
// warning signs for the health score, mrr and tenure for retention,
// categorical features for segments (one static).
func fixtureSpec(dates []data.Date) *features.Spec {
	cfg := features.Config{}
	cfg.EnsureDefaults()
	num := func(name, unit, desc string, risk int) features.Def {
		return features.Def{Name: name, Group: "usage", Unit: unit, Kind: features.Numeric, Description: desc, Risk: risk}
	}
	s := &features.Spec{
		Version: features.SpecVersion, Config: cfg,
		Label: features.LabelSpec{Mode: features.LabelChurnEvents, HorizonDay: 90, DataEnd: "2024-12-31"},
		Input: features.InputStamp{Fingerprint: "fixture", Rows: map[string]int64{}},
		Features: []features.Def{
			num("tenure_days", "days", "days since the customer signed up", -1),
			num("utilisation", "share of seats", "licence utilisation", -1),
			num("nps_last", "score 0-10", "latest NPS answer", -1),
			{Name: "nps_detractor", Group: "nps", Unit: "flag", Kind: features.Flag, Description: "1 if the latest NPS answer is a detractor", Risk: 1},
			num("tickets_30d", "tickets", "support tickets opened in the last 30 days", 1),
			num("escalations_90d", "tickets", "escalated tickets opened in the last 90 days", 1),
			num("cancel_page_views_30d", "events", "visits to the cancellation page in the last 30 days", 1),
			num("training_views_90d", "events", "views of training material in the last 90 days", -1),
			num("days_to_renewal", "days", "days until the contract renews", -1),
			num("mrr", "currency per month", "monthly recurring revenue", 0),
			{Name: "plan", Group: "lifecycle", Unit: "plan", Kind: features.Categorical, Description: "plan"},
			{Name: "segment", Group: "lifecycle", Unit: "segment", Kind: features.Categorical, Description: "customer segment", Static: true},
		},
	}
	for _, d := range dates {
		s.AsOf = append(s.AsOf, d.String())
	}
	return s
}

// fixtureTable simulates customers with a latent risk that drives both
// their warning signs and their churn, observed monthly. Rows at
// 2024-11-01 have label windows past the data end (censored: only early
// churners are labelled). shift adds drift to utilisation.
func fixtureTable(customers int, seed uint64, shift float64) *features.Table {
	t, _ := fixtureData(customers, seed, shift)
	return t
}

// fixtureCustomer is a fixture customer's row of the dataset the table
// stands for.
type fixtureCustomer struct {
	id            string
	signup, churn data.Date
	plan, segment string
}

// fixtureData returns fixtureTable's table and its customers.
func fixtureData(customers int, seed uint64, shift float64) (*features.Table, []fixtureCustomer) {
	var custs []fixtureCustomer
	var dates []data.Date
	for m := 1; m <= 8; m++ {
		dates = append(dates, data.MakeDate(2024, time.Month(m), 1))
	}
	dates = append(dates, day("2024-11-01"))
	spec := fixtureSpec(dates)
	t := &features.Table{Spec: spec, Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features))}
	for i, d := range spec.Features {
		if d.Kind != features.Categorical {
			t.Num[i] = []float64{}
		} else {
			t.Cat[i] = []string{}
		}
	}
	r := rand.New(rand.NewPCG(seed, 99))
	end := day("2024-12-31")
	for c := 0; c < customers; c++ {
		id := fmt.Sprintf("C%05d", c+1)
		z := r.NormFloat64()
		signup := day("2021-01-01").AddDays(r.IntN(int(day("2024-09-01") - day("2021-01-01"))))
		churn := data.NoDate
		if r.Float64() < metrics.Sigmoid(-1.6+1.5*z) {
			churn = day("2024-01-15").AddDays(r.IntN(350))
		}
		seg := []string{"smb", "mid", "ent"}[min(2, r.IntN(10)/5+r.IntN(2))]
		plan := []string{"basic", "pro", "enterprise"}[r.IntN(3)]
		mrr := map[string]float64{"basic": 100, "pro": 300, "enterprise": 900}[plan] * (1 + float64(r.IntN(5)))
		renew := r.IntN(365)
		custs = append(custs, fixtureCustomer{id: id, signup: signup, churn: churn, plan: plan, segment: seg})
		for _, T := range dates {
			if signup >= T || (churn != data.NoDate && churn <= T) {
				continue
			}
			y := math.NaN()
			switch hi := T.AddDays(90); {
			case churn != data.NoDate && churn <= hi:
				y = 1
			case hi <= end:
				y = 0
			}
			t.IDs = append(t.IDs, id)
			t.AsOf = append(t.AsOf, T)
			t.Label = append(t.Label, y)
			near := 0.0
			if churn != data.NoDate && churn > T && churn <= T.AddDays(120) {
				near = 1 // warning signs show before churn
			}
			nps := math.Round(math.Min(10, math.Max(0, 8-1.3*z-2*near+r.NormFloat64()*1.5)))
			if r.IntN(10) == 0 {
				nps = math.NaN()
			}
			det := math.NaN()
			if !math.IsNaN(nps) {
				det = 0
				if nps <= 6 {
					det = 1
				}
			}
			vals := map[string]float64{
				"tenure_days":           float64(T - signup),
				"utilisation":           math.Min(1, math.Max(0.05, 0.7-0.1*z-0.2*near+shift+r.NormFloat64()*0.1)),
				"nps_last":              nps,
				"nps_detractor":         det,
				"tickets_30d":           float64(poisson(r, math.Exp(0.2+0.3*z+near))),
				"escalations_90d":       float64(poisson(r, 0.2*math.Exp(0.5*z+near))),
				"cancel_page_views_30d": float64(poisson(r, 0.3*near)),
				"training_views_90d":    float64(poisson(r, math.Exp(0.5-0.4*z))),
				"days_to_renewal":       float64((renew - int(T-day("2024-01-01"))%365 + 365) % 365),
				"mrr":                   mrr,
			}
			for i, d := range spec.Features {
				switch d.Name {
				case "plan":
					t.Cat[i] = append(t.Cat[i], plan)
				case "segment":
					t.Cat[i] = append(t.Cat[i], seg)
				default:
					t.Num[i] = append(t.Num[i], vals[d.Name])
				}
			}
		}
	}
	return t, custs
}

// writeFixtureDataset writes the customers (customers.parquet with
// signup_date, plan and segment; churn_events.parquet, the fixture's
// label source) into a temporary folder and opens it.
func writeFixtureDataset(t testing.TB, custs []fixtureCustomer) *data.Dataset {
	t.Helper()
	dir := t.TempDir()
	str := func(name string) data.ColumnSpec {
		return data.ColumnSpec{Name: name, Type: data.TypeString, Optional: name != data.KeyColumn, Dict: name != data.KeyColumn}
	}
	date := func(name string) data.ColumnSpec {
		return data.ColumnSpec{Name: name, Type: data.TypeDate, Optional: true}
	}
	write := func(name string, specs []data.ColumnSpec, vecs []data.Vec) {
		f, err := os.Create(filepath.Join(dir, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w, err := data.NewWriter(f, specs, data.WriterOptions{RowGroupRows: 64})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(vecs[0].Len(), vecs); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cs := []data.ColumnSpec{str(data.KeyColumn), date("signup_date"), str("plan"), str("segment")}
	cv := []data.Vec{data.NewVec(data.TypeString), data.NewVec(data.TypeDate), data.NewVec(data.TypeString), data.NewVec(data.TypeString)}
	es := []data.ColumnSpec{str(data.KeyColumn), {Name: "churn_date", Type: data.TypeDate}}
	ev := []data.Vec{data.NewVec(data.TypeString), data.NewVec(data.TypeDate)}
	for _, c := range custs {
		cv[0].AppendString(c.id)
		cv[1].AppendDate(c.signup)
		cv[2].AppendString(c.plan)
		cv[3].AppendString(c.segment)
		if c.churn != data.NoDate {
			ev[0].AppendString(c.id)
			ev[1].AppendDate(c.churn)
		}
	}
	write(data.Customers, cs, cv)
	write(data.ChurnEvents, es, ev)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

func poisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// fixtureParams trains small, quick, single-threaded models.
var fixtureParams = train.Params{Seed: 1, Threads: 1, Rounds: 60, MaxDepth: 3, Eta: 0.1, EarlyStopping: -1}

type fixtureSet struct {
	table     *features.Table
	model     *train.Model
	customers []fixtureCustomer
}

// fixtureSplit holds a quarter of the customers out of training: the
// fixture model never sees them, so evaluating it on the whole table
// evaluates those customers (the model is fitted on every labelled row of
// the others, at every date).
func fixtureSplit(t *features.Table) (trainRows, testRows []int) {
	for i, id := range t.IDs {
		if id[len(id)-1]%4 == 0 {
			testRows = append(testRows, i)
		} else {
			trainRows = append(trainRows, i)
		}
	}
	return trainRows, testRows
}

// fixture builds the table and trains the model once per test binary.
var fixture = sync.OnceValues(func() (*fixtureSet, error) {
	t, custs := fixtureData(600, 7, 0)
	trainRows, _ := fixtureSplit(t)
	m, err := train.Fit(context.Background(), t.Rows(trainRows), fixtureParams, train.FitOptions{})
	if err != nil {
		return nil, err
	}
	return &fixtureSet{table: t, model: m, customers: custs}, nil
})

func loadFixture(t *testing.T) *fixtureSet {
	t.Helper()
	f, err := fixture()
	if err != nil {
		t.Fatal(err)
	}
	return f
}
