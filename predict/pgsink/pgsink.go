// Package pgsink loads published predictions partitions into PostgreSQL
// for the BI tools that read a database (Metabase, Superset, Grafana,
// Looker on a replica): the rows of OUT/predictions/as_of=DATE and
// OUT/alerts/as_of=DATE, and the predictions manifest, into the tables
// SCHEMA.predictions, SCHEMA.alerts and SCHEMA.runs, plus the view
// SCHEMA.latest_predictions (docs/bi.md).
//
// The Parquet partition is the system of record: pgsink reads the
// published files, never the run's memory, so `churn publish` can load
// (or reload) any date later and a database that was down catches up on
// the next run. Each as-of date is loaded with COPY in one transaction
// that first deletes that date's rows: readers see the old rows or the
// new ones, never a mix, and a rerun of the same date leaves the same
// rows. Missing tables are created; a table whose columns disagree is
// refused with the differences spelled out; nothing is ever dropped.
package pgsink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

// Which partitions Publish loads besides Options.Dates.
type Pending int

const (
	// PendingNone loads only Options.Dates.
	PendingNone Pending = iota
	// PendingNewer also loads the complete partitions newer than the
	// newest date in SCHEMA.runs that are not loaded yet: the dates a
	// database outage made a run miss. Older history is left to
	// PendingAll (churn publish --all).
	PendingNewer
	// PendingAll loads every complete partition not loaded yet or loaded
	// from other files (another run of that date).
	PendingAll
)

// Options says what to load where.
type Options struct {
	Sink predict.SinkConfig
	// Out is the output folder holding predictions/ and alerts/.
	Out string
	// Dates are loaded (or reloaded) whatever the database holds.
	Dates   []data.Date
	Pending Pending
	// Getenv reads the password variable (nil: os.Getenv).
	Getenv func(string) string
	Logger *slog.Logger
}

// Load is what one date's load did.
type Load struct {
	AsOf    data.Date
	Rows    int64
	Alerts  int64
	Seconds float64
}

// Result lists the dates loaded, oldest first.
type Result struct {
	Sink  string // the URL, redacted
	Loads []Load
	// Skipped are the requested or pending dates already loaded from the
	// same files (PendingAll).
	Skipped int
}

