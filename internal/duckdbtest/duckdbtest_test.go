package duckdbtest

import (
	"strings"
	"testing"
)

func TestQueryTypesAndValues(t *testing.T) {
	res := Run(t,
		"CREATE TABLE x AS SELECT 42::BIGINT AS n, DATE '2024-01-02' AS d, TIMESTAMPTZ '2024-01-02 03:04:05.5+00' AS ts, 1.5::DOUBLE AS f, true AS b, NULL::VARCHAR AS s",
		"SELECT * FROM x",
		"SELECT "+Quote("it's")+" AS q")
	got := res[1]
	wantTypes := []string{"BIGINT", "DATE", "TIMESTAMP WITH TIME ZONE", "DOUBLE", "BOOLEAN", "VARCHAR"}
	if strings.Join(got.Types(), ",") != strings.Join(wantTypes, ",") {
		t.Errorf("types = %v, want %v", got.Types(), wantTypes)
	}
	want := []any{"42", "2024-01-02", "2024-01-02 03:04:05.5+00", 1.5, true, nil}
	if len(got.Rows) != 1 {
		t.Fatalf("rows = %v", got.Rows)
	}
	for i, w := range want {
		if got.Rows[0][i] != w {
			t.Errorf("column %s = %#v, want %#v", got.Columns[i].Name, got.Rows[0][i], w)
		}
	}
	if q := res[2].Rows[0][0]; q != "it's" {
		t.Errorf("quoted = %v", q)
	}
}

func TestRunReportsErrors(t *testing.T) {
	dir := Dir(t)
	_, err := run(dir, []string{"SELECT 1", "SELEC nonsense"})
	if err == nil || !strings.Contains(err.Error(), "SELEC nonsense") {
		t.Fatalf("err = %v, want DuckDB's message naming the statement", err)
	}
}
