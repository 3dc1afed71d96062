package data

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func init() {
	// -update regenerates golden files; another test file may define it.
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// validateNow is the clock of the validate tests.
var validateNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// writeRows writes a Parquet file of the given columns; cells are strings
// parsed by column type ("" is null, "NaN" and "Inf" are floats).
func writeRows(t testing.TB, path string, specs []ColumnSpec, rows ...[]string) {
	t.Helper()
	cols := make([]Vec, len(specs))
	for c, s := range specs {
		cols[c] = NewVec(s.Type)
		for _, r := range rows {
			appendCell(t, &cols[c], r[c])
		}
	}
	writeTable(t, path, specs, len(rows), cols, WriterOptions{RowGroupRows: 2})
}

func appendCell(t testing.TB, v *Vec, s string) {
	t.Helper()
	if s == "" {
		v.AppendNull()
		return
	}
	var err error
	switch v.Type {
	case TypeString:
		v.AppendString(s)
	case TypeInt64:
		var x int64
		x, err = strconv.ParseInt(s, 10, 64)
		v.AppendInt(x)
	case TypeFloat64:
		var x float64
		x, err = strconv.ParseFloat(s, 64)
		v.AppendFloat(x)
	case TypeBool:
		v.AppendBool(s == "true")
	case TypeDate:
		var d Date
		d, err = ParseDate(s)
		v.AppendDate(d)
	case TypeTimestamp:
		var x time.Time
		x, err = time.Parse(time.RFC3339, s)
		v.AppendTime(TimestampOf(x))
	}
	if err != nil {
		t.Fatalf("cell %q: %v", s, err)
	}
}

func spec(name string, t Type) ColumnSpec     { return ColumnSpec{Name: name, Type: t} }
func optional(name string, t Type) ColumnSpec { return ColumnSpec{Name: name, Type: t, Optional: true} }

// expect is a problem a case must report: File is relative to the dataset.
type expect struct {
	sev    Severity
	check  string
	file   string
	row    int64 // -1: any
	column string
	count  int64 // 0: any
}

func validateDir(t *testing.T, dir string, opt ValidateOptions) *Report {
	t.Helper()
	if opt.Now.IsZero() {
		opt.Now = validateNow
	}
	r, err := Validate(context.Background(), dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func rel(dir, p string) string {
	r, err := filepath.Rel(dir, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func describe(dir string, r *Report) string {
	var b strings.Builder
	for _, p := range r.Problems {
		p.File = rel(dir, p.File)
		b.WriteString("\n\t" + p.Severity.String() + " " + p.Check + " " + p.String())
	}
	return b.String()
}

// TestValidateGood checks that a dataset written to the contract, with
// every table, passes without a single problem.
func TestValidateGood(t *testing.T) {
	dir := t.TempDir()
	writeFixtureDataset(t, dir, 12)
	r := validateDir(t, dir, ValidateOptions{})
	if !r.OK || len(r.Problems) != 0 || r.Err() != nil {
		t.Fatalf("problems in a good dataset:%s", describe(dir, r))
	}
	if len(r.Tables) != len(Contract) || r.Files != len(Contract) {
		t.Fatalf("tables = %d, files = %d", len(r.Tables), r.Files)
	}
	for _, tr := range r.Tables {
		if !tr.Present || tr.Status != "ok" || !tr.OrphansChecked || tr.Orphans != 0 {
			t.Errorf("table %+v", tr)
		}
	}
	cust := r.Tables[0]
	if cust.Rows != 12 || cust.Columns[len(cust.Columns)-1].Kind != "attribute" {
		t.Errorf("customers = %+v", cust)
	}
	if c := cust.Columns[1]; c.Name != "signup_date" || c.Min != "2024-01-01" || c.Max != "2024-01-12" || c.FileType != "INT32 (DATE)" || c.Status != "ok" {
		t.Errorf("signup_date = %+v", c)
	}
}

func TestValidateProblems(t *testing.T) {
	ids := fixtureIDs(6)
	cust, _ := LookupTable(Customers)
	usage, _ := LookupTable(UsageTable)
	good := fixtureBytes(t, usage, ids, WriterOptions{RowGroupRows: 4})
	usageSpecs := []ColumnSpec{spec("customer_id", TypeString), optional("date", TypeDate), optional("active_users", TypeInt64)}
	custSpecs := []ColumnSpec{spec("customer_id", TypeString), optional("signup_date", TypeDate)}
	asOf := time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC)

	tests := []struct {
		name  string
		asOf  time.Time
		setup func(t *testing.T, dir string)
		want  []expect
		// ok is whether the report should have no errors.
		ok bool
	}{
		{name: "corrupt file", setup: func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, "usage.parquet"), []byte("PAR1 garbage garbage PAR1"))
		}, want: []expect{{SevError, "unreadable", "usage.parquet", 0, "", 1}}},
		{name: "empty file", setup: func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, "usage.parquet"), nil)
		}, want: []expect{{SevError, "unreadable", "usage.parquet", 0, "", 1}}},
		{name: "truncated file", setup: func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, "usage.parquet"), good[:len(good)-30])
		}, want: []expect{{SevError, "unreadable", "usage.parquet", 0, "", 1}}},
		{name: "unreadable file does not stop the others", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "usage.parquet"))
			writeBytes(t, filepath.Join(dir, "usage", "a.parquet"), good[:100])
			writeRows(t, filepath.Join(dir, "usage", "b.parquet"), usageSpecs, []string{"c001", "", "1"})
		}, want: []expect{
			{SevError, "unreadable", "usage/a.parquet", 0, "", 1},
			{SevError, "null_required", "usage/b.parquet", 1, "date", 1},
		}},
		{name: "wrong type and missing column reported together", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "surveys.parquet"), []ColumnSpec{spec("customer_id", TypeString), spec("nps", TypeString)},
				[]string{"c001", "9"})
		}, want: []expect{
			{SevError, "wrong_type", "surveys.parquet", 0, "nps", 1},
			{SevError, "missing_column", "surveys.parquet", 0, "ts", 1},
		}},
		{name: "missing required column in two partition files", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "usage.parquet"))
			for _, p := range []string{"usage/y=1/a.parquet", "usage/y=2/b.parquet"} {
				writeRows(t, filepath.Join(dir, p), usageSpecs[:1], []string{"c001"})
			}
		}, want: []expect{{SevError, "missing_column", "usage/y=1/a.parquet", 0, "date", 2}}},
		{name: "bad partition value", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "usage.parquet"))
			writeRows(t, filepath.Join(dir, "usage", "date=someday", "a.parquet"), usageSpecs[:1], []string{"c001"})
		}, want: []expect{{SevError, "bad_partition", "usage/date=someday/a.parquet", 0, "date", 1}}},
		{name: "partition value fills a column", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "usage.parquet"))
			writeRows(t, filepath.Join(dir, "usage", "date=2024-01-02", "a.parquet"), usageSpecs[:1], []string{"c001"})
		}, ok: true},
		{name: "unknown table and duplicate table", setup: func(t *testing.T, dir string) {
			writeBytes(t, filepath.Join(dir, "usages.parquet"), good)
			writeBytes(t, filepath.Join(dir, "usage.parquet"), good)
			writeBytes(t, filepath.Join(dir, "usage", "part-0.parquet"), good)
			writeBytes(t, filepath.Join(dir, "README.md"), []byte("notes"))
		}, want: []expect{
			{SevError, "unknown_table", "usages.parquet", 0, "", 1},
			{SevError, "duplicate_table", "usage.parquet", 0, "", 1},
			{SevInfo, "ignored_file", "README.md", 0, "", 1},
		}},
		{name: "folder without files", setup: func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, "tickets", "y=2024"), 0o755)
		}, want: []expect{{SevError, "no_files", "tickets", 0, "", 1}}},
		{name: "missing customers", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "customers.parquet"))
			writeBytes(t, filepath.Join(dir, "usage.parquet"), good)
		}, want: []expect{{SevError, "missing_table", ".", 0, "", 1}}},
		{name: "customers without rows", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), custSpecs)
		}, want: []expect{
			{SevError, "empty_table", "customers.parquet", 0, "", 1},
			{SevWarning, "orphan", "usage.parquet", 1, "customer_id", 0},
		}},
		{name: "nulls in required columns", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "usage.parquet"), usageSpecs,
				[]string{"c001", "", "1"}, []string{"c001", "2024-01-02", "1"}, []string{"c002", "", "1"}, []string{"c003", "", "1"})
		}, want: []expect{{SevError, "null_required", "usage.parquet", 1, "date", 3}}},
		{name: "duplicate customers within and across files", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "customers.parquet"))
			writeRows(t, filepath.Join(dir, "customers", "a.parquet"), custSpecs,
				[]string{"c000", "2024-01-01"}, []string{"c001", "2024-01-01"}, []string{"c001", "2024-01-01"}, []string{"c003", "2024-01-01"})
			writeRows(t, filepath.Join(dir, "customers", "b.parquet"), custSpecs,
				[]string{"c002", "2024-01-01"}, []string{"c003", "2024-01-01"}, []string{"c004", "2024-01-01"}, []string{"c005", "2024-01-01"})
		}, want: []expect{{SevError, "duplicate_key", "customers/a.parquet", 3, "customer_id", 2}}},
		{name: "orphans before, between and after customers", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), custSpecs, []string{"c001", "2024-01-01"}, []string{"c003", "2024-01-01"})
			writeRows(t, filepath.Join(dir, "usage.parquet"), usageSpecs,
				[]string{"c000", "2024-01-01", "1"}, []string{"c001", "2024-01-01", "1"}, []string{"c002", "2024-01-01", "1"},
				[]string{"c002", "2024-01-02", "1"}, []string{"c003", "2024-01-01", "1"}, []string{"c009", "2024-01-01", "1"})
		}, want: []expect{{SevWarning, "orphan", "usage.parquet", 1, "customer_id", 4}}, ok: true},
		{name: "unsorted keys across row groups", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "usage.parquet"), usageSpecs,
				[]string{"c001", "2024-01-01", "1"}, []string{"c003", "2024-01-01", "1"}, []string{"c002", "2024-01-01", "1"},
				[]string{"c004", "2024-01-01", "1"}, []string{"c000", "2024-01-01", "1"})
		}, want: []expect{
			{SevError, "unsorted_key", "usage.parquet", 3, "customer_id", 2},
			{SevInfo, "join_skipped", "usage.parquet", 0, "customer_id", 1},
		}},
		{name: "unsorted customers skip the join", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), custSpecs, []string{"c002", "2024-01-01"}, []string{"c001", "2024-01-01"})
		}, want: []expect{
			{SevError, "unsorted_key", "customers.parquet", 2, "customer_id", 1},
			{SevInfo, "join_skipped", "customers.parquet", 0, "customer_id", 1},
		}},
		{name: "unsorted time within a customer", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "usage.parquet"), usageSpecs,
				[]string{"c001", "2024-01-02", "1"}, []string{"c001", "2024-01-03", "1"}, []string{"c001", "2024-01-01", "1"},
				[]string{"c002", "2024-01-01", "1"})
		}, want: []expect{{SevWarning, "unsorted_time", "usage.parquet", 3, "date", 1}}, ok: true},
		{name: "vocabularies", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "payments.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("invoice_date", TypeDate), spec("amount", TypeFloat64), spec("status", TypeString)},
				[]string{"c001", "2024-01-01", "1", "paid"}, []string{"c001", "2024-01-02", "1", "PAID"}, []string{"c002", "2024-01-02", "1", "PAID"})
			writeRows(t, filepath.Join(dir, "signals.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("kind", TypeString)},
				[]string{"c001", "2024-01-01T00:00:00Z", "webinar"})
		}, want: []expect{
			{SevError, "unknown_value", "payments.parquet", 2, "status", 2},
			{SevInfo, "other_value", "signals.parquet", 1, "kind", 1},
		}},
		{name: "ranges and infinities", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "surveys.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("nps", TypeInt64)},
				[]string{"c001", "2024-01-01T00:00:00Z", "11"}, []string{"c002", "2024-01-01T00:00:00Z", "-1"}, []string{"c003", "2024-01-01T00:00:00Z", "10"})
			writeRows(t, filepath.Join(dir, "tickets.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("opened_at", TypeTimestamp), spec("priority", TypeString), spec("escalated", TypeBool), optional("csat", TypeInt64)},
				[]string{"c001", "2024-01-01T00:00:00Z", "low", "false", "0"}, []string{"c002", "2024-01-01T00:00:00Z", "low", "false", ""})
			writeRows(t, filepath.Join(dir, "orders.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("amount", TypeFloat64)},
				[]string{"c001", "2024-01-01T00:00:00Z", "Inf"}, []string{"c002", "2024-01-01T00:00:00Z", "-3.5"})
		}, want: []expect{
			{SevError, "out_of_range", "surveys.parquet", 1, "nps", 2},
			{SevError, "out_of_range", "tickets.parquet", 1, "csat", 1},
			{SevError, "not_finite", "orders.parquet", 1, "amount", 1},
			{SevWarning, "negative_amount", "orders.parquet", 2, "amount", 1},
		}},
		{name: "NaN is not null", setup: func(t *testing.T, dir string) {
			writeForeign(t, filepath.Join(dir, "customers.parquet"), []ColumnSpec{spec("customer_id", TypeString), optional("signup_date", TypeDate), optional("mrr", TypeFloat64)},
				[]string{"c000", "2024-01-01", "10"}, []string{"c001", "2024-01-01", "NaN"}, []string{"c002", "2024-01-01", "<null>"},
				[]string{"c003", "2024-01-01", "1"}, []string{"c004", "2024-01-01", "1"}, []string{"c005", "2024-01-01", "1"})
			writeForeign(t, filepath.Join(dir, "orders.parquet"), []ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("amount", TypeFloat64)},
				[]string{"c001", "2024-01-01T00:00:00Z", "NaN"})
		}, want: []expect{
			{SevWarning, "nan_value", "customers.parquet", 2, "mrr", 1},
			{SevError, "nan_value", "orders.parquet", 1, "amount", 1},
		}},
		{name: "implausible amounts", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), append(custSpecs, optional("mrr", TypeFloat64)),
				[]string{"c000", "2024-01-01", "1e308"}, []string{"c001", "2024-01-01", "-2.5e13"}, []string{"c002", "2024-01-01", "99"},
				[]string{"c003", "2024-01-01", "1"}, []string{"c004", "2024-01-01", "1"}, []string{"c005", "2024-01-01", "1"})
			writeRows(t, filepath.Join(dir, "usage.parquet"), append(usageSpecs, optional("minutes", TypeFloat64)),
				[]string{"c001", "2024-01-01", "1", "4e15"})
		}, want: []expect{
			{SevWarning, "implausible_value", "customers.parquet", 1, "mrr", 2},
			{SevWarning, "negative_amount", "customers.parquet", 2, "mrr", 1},
			{SevWarning, "implausible_value", "usage.parquet", 1, "minutes", 1},
		}, ok: true},
		{name: "infinite attribute", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), append(custSpecs, optional("revenue", TypeFloat64)),
				[]string{"c000", "2024-01-01", "1"}, []string{"c001", "2024-01-01", "-Inf"}, []string{"c002", "2024-01-01", "3"},
				[]string{"c003", "2024-01-01", "1"}, []string{"c004", "2024-01-01", "1"}, []string{"c005", "2024-01-01", "1"})
		}, want: []expect{{SevError, "not_finite", "customers.parquet", 2, "revenue", 1}}},
		{name: "churned before signing up", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), append(custSpecs, optional("churn_date", TypeDate)),
				[]string{"c000", "2024-01-01", "2023-12-31"}, []string{"c001", "2024-01-01", "2024-01-01"}, []string{"c002", "2024-01-05", "2024-02-01"},
				[]string{"c003", "2024-03-01", "2024-02-01"}, []string{"c004", "", "2024-02-01"}, []string{"c005", "2024-01-01", ""})
		}, want: []expect{{SevWarning, "churn_before_signup", "customers.parquet", 1, "churn_date", 2}}, ok: true},
		{name: "as-of date", asOf: asOf, setup: func(t *testing.T, dir string) {
			// The fixture histories run from 2024-01-01 for 6 customers.
		}, want: []expect{
			{SevWarning, "after_as_of", "usage.parquet", -1, "date", 5},
			{SevWarning, "after_as_of", "tickets.parquet", -1, "closed_at", 4},
			{SevWarning, "after_as_of", "payments.parquet", -1, "paid_date", 4},
			{SevWarning, "after_as_of", "subscriptions.parquet", -1, "end_date", 5},
		}, ok: true},
		{name: "future and placeholder dates", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "subscriptions.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("start_date", TypeDate), optional("end_date", TypeDate), spec("plan", TypeString), spec("seats", TypeInt64), spec("mrr", TypeFloat64)},
				[]string{"c001", "2024-01-01", "9999-12-31", "pro", "1", "1"},
				[]string{"c002", "2024-01-01", "2027-01-01", "pro", "1", "1"},
				[]string{"c003", "1900-01-01", "", "pro", "1", "1"})
			writeRows(t, filepath.Join(dir, "contacts.parquet"),
				[]ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("kind", TypeString)},
				[]string{"c001", "2025-01-02T23:00:00Z", "interaction"}, []string{"c001", "2025-01-03T00:00:00Z", "interaction"})
		}, want: []expect{
			{SevWarning, "future_date", "subscriptions.parquet", 1, "end_date", 1},
			{SevWarning, "old_date", "subscriptions.parquet", 3, "start_date", 1},
			{SevWarning, "future_date", "contacts.parquet", 2, "ts", 1},
		}, ok: true},
		{name: "missing signup dates", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), custSpecs,
				[]string{"c000", "2024-01-01"}, []string{"c001", ""}, []string{"c002", "2024-01-01"}, []string{"c003", ""},
				[]string{"c004", "2024-01-01"}, []string{"c005", "2024-01-01"})
		}, want: []expect{{SevWarning, "missing_signup", "customers.parquet", 2, "signup_date", 2}}, ok: true},
		{name: "no signup column", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "customers.parquet"), custSpecs[:1],
				[]string{"c000"}, []string{"c001"}, []string{"c002"}, []string{"c003"}, []string{"c004"}, []string{"c005"})
		}, want: []expect{{SevWarning, "missing_signup", "customers.parquet", 1, "signup_date", 6}}, ok: true},
		{name: "ignored columns and attributes", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "usage.parquet"), append(usageSpecs, spec("browser", TypeString)),
				[]string{"c001", "2024-01-01", "1", "firefox"})
			writeRows(t, filepath.Join(dir, "customers.parquet"), append(custSpecs, spec("founded", TypeDate)),
				[]string{"c001", "2024-01-01", "1990-01-01"})
		}, want: []expect{
			{SevInfo, "ignored_column", "usage.parquet", 0, "browser", 1},
			{SevInfo, "ignored_column", "customers.parquet", 0, "founded", 1},
		}, ok: true},
		{name: "interventions: good rows", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs,
				[]string{"c001", "2024-01-01T09:00:00Z", "usage", "csm-01", "call", "adoption review", "treat", "true"},
				[]string{"c001", "2024-02-01T09:00:00Z", "support", "", "", "", "treat", "false"},
				[]string{"c002", "2024-01-01T09:00:00Z", "usage", "", "", "", "control", "false"},
				[]string{"c003", "2024-01-01T09:00:00Z", "usage", "", "", "", "control", ""},
				[]string{"c004", "2024-01-01T09:00:00Z", "onboarding_call", "csm-02", "email", "", "", ""})
		}, ok: true},
		{name: "interventions: group outside treat and control", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs,
				[]string{"c001", "2024-01-01T09:00:00Z", "usage", "", "", "", "treat", ""},
				[]string{"c002", "2024-01-01T09:00:00Z", "usage", "", "", "", "holdout", "false"},
				[]string{"c003", "2024-01-01T09:00:00Z", "usage", "", "", "", "Treat", ""})
		}, want: []expect{{SevError, "unknown_value", "interventions.parquet", 2, "group", 2}}},
		{name: "interventions: null play", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs,
				[]string{"c001", "2024-01-01T09:00:00Z", "usage", "", "", "", "treat", ""},
				[]string{"c002", "2024-01-01T09:00:00Z", "", "", "", "", "treat", ""})
		}, want: []expect{{SevError, "null_required", "interventions.parquet", 2, "play", 1}}},
		{name: "interventions: play is an empty string", setup: func(t *testing.T, dir string) {
			// writeRows writes "" as null: write the empty string as a value.
			vals := []Vec{strVec("c001", "c002"), NewVec(TypeTimestamp), strVec("usage", "")}
			vals[1].AppendTime(fixtureBase.Start())
			vals[1].AppendTime(fixtureBase.Start())
			writeTable(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs[:3], 2, vals, WriterOptions{})
		}, want: []expect{{SevError, "empty_value", "interventions.parquet", 2, "play", 1}}},
		{name: "interventions: control customer contacted", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs,
				[]string{"c001", "2024-01-01T09:00:00Z", "usage", "", "", "", "control", "false"},
				[]string{"c002", "2024-01-01T09:00:00Z", "usage", "csm-01", "call", "", "control", "true"},
				[]string{"c003", "2024-01-01T09:00:00Z", "usage", "csm-01", "call", "", "treat", "true"})
		}, want: []expect{{SevWarning, "control_contacted", "interventions.parquet", 2, "contacted", 1}}, ok: true},
		{name: "interventions: unsorted, orphan and missing ts", setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs,
				[]string{"c001", "2024-02-01T09:00:00Z", "usage", "", "", "", "", ""},
				[]string{"c001", "2024-01-01T09:00:00Z", "support", "", "", "", "", ""},
				[]string{"c002", "", "usage", "", "", "", "", ""},
				[]string{"c009", "2024-01-01T09:00:00Z", "usage", "", "", "", "", ""})
		}, want: []expect{
			{SevError, "null_required", "interventions.parquet", 3, "ts", 1},
			{SevWarning, "unsorted_time", "interventions.parquet", 2, "ts", 1},
			{SevWarning, "orphan", "interventions.parquet", 4, "customer_id", 1},
		}},
		{name: "interventions: after the as-of date and in the future", asOf: asOf, setup: func(t *testing.T, dir string) {
			writeRows(t, filepath.Join(dir, "interventions.parquet"), interventionSpecs,
				[]string{"c001", "2024-01-02T09:00:00Z", "usage", "", "", "", "treat", ""},
				[]string{"c002", "2024-01-10T09:00:00Z", "usage", "", "", "", "treat", ""},
				[]string{"c003", "2025-06-01T09:00:00Z", "usage", "", "", "", "control", ""})
		}, want: []expect{
			{SevWarning, "after_as_of", "interventions.parquet", 2, "ts", 2},
			{SevWarning, "future_date", "interventions.parquet", 3, "ts", 1},
		}, ok: true},
		{name: "attributes differ between customers files", setup: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "customers.parquet"))
			writeRows(t, filepath.Join(dir, "customers", "a.parquet"), append(custSpecs, spec("tier", TypeString)), []string{"c001", "2024-01-01", "gold"})
			writeRows(t, filepath.Join(dir, "customers", "b.parquet"), custSpecs, []string{"c002", "2024-01-01"})
		}, want: []expect{{SevError, "attributes_differ", "customers/b.parquet", 0, "", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFixture(t, filepath.Join(dir, "customers.parquet"), cust, ids, WriterOptions{RowGroupRows: 4})
			for _, name := range []string{UsageTable, Tickets, Payments, Subscriptions} {
				tbl, _ := LookupTable(name)
				writeFixture(t, filepath.Join(dir, name+".parquet"), tbl, ids, WriterOptions{RowGroupRows: 4})
			}
			tt.setup(t, dir)
			r := validateDir(t, dir, ValidateOptions{AsOf: tt.asOf, Examples: 3})
			for _, w := range tt.want {
				p := findProblem(dir, r, w)
				if p == nil {
					t.Errorf("no %s %s in %s column %q; got:%s", w.sev, w.check, w.file, w.column, describe(dir, r))
					continue
				}
				if w.row >= 0 && w.row != p.Row {
					t.Errorf("%s: row %d, want %d", w.check, p.Row, w.row)
				}
				if w.count != 0 && p.Count != w.count {
					t.Errorf("%s: count %d, want %d", w.check, p.Count, w.count)
				}
				if len(p.Examples) > 3 || p.Message == "" || !strings.Contains(p.String(), p.Message) {
					t.Errorf("%s: %d examples, message %q", w.check, len(p.Examples), p.Message)
				}
			}
			if r.OK != tt.ok || (r.Err() == nil) != tt.ok {
				t.Errorf("ok = %v, want %v:%s", r.OK, tt.ok, describe(dir, r))
			}
			checkAgreesWithReader(t, dir, r)
		})
	}
}

