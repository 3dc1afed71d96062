package pgsink

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

// The sink's tables and view, in its schema.
const (
	predictionsTable = "predictions"
	alertsTable      = "alerts"
	runsTable        = "runs"
	latestView       = "latest_predictions"
)

// tableSet names a sink's tables, schema-qualified (the schema is a plain
// lower-case identifier, checked by predict.Config.ValidateSinks).
type tableSet struct {
	schema, predictions, alerts, runs, latest string
	// lockKey is the advisory lock every load and the DDL of this schema
	// take: loads of one schema run one at a time.
	lockKey int64
}

func tables(schema string) *tableSet {
	h := fnv.New64a()
	h.Write([]byte("churn.pgsink." + schema))
	q := func(name string) string { return schema + "." + name }
	return &tableSet{schema: schema, predictions: q(predictionsTable), alerts: q(alertsTable), runs: q(runsTable),
		latest: q(latestView), lockKey: int64(h.Sum64())}
}

// pgType is the PostgreSQL type of a column of data type t, as
// information_schema.columns.data_type spells it.
func pgType(t data.Type) string {
	switch t {
	case data.TypeString:
		return "text"
	case data.TypeFloat64:
		return "double precision"
	case data.TypeInt64:
		return "bigint"
	case data.TypeBool:
		return "boolean"
	case data.TypeDate:
		return "date"
	case data.TypeTimestamp:
		return "timestamp with time zone"
	}
	panic(fmt.Sprintf("pgsink: no PostgreSQL type for %v", t))
}

// sqlColumn is one column a table must have.
type sqlColumn struct {
	name, typ string
	notNull   bool
	doc       string
}

func sqlColumns(cols []predict.Column) []sqlColumn {
	out := make([]sqlColumn, len(cols))
	for i, c := range cols {
		out[i] = sqlColumn{c.Name, pgType(c.Type), !c.Nullable, c.Doc}
	}
	return out
}

// runColumns are the columns of SCHEMA.runs.
var runColumns = []sqlColumn{
	{"as_of", "date", true, "as-of date of the loaded partition"},
	{"model_version", "text", true, "version of the model that scored it"},
	{"rows", "bigint", true, "rows loaded into predictions"},
	{"alerts", "bigint", true, "rows loaded into alerts"},
	{"scored_at", "timestamp with time zone", true, "when the run scored (UTC)"},
	{"manifest", "jsonb", true, "the predictions partition's _manifest.json (docs/predictions.md)"},
	{"files_sha256", "text", true, "SHA-256 of the predictions and alerts manifests: which files were loaded"},
	{"loaded_at", "timestamp with time zone", true, "when churn loaded the date (database clock)"},
}

type tableDef struct {
	schema, table string
	cols          []sqlColumn
	key           []string
	// index is an extra index's columns (nil: none).
	index []string
}

// name is the table's qualified name.
func (d tableDef) name() string { return d.schema + "." + d.table }

func (t *tableSet) defs() []tableDef {
	return []tableDef{
		{t.schema, predictionsTable, sqlColumns(predict.PredictionColumns), []string{"as_of", "customer_id"}, []string{"as_of", "rank"}},
		{t.schema, alertsTable, sqlColumns(predict.AlertColumns), []string{"as_of", "rule", "customer_id"}, nil},
		{t.schema, runsTable, runColumns, []string{"as_of"}, nil},
	}
}