// Error is a failed load: which sink, and whether anything before the
// failure was loaded. The Parquet partitions are unaffected.
type Error struct {
	Sink string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("postgres sink %s: %v", e.Sink, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Publish connects to the sink, creates or checks its tables and loads the
// partitions of opt.Out that opt asks for, one transaction per date.
func Publish(ctx context.Context, opt Options) (*Result, error) {
	sk := opt.Sink
	if sk.Schema == "" {
		sk.Schema = predict.DefaultSinkSchema
	}
	res := &Result{Sink: predict.Redact(sk.URL)}
	fail := func(err error) (*Result, error) { return res, &Error{Sink: res.Sink, Err: err} }
	if err := (&predict.Config{Sinks: []predict.SinkConfig{sk}}).ValidateSinks(); err != nil {
		return fail(err)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Everything that can be checked without the database first.
	have, err := predict.Partitions(opt.Out, predict.PredictionsDir)
	if err != nil {
		return fail(err)
	}
	for _, d := range opt.Dates {
		if err := checkPartition(opt.Out, d); err != nil {
			return fail(err)
		}
	}
	conn, err := connect(ctx, sk, opt.Getenv)
	if err != nil {
		return fail(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	t := tables(sk.Schema)
	if err := t.ensure(ctx, conn); err != nil {
		return fail(err)
	}
	todo, skipped, err := t.plan(ctx, conn, opt, have)
	if err != nil {
		return fail(err)
	}
	res.Skipped = skipped
	for _, d := range todo {
		start := time.Now()
		l, err := t.load(ctx, conn, opt.Out, d)
		if err != nil {
			return fail(fmt.Errorf("load as_of=%s: %w (nothing of that date changed in the database)", d, err))
		}
		l.Seconds = time.Since(start).Seconds()
		log.Info("loaded into postgres", "sink", res.Sink, "as_of", d.String(), "rows", l.Rows, "alerts", l.Alerts, "seconds", l.Seconds)
		res.Loads = append(res.Loads, l)
	}
	return res, nil
}

// checkPartition reports a date whose predictions or alerts partition is
// not complete.
func checkPartition(out string, d data.Date) error {
	for _, kind := range []string{predict.PredictionsDir, predict.AlertsDir} {
		dir := predict.PartitionDir(out, kind, d)
		if _, err := os.Stat(filepath.Join(dir, predict.SuccessFile)); err != nil {
			return fmt.Errorf("no complete %s partition for as_of=%s: %s has no %s (run churn predict for that date first)", kind, d, dir, predict.SuccessFile)
		}
	}
	return nil
}

// connect opens the connection: the URL, the password from PasswordEnv or
// libpq's PGPASSWORD / PGPASSFILE, a 10 s connect timeout unless the URL
// sets connect_timeout. Errors never include the password.
func connect(ctx context.Context, sk predict.SinkConfig, getenv func(string) string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(sk.URL)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %v", err)
	}
	if sk.PasswordEnv != "" {
		if getenv == nil {
			getenv = os.Getenv
		}
		pw := getenv(sk.PasswordEnv)
		if pw == "" {
			return nil, fmt.Errorf("the environment variable %s (password_env) is not set", sk.PasswordEnv)
		}
		cfg.Password = pw
	}
	if !strings.Contains(sk.URL, "connect_timeout") {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cfg.RuntimeParams["application_name"] = "churn"
	cfg.RuntimeParams["timezone"] = "UTC"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %s", connectError(err, cfg.Password != ""))
	}
	return conn, nil
}

// connectError shortens pgx's connect errors to their cause, with a hint.
func connectError(err error, hadPassword bool) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			if !hadPassword {
				return pe.Message + " (no password was given: set PGPASSWORD, a PGPASSFILE, or sinks[].password_env)"
			}
			return pe.Message + " (check the password in PGPASSWORD, the PGPASSFILE, or sinks[].password_env)"
		case "3D000":
			return pe.Message + " (create the database first; churn creates only its schema and tables)"
		}
		return pe.Message
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "dial error: "); i >= 0 {
		msg = msg[i+len("dial error: "):]
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(msg, "timeout") {
		return msg + " (is the host reachable? the connect timeout is 10 s unless the URL sets connect_timeout)"
	}
	return msg
}

// manifests reads a published date's predictions manifest and returns it
// with the date's fingerprint: the SHA-256 of its predictions and alerts
// manifests, which list every file's SHA-256.
func manifests(out string, d data.Date) (pred []byte, fp string, err error) {
	h := sha256.New()
	for _, kind := range []string{predict.PredictionsDir, predict.AlertsDir} {
		b, err := os.ReadFile(filepath.Join(predict.PartitionDir(out, kind, d), predict.ManifestFile))
		if err != nil {
			return nil, "", err
		}
		if kind == predict.PredictionsDir {
			pred = b
		}
		h.Write(b)
	}
	return pred, hex.EncodeToString(h.Sum(nil)), nil
}

// plan returns the dates to load, oldest first, and how many pending
// dates were already loaded from the same files.
func (t *tableSet) plan(ctx context.Context, conn *pgx.Conn, opt Options, have []data.Date) ([]data.Date, int, error) {
	want := map[data.Date]bool{}
	for _, d := range opt.Dates {
		want[d] = true
	}
	skipped := 0
	if opt.Pending != PendingNone {
		loaded := map[data.Date]string{}
		rows, err := conn.Query(ctx, "SELECT as_of, files_sha256 FROM "+t.runs)
		if err != nil {
			return nil, 0, err
		}
		newest := data.NoDate
		for rows.Next() {
			var at time.Time
			var fp string
			if err := rows.Scan(&at, &fp); err != nil {
				rows.Close()
				return nil, 0, err
			}
			d := data.DateOf(at)
			loaded[d] = fp
			newest = max(newest, d)
		}
		if err := rows.Err(); err != nil {
			return nil, 0, err
		}
		for _, d := range have {
			fp, ok := loaded[d]
			switch {
			case want[d]:
			case opt.Pending == PendingNewer && !ok && newest != data.NoDate && d > newest:
				if checkPartition(opt.Out, d) == nil {
					want[d] = true
				}
			case opt.Pending == PendingAll:
				if checkPartition(opt.Out, d) != nil {
					continue
				}
				_, now, err := manifests(opt.Out, d)
				if err != nil {
					return nil, 0, err
				}
				if now != fp {
					want[d] = true
				} else {
					skipped++
				}
			}
		}
	}
	var out []data.Date
	for d := range want {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, skipped, nil
}

// load replaces one date's rows in one transaction.
func (t *tableSet) load(ctx context.Context, conn *pgx.Conn, out string, d data.Date) (Load, error) {
	l := Load{AsOf: d}
	predDir := predict.PartitionDir(out, predict.PredictionsDir, d)
	mfBytes, fp, err := manifests(out, d)
	if err != nil {
		return l, err
	}
	var mf predict.Manifest
	if err := json.Unmarshal(mfBytes, &mf); err != nil {
		return l, fmt.Errorf("%s: %v", filepath.Join(predDir, predict.ManifestFile), err)
	}
	scoredAt, err := time.Parse(time.RFC3339Nano, mf.ScoredAt)
	if err != nil {
		return l, fmt.Errorf("%s: scored_at %q: %v", filepath.Join(predDir, predict.ManifestFile), mf.ScoredAt, err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return l, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", t.lockKey); err != nil {
		return l, err
	}
	asOf := d.Time()
	for _, part := range []struct {
		table string
		kind  string
		cols  []predict.Column
		n     *int64
	}{{predictionsTable, predict.PredictionsDir, predict.PredictionColumns, &l.Rows}, {alertsTable, predict.AlertsDir, predict.AlertColumns, &l.Alerts}} {
		if _, err := tx.Exec(ctx, "DELETE FROM "+t.schema+"."+part.table+" WHERE as_of = $1", asOf); err != nil {
			return l, err
		}
		src, err := newSource(ctx, predict.PartitionDir(out, part.kind, d), part.kind, part.cols)
		if err != nil {
			return l, err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.schema, part.table}, columnNames(part.cols), src)
		src.close()
		if err != nil {
			return l, fmt.Errorf("copy into %s.%s: %w", t.schema, part.table, err)
		}
		*part.n = n
	}
	if l.Rows != mf.Rows {
		return l, fmt.Errorf("%s holds %d rows, its manifest says %d", predDir, l.Rows, mf.Rows)
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+t.runs+` (as_of, model_version, rows, alerts, scored_at, manifest, files_sha256, loaded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now())
ON CONFLICT (as_of) DO UPDATE SET model_version = EXCLUDED.model_version, rows = EXCLUDED.rows, alerts = EXCLUDED.alerts,
  scored_at = EXCLUDED.scored_at, manifest = EXCLUDED.manifest, files_sha256 = EXCLUDED.files_sha256, loaded_at = EXCLUDED.loaded_at`,
		asOf, mf.ModelVersion, l.Rows, l.Alerts, scoredAt, string(mfBytes), fp)
	if err != nil {
		return l, err
	}
	return l, tx.Commit(ctx)
}

func columnNames(cols []predict.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// AfterRun loads a published run into every sink: its as-of date, and the
// dates a sink missed since the newest one it holds (PendingNewer). A
// failing sink does not stop the others. The error says that the Parquet
// partition stays published and how to catch up.
func AfterRun(ctx context.Context, sinks []predict.SinkConfig, out string, asOf data.Date, getenv func(string) string, log *slog.Logger) ([]*Result, error) {
	var results []*Result
	var errs []error
	for _, sk := range sinks {
		res, err := Publish(ctx, Options{Sink: sk, Out: out, Dates: []data.Date{asOf}, Pending: PendingNewer, Getenv: getenv, Logger: log})
		results = append(results, res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return results, fmt.Errorf("%w (the Parquet partitions of as_of=%s are published and stay the system of record; the next run catches up, or run churn publish --out %s --as-of %s --sink URL)",
			errors.Join(errs...), asOf, out, asOf)
	}
	return results, nil
}