// interventionSpecs are the columns of the interventions table, in
// contract order; ts and play are optional in the file so that cases can
// write nulls into them.
var interventionSpecs = []ColumnSpec{
	spec("customer_id", TypeString), optional("ts", TypeTimestamp), optional("play", TypeString), optional("owner", TypeString),
	optional("channel", TypeString), optional("note", TypeString), optional("group", TypeString), optional("contacted", TypeBool),
}

func findProblem(dir string, r *Report, w expect) *Problem {
	for i := range r.Problems {
		p := &r.Problems[i]
		if p.Check != w.check || p.Severity != w.sev || (w.column != "" && p.Column != w.column) {
			continue
		}
		if w.file != "" && rel(dir, p.File) != w.file {
			continue
		}
		return p
	}
	return nil
}

// readerChecks are the checks whose errors the reader (Open and Scan)
// also stops at. The others (vocabularies, ranges, empty customers) are
// problems only Validate looks for.
var readerChecks = map[string]bool{
	"missing_table": true, "unknown_table": true, "duplicate_table": true, "no_files": true, "unreadable": true,
	"wrong_type": true, "missing_column": true, "bad_partition": true, "attributes_differ": true,
	"null_required": true, "unsorted_key": true, "duplicate_key": true, "invalid_utf8": true, "invalid_key": true,
	"nan_value": true, // an error only in required columns, where the reader stops at it
}

