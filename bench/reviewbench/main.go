// Command reviewbench writes a year of nightly predictions partitions for
// the customers of a dataset, synthetically and fast, so that churn review
// can be timed over them (bench/review.sh) without running churn predict
// 365 times. Each partition has every column of the predictions schema
// (predict.PredictionColumns, in rank order, 500,000 rows per file,
// row groups of 131,072 rows, Snappy: what churn predict writes), for the
// customers who are customers on its date: a churn probability that ranks
// the customers who churn within 90 days higher (a latent risk per customer
// and daily noise), tiers of 5% high and 15% medium, reasons, actions,
// owners, lifecycle stages, previous-run columns, and each targeted
// customer's play and treatment group (data.Experiment, control share 0.1).
//
//	reviewbench -data DIR -out OUT [-days 365] [-end 2024-11-30] [-workers 2]
//	reviewbench -customers N -data DIR -out OUT ...
//
// With -customers, DIR is first written as a minimal dataset of N
// customers (customers and churn_events: what the review's outcomes read),
// a tenth of them churning at a random day of the year before -end.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/predict"
)

func main() {
	dir := flag.String("data", "", "dataset (churn generate)")
	out := flag.String("out", "", "output folder: OUT/predictions/as_of=DATE")
	days := flag.Int("days", 365, "nightly partitions, one a day")
	end := flag.String("end", "2024-11-30", "the last partition's as-of date")
	workers := flag.Int("workers", 2, "partitions written at once")
	synth := flag.Int("customers", 0, "write a minimal dataset of this many customers into -data first")
	flag.Parse()
	if *dir == "" || *out == "" {
		log.Fatal("-data and -out are required")
	}
	last, err := data.ParseDate(*end)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if *synth > 0 {
		if err := writeDataset(*dir, *synth, last); err != nil {
			log.Fatal(err)
		}
	}
	cs, err := readCustomers(*dir)
	if err != nil {
		log.Fatal(err)
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(*workers)
	var rows int64
	counts := make([]int64, *days)
	for k := 0; k < *days; k++ {
		d := last.AddDays(k - *days + 1)
		g.Go(func() error {
			n, err := writePartition(ctx, *out, d, cs)
			counts[k] = n
			return err
		})
	}
	if err := g.Wait(); err != nil {
		log.Fatal(err)
	}
	for _, n := range counts {
		rows += n
	}
	fmt.Printf("%d partitions, %d rows, %d customers, %.1f s\n", *days, rows, len(cs.ids), time.Since(start).Seconds())
}

// customers holds what the partitions need of each customer.
type customers struct {
	ids    []string
	signup []data.Date
	churn  []data.Date // first churn date, NoDate when none
	latent []float64
	mrr    []float64
	// play and group: each customer's play when targeted, and its group
	// in that play's experiment (a hash, the same every night).
	play, group []string
}

func readCustomers(dir string) (*customers, error) {
	ds, err := data.Open(dir)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	cs := &customers{}
	opt := data.ScanOptions{Tables: []string{data.ChurnEvents}, Columns: map[string][]string{data.Customers: {"signup_date", "mrr"}, data.ChurnEvents: {"churn_date"}}}
	_, err = ds.Scan(context.Background(), data.KeyRange{}, opt, func(h *data.History) error {
		c := &h.Customer
		churn := data.NoDate
		if len(h.ChurnEvents) > 0 {
			churn = h.ChurnEvents[0].ChurnDate
		}
		i := len(cs.ids)
		cs.ids = append(cs.ids, strings.Clone(c.ID))
		cs.signup = append(cs.signup, c.SignupDate)
		cs.churn = append(cs.churn, churn)
		cs.latent = append(cs.latent, normal(uint64(i), 0))
		cs.mrr = append(cs.mrr, c.MRR)
		play := plays[mix(uint64(i), 7)%uint64(len(plays))]
		cs.play = append(cs.play, play)
		cs.group = append(cs.group, experiment.Group(play, c.ID))
		return nil
	})
	return cs, err
}

// normal is a deterministic standard normal draw of (a, b).
func normal(a, b uint64) float64 {
	u1 := (float64(mix(a, b)>>11) + 0.5) / (1 << 53)
	u2 := (float64(mix(b, a^0x9e3779b97f4a7c15)>>11) + 0.5) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func mix(a, b uint64) uint64 {
	h := a*0x9e3779b97f4a7c15 ^ b
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ (h >> 31)
}

var (
	plays    = []string{"usage", "support", "stakeholder", "billing", "renewal", "intent", "nps", "going_silent", "training", "profile"}
	stages   = []string{"onboarding", "active", "renewal", "past_contract_end"}
	features = []string{"active_users_trend_12w", "tickets_90d", "days_to_renewal", "late_payments_180d", "nps_last", "data_exports_30d"}
	texts    = []string{"active users falling 6% a week over the last 12 weeks", "4 tickets in the last 90 days", "in the renewal window (contract ends within 90 days)", "2 late payments in the last 180 days", "last NPS answer 3 (a detractor)", "2 data exports in the last 30 days"}
	cats     = []string{"usage", "support", "renewal", "billing", "nps", "intent"}
	owners   = func() []string {
		var o []string
		for i := 1; i <= 40; i++ {
			o = append(o, fmt.Sprintf("csm-%02d", i))
		}
		return o
	}()
	experiment = data.Experiment{Share: 0.1}
)

// writePartition writes the partition of date d and returns its rows.
func writePartition(ctx context.Context, out string, d data.Date, cs *customers) (int64, error) {
	type scored struct {
		i int32
		p float64
	}
	var rows []scored
	for i := range cs.ids {
		if (cs.signup[i] != data.NoDate && cs.signup[i] >= d) || (cs.churn[i] != data.NoDate && cs.churn[i] <= d) {
			continue
		}
		z := cs.latent[i] + 0.6*normal(uint64(i), uint64(d))
		if c := cs.churn[i]; c != data.NoDate && c <= d.AddDays(90) {
			z += 2
		}
		rows = append(rows, scored{int32(i), metrics.Sigmoid(-4.2 + 1.3*z)})
	}
	slices.SortFunc(rows, func(a, b scored) int {
		if a.p != b.p {
			if a.p > b.p {
				return -1
			}
			return 1
		}
		return int(a.i - b.i)
	})
	final := predict.PartitionDir(out, predict.PredictionsDir, d)
	tmp := final + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	n := len(rows)
	high, medium := n*5/100, n*20/100
	cols := predict.PredictionColumns
	specs := make([]data.ColumnSpec, len(cols))
	for c, col := range cols {
		specs[c] = data.ColumnSpec{Name: col.Name, Type: col.Type, Optional: col.Nullable, Dict: col.Type == data.TypeString && col.Name != "customer_id"}
	}
	const perFile = 500_000
	for f := 0; f*perFile < n; f++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		lo, hi := f*perFile, min(n, (f+1)*perFile)
		vecs := make([]data.Vec, len(cols))
		for c, col := range cols {
			v := &vecs[c]
			*v = data.NewVec(col.Type)
			v.Grow(hi - lo)
			fill, err := filler(col.Name, v)
			if err != nil {
				return 0, err
			}
			r := &row{d: d, cs: cs}
			for k := lo; k < hi; k++ {
				r.k, r.i, r.p = k, int(rows[k].i), rows[k].p
				r.h = mix(uint64(r.i), uint64(d))
				r.tier = 2
				switch {
				case k < high:
					r.tier = 0
				case k < medium:
					r.tier = 1
				}
				fill(r)
			}
		}
		if err := writeFile(filepath.Join(tmp, fmt.Sprintf("part-%05d.parquet", f)), specs, hi-lo, vecs, "rank"); err != nil {
			return 0, err
		}
	}
	man, _ := json.Marshal(map[string]any{"schema_version": predict.SchemaVersion, "as_of": d.String(), "rows": n, "model_version": "2024-11-01-bench",
		"model": map[string]any{"label_mode": "churn_events", "horizon_days": 90}})
	if err := os.WriteFile(filepath.Join(tmp, predict.ManifestFile), man, 0o644); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(tmp, predict.SuccessFile), nil, 0o644); err != nil {
		return 0, err
	}
	os.RemoveAll(final)
	return int64(n), os.Rename(tmp, final)
}

