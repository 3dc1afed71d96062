package imports

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/churnlab/churn/data"
)

var update = flag.Bool("update", false, "rewrite testdata/unsorted (the sort fixture the CLI scripts use)")

// buildUnsorted writes a small dataset whose tables are out of order:
// customers (with attributes), usage as a folder of two files, orders out
// of time order within a customer, and a notes file.
func buildUnsorted(t testing.TB, dir string) {
	t.Helper()
	write := func(rel string, specs []data.ColumnSpec, n int, cols []data.Vec) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w, err := data.NewWriter(f, specs, data.WriterOptions{RowGroupRows: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(n, cols); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	strs := func(xs ...string) data.Vec {
		return vecOf(data.TypeString, func(v *data.Vec, x string) {
			if x == "" {
				v.AppendNull()
			} else {
				v.AppendString(x)
			}
		}, xs...)
	}
	dates := func(xs ...string) data.Vec {
		return vecOf(data.TypeDate, func(v *data.Vec, x string) { v.AppendDate(date(t, x)) }, xs...)
	}
	times := func(xs ...string) data.Vec {
		return vecOf(data.TypeTimestamp, func(v *data.Vec, x string) {
			tt, err := time.Parse(time.RFC3339, x)
			if err != nil {
				t.Fatal(err)
			}
			v.AppendTime(data.TimestampOf(tt))
		}, xs...)
	}
	ints := func(xs ...int64) data.Vec { return vecOf(data.TypeInt64, (*data.Vec).AppendInt, xs...) }
	floats := func(xs ...float64) data.Vec { return vecOf(data.TypeFloat64, (*data.Vec).AppendFloat, xs...) }
	custSpecs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "signup_date", Type: data.TypeDate, Optional: true},
		{Name: "industry", Type: data.TypeString, Optional: true}, {Name: "score", Type: data.TypeInt64, Optional: true}}
	write("customers.parquet", custSpecs, 4, []data.Vec{strs("c", "a", "d", "b"), dates("2024-03-01", "2024-01-01", "2024-04-01", "2024-02-01"), strs("bank", "retail", "", "saas"), ints(3, 1, 4, 2)})
	usageSpecs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "date", Type: data.TypeDate}, {Name: "sessions", Type: data.TypeInt64, Optional: true}}
	write("usage/part-0.parquet", usageSpecs, 4, []data.Vec{strs("b", "a", "a", "c"), dates("2024-02-02", "2024-01-05", "2024-01-02", "2024-03-03"), ints(10, 20, 30, 40)})
	write("usage/part-1.parquet", usageSpecs, 3, []data.Vec{strs("a", "a", "b"), dates("2024-01-09", "2024-01-07", "2024-02-09"), ints(50, 60, 70)})
	orderSpecs := []data.ColumnSpec{{Name: "customer_id", Type: data.TypeString}, {Name: "ts", Type: data.TypeTimestamp}, {Name: "amount", Type: data.TypeFloat64}}
	write("orders.parquet", orderSpecs, 3, []data.Vec{strs("a", "a", "b"), times("2024-01-03T10:00:00Z", "2024-01-02T09:00:00Z", "2024-02-03T00:00:00Z"), floats(3, 2, 5)})
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("source: test fixture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// vecOf builds a Vec of type typ by calling add for each value.
func vecOf[T any](typ data.Type, add func(*data.Vec, T), xs ...T) data.Vec {
	v := data.NewVec(typ)
	for _, x := range xs {
		add(&v, x)
	}
	return v
}

const fixture = "testdata/unsorted"

// The committed fixture holds what buildUnsorted writes (row for row) and
// is out of order; go test -update rewrites it.
func TestSortFixture(t *testing.T) {
	dir := t.TempDir()
	buildUnsorted(t, dir)
	if *update {
		if err := os.RemoveAll(fixture); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(fixture, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		return
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		committed := filepath.Join(fixture, rel)
		if !strings.HasSuffix(p, ".parquet") {
			want, _ := os.ReadFile(p)
			if got, err := os.ReadFile(committed); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s differs (%v); run go test ./data/imports -run TestSortFixture -update", committed, err)
			}
			return nil
		}
		want, got := readRows(t, p), readRows(t, committed)
		if len(got) != len(want) {
			t.Errorf("%s has %d rows, buildUnsorted writes %d; run go test ./data/imports -run TestSortFixture -update", committed, len(got), len(want))
			return nil
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Errorf("%s row %d = %v, buildUnsorted writes %v; run go test ./data/imports -run TestSortFixture -update", committed, i+1, got[i], want[i])
			}
		}
		table := strings.Split(rel, string(filepath.Separator))[0]
		ct, _ := data.LookupTable(strings.TrimSuffix(table, ".parquet"))
		if _, sorted, err := sortFile(context.Background(), committed, ct, nil, false, ""); err != nil || sorted {
			t.Errorf("%s: sorted=%v, err=%v; the fixture must be out of order", committed, sorted, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readRows reads every row of a Parquet file.
func readRows(t *testing.T, path string) []parquet.Row {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var rows []parquet.Row
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := rr.ReadRows(buf)
			for _, r := range buf[:n] {
				rows = append(rows, r.Clone())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		rr.Close()
	}
	return rows
}

func TestSort(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	buildUnsorted(t, src)
	if _, _, err := scanErr(src); !errors.Is(err, data.ErrUnsorted) || !strings.Contains(err.Error(), "churn sort does it") {
		t.Fatalf("scan of the unsorted fixture: %v", err)
	}
	check := func(t *testing.T, dir string) {
		t.Helper()
		hs, st, attrs := scanAll(t, dir)
		if st.Customers != 4 || st.Rows[data.UsageTable] != 7 || st.Rows[data.Orders] != 3 {
			t.Errorf("stats = %+v", st)
		}
		c := byID(hs)
		if attr(t, attrs, c["a"], "industry").Str != "retail" || attr(t, attrs, c["c"], "score").Num != 3 || !attr(t, attrs, c["d"], "industry").Null {
			t.Errorf("attributes moved: %+v", c)
		}
		if c["a"].Customer.SignupDate != date(t, "2024-01-01") || len(c["a"].Usage) != 4 {
			t.Errorf("a = %+v", c["a"])
		}
		checkSorted(t, dir)
	}
	t.Run("out", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "sorted")
		sum, err := Sort(ctx, src, SortOptions{Out: out, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Files) != 4 || len(sum.NotCopied) != 1 || sum.NotCopied[0] != "notes.txt" {
			t.Errorf("summary = %+v", sum)
		}
		for _, f := range sum.Files {
			if f.WasSorted {
				t.Errorf("%s reported sorted", f.Path)
			}
		}
		check(t, out)
		if _, _, err := scanErr(src); !errors.Is(err, data.ErrUnsorted) {
			t.Errorf("the input changed: %v", err)
		}
	})
	t.Run("in place", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		if _, err := Sort(ctx, dir, SortOptions{Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		check(t, dir)
		if b, err := os.ReadFile(filepath.Join(dir, "notes.txt")); err != nil || len(b) == 0 {
			t.Errorf("notes.txt: %v", err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, "usage", "part-1.parquet"))
		sum, err := Sort(ctx, dir, SortOptions{Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sum.Files {
			if !f.WasSorted {
				t.Errorf("%s re-sorted twice", f.Path)
			}
		}
		after, _ := os.ReadFile(filepath.Join(dir, "usage", "part-1.parquet"))
		if !bytes.Equal(before, after) {
			t.Error("a sorted file was rewritten")
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("temporary %s left behind", e.Name())
			}
		}
	})
	t.Run("refuses", func(t *testing.T) {
		if _, err := Sort(ctx, src, SortOptions{Out: filepath.Join(src, "sorted"), Logger: quiet}); err == nil || !strings.Contains(err.Error(), "inside the dataset") {
			t.Errorf("out inside data: %v", err)
		}
		notes := writeFiles(t, map[string]string{"a.txt": "x"})
		if _, err := Sort(ctx, src, SortOptions{Out: notes, Logger: quiet}); err == nil || !strings.Contains(err.Error(), "refusing to replace") {
			t.Errorf("out over other files: %v", err)
		}
		if _, err := Sort(ctx, notes, SortOptions{Logger: quiet}); !errors.Is(err, data.ErrNoCustomers) {
			t.Errorf("not a dataset: %v", err)
		}
	})
}

// scanErr opens and scans dir, returning the error of either step.
func scanErr(dir string) (int64, data.ScanStats, error) {
	ds, err := data.Open(dir)
	if err != nil {
		return 0, data.ScanStats{}, err
	}
	defer ds.Close()
	st, err := ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{Attrs: true}, func(*data.History) error { return nil })
	return st.Customers, st, err
}

// taggedCustomer has a repeated column, which the contract ignores and
// sort must carry along with its row.
type taggedCustomer struct {
	ID    string   `parquet:"customer_id"`
	Seats int64    `parquet:"seats"`
	Tags  []string `parquet:"tags,list"`
}

func TestSortKeepsNestedColumns(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "customers.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[taggedCustomer](f)
	in := []taggedCustomer{{"c", 3, []string{"x", "y"}}, {"a", 1, nil}, {"b", 2, []string{"z"}}}
	if _, err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Sort(context.Background(), dir, SortOptions{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.ReadFile[taggedCustomer](filepath.Join(dir, "customers.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	want := []taggedCustomer{{"a", 1, nil}, {"b", 2, []string{"z"}}, {"c", 3, []string{"x", "y"}}}
	if len(got) != 3 {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Seats != want[i].Seats || strings.Join(got[i].Tags, ",") != strings.Join(want[i].Tags, ",") {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
