package lifetime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
)

func day(s string) data.Date {
	d, err := data.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// fixture describes a synthetic purchase history: n customers who sign up
// in the first quarter of 2023 and buy by the BG/NBD story (a Poisson
// purchase rate per customer, dropout after each purchase with a
// per-customer probability) until the end of 2023.
type fixture struct {
	n    int
	seed uint64
	// churn adds customers.churn_date (the day after the last purchase of
	// the customers who dropped out) to test the churn-date definition.
	churn bool
	// shiftAfter moves every order on or after this date (YYYY-MM-DD) by
	// a day and doubles its amount (a leakage probe); "" leaves them
	// alone.
	shiftAfter string
	// pinAfter moves every order on or after this date to its first
	// instant (00:00:00 UTC): the boundary probe; "" leaves them alone.
	pinAfter string
	// payments writes the purchases as paid invoices of a payments table
	// (on their day, plus a failed invoice after each, which is not a
	// purchase) instead of orders.
	payments bool
	// late customers sign up (and first buy) in September 2023; silent
	// customers never buy.
	late, silent int
}

type fixtureOrder struct {
	ts     data.Timestamp
	amount float64
}

// write builds the dataset in dir: customers.parquet and orders.parquet,
// sorted by customer_id and time.
func (f fixture) write(t testing.TB, dir string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(f.seed, 7))
	start, end := day("2023-01-01"), day("2024-01-01")
	custSpecs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "signup_date", Type: data.TypeDate, Optional: true}}
	if f.churn {
		custSpecs = append(custSpecs, data.ColumnSpec{Name: "churn_date", Type: data.TypeDate, Optional: true})
	}
	ordSpecs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "ts", Type: data.TypeTimestamp}, {Name: "amount", Type: data.TypeFloat64}}
	cust := make([]data.Vec, len(custSpecs))
	for i, s := range custSpecs {
		cust[i] = data.NewVec(s.Type)
	}
	ord := make([]data.Vec, len(ordSpecs))
	for i, s := range ordSpecs {
		ord[i] = data.NewVec(s.Type)
	}
	var orders int
	shift, pin := data.NoDate, data.NoDate
	if f.shiftAfter != "" {
		shift = day(f.shiftAfter)
	}
	if f.pinAfter != "" {
		pin = day(f.pinAfter)
	}
	var buf []fixtureOrder
	for i := range f.n + f.late + f.silent {
		id := fmt.Sprintf("c%07d", i)
		signup := start + data.Date(rng.IntN(90))
		if i >= f.n {
			signup = day("2023-09-01") + data.Date(rng.IntN(30))
		}
		// Weekly rate λ ~ Gamma(0.5, 2) by a sum of exponentials of
		// half-integer shape (shape 0.5: a squared normal / 2).
		z := rng.NormFloat64()
		lambda := 0.5*z*z/2 + 0.02
		p := rng.Float64() * 0.4
		spend := 10 + 40*rng.Float64()
		buf = buf[:0]
		d := signup
		alive := true
		for d < end && alive && i < f.n+f.late {
			buf = append(buf, fixtureOrder{ts: d.Start() + data.Timestamp(rng.IntN(86400))*1_000_000, amount: math.Round(spend*(0.5+rng.Float64())*100) / 100})
			if rng.Float64() < p {
				alive = false
				break
			}
			gap := rng.ExpFloat64() / lambda * 7
			d += data.Date(1 + int(gap))
		}
		cust[0].AppendString(id)
		cust[1].AppendDate(signup)
		if f.churn {
			if !alive && len(buf) > 0 {
				cust[2].AppendDate(buf[len(buf)-1].ts.Date() + 1)
			} else {
				cust[2].AppendNull()
			}
		}
		for _, o := range buf {
			if shift.Valid() && o.ts >= shift.Start() {
				o.ts += 86400 * 1_000_000
				o.amount *= 2
			}
			if pin.Valid() && o.ts >= pin.Start() {
				o.ts = pin.Start()
			}
			ord[0].AppendString(id)
			ord[1].AppendTime(o.ts)
			ord[2].AppendFloat(o.amount)
			orders++
		}
	}
	writeParquet(t, filepath.Join(dir, "customers.parquet"), custSpecs, f.n+f.late+f.silent, cust)
	if !f.payments {
		writeParquet(t, filepath.Join(dir, "orders.parquet"), ordSpecs, orders, ord)
		return
	}
	paySpecs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "invoice_date", Type: data.TypeDate}, {Name: "amount", Type: data.TypeFloat64}, {Name: "status", Type: data.TypeString}}
	pay := make([]data.Vec, len(paySpecs))
	for i, s := range paySpecs {
		pay[i] = data.NewVec(s.Type)
	}
	for i := range orders {
		for _, failed := range []bool{false, true} {
			pay[0].AppendString(ord[0].Str(i))
			pay[1].AppendDate(data.Timestamp(ord[1].Ints[i]).Date())
			status := "paid"
			if failed {
				status = "failed"
			}
			pay[2].AppendFloat(ord[2].Floats[i])
			pay[3].AppendString(status)
		}
	}
	writeParquet(t, filepath.Join(dir, "payments.parquet"), paySpecs, 2*orders, pay)
}

func writeParquet(t testing.TB, path string, specs []data.ColumnSpec, n int, cols []data.Vec) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w, err := data.NewWriter(fh, specs, data.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(n, cols); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
