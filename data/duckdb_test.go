package data

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/churnlab/churn/internal/duckdbtest"
)

// duckdbTypes is the DuckDB type of each contract type as churn writes it.
var duckdbTypes = map[Type]string{
	TypeString:    "VARCHAR",
	TypeInt64:     "BIGINT",
	TypeFloat64:   "DOUBLE",
	TypeBool:      "BOOLEAN",
	TypeDate:      "DATE",
	TypeTimestamp: "TIMESTAMP WITH TIME ZONE", // INT64 TIMESTAMP(MICROS, isAdjustedToUTC)
}

// TestDuckDBReadsWhatWeWrite writes every contract table (every column
// type, nulls, customer attributes) with Writer and checks that DuckDB
// reads the same row counts, the exact column types and every value; then
// that it reads a Hive-partitioned table folder.
func TestDuckDBReadsWhatWeWrite(t *testing.T) {
	duckdbtest.Dir(t)
	dir := t.TempDir()
	ids := fixtureIDs(9)
	type written struct {
		path  string
		specs []ColumnSpec
		n     int
		cols  []Vec
	}
	var files []written
	var stmts []string
	for _, tbl := range Contract {
		specs, n, cols := fixtureTable(t, tbl, ids)
		path := filepath.Join(dir, tbl.Name+".parquet")
		writeTable(t, path, specs, n, cols, WriterOptions{RowGroupRows: 5})
		files = append(files, written{path, specs, n, cols})
		stmts = append(stmts, "SELECT * FROM "+duckdbtest.Parquet(path))
	}
	// A Hive-partitioned usage folder: two months in two files.
	usage, _ := LookupTable(UsageTable)
	hive := filepath.Join(dir, "hive", "usage")
	for m, part := range [][]string{ids[:4], ids[4:]} {
		writeFixture(t, filepath.Join(hive, "year=2024", fmt.Sprintf("month=%d", m+1), "part-0.parquet"), usage, part, WriterOptions{})
	}
	stmts = append(stmts,
		"SELECT year, month, count(*) AS n, count(DISTINCT customer_id) AS customers FROM "+duckdbtest.ParquetGlob(hive)+" GROUP BY ALL ORDER BY month",
		"DESCRIBE SELECT * FROM "+duckdbtest.ParquetGlob(hive))
	res := duckdbtest.Run(t, stmts...)

	for i, w := range files {
		r := res[i]
		name := Contract[i].Name
		if len(r.Rows) != w.n {
			t.Errorf("%s: DuckDB reads %d rows, we wrote %d", name, len(r.Rows), w.n)
			continue
		}
		if len(r.Columns) != len(w.specs) {
			t.Errorf("%s: DuckDB reads columns %v", name, r.Columns)
			continue
		}
		for c, s := range w.specs {
			if got, want := r.Columns[c], (duckdbtest.Column{Name: s.Name, Type: duckdbTypes[s.Type]}); got != want {
				t.Errorf("%s: column %d is %v, want %v", name, c, got, want)
			}
			nulls := 0
			for row := 0; row < w.n; row++ {
				want := duckValue(&w.cols[c], row)
				if want == nil {
					nulls++
				}
				if got := r.Rows[row][c]; !sameValue(got, want) {
					t.Errorf("%s.%s row %d: DuckDB reads %#v, we wrote %#v", name, s.Name, row+1, got, want)
				}
			}
			if s.Optional && s.Name != "signup_date" && nulls == 0 && w.n > 4 {
				t.Errorf("%s.%s: the fixture has no nulls to check", name, s.Name)
			}
		}
	}

	parts := res[len(files)]
	want := [][]any{{"2024", "1", "7", "4"}, {"2024", "2", "9", "5"}}
	if fmt.Sprint(parts.Rows) != fmt.Sprint(want) {
		t.Errorf("hive partitions: got %v, want %v (year, month, rows, customers)", parts.Rows, want)
	}
	desc := res[len(files)+1]
	types := map[string]string{}
	for _, row := range desc.Rows {
		types[row[0].(string)] = row[1].(string)
	}
	if types["year"] != "BIGINT" || types["month"] != "BIGINT" || types["date"] != "DATE" || types["customer_id"] != "VARCHAR" {
		t.Errorf("hive folder types = %v", types)
	}
}

