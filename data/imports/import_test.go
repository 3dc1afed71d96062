package imports

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// The text formats: every case imports customers from one source file and
// checks the customers it finds.
func TestSourceFormats(t *testing.T) {
	tests := []struct {
		name   string
		source string   // the source: block of the mapping
		file   string   // contents of the source file
		want   []string // customer_id,plan of each customer in id order
		attrs  string   // comma-separated attribute names
	}{
		{
			name:   "csv",
			source: "cust.csv",
			file:   "id,plan\nb,pro\na,basic\n",
			want:   []string{"a,basic", "b,pro"},
		},
		{
			name:   "crlf line endings",
			source: "cust.csv",
			file:   "id,plan\r\nb,pro\r\na,basic\r\n",
			want:   []string{"a,basic", "b,pro"},
		},
		{
			name:   "quoted fields",
			source: "cust.csv",
			file:   "id,plan,note\n\"a\",\"pro, annual\",\"says \"\"hi\"\"\"\nb,\"multi\nline\",x\n",
			want:   []string{"a,pro, annual", "b,multi\nline"},
			attrs:  "note",
		},
		{
			name:   "byte order mark",
			source: "cust.csv",
			file:   "\uFEFFid,plan\na,pro\n",
			want:   []string{"a,pro"},
		},
		{
			name:   "blank lines and a stray CR at the end",
			source: "cust.csv",
			file:   "id,plan\na,pro\n\nb,basic\n\r\n\n",
			want:   []string{"a,pro", "b,basic"},
		},
		{
			name:   "header names with spaces",
			source: "cust.csv",
			file:   "id,plan, Account length \na,pro,12\n",
			want:   []string{"a,pro"},
			attrs:  "Account length",
		},
		{
			name:   "semicolons",
			source: "{file: cust.csv, delimiter: \";\"}",
			file:   "id;plan\na;pro,plus\n",
			want:   []string{"a,pro,plus"},
		},
		{
			name:   "tabs",
			source: "{file: cust.tsv, delimiter: tab}",
			file:   "id\tplan\na\tpro\n",
			want:   []string{"a,pro"},
		},
		{
			name:   "comments",
			source: "{file: cust.csv, comment: \"#\"}",
			file:   "# exported 2024-01-01\nid,plan\n# a comment\na,pro\n",
			want:   []string{"a,pro"},
		},
		{
			name:   "no header",
			source: "{file: cust.csv, columns: [id, plan]}",
			file:   "a,pro\nb,basic\n",
			want:   []string{"a,pro", "b,basic"},
		},
		{
			name:   "header renamed",
			source: "{file: cust.csv, header: true, columns: [id, plan]}",
			file:   "ID,Plan Name\na,pro\n",
			want:   []string{"a,pro"},
		},
		{
			name:   "whitespace fixed width",
			source: "{file: cust.txt, format: whitespace, columns: [id, plan, n]}",
			file:   " 00004  pro     1\r\n 00021  basic  12\r\n\r\n   \n",
			want:   []string{"00004,pro", "00021,basic"},
			attrs:  "n",
		},
		{
			name:   "whitespace with header",
			source: "{file: cust.txt, format: whitespace}",
			file:   "id   plan\n\na    pro\nb\tbasic\n",
			want:   []string{"a,pro", "b,basic"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mapping := "tables:\n  customers:\n    source: " + tt.source + "\n    columns:\n      customer_id: id\n      plan: plan\n"
			file := "cust.csv"
			if strings.Contains(tt.source, "cust.txt") {
				file = "cust.txt"
			} else if strings.Contains(tt.source, "cust.tsv") {
				file = "cust.tsv"
			}
			sum, out := mustImport(t, mapping, map[string]string{file: tt.file})
			hs, _, attrs := scanAll(t, out)
			var got []string
			for _, h := range hs {
				got = append(got, h.Customer.ID+","+h.Customer.Plan)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("customers = %q, want %q", got, tt.want)
			}
			var names []string
			for _, a := range attrs {
				names = append(names, a.Name)
			}
			if strings.Join(names, ",") != tt.attrs {
				t.Errorf("attributes = %q, want %q", names, tt.attrs)
			}
			if sum.Table(data.Customers).Rows != int64(len(tt.want)) {
				t.Errorf("summary rows = %d", sum.Table(data.Customers).Rows)
			}
		})
	}
}

