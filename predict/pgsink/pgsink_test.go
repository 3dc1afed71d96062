package pgsink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/pgtest"
	"github.com/churnlab/churn/predict"
)

// opts returns Options loading out's dates into db (the password through
// password_env, read from the test's own getenv).
func opts(db *pgtest.DB, out string, dates ...data.Date) Options {
	return Options{
		Sink: predict.SinkConfig{URL: db.URL, PasswordEnv: "TEST_PG_PASSWORD"}, Out: out, Dates: dates, Logger: quiet,
		Getenv: func(k string) string {
			if k == "TEST_PG_PASSWORD" {
				return pgtest.Password
			}
			return ""
		},
	}
}

func publish(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// tableRows reads a table's rows of one date as strings keyed by column.
func tableRows(t *testing.T, c *pgx.Conn, table string, asOf data.Date, key ...string) []map[string]string {
	t.Helper()
	rows, err := c.Query(context.Background(), "SELECT * FROM "+table+" WHERE as_of = $1", asOf.Time())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, f := range rows.FieldDescriptions() {
			m[f.Name] = pgString(vals[i])
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortRows(out, key)
	return out
}

func sameRows(t *testing.T, what string, got, want []map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows in the database, %d in Parquet", what, len(got), len(want))
	}
	if len(want) == 0 {
		t.Fatalf("%s: no rows to compare", what)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s row %d: %d columns in the database, %d in Parquet", what, i, len(got[i]), len(want[i]))
		}
		for k, w := range want[i] {
			if g, ok := got[i][k]; !ok || g != w {
				t.Fatalf("%s row %d (customer %s) column %s: database %q, Parquet %q", what, i, want[i]["customer_id"], k, g, w)
			}
		}
	}
}