func writeFile(path string, specs []data.ColumnSpec, n int, vecs []data.Vec, sortedBy string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := data.NewWriter(bw, specs, data.WriterOptions{RowGroupRows: 1 << 17, SortedBy: []string{sortedBy}})
	if err != nil {
		return err
	}
	if err := w.Write(n, vecs); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// row is one customer of a partition: date, rank (from 0), customer,
// probability, tier (0 high, 1 medium, 2 low) and a hash of both.
type row struct {
	d    data.Date
	k, i int
	p    float64
	tier int
	h    uint64
	cs   *customers
}

var tierNames = []string{"high", "medium", "low"}

// filler returns the function that appends a row's value of the named
// column to v.
func filler(name string, v *data.Vec) (func(r *row), error) {
	switch name {
	case "customer_id":
		return func(r *row) { v.AppendString(r.cs.ids[r.i]) }, nil
	case "as_of":
		return func(r *row) { v.AppendDate(r.d) }, nil
	case "churn_probability":
		return func(r *row) { v.AppendFloat(r.p) }, nil
	case "risk_tier", "previous_tier":
		return func(r *row) { v.AppendString(tierNames[r.tier]) }, nil
	case "rank":
		return func(r *row) { v.AppendInt(int64(r.k + 1)) }, nil
	case "revenue_at_risk":
		return func(r *row) { v.AppendFloat(12 * r.cs.mrr[r.i] * r.p) }, nil
	case "annual_revenue":
		return func(r *row) { v.AppendFloat(12 * r.cs.mrr[r.i]) }, nil
	case "previous_probability":
		return func(r *row) { v.AppendFloat(r.p * (0.9 + 0.2*float64(r.h%100)/100)) }, nil
	case "probability_change":
		return func(r *row) { v.AppendFloat(r.p * (0.1 - 0.2*float64(r.h%100)/100)) }, nil
	case "reason_method":
		return func(r *row) { v.AppendString("exact") }, nil
	case "recommended_action":
		return func(r *row) { v.AppendString("Act on " + r.cs.play[r.i]) }, nil
	case "owner_role":
		return func(r *row) { v.AppendString("csm") }, nil
	case "play", "treatment_group":
		return func(r *row) {
			switch {
			case r.tier == 2:
				v.AppendNull()
			case name == "play":
				v.AppendString(r.cs.play[r.i])
			default:
				v.AppendString(r.cs.group[r.i])
			}
		}, nil
	case "expected_uplift", "expected_mrr_saved":
		// Written by a trusted uplift model only; a typical night has none.
		return func(r *row) { v.AppendNull() }, nil
	case "alerted":
		return func(r *row) { v.AppendBool(r.tier == 0) }, nil
	case "previous_as_of":
		return func(r *row) { v.AppendDate(r.d.AddDays(-1)) }, nil
	case "lifecycle_stage":
		return func(r *row) { v.AppendString(stages[r.h%uint64(len(stages))]) }, nil
	case "owner":
		return func(r *row) { v.AppendString(owners[r.i%len(owners)]) }, nil
	case "model_version":
		return func(r *row) { v.AppendString("2024-11-01-bench") }, nil
	case "scored_at":
		return func(r *row) { v.AppendTime(r.d.Start() + 2*3600e6) }, nil
	}
	j := func(r *row) int { return int((r.h >> 8) % uint64(len(features))) }
	switch {
	case strings.HasSuffix(name, "_feature"):
		return func(r *row) { v.AppendString(features[j(r)]) }, nil
	case strings.HasSuffix(name, "_contribution"):
		return func(r *row) { v.AppendFloat(0.1 + float64(r.h%1000)/1000) }, nil
	case strings.HasSuffix(name, "_text"):
		return func(r *row) { v.AppendString(texts[j(r)]) }, nil
	case strings.HasSuffix(name, "_category"):
		return func(r *row) { v.AppendString(cats[j(r)]) }, nil
	}
	return nil, fmt.Errorf("reviewbench: no value for column %s", name)
}

// writeDataset writes a minimal dataset of n customers: ids C00000001…,
// signed up over the two years before end, a tenth churning on a random
// day of the year before end.
func writeDataset(dir string, n int, end data.Date) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cust := []data.Vec{data.NewVec(data.TypeString), data.NewVec(data.TypeDate), data.NewVec(data.TypeFloat64)}
	ev := []data.Vec{data.NewVec(data.TypeString), data.NewVec(data.TypeDate)}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("C%08d", i+1)
		h := mix(uint64(i), 99)
		cust[0].AppendString(id)
		cust[1].AppendDate(end.AddDays(-730 + int(h%700)))
		cust[2].AppendFloat(float64(50 + (h>>16)%2000))
		if (h>>32)%10 == 0 {
			ev[0].AppendString(id)
			ev[1].AppendDate(end.AddDays(-int((h >> 40) % 365)))
		}
	}
	for _, t := range []struct {
		name  string
		specs []data.ColumnSpec
		vecs  []data.Vec
	}{
		{data.Customers, []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "signup_date", Type: data.TypeDate, Optional: true}, {Name: "mrr", Type: data.TypeFloat64, Optional: true}}, cust},
		{data.ChurnEvents, []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "churn_date", Type: data.TypeDate}}, ev},
	} {
		if err := writeFile(filepath.Join(dir, t.name+".parquet"), t.specs, t.vecs[0].Len(), t.vecs, data.KeyColumn); err != nil {
			return err
		}
	}
	return nil
}