// checkAgreesWithReader checks that Validate and the reader agree: the
// reader fails exactly when Validate reports an error the reader checks.
func checkAgreesWithReader(t *testing.T, dir string, r *Report) {
	t.Helper()
	readerErr := scanDir(dir)
	var found []string
	for _, p := range r.Problems {
		if p.Severity == SevError && readerChecks[p.Check] {
			found = append(found, p.Check)
		}
	}
	if (readerErr != nil) != (len(found) > 0) {
		t.Errorf("reader error %v, but validate reports reader-level errors %v", readerErr, found)
	}
}

// TestValidateTruncated cuts a valid file at many offsets: each cut is one
// unreadable error naming the file, and the other tables are still checked.
func TestValidateTruncated(t *testing.T) {
	ids := fixtureIDs(5)
	usage, _ := LookupTable(UsageTable)
	cust, _ := LookupTable(Customers)
	good := fixtureBytes(t, usage, ids, WriterOptions{RowGroupRows: 2})
	for cut := 0; cut < len(good); cut += max(1, len(good)/23) {
		dir := t.TempDir()
		writeFixture(t, filepath.Join(dir, "customers.parquet"), cust, ids, WriterOptions{})
		writeBytes(t, filepath.Join(dir, "usage.parquet"), good[:cut])
		r := validateDir(t, dir, ValidateOptions{})
		var n int
		for _, p := range r.Problems {
			if p.Check == "unreadable" {
				n++
				if rel(dir, p.File) != "usage.parquet" || p.Severity != SevError {
					t.Errorf("cut %d: %s", cut, p.String())
				}
			}
		}
		if n != 1 || r.Tables[0].Rows != 5 {
			t.Errorf("cut %d: %d unreadable problems:%s", cut, n, describe(dir, r))
		}
		checkAgreesWithReader(t, dir, r)
	}
}