// TestRoundTrip loads two dates and compares every column of every row of
// the predictions and alerts tables with the Parquet files, read by
// parquet-go alone: text, double precision, bigint, boolean, date and
// timestamptz, nulls included. It checks the runs table, the view, and
// that a rerun of a date changes nothing.
func TestRoundTrip(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	c := db.Conn(t)
	ctx := context.Background()
	res := publish(t, opts(db, f.out, asOfA, asOfB))
	if len(res.Loads) != 2 || res.Loads[0].AsOf != asOfA || res.Loads[1].AsOf != asOfB {
		t.Fatalf("loads %+v, want A then B", res.Loads)
	}
	nulls := map[string]bool{}
	for _, d := range []data.Date{asOfA, asOfB} {
		want := parquetRows(t, predict.PartitionDir(f.out, predict.PredictionsDir, d), "customer_id")
		sameRows(t, "predictions "+d.String(), tableRows(t, c, "churn.predictions", d, "customer_id"), want)
		for _, r := range want {
			for k, v := range r {
				if v == "NULL" {
					nulls[k] = true
				}
			}
		}
		wantAlerts := parquetRows(t, predict.PartitionDir(f.out, predict.AlertsDir, d), "rule", "customer_id")
		sameRows(t, "alerts "+d.String(), tableRows(t, c, "churn.alerts", d, "rule", "customer_id"), wantAlerts)
	}
	if !nulls["previous_probability"] || !nulls["expected_uplift"] {
		t.Errorf("the fixture has no nulls in previous_probability or expected_uplift: nulls are not tested")
	}

	// Every column type of the schema was compared above; check the
	// database types match docs/bi.md's mapping.
	var types []string
	rows, err := c.Query(ctx, `SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = 'churn' AND table_name = 'predictions' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		types = append(types, s)
	}
	if got, want := strings.Join(types, ","), "bigint,boolean,date,double precision,text,timestamp with time zone"; got != want {
		t.Errorf("column types %s, want %s", got, want)
	}

	// The runs table holds the manifest.
	var rowsN, alertsN int64
	var mv, fp string
	var scored time.Time
	if err := c.QueryRow(ctx, "SELECT rows, alerts, model_version, files_sha256, scored_at FROM churn.runs WHERE as_of = $1", asOfB.Time()).Scan(&rowsN, &alertsN, &mv, &fp, &scored); err != nil {
		t.Fatal(err)
	}
	_, wantFP, _ := manifests(f.out, asOfB)
	if rowsN != res.Loads[1].Rows || alertsN != res.Loads[1].Alerts || !strings.HasPrefix(mv, "sha256:") || fp != wantFP || !scored.Equal(clock(6)().Truncate(time.Microsecond)) {
		t.Errorf("runs row %d %d %s %s %v; want %d %d sha256:… %s %v", rowsN, alertsN, mv, fp, scored, res.Loads[1].Rows, res.Loads[1].Alerts, wantFP, clock(6)())
	}
	var manifestRows int64
	if err := c.QueryRow(ctx, "SELECT (manifest->>'rows')::bigint FROM churn.runs WHERE as_of = $1", asOfB.Time()).Scan(&manifestRows); err != nil || manifestRows != rowsN {
		t.Errorf("runs.manifest rows %d (%v), want %d", manifestRows, err, rowsN)
	}

	// The view shows the newest date.
	var n int64
	var latest time.Time
	if err := c.QueryRow(ctx, "SELECT count(*), max(as_of) FROM churn.latest_predictions").Scan(&n, &latest); err != nil {
		t.Fatal(err)
	}
	if n != rowsN || data.DateOf(latest) != asOfB {
		t.Errorf("latest_predictions: %d rows of %v, want %d of %v", n, latest, rowsN, asOfB)
	}

	// A rerun of the same date leaves the same rows.
	before := digest(t, c, asOfA)
	publish(t, opts(db, f.out, asOfA))
	if after := digest(t, c, asOfA); after != before {
		t.Errorf("rerunning as_of=%s changed its rows: digest %s, then %s", asOfA, before, after)
	}
}

// digest summarises a date's predictions and alerts rows.
func digest(t *testing.T, c *pgx.Conn, d data.Date) string {
	t.Helper()
	var p, a string
	if err := c.QueryRow(context.Background(), `SELECT
  (SELECT md5(string_agg(t::text, '|' ORDER BY customer_id)) FROM churn.predictions t WHERE as_of = $1),
  (SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY rule, customer_id)), '') FROM churn.alerts t WHERE as_of = $1)`, d.Time()).Scan(&p, &a); err != nil {
		t.Fatal(err)
	}
	return p + "/" + a
}

// scoredAt returns the row count and the distinct scored_at values of a
// date in one statement: one snapshot.
func scoredAt(ctx context.Context, c *pgx.Conn, d data.Date) (int64, []time.Time, error) {
	var n int64
	var ts []time.Time
	err := c.QueryRow(ctx, "SELECT count(*), coalesce(array_agg(DISTINCT scored_at), '{}') FROM churn.predictions WHERE as_of = $1", d.Time()).Scan(&n, &ts)
	return n, ts, err
}

// TestConcurrentReaderSeesOneRun reloads one date again and again from two
// runs of it (scored at 06:30 and at 07:30) while a reader counts the
// date's rows and their scored_at: every read must see all the rows of one
// run, never a mix, never none.
func TestConcurrentReaderSeesOneRun(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	publish(t, opts(db, f.out, asOfA))
	c := db.Conn(t)
	ctx := context.Background()
	want, _, err := scoredAt(ctx, c, asOfA)
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	errs := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			n, ts, err := scoredAt(ctx, c, asOfA)
			if err == nil && (n != want || len(ts) != 1) {
				err = fmt.Errorf("a reader saw %d rows with scored_at %v; want %d rows of one run", n, ts, want)
			}
			if err != nil {
				select {
				case errs <- err:
				default:
				}
				return
			}
			reads.Add(1)
		}
	}()
	for i := 0; i < 12; i++ {
		out := f.out
		if i%2 == 0 {
			out = f.outAgain
		}
		if _, err := Publish(ctx, opts(db, out, asOfA)); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if reads.Load() < 5 {
		t.Errorf("only %d reads during the loads: the test proves little", reads.Load())
	}
}

// TestCatchUp: a date published while the database was away is loaded by
// the next run (PendingNewer); PendingAll skips dates loaded from the same
// files and reloads one whose files changed.
func TestCatchUp(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	res := publish(t, opts(db, f.out, asOfA))
	if len(res.Loads) != 1 {
		t.Fatalf("loads %+v", res.Loads)
	}
	o := opts(db, f.out)
	o.Pending = PendingNewer
	res = publish(t, o)
	if len(res.Loads) != 1 || res.Loads[0].AsOf != asOfB {
		t.Fatalf("catch-up loaded %+v, want as_of=%s", res.Loads, asOfB)
	}
	res = publish(t, o)
	if len(res.Loads) != 0 {
		t.Fatalf("a second catch-up loaded %+v, want nothing", res.Loads)
	}
	o.Pending = PendingAll
	res = publish(t, o)
	if len(res.Loads) != 0 || res.Skipped != 2 {
		t.Fatalf("--all loaded %+v and skipped %d, want nothing and 2", res.Loads, res.Skipped)
	}
	// Date A of another run: --all sees other files and reloads it.
	o = opts(db, f.outAgain)
	o.Pending = PendingAll
	res = publish(t, o)
	if len(res.Loads) != 1 || res.Loads[0].AsOf != asOfA {
		t.Fatalf("--all over the rerun loaded %+v, want as_of=%s", res.Loads, asOfA)
	}

	// A fresh database is not back-filled by a nightly run: PendingNewer
	// starts after the newest date loaded, and there is none.
	fresh := pgtest.New(t)
	o = opts(fresh, f.out, asOfB)
	o.Pending = PendingNewer
	res = publish(t, o)
	if len(res.Loads) != 1 || res.Loads[0].AsOf != asOfB {
		t.Fatalf("first load into a fresh database %+v, want only as_of=%s", res.Loads, asOfB)
	}
}

// TestRefusesOtherTables: an existing table whose columns disagree is
// refused with the differences, and left as it was.
func TestRefusesOtherTables(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		setup string
		want  []string
	}{
		{"user table", `CREATE SCHEMA churn; CREATE TABLE churn.predictions (customer_id bigint NOT NULL, score real, owner_team text NOT NULL); INSERT INTO churn.predictions VALUES (1, 0.5, 'x')`,
			[]string{"table churn.predictions exists with columns that disagree", "column customer_id is bigint, churn writes text", "column churn_probability is missing", "column owner_team is NOT NULL and churn does not write it"}},
		{"not null", `CREATE SCHEMA churn; CREATE TABLE churn.alerts (as_of date, rule text, customer_id text, owner text NOT NULL)`,
			[]string{"table churn.alerts", "column owner is NOT NULL, churn writes nulls in it"}},
		{"new column", "", []string{"column clv is missing", "ALTER TABLE churn.predictions ADD COLUMN clv double precision;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.New(t)
			c := db.Conn(t)
			if tt.setup != "" {
				if _, err := c.Exec(ctx, tt.setup); err != nil {
					t.Fatal(err)
				}
			} else {
				publish(t, opts(db, f.out, asOfA))
				if _, err := c.Exec(ctx, "ALTER TABLE churn.predictions DROP COLUMN clv CASCADE"); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Publish(ctx, opts(db, f.out, asOfB))
			if err == nil {
				t.Fatal("Publish accepted a table that disagrees")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if tt.name == "user table" {
				var n int
				if err := c.QueryRow(ctx, "SELECT count(*) FROM churn.predictions WHERE owner_team = 'x'").Scan(&n); err != nil || n != 1 {
					t.Errorf("the user's table lost its row (%d, %v)", n, err)
				}
			}
		})
	}
}

// TestConnectErrors: a wrong password, an unreachable host, a password in
// the URL, a missing partition each give one clear error that never shows
// the password, before anything is loaded.
func TestConnectErrors(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wrong := opts(db, f.out, asOfA)
	wrong.Getenv = func(string) string { return "not-the-password" }
	unset := opts(db, f.out, asOfA)
	unset.Getenv = func(string) string { return "" }
	closed := opts(db, f.out, asOfA)
	closed.Sink.URL = strings.Replace(db.URL, fmt.Sprintf(":%d/", db.Server.Port), ":1/", 1)
	inURL := opts(db, f.out, asOfA)
	inURL.Sink.URL = strings.Replace(db.URL, "churn@", "churn:hunter2@", 1)
	noDB := opts(db, f.out, asOfA)
	noDB.Sink.URL = strings.Replace(db.URL, "/"+db.Name+"?", "/nosuchdb?", 1)
	missing := opts(db, f.out, data.MakeDate(2024, 10, 1))
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"wrong password", wrong, `password authentication failed for user "churn" (check the password`},
		{"password env unset", unset, "the environment variable TEST_PG_PASSWORD (password_env) is not set"},
		{"closed port", closed, "connect: connection refused"},
		{"password in URL", inURL, "the password must not be in the URL"},
		{"no database", noDB, `database "nosuchdb" does not exist (create the database first`},
		{"missing partition", missing, "no complete predictions partition for as_of=2024-10-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Publish(ctx, tt.o)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *pgsink.Error", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\nlacks %q", msg, tt.want)
			}
			if !strings.HasPrefix(msg, "postgres sink postgres://churn") || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the sink", msg)
			}
			for _, secret := range []string{"hunter2", "not-the-password", pgtest.Password} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q shows the password", msg)
				}
			}
		})
	}
	var n int
	if err := db.Conn(t).QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = 'churn'").Scan(&n); err != nil || n != 0 {
		t.Errorf("a failed connection left schema churn behind (%d, %v)", n, err)
	}
}

// TestUnreachableHostTimesOut: a host that never answers fails after the
// URL's connect_timeout with one clear error.
func TestUnreachableHostTimesOut(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never routed.
	o := opts(db, f.out, asOfA)
	o.Sink.URL = "postgres://churn@192.0.2.1:5432/churn?connect_timeout=1"
	start := time.Now()
	_, err := Publish(context.Background(), o)
	if err == nil {
		t.Fatal("connected to TEST-NET-1")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("gave up after %v, want about the 1 s connect_timeout", d)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "postgres sink postgres://churn@192.0.2.1:5432/churn") || !strings.Contains(msg, "connect: ") || strings.Contains(msg, "\n") {
		t.Errorf("error %q: want one line naming the sink and the connect failure", msg)
	}
}

// childEnv makes the test binary a loader that TestKillDuringLoad kills.
const childEnv = "CHURN_PGSINK_CHILD"

// child loads the date given in the environment and exits.
func child() int {
	var spec struct{ url, out, date string }
	spec.url, spec.out, spec.date = os.Getenv("CHILD_URL"), os.Getenv("CHILD_OUT"), os.Getenv("CHILD_DATE")
	d, err := data.ParseDate(spec.date)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, err = Publish(context.Background(), Options{Sink: predict.SinkConfig{URL: spec.url}, Out: spec.out, Dates: []data.Date{d}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestKillDuringLoad kills a loader with SIGKILL after it has deleted the
// date's rows and copied the new ones, inside its transaction (the test
// holds a lock on the runs table so the loader waits there): the previous
// rows are intact, and the next load succeeds.
func TestKillDuringLoad(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	publish(t, opts(db, f.out, asOfA))
	c := db.Conn(t)
	before := digest(t, c, asOfA)

	lock, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, "LOCK TABLE churn.runs IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", "CHILD_URL="+db.URL, "CHILD_OUT="+f.outAgain, "CHILD_DATE="+asOfA.String(), "PGPASSWORD="+pgtest.Password)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the loader waits for the lock on runs: it has deleted and
	// copied by then.
	obs := db.Conn(t)
	deadline := time.Now().Add(time.Minute)
	for {
		var waiting int
		if err := obs.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'churn'
AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO churn.runs%'`, db.Name).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the loader never reached the runs table: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// The server notices the dead client and rolls its transaction back.
	deadline = time.Now().Add(time.Minute)
	for {
		var left int
		if err := obs.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'churn'", db.Name).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed loader's session is still open after a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if after := digest(t, c, asOfA); after != before {
		t.Fatalf("after kill -9 during the load, as_of=%s's rows changed: %s, then %s", asOfA, before, after)
	}
	n, ts, err := scoredAt(ctx, c, asOfA)
	if err != nil || len(ts) != 1 || !ts[0].Equal(clock(6)().Truncate(time.Microsecond)) || n == 0 {
		t.Fatalf("after the kill: %d rows scored at %v (%v); want the 06:30 run's", n, ts, err)
	}
	// The next load goes through.
	publish(t, opts(db, f.outAgain, asOfA))
	if _, ts, _ := scoredAt(ctx, c, asOfA); len(ts) != 1 || !ts[0].Equal(clock(7)().Truncate(time.Microsecond)) {
		t.Fatalf("the load after the kill left scored_at %v, want the 07:30 run's", ts)
	}
}