// Row-level errors name the file, line (the header is line 1), source
// column and value.
func TestRowErrors(t *testing.T) {
	const custMapping = `tables:
  customers:
    source: cust.csv
    columns:
      customer_id: id
      signup_date: {from: signup, format: "2006-01-02"}
      seats: seats
      churned: {from: churn, values: {"Yes": true, "No": false}}
`
	const lookupMapping = `tables:
  customers:
    source: cust.csv
    columns: {customer_id: id}
  usage:
    source: use.csv
    columns:
      customer_id: {from: sub, lookup: {source: subs.csv, key: sub_id, value: account}}
      date: day
`
	tests := []struct {
		name    string
		mapping string // default custMapping
		files   map[string]string
		line    int64
		column  string
		value   string
		msg     string
		is      error
	}{
		{
			name:  "bad date",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,1,No\nb,01/02/2024,2,Yes\n"},
			line:  3, column: "signup", value: "01/02/2024", msg: "customers.signup_date (DATE): not a date in the layout 2006-01-02",
		},
		{
			name:  "bad number after a quoted multi-line field",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\n\"a\nb\",2024-01-01,1,No\nc,2024-01-01,many,No\n"},
			line:  4, column: "seats", value: "many", msg: "not an integer",
		},
		{
			name:  "value outside the vocabulary",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,1,Maybe\n"},
			line:  2, column: "churn", value: "Maybe", msg: "not one of the values the mapping lists (No, Yes)",
		},
		{
			name:  "blank required key",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,1,No\n ,2024-01-01,1,No\n"},
			line:  3, column: "id", value: " ", msg: "customers.customer_id (STRING): is blank, but the column is required",
		},
		{
			name:  "out of bounds",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,-3,No\n"},
			line:  2, column: "seats", value: "-3", msg: "out of range for seats",
		},
		{
			name:  "duplicate customer",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,1,No\nb,2024-01-01,1,No\na,2024-02-01,1,No\n"},
			line:  4, column: "id", value: "a", msg: "customer \"a\" is also at 2", is: data.ErrDuplicateKey,
		},
		{
			name:  "wrong number of fields",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,1,No\nb,2024-01-01,1\n"},
			line:  3, msg: "has 3 fields, want 4",
		},
		{
			name:  "bad quote",
			files: map[string]string{"cust.csv": "id,signup,seats,churn\na,2024-01-01,1,No\nb\"x,2024-01-01,1,No\n"},
			line:  3, msg: "bare \" in non-quoted-field",
		},
		{
			name:  "empty file",
			files: map[string]string{"cust.csv": ""},
			msg:   "no header line", is: data.ErrEmpty,
		},
		{
			name:  "duplicate header",
			files: map[string]string{"cust.csv": "id,signup,seats,churn,id\n"},
			line:  1, column: "id", msg: "column name appears twice (columns 1 and 5)",
		},
		{
			name:    "lookup miss",
			mapping: lookupMapping,
			files:   map[string]string{"cust.csv": "id\na\n", "subs.csv": "sub_id,account\ns1,a\n", "use.csv": "sub,day\ns1,2024-01-01\ns2,2024-01-02\n"},
			line:    3, column: "sub", value: "s2", msg: "not found in lookup",
		},
		{
			name:    "lookup with two values for a key",
			mapping: lookupMapping,
			files:   map[string]string{"cust.csv": "id\na\n", "subs.csv": "sub_id,account\ns1,a\ns1,b\n", "use.csv": "sub,day\ns1,2024-01-01\n"},
			line:    3, column: "sub_id", value: "s1", msg: "lookup key appears again with another account",
		},
		{
			name: "whitespace field count",
			mapping: `tables:
  orders:
    source: {file: o.txt, format: whitespace, columns: [id, day, amount]}
    columns: {customer_id: id, ts: {from: day, format: "20060102"}, amount: amount}
  customers: {derive: {from: orders}}
`,
			files: map[string]string{"o.txt": "1 19970101 2.5\n\n1 19970102 Jane Doe 3\n"},
			line:  3, msg: "has 5 fields, want 3",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mapping == "" {
				tt.mapping = custMapping
			}
			_, out, err := runMapping(t, tt.mapping, tt.files)
			var ie *data.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v (%T), want *data.InputError", err, err)
			}
			if ie.Row != tt.line || ie.Column != tt.column || ie.Value != tt.value || !strings.Contains(ie.Error(), tt.msg) {
				t.Errorf("err = %q\n(row %d column %q value %q); want row %d column %q value %q and %q", ie, ie.Row, ie.Column, ie.Value, tt.line, tt.column, tt.value, tt.msg)
			}
			if !strings.HasSuffix(filepath.ToSlash(ie.File), ".csv") && !strings.HasSuffix(ie.File, ".txt") {
				t.Errorf("file = %q", ie.File)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want %v", err, tt.is)
			}
			if _, serr := os.Stat(out); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("output exists after an error: %v", serr)
			}
		})
	}
}