// TestDuckDBWrittenFilesPassValidation goes the other way: DuckDB writes a
// dataset (as a BI tool or notebook would: dictionary pages, several row
// groups, zstd and gzip, V2 data pages), and Open, Scan and Validate read
// it without complaint.
func TestDuckDBWrittenFilesPassValidation(t *testing.T) {
	duckdbtest.Dir(t)
	dir := t.TempDir()
	copyTo := func(sql, path string, opts ...string) string {
		return "COPY (" + sql + ") TO " + duckdbtest.Quote(path) + " (" + strings.Join(append([]string{"FORMAT parquet"}, opts...), ", ") + ")"
	}
	duckdbtest.Run(t,
		copyTo(`SELECT 'c' || lpad(i::VARCHAR, 3, '0') AS customer_id, DATE '2023-01-01' + i::INTEGER AS signup_date,
			(i % 50)::BIGINT AS seats, (i * 10.5)::DOUBLE AS mrr, 'retail' AS industry FROM range(100) t(i) ORDER BY 1`,
			filepath.Join(dir, "customers.parquet")),
		copyTo(`SELECT 'c' || lpad((i // 3)::VARCHAR, 3, '0') AS customer_id,
			TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_hours(i::BIGINT) AS ts, (i % 11)::INTEGER AS nps
			FROM range(300) t(i) ORDER BY 1, 2`,
			filepath.Join(dir, "surveys.parquet"), "ROW_GROUP_SIZE 64", "COMPRESSION zstd"),
		copyTo(`SELECT 'c' || lpad((i // 2)::VARCHAR, 3, '0') AS customer_id, DATE '2024-01-01' + (i % 2)::INTEGER AS date,
			CASE WHEN i % 7 = 0 THEN NULL ELSE i END AS active_users FROM range(200) t(i) ORDER BY 1, 2`,
			filepath.Join(dir, "usage.parquet"), "PARQUET_VERSION V2", "COMPRESSION gzip"),
	)
	r, err := Validate(context.Background(), dir, ValidateOptions{Now: validateNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 0 {
		t.Fatalf("problems in DuckDB's files:%s", describe(dir, r))
	}
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	var surveys, usage int
	var last *History
	st, err := ds.Scan(context.Background(), KeyRange{}, ScanOptions{Attrs: true}, func(h *History) error {
		surveys += len(h.Surveys)
		usage += len(h.Usage)
		last = h.Clone()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Customers != 100 || surveys != 300 || usage != 200 {
		t.Fatalf("customers %d, surveys %d, usage %d", st.Customers, surveys, usage)
	}
	c := last.Customer
	if c.ID != "c099" || c.SignupDate != MakeDate(2023, time.April, 10) || c.Seats != 49 || c.MRR != 1039.5 || c.Attrs[0].Str != "retail" {
		t.Errorf("last customer = %+v", c)
	}
	if s := last.Surveys[2]; s.TS.String() != "2024-01-13T11:00:00Z" || s.NPS != 299%11 {
		t.Errorf("last survey = %+v", s)
	}
}

// duckValue returns row i of v the way duckdbtest reports DuckDB values.
func duckValue(v *Vec, i int) any {
	if v.IsNull(i) {
		return nil
	}
	switch v.Type {
	case TypeString:
		return v.Str(i)
	case TypeInt64:
		return strconv.FormatInt(v.Ints[i], 10)
	case TypeFloat64:
		return v.Floats[i]
	case TypeBool:
		return v.Bools[i] == 1
	case TypeDate:
		return v.Dates[i].String()
	case TypeTimestamp:
		return v.Time(i).Time()
	}
	return nil
}

// sameValue compares a DuckDB value with duckValue's; timestamps are
// compared as instants.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		s, ok := got.(string)
		if !ok {
			return false
		}
		g, err := time.Parse("2006-01-02 15:04:05.999999-07", s)
		return err == nil && g.Equal(w)
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.IsNaN(g) && math.IsNaN(w))
	}
	return got == want
}