// TestValidateDeterministic checks that the report does not depend on the
// number of workers (run with -race).
func TestValidateDeterministic(t *testing.T) {
	dir := t.TempDir()
	ids := fixtureIDs(40)
	for _, tbl := range Contract {
		if tbl.Name == Customers {
			writeFixture(t, filepath.Join(dir, "customers.parquet"), tbl, ids, WriterOptions{RowGroupRows: 7})
			continue
		}
		// Two files per table, with a problem or two in each.
		writeFixture(t, filepath.Join(dir, tbl.Name, "a.parquet"), tbl, ids[:25], WriterOptions{RowGroupRows: 7})
		writeFixture(t, filepath.Join(dir, tbl.Name, "b.parquet"), tbl, append([]string{"a-orphan"}, ids[20:]...), WriterOptions{RowGroupRows: 5})
	}
	var want []byte
	for _, workers := range []int{1, 2, 3, 8} {
		r := validateDir(t, dir, ValidateOptions{Workers: workers, AsOf: time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)})
		var b bytes.Buffer
		if err := r.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = b.Bytes()
			if r.Warnings == 0 || r.Infos != 0 {
				t.Fatalf("expected problems:%s", describe(dir, r))
			}
			continue
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("report with %d workers differs from the one with 1", workers)
		}
	}
}

