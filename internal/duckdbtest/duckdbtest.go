package duckdbtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvDir names the environment variable that points at the folder where
// `make duckdb` installed @duckdb/node-api (its node_modules folder is
// inside).
const EnvDir = "CHURN_DUCKDB_DIR"

// Timeout bounds one Run: DuckDB start-up plus the queries.
var Timeout = 2 * time.Minute

// TypeOf is the DuckDB type each contract type (by its name, data.Type's
// String) must read as, with no cast. Keyed by name so that package data's
// own tests can use this package.
var TypeOf = map[string]string{
	"STRING":    "VARCHAR",
	"INT64":     "BIGINT",
	"DOUBLE":    "DOUBLE",
	"BOOLEAN":   "BOOLEAN",
	"DATE":      "DATE",
	"TIMESTAMP": "TIMESTAMP WITH TIME ZONE",
}

// Column is a column of a result: its name and DuckDB type, e.g. "BIGINT",
// "DATE", "TIMESTAMP WITH TIME ZONE".
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Result is the result of one statement. Rows holds one slice per row,
// values converted as described in the package documentation.
type Result struct {
	Columns []Column `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Types returns the column types in order.
func (r *Result) Types() []string {
	out := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		out[i] = c.Type
	}
	return out
}

// Dir returns the folder holding node_modules/@duckdb/node-api. It skips
// the test when CHURN_DUCKDB_DIR is unset and fails it when the folder
// lacks DuckDB or node is missing.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		t.Skipf("DuckDB checks skipped: %s is not set (run `make duckdb`, then %s=$PWD/.cache/node go test ..., or use `make test`)", EnvDir, EnvDir)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api", "package.json")); err != nil {
		t.Fatalf("%s=%s but @duckdb/node-api is not installed there (run `make duckdb`): %v", EnvDir, dir, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("%s is set but node is not on PATH (apt-get install nodejs): %v", EnvDir, err)
	}
	return dir
}

// Run runs the statements in one in-memory DuckDB session, in order, and
// returns one Result per statement. It fails the test on any error, with
// DuckDB's message and the statement.
func Run(t testing.TB, statements ...string) []Result {
	t.Helper()
	dir := Dir(t)
	res, err := run(dir, statements)
	if err != nil {
		t.Fatalf("duckdb: %v", err)
	}
	return res
}

// Query runs one statement and returns its result.
func Query(t testing.TB, sql string) Result {
	t.Helper()
	return Run(t, sql)[0]
}

// Describe returns the columns of a Parquet file (or glob) as DuckDB reads
// them.
func Describe(t testing.TB, path string) []Column {
	t.Helper()
	return Query(t, "SELECT * FROM "+Parquet(path)+" LIMIT 0").Columns
}

// Parquet returns a read_parquet call for path, which may be a glob.
func Parquet(path string) string {
	return "read_parquet(" + Quote(path) + ")"
}

// ParquetGlob returns a read_parquet call for every .parquet file under
// dir, with Hive partition folders (key=value) read as columns.
func ParquetGlob(dir string) string {
	return "read_parquet(" + Quote(filepath.Join(dir, "**", "*.parquet")) + ", hive_partitioning = true)"
}

// Quote returns s as a SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// script reads {"statements": [...]} on stdin and writes one result per
// statement as JSON on stdout; errors go to stderr with exit code 1.
const script = `
const { DuckDBInstance } = require("@duckdb/node-api");
async function main() {
  let input = "";
  for await (const chunk of process.stdin) input += chunk;
  const { statements } = JSON.parse(input);
  const db = await DuckDBInstance.create(":memory:");
  const conn = await db.connect();
  try { await conn.run("SET TimeZone = 'UTC'"); } catch (e) { /* no ICU: timestamps are UTC anyway */ }
  const out = [];
  for (const sql of statements) {
    let r;
    try {
      r = await conn.runAndReadAll(sql);
    } catch (e) {
      throw new Error(e.message + "\nin statement: " + sql);
    }
    const names = r.columnNames();
    const types = r.columnTypes().map(String);
    out.push({ columns: names.map((n, i) => ({ name: n, type: types[i] })), rows: r.getRowsJson() });
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch((e) => { process.stderr.write(String(e && e.message || e)); process.exit(1); });
`

func run(dir string, statements []string) ([]Result, error) {
	if len(statements) == 0 {
		return nil, errors.New("no statements")
	}
	tmp, err := os.MkdirTemp("", "duckdbtest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	js := filepath.Join(tmp, "run.js")
	if err := os.WriteFile(js, []byte(script), 0o644); err != nil {
		return nil, err
	}
	in, err := json.Marshal(map[string][]string{"statements": statements})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", js)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("timed out after %v", Timeout)
		}
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res []Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("decode output: %v", err)
	}
	if len(res) != len(statements) {
		return nil, fmt.Errorf("%d results for %d statements", len(res), len(statements))
	}
	return res, nil
}