// TestLoaderWithoutCreate: a database user that may only read and write
// the tables a DBA (here: a first load as the superuser) created loads
// without the CREATE privilege.
func TestLoaderWithoutCreate(t *testing.T) {
	f := getFixture(t)
	db := pgtest.New(t)
	publish(t, opts(db, f.out, asOfA))
	c := db.Conn(t)
	ctx := context.Background()
	role := "loader_" + db.Name
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN PASSWORD 'loader-pw'",
		"REVOKE CREATE ON DATABASE " + db.Name + " FROM PUBLIC",
		"GRANT USAGE ON SCHEMA churn TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA churn TO " + role,
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	o := opts(db, f.out, asOfB)
	o.Sink.URL = strings.Replace(db.URL, "churn@", role+"@", 1)
	o.Getenv = func(string) string { return "loader-pw" }
	res := publish(t, o)
	if len(res.Loads) != 1 || res.Loads[0].Rows == 0 {
		t.Fatalf("loads %+v", res.Loads)
	}
	// Without the tables' privileges the error says which.
	if _, err := c.Exec(ctx, "REVOKE DELETE ON churn.predictions FROM "+role); err != nil {
		t.Fatal(err)
	}
	_, err := Publish(ctx, o)
	if err == nil || !strings.Contains(err.Error(), "permission denied for table predictions") {
		t.Fatalf("error %v, want permission denied for table predictions", err)
	}
}
