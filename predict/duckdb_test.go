package predict

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/doctest"
	"github.com/churnlab/churn/internal/duckdbtest"
)

// TestDuckDBReadsPredictions writes two dates into one folder and reads
// the predictions folder the way BI tools do, with DuckDB and Hive
// partitioning: counts, types and values, and the alerts in both formats.
func TestDuckDBReadsPredictions(t *testing.T) {
	duckdbtest.Dir(t) // skips without DuckDB
	f := getFixture(t)
	out := t.TempDir()
	var results []*Result
	for _, d := range []data.Date{asOfA, asOfB} {
		opt := f.options(out, d)
		opt.Config.Output.RowsPerFile = 500 // several parts
		res, err := Run(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	preds := "read_parquet(" + duckdbtest.Quote(filepath.Join(out, PredictionsDir, "*", "*.parquet")) + ", hive_partitioning = true)"
	alertsPQ := "read_parquet(" + duckdbtest.Quote(filepath.Join(out, AlertsDir, "*", AlertsParquet)) + ", hive_partitioning = true)"
	alertsJL := "read_json_auto(" + duckdbtest.Quote(filepath.Join(out, AlertsDir, "*", AlertsJSONL)) + ")"
	res := duckdbtest.Run(t,
		"DESCRIBE SELECT * FROM "+preds,
		"SELECT CAST(as_of AS VARCHAR), count(*), count(DISTINCT customer_id), min(rank), max(rank), count(DISTINCT rank), "+
			"sum(CASE WHEN risk_tier = 'high' THEN 1 ELSE 0 END), count(previous_probability) FROM "+preds+" GROUP BY as_of ORDER BY as_of",
		// previous_* of the second date are the first date's values.
		"SELECT count(*) FROM "+preds+" b JOIN "+preds+" a ON a.customer_id = b.customer_id AND a.as_of = DATE '"+asOfA.String()+"' "+
			"WHERE b.as_of = DATE '"+asOfB.String()+"' AND (b.previous_probability IS DISTINCT FROM a.churn_probability OR b.previous_tier IS DISTINCT FROM a.risk_tier "+
			"OR b.previous_as_of IS DISTINCT FROM a.as_of OR abs(b.probability_change - (b.churn_probability - a.churn_probability)) > 1e-12)",
		// Ranks follow probabilities; reasons are sane.
		"SELECT count(*) FROM (SELECT rank, churn_probability, lag(churn_probability) OVER (PARTITION BY as_of ORDER BY rank) AS prev FROM "+preds+") WHERE prev < churn_probability",
		"SELECT count(*) FROM "+preds+" WHERE reason_1_contribution <= 0 OR reason_2_contribution > reason_1_contribution OR reason_3_contribution > reason_2_contribution "+
			"OR (reason_1_feature IS NULL) <> (reason_1_text IS NULL) OR churn_probability NOT BETWEEN 0 AND 1 OR abs(revenue_at_risk - churn_probability * annual_revenue) > 1e-6",
		"SELECT DISTINCT CAST(scored_at AS VARCHAR), model_version FROM "+preds,
		"SELECT count(*) FROM "+alertsPQ,
		"SELECT count(*), count(DISTINCT rule || customer_id || CAST(as_of AS VARCHAR)) FROM "+alertsJL,
		"SELECT count(*) FROM "+alertsPQ+" p JOIN "+preds+" q USING (customer_id, as_of) WHERE p.churn_probability <> q.churn_probability OR p.rank <> q.rank OR p.reason_1_text IS DISTINCT FROM q.reason_1_text",
	)
	// Types: every column as the schema says, as_of a DATE from the file and the folder.
	desc := res[0]
	if len(desc.Rows) != len(PredictionColumns) {
		t.Fatalf("DuckDB sees %d columns, the schema has %d", len(desc.Rows), len(PredictionColumns))
	}
	for i, c := range PredictionColumns {
		name, typ := fmt.Sprint(desc.Rows[i][0]), fmt.Sprint(desc.Rows[i][1])
		if name != c.Name || typ != duckdbtest.TypeOf[c.Type.String()] {
			t.Errorf("column %d: DuckDB reads %s %s, want %s %s", i, name, typ, c.Name, duckdbtest.TypeOf[c.Type.String()])
		}
	}
	counts := res[1].Rows
	if len(counts) != 2 {
		t.Fatalf("partitions: %v", counts)
	}
	for i, r := range results {
		row := counts[i]
		n := fmt.Sprint(r.Rows)
		wantPrev := fmt.Sprint(r.PreviousMatched)
		got := fmt.Sprint(row[1:]...)
		want := fmt.Sprint(n, n, 1, n, n, r.Tiers.High, wantPrev)
		if fmt.Sprint(row[0]) != r.AsOf.String() || got != want {
			t.Errorf("partition %v: count, distinct ids, min/max/distinct rank, high, with previous = %s; want %s", row[0], got, want)
		}
	}
	for _, q := range []struct {
		i    int
		what string
	}{{2, "previous values differ from the earlier partition"}, {3, "ranks out of probability order"}, {4, "rows with bad reasons, probabilities or revenue"}, {8, "alerts disagree with predictions"}} {
		if v := fmt.Sprint(res[q.i].Rows[0][0]); v != "0" {
			t.Errorf("%s: %s rows", q.what, v)
		}
	}
	if got := res[5].Rows; len(got) != 1 || !strings.HasPrefix(fmt.Sprint(got[0][0]), "2024-12-01 06:30:00.123456") || fmt.Sprint(got[0][1]) != results[0].ModelVersion {
		t.Errorf("scored_at, model_version: %v", got)
	}
	total := results[0].Alerts + results[1].Alerts
	if fmt.Sprint(res[6].Rows[0][0]) != fmt.Sprint(total) || fmt.Sprint(res[7].Rows[0][0]) != fmt.Sprint(total) || fmt.Sprint(res[7].Rows[0][1]) != fmt.Sprint(total) {
		t.Errorf("alerts: parquet %v, jsonl %v; want %d, one per customer and rule", res[6].Rows, res[7].Rows, total)
	}
}

// TestControlRecipe runs the DuckDB query of docs/playbook.md that
// recomputes the control groups from customer ids and plays alone, over
// predictions of two dates written with a non-default experiment: it
// must agree with treatment_group on every targeted row.
func TestControlRecipe(t *testing.T) {
	duckdbtest.Dir(t) // skips without DuckDB
	f := getFixture(t)
	out := t.TempDir()
	var targeted int64
	for _, d := range []data.Date{asOfA, asOfB} {
		res, err := Run(context.Background(), controlOptions(f, out, d, 0.3, "it's 2024q4"))
		if err != nil {
			t.Fatal(err)
		}
		targeted += res.Experiment.Targeted
	}
	q := string(sqlBlock(t, "../docs/playbook.md", "<!-- control recipe"))
	for old, repl := range map[string]string{
		"SELECT 0 AS seed, '' AS cohort, 0.1 AS share": "SELECT 5 AS seed, " + duckdbtest.Quote("it's 2024q4") + " AS cohort, 0.3 AS share",
		"'OUT/predictions/*/*.parquet'":                duckdbtest.Quote(filepath.Join(out, PredictionsDir, "*", "*.parquet")),
	} {
		if !strings.Contains(q, old) {
			t.Fatalf("the recipe no longer holds %q:\n%s", old, q)
		}
		q = strings.Replace(q, old, repl, 1)
	}
	res := duckdbtest.Run(t, "SELECT count(*), count(*) FILTER (WHERE recomputed = treatment_group), count(*) FILTER (WHERE recomputed = 'control') FROM ("+q+")")
	row := fmt.Sprint(res[0].Rows[0]...)
	if n := fmt.Sprint(targeted); row != fmt.Sprint(n, n, res[0].Rows[0][2]) || fmt.Sprint(res[0].Rows[0][2]) == "0" {
		t.Errorf("recipe: rows, agreeing, control = %s; want %d targeted rows, all agreeing, some control", row, targeted)
	}
}

// TestSchemaDoc checks that docs/predictions.md embeds the schemas as the
// code defines them.
func TestSchemaDoc(t *testing.T) {
	checkGenerated(t, "../docs/predictions.md", "churn predictions schema (go test ./predict -run TestSchemaDoc -update)", SchemaMarkdown())
}

// TestSchemaWriters: every output column has a value.
func TestSchemaWriters(t *testing.T) {
	for _, c := range PredictionColumns {
		if writers[c.Name] == nil {
			t.Errorf("prediction column %s has no writer", c.Name)
		}
	}
	for _, c := range AlertColumns {
		switch c.Name {
		case "rule", "owner_role", "next_step": // per alert
			continue
		}
		if writers[c.Name] == nil {
			t.Errorf("alert column %s has no writer", c.Name)
		}
	}
}

// TestPlaybookDoc checks that docs/playbook.md embeds the built-in
// playbook and the category of every fixed feature (default windows).
func TestPlaybookDoc(t *testing.T) {
	ds := fullDataset(t)
	spec, _, err := features.NewSpec(ds, features.Config{Groups: []string{"usage", "payments", "contacts", "tickets", "nps", "lifecycle", "intent", "purchases"}}, features.LabelConfig{Mode: features.LabelNone})
	if err != nil {
		t.Fatal(err)
	}
	checkGenerated(t, "../docs/playbook.md", "churn playbook (go test ./predict -run TestPlaybookDoc -update)", DefaultPlaybook().Markdown(spec))
}

// checkGenerated compares the generated section of a document with want,
// rewriting it with -update.
func checkGenerated(t *testing.T, path, what, want string) {
	t.Helper()
	doctest.Check(t, path, what, want, *update)
}

// yamlBlock returns the first ```yaml block after marker in a document.
func yamlBlock(t *testing.T, path, marker string) []byte {
	t.Helper()
	return codeBlock(t, path, marker, "yaml")
}

// sqlBlock returns the first ```sql block after marker in a document.
func sqlBlock(t *testing.T, path, marker string) []byte {
	t.Helper()
	return codeBlock(t, path, marker, "sql")
}

// codeBlock returns the first fenced block of a language after marker in
// a document.
func codeBlock(t *testing.T, path, marker, lang string) []byte {
	t.Helper()
	return []byte(doctest.Block(t, path, marker, lang))
}

// TestExampleConfig parses the examples of docs/predictions.md and
// docs/playbook.md.
func TestExampleConfig(t *testing.T) {
	// The config names playbook.yaml next to it: predict/playbook.yaml.
	c, err := ParseConfig("../predict/predict.yaml", yamlBlock(t, "../docs/predictions.md", "<!-- example config"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Tiers.High.MaxAccounts != 200 || len(c.Alerts) != 2 || c.Webhook.AuthEnv != "CHURN_WEBHOOK_TOKEN" || c.Control.Experiment() != (data.Experiment{Cohort: "2025q1", Share: 0.1}) {
		t.Errorf("config %+v", c)
	}
	p := filepath.Join(t.TempDir(), "pb.yaml")
	os.WriteFile(p, yamlBlock(t, "../docs/playbook.md", "## Your own playbook"), 0o644)
	pb, err := LoadPlaybook(p)
	if err != nil {
		t.Fatal(err)
	}
	if pb.CategoryOf(&features.Def{Name: "nps_last", Group: "nps"}) != "wellbeing" {
		t.Error("the playbook example's feature mapping does not apply")
	}
	// The control-groups example of docs/playbook.md is the defaults.
	cc, err := ParseConfig("control.yaml", yamlBlock(t, "../docs/playbook.md", "## Control groups"))
	if err != nil {
		t.Fatal(err)
	}
	var def Config
	def.EnsureDefaults()
	if cc.Control.Experiment() != def.Control.Experiment() {
		t.Errorf("docs/playbook.md's control example %+v is not the defaults %+v", cc.Control.Experiment(), def.Control.Experiment())
	}
}
