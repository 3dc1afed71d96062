package imports

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
)

func strp(s string) *string   { return &s }
func f64p(f float64) *float64 { return &f }

func TestConvert(t *testing.T) {
	yesNo := map[string]*string{"Yes": strp("true"), "No": strp("false")}
	ts := func(s string) int64 {
		x, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return int64(data.TimestampOf(x))
	}
	tests := []struct {
		name string
		typ  data.Type
		col  string // contract column (table.column) for vocabulary and bounds
		spec ColumnSpec
		src  *SourceSpec
		in   string
		want cell
		null bool   // want a null from the input
		err  string // want an error containing this
	}{
		{name: "date default", typ: data.TypeDate, in: "2024-02-29", want: cell{d: data.MakeDate(2024, 2, 29)}},
		{name: "date default from ISO time", typ: data.TypeDate, in: "2024-02-29T23:00:00Z", want: cell{d: data.MakeDate(2024, 2, 29)}},
		{name: "date yyyymmdd", typ: data.TypeDate, spec: ColumnSpec{Format: "20060102"}, in: "19970101", want: cell{d: data.MakeDate(1997, 1, 1)}},
		{name: "date strftime", typ: data.TypeDate, spec: ColumnSpec{Format: "%d/%m/%Y"}, in: "31/12/2023", want: cell{d: data.MakeDate(2023, 12, 31)}},
		{name: "date second layout", typ: data.TypeDate, spec: ColumnSpec{Formats: []string{"2006-01-02", "01/02/2006"}}, in: "12/31/2023", want: cell{d: data.MakeDate(2023, 12, 31)}},
		{name: "date of a time keeps the written day", typ: data.TypeDate, spec: ColumnSpec{Format: "2006-01-02T15:04:05Z07:00"}, in: "2024-01-01T23:30:00-05:00", want: cell{d: data.MakeDate(2024, 1, 1)}},
		{name: "date bad", typ: data.TypeDate, spec: ColumnSpec{Format: "20060102"}, in: "1997-01-01", err: "not a date in the layout 20060102"},
		{name: "date impossible", typ: data.TypeDate, in: "2023-02-29", err: "not a date"},
		{name: "time unpadded hour", typ: data.TypeTimestamp, spec: ColumnSpec{Format: "2006-01-02 15:04"}, in: "2023-07-28 3:00", want: cell{i: ts("2023-07-28T03:00:00Z")}},
		{name: "time two-digit hour", typ: data.TypeTimestamp, spec: ColumnSpec{Format: "2006-01-02 15:04"}, in: "2023-07-28 17:05", want: cell{i: ts("2023-07-28T17:05:00Z")}},
		{name: "time 12-hour layout", typ: data.TypeTimestamp, spec: ColumnSpec{Formats: []string{"2006-01-02 3:04 PM", "2006-01-02 3:04"}}, in: "2023-07-28 3:00", want: cell{i: ts("2023-07-28T03:00:00Z")}},
		{name: "time strftime not padded", typ: data.TypeTimestamp, spec: ColumnSpec{Format: "%Y-%m-%d %-H:%M"}, in: "2023-07-28 3:00", want: cell{i: ts("2023-07-28T03:00:00Z")}},
		{name: "time date only is midnight", typ: data.TypeTimestamp, spec: ColumnSpec{Format: "2006-01-02"}, in: "2024-07-08", want: cell{i: ts("2024-07-08T00:00:00Z")}},
		{name: "time default ISO", typ: data.TypeTimestamp, in: "2024-07-08T10:11:12.5+02:00", want: cell{i: ts("2024-07-08T08:11:12.5Z")}},
		{name: "time default space", typ: data.TypeTimestamp, in: "2024-07-08 10:11:12", want: cell{i: ts("2024-07-08T10:11:12Z")}},
		{name: "time zone", typ: data.TypeTimestamp, spec: ColumnSpec{Format: "2006-01-02 15:04", Timezone: "America/New_York"}, in: "2024-07-08 10:00", want: cell{i: ts("2024-07-08T14:00:00Z")}},
		{name: "time bad", typ: data.TypeTimestamp, spec: ColumnSpec{Formats: []string{"2006-01-02 15:04", "2006-01-02"}}, in: "yesterday", err: "not a time in any of the layouts 2006-01-02 15:04, 2006-01-02"},
		{name: "int", typ: data.TypeInt64, in: "42", want: cell{i: 42}},
		{name: "int negative", typ: data.TypeInt64, in: "-7", want: cell{i: -7}},
		{name: "int written as whole decimal", typ: data.TypeInt64, in: "12.0", want: cell{i: 12}},
		{name: "int fraction", typ: data.TypeInt64, in: "12.5", err: "not an integer"},
		{name: "int overflow", typ: data.TypeInt64, in: "99999999999999999999", err: "out of range"},
		{name: "int sentinel", typ: data.TypeInt64, in: "-9223372036854775808", err: "out of range"},
		{name: "double", typ: data.TypeFloat64, in: "29.85", want: cell{f: 29.85}},
		{name: "double exponent", typ: data.TypeFloat64, in: "1e3", want: cell{f: 1000}},
		{name: "double NaN is an error", typ: data.TypeFloat64, in: "NaN", err: "not a number"},
		{name: "double text", typ: data.TypeFloat64, in: "29,85", err: "not a number"},
		{name: "divide", typ: data.TypeFloat64, spec: ColumnSpec{Divide: f64p(60)}, in: "90", want: cell{f: 1.5}},
		{name: "multiply int", typ: data.TypeInt64, spec: ColumnSpec{Multiply: f64p(100)}, in: "3", want: cell{i: 300}},
		{name: "multiply int fraction", typ: data.TypeInt64, spec: ColumnSpec{Divide: f64p(60)}, in: "90", err: "not a whole number"},
		{name: "blank is null", typ: data.TypeFloat64, in: " ", null: true},
		{name: "empty is null", typ: data.TypeString, in: "", null: true},
		{name: "tab and CR are trimmed", typ: data.TypeInt64, in: "\t5\r", want: cell{i: 5}},
		{name: "no trim keeps spaces", typ: data.TypeString, src: &SourceSpec{Trim: new(bool)}, in: " a ", want: cell{s: " a "}},
		{name: "column null token", typ: data.TypeFloat64, spec: ColumnSpec{Nulls: []string{"NA", "?"}}, in: "?", null: true},
		{name: "source null token", typ: data.TypeFloat64, src: &SourceSpec{Nulls: []string{"NULL"}}, in: "NULL", null: true},
		{name: "bool TRUE", typ: data.TypeBool, in: "TRUE", want: cell{b: true}},
		{name: "bool False", typ: data.TypeBool, in: "False", want: cell{b: false}},
		{name: "bool yes", typ: data.TypeBool, in: "yes", want: cell{b: true}},
		{name: "bool 0", typ: data.TypeBool, in: "0", want: cell{b: false}},
		{name: "bool bad", typ: data.TypeBool, in: "maybe", err: "not a boolean"},
		{name: "values Yes", typ: data.TypeBool, spec: ColumnSpec{Values: yesNo}, in: "Yes", want: cell{b: true}},
		{name: "values No", typ: data.TypeBool, spec: ColumnSpec{Values: yesNo}, in: "No", want: cell{b: false}},
		{name: "values are case-sensitive", typ: data.TypeBool, spec: ColumnSpec{Values: yesNo}, in: "YES", err: "not one of the values the mapping lists (No, Yes)"},
		{name: "values case-insensitive", typ: data.TypeBool, spec: ColumnSpec{Values: yesNo, CaseInsensitive: true}, in: "YES", want: cell{b: true}},
		{name: "values to null", typ: data.TypeBool, spec: ColumnSpec{Values: map[string]*string{"Yes": strp("true"), "unknown": nil}}, in: "unknown", null: true},
		{name: "values unmapped keep", typ: data.TypeString, spec: ColumnSpec{Values: map[string]*string{"Month-to-month": strp("monthly")}, Unmapped: "keep"}, in: "annual", want: cell{s: "annual"}},
		{name: "values unmapped null", typ: data.TypeString, spec: ColumnSpec{Values: map[string]*string{"a": strp("b")}, Unmapped: "null"}, in: "z", null: true},
		{name: "values to a string", typ: data.TypeString, spec: ColumnSpec{Values: map[string]*string{"Month-to-month": strp("monthly")}}, in: "Month-to-month", want: cell{s: "monthly"}},
		{name: "values 1/0", typ: data.TypeBool, spec: ColumnSpec{Values: map[string]*string{"1": strp("true"), "0": strp("false")}}, in: "1", want: cell{b: true}},
		{name: "closed vocabulary", typ: data.TypeString, col: "payments.status", in: "Paid", err: "not in the vocabulary of status"},
		{name: "closed vocabulary ok", typ: data.TypeString, col: "payments.status", in: "paid", want: cell{s: "paid"}},
		{name: "open vocabulary", typ: data.TypeString, col: "tickets.priority", in: "P1", want: cell{s: "P1"}},
		{name: "bounds", typ: data.TypeInt64, col: "tickets.csat", in: "6", err: "out of range for csat (1 to 5)"},
		{name: "bounds ok", typ: data.TypeInt64, col: "tickets.csat", in: "5", want: cell{i: 5}},
		{name: "negative seats", typ: data.TypeInt64, col: "customers.seats", in: "-1", err: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var col *data.Column
			if tt.col != "" {
				table, name := splitKey(tt.col)
				ct, _ := data.LookupTable(table)
				col = ct.Column(name)
			}
			spec := tt.spec
			c, err := newConverter(&spec, tt.typ, col, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got, reason, err := c.convert(tt.in, nativeNone)
			switch {
			case tt.err != "":
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("convert(%q) = %+v, %v; want error with %q", tt.in, got, err, tt.err)
				}
			case err != nil:
				t.Fatalf("convert(%q): %v", tt.in, err)
			case tt.null:
				if !got.null || reason != nullInput {
					t.Fatalf("convert(%q) = %+v (%v), want null", tt.in, got, reason)
				}
			case got != tt.want:
				t.Fatalf("convert(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// A typed Parquet value (rendered as ISO 8601) ignores the declared layouts.
func TestConvertNativeTime(t *testing.T) {
	c, err := newConverter(&ColumnSpec{Format: "20060102"}, data.TypeDate, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := c.convert("2024-03-01", nativeTime)
	if err != nil || got.d != data.MakeDate(2024, 3, 1) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, _, err := c.convert("2024-03-01", nativeNone); err == nil {
		t.Fatal("text should follow the declared layout")
	}
}

func TestGoLayout(t *testing.T) {
	tests := map[string]string{
		"%Y-%m-%d":            "2006-01-02",
		"%Y%m%d":              "20060102",
		"%d/%m/%y %H:%M:%S":   "02/01/06 15:04:05",
		"%-d.%-m.%Y %-H:%M":   "2.1.2006 15:04",
		"%b %e %Y %I:%M %p":   "Jan _2 2006 03:04 PM",
		"%F %T":               "2006-01-02 15:04:05",
		"%Y-%m-%dT%H:%M:%S%z": "2006-01-02T15:04:05-0700",
		"100%%":               "100%",
		"2006-01-02 15:04":    "2006-01-02 15:04", // Go layouts pass through
	}
	for in, want := range tests {
		if got := goLayout(in); got != want {
			t.Errorf("goLayout(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInferType(t *testing.T) {
	tests := []struct {
		vals []string
		want data.Type
	}{
		{[]string{"1", "0", "1"}, data.TypeInt64},
		{[]string{"1", "2.5"}, data.TypeFloat64},
		{[]string{"29.85", "1e3"}, data.TypeFloat64},
		{[]string{"Yes", "No", "yes"}, data.TypeBool},
		{[]string{"TRUE", "False"}, data.TypeBool},
		{[]string{"Yes", "No", "No phone service"}, data.TypeString},
		{[]string{"t", "f"}, data.TypeString},
		{[]string{"1", "x"}, data.TypeString},
		{nil, data.TypeString},
	}
	for _, tt := range tests {
		if got := inferType(slices.Values(tt.vals)); got != tt.want {
			t.Errorf("inferType(%q) = %s, want %s", tt.vals, got, tt.want)
		}
	}
}

func TestSnakeCase(t *testing.T) {
	tests := map[string]string{
		"Account length":         "account_length",
		"Total day minutes":      "total_day_minutes",
		"SeniorCitizen":          "senior_citizen",
		"customerID":             "customer_id",
		"  Area  code (US) ":     "area_code_us",
		"already_snake":          "already_snake",
		"Number vmail messages2": "number_vmail_messages2",
	}
	for in, want := range tests {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExpand(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "SET" {
			return "/data", true
		}
		return "", false
	}
	tests := []struct{ in, want, err string }{
		{"${SET}/telco", "/data/telco", ""},
		{"${UNSET:-../shared}/telco", "../shared/telco", ""},
		{"${SET:-x}", "/data", ""},
		{"plain/$HOME", "plain/$HOME", ""},
		{"${UNSET}/x", "", "UNSET is not set"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, env)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expand(%q) = %q, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