func TestValidateCancelled(t *testing.T) {
	dir := t.TempDir()
	writeFixtureDataset(t, dir, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Validate(ctx, dir, ValidateOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestValidateNotADataset(t *testing.T) {
	dir := t.TempDir()
	if _, err := Validate(context.Background(), filepath.Join(dir, "nope"), ValidateOptions{}); err == nil {
		t.Fatal("no error for a missing directory")
	}
	f := filepath.Join(dir, "customers.parquet")
	writeBytes(t, f, []byte("x"))
	if _, err := Validate(context.Background(), f, ValidateOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v", err)
	}
}

// TestValidateGolden compares the text and JSON reports of a dataset with
// a mix of problems with testdata/validate/*.golden (rewrite with -update).
func TestValidateGolden(t *testing.T) {
	dir := t.TempDir()
	ids := fixtureIDs(6)
	for _, name := range []string{Customers, UsageTable, Tickets} {
		tbl, _ := LookupTable(name)
		writeFixture(t, filepath.Join(dir, name+".parquet"), tbl, ids, WriterOptions{RowGroupRows: 4})
	}
	writeRows(t, filepath.Join(dir, "surveys", "year=2024", "part-0.parquet"),
		[]ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("nps", TypeInt64), optional("comment", TypeString)},
		[]string{"c000", "2024-01-01T10:00:00Z", "9", "great"}, []string{"c001", "2024-02-01T10:00:00Z", "12", ""},
		[]string{"c001", "2024-01-01T10:00:00Z", "3", "meh"}, []string{"c007", "2024-01-05T10:00:00Z", "7", ""})
	writeBytes(t, filepath.Join(dir, "payments.parquet"), []byte("not parquet"))
	r := validateDir(t, dir, ValidateOptions{AsOf: time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)})
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	clean := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(dir), []byte("DIR")) }
	golden(t, "testdata/validate/report.txt.golden", clean(text.Bytes()))
	golden(t, "testdata/validate/report.json.golden", clean(js.Bytes()))
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update and review the diff):\n%s", path, got)
	}
}

