package review

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

func day(s string) data.Date {
	d, err := data.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// row is one row of a test table: column name → value (string, float64,
// int, bool, data.Date or data.Timestamp; nil or absent is null).
type row map[string]any

// writeTable writes rows as a Parquet file of the given columns; a column
// no row sets is written as nulls (or the type's zero when required).
func writeTable(t testing.TB, path string, specs []data.ColumnSpec, rows []row) {
	t.Helper()
	vecs := make([]data.Vec, len(specs))
	for i, s := range specs {
		vecs[i] = data.NewVec(s.Type)
		for _, r := range rows {
			v, ok := r[s.Name]
			if !ok || v == nil {
				if s.Optional {
					vecs[i].AppendNull()
					continue
				}
				switch s.Type {
				case data.TypeString:
					v = "x"
				case data.TypeFloat64:
					v = 0.0
				case data.TypeInt64:
					v = 0
				case data.TypeBool:
					v = false
				case data.TypeDate:
					v = day("2024-01-01")
				case data.TypeTimestamp:
					v = day("2024-01-01").Start()
				}
			}
			switch x := v.(type) {
			case string:
				vecs[i].AppendString(x)
			case float64:
				vecs[i].AppendFloat(x)
			case int:
				vecs[i].AppendInt(int64(x))
			case bool:
				vecs[i].AppendBool(x)
			case data.Date:
				vecs[i].AppendDate(x)
			case data.Timestamp:
				vecs[i].AppendTime(x)
			default:
				t.Fatalf("column %s: value %v of type %T", s.Name, v, v)
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := data.NewWriter(f, specs, data.WriterOptions{RowGroupRows: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(len(rows), vecs); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeContractTable writes a table of the data contract into dir.
func writeContractTable(t testing.TB, dir, name string, rows []row) {
	t.Helper()
	tb, ok := data.LookupTable(name)
	if !ok {
		t.Fatalf("no table %s", name)
	}
	writeTable(t, filepath.Join(dir, name+".parquet"), data.Specs(tb), rows)
}

// writePartition writes a predictions partition of out dated asOf with
// the predictions schema (cols: predict.PredictionColumns, or fewer), rows
// sorted by rank, _manifest.json and _SUCCESS.
func writePartition(t testing.TB, out string, asOf data.Date, cols []predict.Column, rows []row) {
	t.Helper()
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b row) int {
		pa, pb := a["churn_probability"].(float64), b["churn_probability"].(float64)
		switch {
		case pa > pb:
			return -1
		case pa < pb:
			return 1
		}
		return 0
	})
	for i, r := range rows {
		r["rank"], r["as_of"] = i+1, asOf
	}
	specs := make([]data.ColumnSpec, len(cols))
	for i, c := range cols {
		specs[i] = data.ColumnSpec{Name: c.Name, Type: c.Type, Optional: c.Nullable, Dict: c.Type == data.TypeString && c.Name != "customer_id"}
	}
	dir := predict.PartitionDir(out, predict.PredictionsDir, asOf)
	writeTable(t, filepath.Join(dir, "part-00000.parquet"), specs, rows)
	man, _ := json.Marshal(map[string]any{"as_of": asOf.String(), "model_version": "m-" + asOf.String(),
		"model": map[string]any{"label_mode": "churn_events", "horizon_days": 90}})
	for name, b := range map[string][]byte{predict.ManifestFile: man, predict.SuccessFile: nil} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fixture is a small dataset and output folder with known answers:
//
//   - 40 customers C01…C40, customers since 2023;
//   - churn: C01 2024-04-01, C05 2024-05-15, C09 2024-03-20, C11
//     2024-04-10, C10 2024-06-15, C20 2024-11-20;
//   - run 2024-03-01 (closed by 2024-12-01): play usage treats C01…C08
//     (C01…C03 high tier) and holds out C09…C12;
//   - run 2024-10-01 (open): usage again for C01…C04 (not new units), play
//     support treats C13, C14 and holds out C15, C16;
//   - interventions: C09 held out of usage on 2024-02-01 (its first unit),
//     C01 and C02 reached 2024-03-05, C03 not reached, C04 reached only
//     after its window.
type fixture struct {
	data, out string
	runs      map[data.Date][]row
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{data: t.TempDir(), out: t.TempDir(), runs: map[data.Date][]row{}}
	churn := map[string]string{"C01": "2024-04-01", "C05": "2024-05-15", "C09": "2024-03-20", "C11": "2024-04-10", "C10": "2024-06-15", "C20": "2024-11-20"}
	var customers, events []row
	for i := 1; i <= 40; i++ {
		id := fmt.Sprintf("C%02d", i)
		customers = append(customers, row{"customer_id": id, "signup_date": day("2023-01-01").AddDays(i)})
		if d, ok := churn[id]; ok {
			events = append(events, row{"customer_id": id, "churn_date": day(d)})
		}
	}
	writeContractTable(t, f.data, data.Customers, customers)
	writeContractTable(t, f.data, data.ChurnEvents, events)
	ts := func(s string) data.Timestamp { return day(s).Start() + 3600e6 }
	writeContractTable(t, f.data, data.Interventions, []row{
		{"customer_id": "C01", "ts": ts("2024-03-05"), "play": "usage", "contacted": true},
		{"customer_id": "C02", "ts": ts("2024-03-05"), "play": "usage"},
		{"customer_id": "C03", "ts": ts("2024-03-06"), "play": "usage", "contacted": false},
		{"customer_id": "C04", "ts": ts("2024-07-01"), "play": "usage", "contacted": true},
		{"customer_id": "C09", "ts": ts("2024-02-01"), "play": "usage", "group": "control"},
		{"customer_id": "C30", "ts": ts("2024-12-20"), "play": "usage"}, // after the review date: no unit, no contact
	})
	for _, d := range []data.Date{day("2024-03-01"), day("2024-10-01")} {
		var rows []row
		for i := 1; i <= 40; i++ {
			id := fmt.Sprintf("C%02d", i)
			if c, ok := churn[id]; ok && day(c) <= d {
				continue // gone by then: not scored
			}
			p := 0.02 + 0.9/float64(i) // C01 riskiest
			tier := "low"
			switch {
			case i <= 3:
				tier = "high"
			case i <= 16:
				tier = "medium"
			}
			r := row{"customer_id": id, "churn_probability": p, "risk_tier": tier, "annual_revenue": 1200.0 * float64(i), "reason_method": "none",
				"recommended_action": "x", "owner_role": "csm", "model_version": "m", "scored_at": d.Start(), "lifecycle_stage": "active", "owner": "ann"}
			if i%2 == 0 {
				r["lifecycle_stage"] = "renewal"
			}
			play, group := "", ""
			switch {
			case d == day("2024-03-01") && i <= 8, d == day("2024-10-01") && i <= 4:
				play, group = "usage", "treat"
			case d == day("2024-03-01") && i <= 12:
				play, group = "usage", "control"
			case d == day("2024-10-01") && i >= 13 && i <= 14:
				play, group = "support", "treat"
			case d == day("2024-10-01") && i >= 15 && i <= 16:
				play, group = "support", "control"
			}
			if play != "" {
				r["play"], r["treatment_group"], r["reason_1_category"] = play, group, play
			}
			rows = append(rows, r)
		}
		f.runs[d] = rows
		writePartition(t, f.out, d, predict.PredictionColumns, rows)
	}
	return f
}

// open opens the fixture's dataset; it is closed when the test ends.
func (f *fixture) open(t testing.TB) *data.Dataset {
	t.Helper()
	ds, err := data.Open(f.data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// osMkdirTemp makes a folder for data shared by the tests of this binary
// (removed by TestMain).
func osMkdirTemp() (string, error) {
	dir, err := os.MkdirTemp("", "churn-review-")
	if err == nil {
		sharedDirs = append(sharedDirs, dir)
	}
	return dir, err
}

var sharedDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range sharedDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
