package review

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/internal/doctest"
	"github.com/churnlab/churn/internal/duckdbtest"
	"github.com/churnlab/churn/predict"
)

// TestDuckDBReadsReview checks that BI tools read the review's Parquet
// tables as documented: DuckDB sees every column with its type, the run ×
// play rows sum to review.json's plays, the saved customers are all there,
// and docs/review.md's example query runs.
func TestDuckDBReadsReview(t *testing.T) {
	duckdbtest.Dir(t) // skips without DuckDB
	f := newFixture(t)
	rep := runFixture(t, f, nil)
	if err := rep.Write(f.out, "test", nil); err != nil {
		t.Fatal(err)
	}
	plays := duckdbtest.Quote(filepath.Join(PlaysPartition(f.out, day(rep.AsOf)), PlaysFile))
	saved := duckdbtest.Quote(filepath.Join(ReportDir(f.out, day(rep.AsOf)), SavedFile))
	example := strings.ReplaceAll(doctest.Block(t, "../../docs/review.md", "## Parquet tables", "sql"), "'out/review_plays/as_of=2024-12-01/plays.parquet'", plays)
	if !strings.Contains(example, plays) {
		t.Fatal("docs/review.md's example query does not read out/review_plays/as_of=2024-12-01/plays.parquet")
	}
	res := duckdbtest.Run(t,
		"DESCRIBE SELECT * FROM read_parquet("+plays+")",
		"DESCRIBE SELECT * FROM read_parquet("+saved+")",
		example,
		"SELECT count(*), sum(mrr) FROM read_parquet("+saved+")",
	)
	for k, cols := range [][]predict.Column{PlayRunColumns, SavedColumns} {
		if len(res[k].Rows) != len(cols) {
			t.Fatalf("DuckDB sees %d columns, the schema has %d", len(res[k].Rows), len(cols))
		}
		for i, c := range cols {
			if name, typ := fmt.Sprint(res[k].Rows[i][0]), fmt.Sprint(res[k].Rows[i][1]); name != c.Name || typ != duckdbtest.TypeOf[c.Type.String()] {
				t.Errorf("column %d: DuckDB reads %s %s, want %s %s", i, name, typ, c.Name, duckdbtest.TypeOf[c.Type.String()])
			}
		}
	}
	got := map[string]string{}
	for _, r := range res[2].Rows {
		got[fmt.Sprint(r[0])] = fmt.Sprint(r[1:])
	}
	for _, p := range rep.Plays {
		if want := fmt.Sprint([]int{p.Treated, p.ChurnedTreated, p.Control, p.ChurnedControl}); got[p.Name] != want {
			t.Errorf("play %s: DuckDB sums %s, review.json %s", p.Name, got[p.Name], want)
		}
	}
	if n := fmt.Sprint(res[3].Rows[0][0]); n != fmt.Sprint(rep.Saved.Customers) {
		t.Errorf("saved customers: DuckDB counts %s, review.json %d", n, rep.Saved.Customers)
	}
}