// ensure creates the schema, the tables and the view where missing and
// checks the columns of the tables that exist. It changes nothing that
// exists: a table whose columns disagree is an error listing the
// differences (and the statements that would add missing columns).
func (t *tableSet) ensure(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", t.lockKey); err != nil {
		return err
	}
	// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
	// database even when the schema exists: a loader whose DBA made the
	// schema and tables must not need it.
	var haveSchema bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", t.schema).Scan(&haveSchema); err != nil {
		return err
	}
	if !haveSchema {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+t.schema); err != nil {
			return fmt.Errorf("create schema %s: %w", t.schema, err)
		}
	}
	for _, d := range t.defs() {
		have, err := existingColumns(ctx, tx, d.schema, d.table)
		if err != nil {
			return err
		}
		if have == nil {
			if err := create(ctx, tx, d); err != nil {
				return fmt.Errorf("create table %s: %w", d.name(), err)
			}
			continue
		}
		if err := compare(d, have); err != nil {
			return err
		}
	}
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", t.latest).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		view := fmt.Sprintf("CREATE VIEW %s AS SELECT p.* FROM %s p WHERE p.as_of = (SELECT max(as_of) FROM %s)", t.latest, t.predictions, t.runs)
		if _, err := tx.Exec(ctx, view); err != nil {
			return fmt.Errorf("create view %s: %w", t.latest, err)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("COMMENT ON VIEW %s IS %s", t.latest, quote("churn's predictions of the most recent as-of date loaded (docs/bi.md)"))); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

type haveColumn struct {
	typ     string
	notNull bool
}

// existingColumns returns a table's columns, nil when it does not exist.
func existingColumns(ctx context.Context, tx pgx.Tx, schema, table string) (map[string]haveColumn, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type, is_nullable = 'NO' FROM information_schema.columns
WHERE table_schema = $1 AND table_name = $2`, schema, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out map[string]haveColumn
	for rows.Next() {
		var name string
		var c haveColumn
		if err := rows.Scan(&name, &c.typ, &c.notNull); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]haveColumn{}
		}
		out[name] = c
	}
	return out, rows.Err()
}

func create(ctx context.Context, tx pgx.Tx, d tableDef) error {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", d.name())
	for _, c := range d.cols {
		fmt.Fprintf(&b, "  %s %s", c.name, c.typ)
		if c.notNull {
			b.WriteString(" NOT NULL")
		}
		b.WriteString(",\n")
	}
	fmt.Fprintf(&b, "  PRIMARY KEY (%s)\n)", strings.Join(d.key, ", "))
	if _, err := tx.Exec(ctx, b.String()); err != nil {
		return err
	}
	if d.index != nil {
		// An index lives in its table's schema: its name is unqualified.
		name := d.table + "_" + strings.Join(d.index, "_")
		idx := fmt.Sprintf("CREATE INDEX %s ON %s (%s)", name, d.name(), strings.Join(d.index, ", "))
		if _, err := tx.Exec(ctx, idx); err != nil {
			return err
		}
	}
	// Column comments: Metabase, Superset and Grafana show them as
	// descriptions.
	for _, c := range d.cols {
		if _, err := tx.Exec(ctx, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", d.name(), c.name, quote(c.doc))); err != nil {
			return err
		}
	}
	return nil
}

// compare reports how an existing table disagrees with d: missing
// columns, other types, NOT NULL where churn writes nulls, and required
// columns churn does not write.
func compare(d tableDef, have map[string]haveColumn) error {
	var diffs, fixes []string
	want := map[string]bool{}
	for _, c := range d.cols {
		want[c.name] = true
		h, ok := have[c.name]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("column %s is missing", c.name))
			fixes = append(fixes, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s;", d.name(), c.name, c.typ))
		case h.typ != c.typ:
			diffs = append(diffs, fmt.Sprintf("column %s is %s, churn writes %s", c.name, h.typ, c.typ))
		case h.notNull && !c.notNull:
			diffs = append(diffs, fmt.Sprintf("column %s is NOT NULL, churn writes nulls in it", c.name))
		}
	}
	var extra []string
	for name, h := range have {
		if !want[name] && h.notNull {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		diffs = append(diffs, fmt.Sprintf("column %s is NOT NULL and churn does not write it", name))
	}
	if len(diffs) == 0 {
		return nil
	}
	msg := fmt.Sprintf("table %s exists with columns that disagree with churn's (schema version %d): %s; churn changes no existing table: fix it, or give the sink another schema",
		d.name(), predict.SchemaVersion, strings.Join(diffs, "; "))
	if len(fixes) == len(diffs) {
		msg += " (the missing columns are new in this churn version: " + strings.Join(fixes, " ") + ")"
	}
	return fmt.Errorf("%s", msg)
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