// Mapping errors name the mapping file and line.
func TestMappingErrors(t *testing.T) {
	files := map[string]string{"cust.csv": "id,plan,Churn\na,pro,Yes\n"}
	tests := []struct {
		name    string
		mapping string
		line    int
		msg     string
		is      error
	}{
		{"bad yaml", "tables:\n  customers:\n    source: cust.csv\n    columns: x: y\n", 4, "invalid YAML: mapping values are not allowed in this context", nil},
		{"tab indentation", "tables:\n\tcustomers: {}\n", 2, "invalid YAML", nil},
		{"wrong kind", "tables:\n  customers:\n    source: cust.csv\n    columns: [a, b]\n", 4, "invalid YAML: cannot unmarshal", nil},
		{"empty", "", 0, "the mapping is empty", nil},
		{"no tables", "version: 1\n", 0, "no tables", nil},
		{"bad version", "version: 3\ntables: {customers: {source: cust.csv}}\n", 1, "version 3 is not supported", nil},
		{"unknown top-level key", "tabels:\n  customers: {}\n", 1, `unknown key "tabels" in the mapping (did you mean "tables"?)`, nil},
		{"unknown table key", "tables:\n  customers:\n    source: cust.csv\n    colums: {customer_id: id}\n", 4, `unknown key "colums" in table customers (did you mean "columns"?)`, nil},
		{"unknown column key", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      plan: {frm: plan}\n", 6, `unknown key "frm" in column plan (table customers) (did you mean "from"?)`, nil},
		{"unknown source key", "tables:\n  customers:\n    source: {file: cust.csv, delimeter: \";\"}\n", 3, `unknown key "delimeter"`, nil},
		{"unknown lookup key", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: {from: id, lookup: {source: x.csv, key: a, val: b}}\n", 5, `unknown key "val"`, nil},
		{"unknown table", "tables:\n  customers: {source: cust.csv, columns: {customer_id: id}}\n  tickets2:\n    source: cust.csv\n", 3, `unknown table "tickets2" (did you mean "tickets"?)`, nil},
		{"unknown target column", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      plna: plan\n", 6, `table customers has no column "plna" (did you mean "plan"?)`, nil},
		{"unknown source column", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      plan: Plan_Name\n", 6, `customers.plan: source column "Plan_Name" not found in`, nil},
		{"unknown source column suggests", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: ID\n", 5, `source column "ID" not found in .*cust.csv \(did you mean "id"\?\)`, nil},
		{"required column missing", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      plan: plan\n", 2, "required column customer_id is not mapped", nil},
		{"missing source file", "tables:\n  customers:\n    source: nope.csv\n    columns: {customer_id: id}\n", 3, "nope.csv: no such file or directory", fs.ErrNotExist},
		{"no customers", "tables:\n  usage: {source: cust.csv, columns: {customer_id: id, date: plan}}\n", 0, "no customers table", nil},
		{"no source", "tables:\n  customers:\n    columns: {customer_id: id}\n", 2, "needs a source", nil},
		{"bad type", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    attributes:\n      columns:\n        x: {from: plan, type: text2}\n", 7, `unknown type "text2"`, nil},
		{"date attribute", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    attributes:\n      columns:\n        x: {from: plan, type: date}\n", 7, "attributes are numbers, booleans or strings", nil},
		{"contract type clash", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      seats: {from: plan, type: string}\n", 6, "the contract type is INT64", nil},
		{"bad on_error", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      plan: {from: plan, on_error: ignore}\n", 6, `on_error "ignore"`, nil},
		{"on_error null on required", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: {from: id, on_error: \"null\"}\n", 5, "cannot apply to a required column", nil},
		{"values target wrong type", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      churned: {from: Churn, values: {\"Yes\": maybe}}\n", 6, `"Yes" maps to "maybe": not a boolean`, nil},
		{"format on a number", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      seats: {from: plan, format: \"2006\"}\n", 6, "format and timezone are for DATE and TIMESTAMP", nil},
		{"from and const", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      plan: {from: plan, const: pro}\n", 6, "only one of from, const and row_number", nil},
		{"bad row template", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: {row_number: \"c%s\"}\n", 5, "one %d verb", nil},
		{"format without date parts", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      signup_date: {from: plan, format: \"yyyy-mm-dd\"}\n", 6, `customers.signup_date: format "yyyy-mm-dd" has no year, month or day`, nil},
		{"unknown strftime directive", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      signup_date: {from: plan, format: \"%Y-%m-%Q\"}\n", 6, `format "%Y-%m-%Q": unknown directive %Q`, nil},
		{"second of two formats", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      signup_date:\n        from: plan\n        formats: [\"2006-01-02\", \"DD/MM/YYYY\"]\n", 7, `format "DD/MM/YYYY" has no year, month or day`, nil},
		{"time without a day", "tables:\n  customers: {source: cust.csv, columns: {customer_id: id}}\n  tickets:\n    source: cust.csv\n    columns:\n      customer_id: id\n      opened_at: {from: plan, format: \"15:04\"}\n      priority: plan\n      escalated: Churn\n", 7, `format "15:04" has no year, month or day`, nil},
		{"bad timezone", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: id\n      signup_date: {from: plan, timezone: Mars/Olympus}\n", 6, `timezone "Mars/Olympus"`, nil},
		{"unset variable", "source_dir: ${NO_SUCH_CHURN_VAR}\ntables:\n  customers: {source: cust.csv, columns: {customer_id: id}}\n", 1, "NO_SUCH_CHURN_VAR is not set", nil},
		{"bad format", "tables:\n  customers:\n    source: {file: cust.csv, format: xlsx}\n    columns: {customer_id: id}\n", 3, `format "xlsx": want csv, whitespace or parquet`, nil},
		{"bad line limit", "tables:\n  customers:\n    source: {file: cust.csv, max_line_bytes: 12 MB}\n    columns: {customer_id: id}\n", 3, `max_line_bytes: size "12 MB": want a positive number of bytes`, nil},
		{"bad field limit of a lookup", "tables:\n  customers:\n    source: cust.csv\n    columns:\n      customer_id: {from: id, lookup: {source: {file: cust.csv, max_field_bytes: 0}, key: id, value: plan}}\n", 5, `max_field_bytes: size "0"`, nil},
		{"aggregate customers", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    aggregate: {plan: first}\n", 2, "only event tables can be aggregated", nil},
		{"aggregate bad function", "tables:\n  customers: {source: cust.csv, columns: {customer_id: id}}\n  orders:\n    source: cust.csv\n    columns: {customer_id: id, ts: plan, amount: plan}\n    aggregate: {amount: avg}\n", 3, `unknown function "avg"`, nil},
		{"aggregate sum of a string", "tables:\n  customers: {source: cust.csv, columns: {customer_id: id}}\n  tickets:\n    source: cust.csv\n    columns: {customer_id: id, opened_at: plan, priority: plan, escalated: plan}\n    aggregate: {priority: sum}\n", 3, "sum needs a number column", nil},
		{"label without events", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    label: {from: churn_events}\n", 5, "no churn_events table", nil},
		{"label from another table", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    label: {from: orders}\n", 5, "want churn_events", nil},
		{"derive from nothing", "tables:\n  customers:\n    derive: {from: orders}\n", 3, `derive from "orders": not another table`, nil},
		{"attributes on events", "tables:\n  customers: {source: cust.csv, columns: {customer_id: id}}\n  churn_events:\n    source: cust.csv\n    columns: {customer_id: id, churn_date: plan}\n    attributes: {keep: none}\n", 6, "attributes is only for the customers table", nil},
		{"keep unknown column", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    attributes:\n      keep: [Chrun]\n", 6, `keep "Chrun": no such column .* \(did you mean "Churn"\?\)`, nil},
		{"drop unknown column", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    attributes:\n      drop: [nope]\n", 6, `drop "nope": no such column`, nil},
		{"attribute name clash", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: id}\n    attributes:\n      columns:\n        plan: {from: Churn}\n", 7, "has the name of a contract column", nil},
		{"required column left out", "tables:\n  customers:\n    source: cust.csv\n    columns: {customer_id: ~}\n", 2, "is required and cannot be left out", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runMapping(t, tt.mapping, files)
			var me *MappingError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v (%T), want *MappingError", err, err)
			}
			if me.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", me.Line, tt.line, err)
			}
			if !strings.HasSuffix(me.File, "mapping.yaml") {
				t.Errorf("file = %q", me.File)
			}
			if ok, _ := matchMsg(tt.msg, err.Error()); !ok {
				t.Errorf("err = %q, want %q", err, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.is)
			}
		})
	}
}

// on_error: null nulls unreadable values and counts them; on_error: skip
// drops the row and counts it.
func TestOnError(t *testing.T) {
	mapping := `tables:
  customers:
    source: cust.csv
    columns:
      customer_id: id
      mrr: {from: mrr, on_error: "null"}
      signup_date: {from: since, on_error: skip}
`
	sum, out := mustImport(t, mapping, map[string]string{"cust.csv": "id,mrr,since\na,1.5,2024-01-01\nb,n/a,2024-01-02\nc,,2024-01-03\nd,2,someday\n"})
	cs := sum.Table(data.Customers)
	if cs.Rows != 3 || cs.SourceRows != 4 || cs.Skipped != 1 || cs.Coerced["mrr"] != 1 || cs.Nulls["mrr"] != 1 {
		t.Errorf("summary = %+v", cs)
	}
	hs, _, _ := scanAll(t, out)
	if len(hs) != 3 || hs[1].Customer.ID != "b" || hs[1].Customer.MRR == hs[1].Customer.MRR {
		t.Errorf("customers = %+v", hs)
	}
}

func TestLabel(t *testing.T) {
	files := map[string]string{
		// a: churned, two events; b: churned, no event; c: not churned, one
		// event; d: not churned, none; e: churned blank, one event.
		"cust.csv":   "id,flag\na,TRUE\nb,TRUE\nc,FALSE\nd,FALSE\ne,\n",
		"events.csv": "who,day,why\nc,2024-03-01,price\na,2024-02-01,price\na,2024-01-01,budget\ne,2024-05-01,\nzz,2024-01-01,orphan\n",
	}
	base := `tables:
  customers:
    source: cust.csv
    columns: {customer_id: id, churned: flag}
    label: LABEL
  churn_events:
    source: events.csv
    columns: {customer_id: who, churn_date: day, reason: why}
`
	type cust struct {
		churned int8
		date    string
	}
	tests := []struct {
		name  string
		label string
		want  map[string]cust
		rule  string
	}{
		{"churned wins, last event", "{from: churn_events}", map[string]cust{"a": {1, "2024-02-01"}, "b": {1, ""}, "c": {0, ""}, "d": {0, ""}, "e": {-1, ""}}, "customers.churned wins"},
		{"churned wins, first event", "{from: churn_events, pick: first}", map[string]cust{"a": {1, "2024-01-01"}, "b": {1, ""}, "c": {0, ""}}, "first"},
		{"events win", "{from: churn_events, prefer: events}", map[string]cust{"a": {1, "2024-02-01"}, "b": {0, ""}, "c": {1, "2024-03-01"}, "d": {0, ""}, "e": {1, "2024-05-01"}}, "churn events win"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, out := mustImport(t, strings.Replace(base, "LABEL", tt.label, 1), files)
			l := sum.Label
			if l.ChurnedWithoutEvents != 1 || l.EventsWithoutChurned != 2 || !strings.Contains(l.Rule, tt.rule) {
				t.Errorf("label = %+v", l)
			}
			if o := sum.Table(data.ChurnEvents).Orphans; o != 1 {
				t.Errorf("orphans = %d", o)
			}
			hs, st, _ := scanAll(t, out)
			if st.Orphans[data.ChurnEvents] != 1 {
				t.Errorf("scan orphans = %v", st.Orphans)
			}
			got := byID(hs)
			for id, w := range tt.want {
				c := got[id].Customer
				if c.Churned != w.churned || c.ChurnDate.String() != w.date {
					t.Errorf("%s: churned %d date %q, want %d %q", id, c.Churned, c.ChurnDate, w.churned, w.date)
				}
			}
		})
	}
}

// A one-row-per-customer file with a label and no dates gives churned
// without churn_date.
func TestLabelWithoutDates(t *testing.T) {
	_, out := mustImport(t, "tables:\n  customers:\n    source: c.csv\n    columns:\n      customer_id: id\n      churned: {from: Churn, values: {\"Yes\": true, \"No\": false}}\n",
		map[string]string{"c.csv": "id,Churn\nx,Yes\ny,No\n"})
	ds, err := data.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	ct := ds.Table(data.Customers)
	if !ct.HasColumn("churned") || ct.HasColumn("churn_date") || ct.HasColumn("signup_date") {
		t.Errorf("columns: churned %v churn_date %v signup_date %v; want only churned", ct.HasColumn("churned"), ct.HasColumn("churn_date"), ct.HasColumn("signup_date"))
	}
}

func TestDeriveAndAggregate(t *testing.T) {
	mapping := `tables:
  orders:
    source: {file: o.txt, format: whitespace, columns: [id, day, n, usd]}
    columns:
      customer_id: id
      ts: {from: day, format: "%Y%m%d"}
      amount: usd
      items: n
    aggregate: {amount: sum, items: AGG}
  customers:
    derive: {from: orders}
`
	files := map[string]string{"o.txt": "2 19970105 1 5.00\n1 19970103 2 10.50\n1 19970101 1 1.25\n1 19970103 3 4.50\n2 19970105 1 \t 2.5\n"}
	tests := []struct {
		agg   string
		items []int64 // per order of customer 1
	}{
		{"sum", []int64{1, 5}},
		{"max", []int64{1, 3}},
		{"first", []int64{1, 2}},
		{"last", []int64{1, 3}},
		{"count", []int64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.agg, func(t *testing.T) {
			sum, out := mustImport(t, strings.Replace(mapping, "AGG", tt.agg, 1), files)
			if o := sum.Table(data.Orders); o.Rows != 3 || o.Merged != 2 || o.SourceRows != 5 {
				t.Errorf("orders summary = %+v", o)
			}
			hs, _, _ := scanAll(t, out)
			if len(hs) != 2 {
				t.Fatalf("%d customers", len(hs))
			}
			c1 := hs[0]
			if c1.Customer.ID != "1" || c1.Customer.SignupDate != date(t, "1997-01-01") || len(c1.Orders) != 2 {
				t.Fatalf("customer 1 = %+v", c1)
			}
			if c1.Orders[1].Amount != 15 || c1.Orders[0].Items != tt.items[0] || c1.Orders[1].Items != tt.items[1] {
				t.Errorf("orders = %+v, want items %v", c1.Orders, tt.items)
			}
			if c2 := hs[1]; c2.Orders[0].Amount != 7.5 {
				t.Errorf("customer 2 orders = %+v", c2.Orders)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	file := map[string]string{"c.csv": "id,Plan Name,Senior Citizen,Total Charges,Flag,Note,Empty\na,pro,1,12.5,Yes,x,\nb,basic,0, ,No,y,\n"}
	tests := []struct {
		name  string
		attrs string
		want  string // name:TYPE,...
	}{
		{"rest by default", "", "Senior Citizen:DOUBLE,Total Charges:DOUBLE,Flag:BOOLEAN,Note:STRING,Empty:STRING"},
		{"none", "{keep: none}", ""},
		{"list", "{keep: [Note, Flag]}", "Flag:BOOLEAN,Note:STRING"},
		{"drop and snake case", "{drop: [Empty, Note], names: snake_case}", "senior_citizen:DOUBLE,total_charges:DOUBLE,flag:BOOLEAN"},
		{"values with unmapped kept", "{keep: none, columns: {tier: {from: Plan Name, values: {pro: \"2\"}, unmapped: keep}, senior: {from: Senior Citizen, values: {\"1\": \"10\"}, unmapped: keep}}}", "tier:STRING,senior:DOUBLE"},
		{"declared", "{keep: none, columns: {senior: {from: Senior Citizen, type: bool}, score: {const: \"3\"}, flag2: {from: Flag, values: {\"Yes\": \"1\", \"No\": \"0\"}}}}", "senior:BOOLEAN,flag2:DOUBLE,score:DOUBLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := "tables:\n  customers:\n    source: c.csv\n    columns: {customer_id: id, plan: Plan Name}\n"
			if tt.attrs != "" {
				m += "    attributes: " + tt.attrs + "\n"
			}
			_, out := mustImport(t, m, file)
			_, _, attrs := scanAll(t, out)
			var got []string
			for _, a := range attrs {
				got = append(got, a.Name+":"+a.Type.String())
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("attributes = %s, want %s", strings.Join(got, ","), tt.want)
			}
		})
	}
}

// Contract columns the mapping does not list are taken from source columns
// of the same name; a column mapped to null is left out.
func TestAutoMapping(t *testing.T) {
	files := map[string]string{"c.csv": "customer_id,signup_date,segment,extra\na,2024-01-01,smb,1\n"}
	sum, out := mustImport(t, "tables:\n  customers:\n    source: c.csv\n    columns: {segment: ~}\n    attributes: {keep: none}\n", files)
	hs, _, _ := scanAll(t, out)
	if c := hs[0].Customer; c.ID != "a" || c.SignupDate != date(t, "2024-01-01") || c.Segment != "" {
		t.Errorf("customer = %+v", c)
	}
	var hows []string
	for _, c := range sum.Table(data.Customers).Columns {
		hows = append(hows, c.Name+"="+c.How)
	}
	if got := strings.Join(hows, ","); got != "customer_id=auto,signup_date=auto" {
		t.Errorf("columns = %s", got)
	}
}

func TestRowNumberAndConst(t *testing.T) {
	_, out := mustImport(t, `tables:
  customers:
    source: c.csv
    columns:
      customer_id: {row_number: "c-%03d"}
      segment: {const: smb}
      signup_date: {const: "2024-01-01"}
      contract_end: {from: x, values: {"1": "2025-06-30", "2": ~}}
    attributes: {keep: none}
`, map[string]string{"c.csv": "x\n1\n\n2\n"})
	hs, _, _ := scanAll(t, out)
	if len(hs) != 2 || hs[0].Customer.ID != "c-001" || hs[1].Customer.ID != "c-002" || hs[1].Customer.Segment != "smb" {
		t.Fatalf("customers = %+v %+v", hs[0].Customer, hs[1].Customer)
	}
	if hs[1].Customer.SignupDate != date(t, "2024-01-01") || hs[0].Customer.ContractEnd != date(t, "2025-06-30") || hs[1].Customer.ContractEnd.Valid() {
		t.Errorf("customers = %+v %+v", hs[0].Customer, hs[1].Customer)
	}
}

// An existing output is replaced only if it is a dataset, and an error
// leaves it as it was.
func TestOutputSafety(t *testing.T) {
	mapping := "tables:\n  customers:\n    source: c.csv\n    columns: {customer_id: id}\n"
	dir := writeFiles(t, map[string]string{"mapping.yaml": mapping, "c.csv": "id\na\n", "bad.csv": "id\na\na\n", "notes/readme.txt": "keep me"})
	m, err := Load(filepath.Join(dir, "mapping.yaml"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := Import(ctx, m, Options{Out: filepath.Join(dir, "notes"), Logger: quiet}); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("import over a notes folder: %v", err)
	}
	out := filepath.Join(dir, "ds")
	if _, err := Import(ctx, m, Options{Out: out, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(out, "customers.parquet"))
	bad, err := Parse(filepath.Join(dir, "mapping.yaml"), []byte(strings.Replace(mapping, "c.csv", "bad.csv", 1)), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, bad, Options{Out: out, Logger: quiet}); !errors.Is(err, data.ErrDuplicateKey) {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(out, "customers.parquet"))
	if string(before) != string(after) || len(after) == 0 {
		t.Error("a failed import changed the existing dataset")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
	// Dry runs write nothing.
	if _, err := Import(ctx, m, Options{Out: filepath.Join(dir, "dry"), DryRun: true, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dry")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dry run wrote output: %v", err)
	}
}

func TestSourceDirOverride(t *testing.T) {
	root := writeFiles(t, map[string]string{"sub/c.csv": "id\na\n"})
	dir := writeFiles(t, map[string]string{"m.yaml": "source_dir: ${CHURN_TEST_DATA:-nowhere}/sub\ntables:\n  customers: {source: c.csv, columns: {customer_id: id}}\n"})
	env := func(k string) (string, bool) {
		if k == "CHURN_TEST_DATA" {
			return root, true
		}
		return "", false
	}
	for name, opt := range map[string]LoadOptions{
		"env":        {LookupEnv: env},
		"source dir": {SourceDir: filepath.Join(root, "sub"), LookupEnv: noEnv},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(dir, "m.yaml"), opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Import(context.Background(), m, Options{DryRun: true, Logger: quiet}); err != nil {
				t.Fatal(err)
			}
		})
	}
	m, err := Load(filepath.Join(dir, "m.yaml"), LoadOptions{LookupEnv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Import(context.Background(), m, Options{DryRun: true, Logger: quiet})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "--source-dir") {
		t.Errorf("err = %v", err)
	}
}

// TestEmptySources checks that a source with a header but no data rows is
// never imported silently: no customers is an error, an empty event table
// a warning the summary counts.
func TestEmptySources(t *testing.T) {
	const mapping = `tables:
  customers:
    source: cust.csv
    columns: {customer_id: id, signup_date: {from: since, on_error: skip}}
  tickets:
    source: tix.csv
    columns: {customer_id: id, opened_at: at, priority: prio, escalated: esc}
`
	t.Run("customers", func(t *testing.T) {
		for _, cust := range []string{"id,since\n", "id,since\r\n\r\n", "id,since\na,someday\n"} {
			_, _, err := runMapping(t, mapping, map[string]string{"cust.csv": cust, "tix.csv": "id,at,prio,esc\n"})
			var ie *data.InputError
			if !errors.As(err, &ie) || !errors.Is(err, data.ErrEmpty) || !strings.HasSuffix(ie.File, "cust.csv") || !strings.Contains(err.Error(), "no customers") {
				t.Errorf("%q: err = %v, want an ErrEmpty InputError naming cust.csv", cust, err)
			}
		}
	})
	t.Run("event table", func(t *testing.T) {
		sum, _ := mustImport(t, mapping, map[string]string{"cust.csv": "id,since\na,2024-01-01\n", "tix.csv": "id,at,prio,esc\n"})
		if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], "tickets: tix.csv has no data rows") {
			t.Fatalf("warnings = %q", sum.Warnings)
		}
		var b strings.Builder
		if err := sum.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "warning: tickets: tix.csv has no data rows") {
			t.Errorf("summary text:\n%s", b.String())
		}
	})
}