func TestSeverityText(t *testing.T) {
	for _, s := range []Severity{SevInfo, SevWarning, SevError} {
		b, _ := s.MarshalText()
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round-trips to %v, %v", s, back, err)
		}
	}
}

// BenchmarkValidate validates a dataset of 20,000 customers and 300,000
// usage rows; it reports rows per second.
func BenchmarkValidate(b *testing.B) {
	dir := b.TempDir()
	ids := fixtureIDs(20000)
	signup := NewVec(TypeDate)
	for range ids {
		signup.AppendDate(fixtureBase)
	}
	writeTable(b, filepath.Join(dir, "customers.parquet"), custSpecs()[:2], len(ids), []Vec{strVec(ids...), signup}, WriterOptions{})
	specs := []ColumnSpec{spec("customer_id", TypeString), spec("date", TypeDate), optional("active_users", TypeInt64), optional("minutes", TypeFloat64), optional("feature", TypeString)}
	cols := make([]Vec, len(specs))
	for i := range cols {
		cols[i] = NewVec(specs[i].Type)
	}
	for _, id := range ids {
		for d := 0; d < 15; d++ {
			cols[0].AppendString(id)
			cols[1].AppendDate(fixtureBase.AddDays(d))
			cols[2].AppendInt(int64(d))
			cols[3].AppendFloat(float64(d) * 1.5)
			cols[4].AppendString("f" + strconv.Itoa(d%4))
		}
	}
	n := cols[0].Len()
	writeTable(b, filepath.Join(dir, "usage.parquet"), specs, n, cols, WriterOptions{RowGroupRows: 50000})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Validate(context.Background(), dir, ValidateOptions{Now: validateNow})
		if err != nil || !r.OK {
			b.Fatal(err, r.Problems)
		}
	}
	b.ReportMetric(float64(n+len(ids))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestValidateDocsListEveryCheck keeps docs/validate.md in step with the
// checks.
func TestValidateDocsListEveryCheck(t *testing.T) {
	doc, err := os.ReadFile("../docs/validate.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Checks() {
		row := "| `" + c.ID + "` | " + c.Severity.String()
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/validate.md has no row starting %q", row)
		}
	}
}
