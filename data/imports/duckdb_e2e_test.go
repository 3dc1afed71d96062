package imports

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/internal/duckdbtest"
)

// TestDuckDBReadsOurDatasets reads generated data and the four imported
// public data sets with DuckDB and checks every table's row count and every
// contract column's type against what churn's own reader sees.
func TestDuckDBReadsOurDatasets(t *testing.T) {
	duckdbtest.Dir(t) // skip early without DuckDB
	root := t.TempDir()
	dirs := map[string]string{}
	gen := filepath.Join(root, "generated")
	if _, err := synth.Generate(context.Background(), gen, synth.Params{Customers: 300, Months: 12, Seed: 2}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dirs["generated"] = gen
	{
		for _, name := range []string{"telco", "orange", "ravenstack", "cdnow"} {
			m, err := Load(filepath.Join("..", "..", "examples", name+".yaml"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(root, name)
			if _, err := Import(context.Background(), m, Options{Out: out}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			dirs[name] = out
		}
	}
	type check struct {
		set, table, path string
		rows             int64
		types            map[string]string
	}
	var checks []check
	var stmts []string
	for set, dir := range dirs {
		ds, err := data.Open(dir)
		if err != nil {
			t.Fatalf("%s: %v", set, err)
		}
		for _, tf := range ds.Tables() {
			path := tf.Files[0].Path
			c := check{set: set, table: tf.Table.Name, path: path, rows: tf.NumRows(), types: map[string]string{}}
			for _, col := range tf.Table.Columns {
				if tf.HasColumn(col.Name) {
					c.types[col.Name] = duckdbtest.TypeOf[col.Type.String()]
				}
			}
			for _, a := range tf.Attrs {
				c.types[a.Name] = duckdbtest.TypeOf[a.Type.String()]
			}
			checks = append(checks, c)
			stmts = append(stmts, "SELECT count(*) FROM "+duckdbtest.Parquet(path), "DESCRIBE SELECT * FROM "+duckdbtest.Parquet(path))
		}
		ds.Close()
	}
	res := duckdbtest.Run(t, stmts...)
	for i, c := range checks {
		count, desc := res[2*i], res[2*i+1]
		if got := fmt.Sprint(count.Rows[0][0]); got != fmt.Sprint(c.rows) {
			t.Errorf("%s %s: DuckDB counts %s rows, churn %d", c.set, c.table, got, c.rows)
		}
		seen := map[string]string{}
		for _, row := range desc.Rows {
			seen[fmt.Sprint(row[0])] = fmt.Sprint(row[1])
		}
		for col, want := range c.types {
			if want == "DOUBLE" && c.table == data.Customers && strings.HasPrefix(seen[col], "BIGINT") {
				continue
			}
			if got := seen[col]; got != want {
				t.Errorf("%s %s.%s: DuckDB type %q, want %q", c.set, c.table, col, got, want)
			}
		}
	}
	t.Logf("DuckDB checked %d tables of %d datasets", len(checks), len(dirs))
	if len(checks) < 9 {
		t.Errorf("checked %d tables", len(checks))
	}
}
