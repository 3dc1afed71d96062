package synth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

var scratch string // removed by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "synth-test-")
	if err != nil {
		panic(err)
	}
	scratch = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// statsParams is the dataset the statistical tests share.
var statsParams = synth.Params{Customers: 4000, Months: 24, Seed: 7}

// onceDataset is a dataset the tests share, generated on first use.
type onceDataset struct {
	once sync.Once
	dir  string
	sum  *synth.Summary
	err  error
}

// get generates the dataset of p into scratch/name the first time it is
// called, and returns it.
func (d *onceDataset) get(t *testing.T, name string, p synth.Params) (string, *synth.Summary) {
	t.Helper()
	d.once.Do(func() {
		d.dir = filepath.Join(scratch, name)
		d.sum, d.err = synth.Generate(context.Background(), d.dir, p, synth.WriteOptions{})
	})
	if d.err != nil {
		t.Fatal(d.err)
	}
	return d.dir, d.sum
}

var shared onceDataset

// sharedDataset generates the dataset of statsParams once per test binary.
func sharedDataset(t *testing.T) (string, *synth.Summary) {
	t.Helper()
	return shared.get(t, "shared", statsParams)
}

// histories reads every customer of the dataset at dir.
func histories(t testing.TB, dir string) []*data.History {
	t.Helper()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	var out []*data.History
	st, err := ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{Attrs: true}, func(h *data.History) error {
		out = append(out, h.Clone())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range st.Orphans {
		if n != 0 {
			t.Errorf("%s: %d rows without a customer", table, n)
		}
	}
	return out
}

func generate(t testing.TB, dir string, p synth.Params, opt synth.WriteOptions) *synth.Summary {
	t.Helper()
	sum, err := synth.Generate(context.Background(), dir, p, opt)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// TestDeterministic generates the same Params twice, with different
// numbers of workers, and compares the files byte for byte.
func TestDeterministic(t *testing.T) {
	tests := []struct {
		name        string
		p           synth.Params
		compression string
	}{
		{"snappy", synth.Params{Customers: 2100, Months: 12, Seed: 42}, ""}, // three chunks
		{"zstd", synth.Params{Customers: 300, Months: 3, Seed: 42}, "zstd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := filepath.Join(scratch, "det-a-"+tt.name), filepath.Join(scratch, "det-b-"+tt.name)
			generate(t, a, tt.p, synth.WriteOptions{Workers: 1, Compression: tt.compression})
			generate(t, b, tt.p, synth.WriteOptions{Workers: 3, Compression: tt.compression})
			for _, table := range synth.Tables {
				if x, y := readFile(t, a, table), readFile(t, b, table); !bytes.Equal(x, y) {
					t.Errorf("%s differs between runs (%d and %d bytes)", table, len(x), len(y))
				}
			}
		})
	}
	t.Run("other seed differs", func(t *testing.T) {
		a, b := filepath.Join(scratch, "seed-a"), filepath.Join(scratch, "seed-b")
		generate(t, a, synth.Params{Customers: 100, Months: 6, Seed: 1}, synth.WriteOptions{})
		generate(t, b, synth.Params{Customers: 100, Months: 6, Seed: 2}, synth.WriteOptions{})
		if bytes.Equal(readFile(t, a, data.UsageTable), readFile(t, b, data.UsageTable)) {
			t.Error("seeds 1 and 2 gave the same usage file")
		}
	})
}

func readFile(t *testing.T, dir, table string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, table+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCustomersIndependentOfCount checks that the first customers do not
// change when more customers are generated.
func TestCustomersIndependentOfCount(t *testing.T) {
	small, large := filepath.Join(scratch, "indep-small"), filepath.Join(scratch, "indep-large")
	generate(t, small, synth.Params{Customers: 300, Months: 12, Seed: 3}, synth.WriteOptions{})
	generate(t, large, synth.Params{Customers: 1500, Months: 12, Seed: 3}, synth.WriteOptions{})
	hs, hl := histories(t, small), histories(t, large)
	if len(hs) != 300 || len(hl) != 1500 {
		t.Fatalf("got %d and %d customers", len(hs), len(hl))
	}
	for i := range hs {
		a, b := hs[i], hl[i]
		if a.Customer.ID != b.Customer.ID || a.Customer.ChurnDate != b.Customer.ChurnDate ||
			len(a.Usage) != len(b.Usage) || len(a.Tickets) != len(b.Tickets) || len(a.Payments) != len(b.Payments) ||
			!slices.Equal(a.Usage, b.Usage) || !slices.Equal(a.Contacts, b.Contacts) || !slices.Equal(a.Signals, b.Signals) {
			t.Fatalf("customer %s differs between 300 and 1500 customers", a.Customer.ID)
		}
	}
}

// TestOutputOpensAndScans checks the contract: every table is present, its
// schema is exactly the contract's, the files are sorted and labelled so,
// and the reader scans them without error.
func TestOutputOpensAndScans(t *testing.T) {
	dir, sum := sharedDataset(t)
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	for _, name := range synth.Tables {
		t.Run(name, func(t *testing.T) {
			tf := ds.Table(name)
			if tf == nil {
				t.Fatalf("table %s is missing", name)
			}
			if got := tf.NumRows(); got != sum.Rows(name) || got == 0 {
				t.Errorf("%d rows, summary says %d", got, sum.Rows(name))
			}
			f := tf.Files[0]
			if len(f.Ignored) > 0 {
				t.Errorf("ignored columns: %v", f.Ignored)
			}
			for _, c := range tf.Table.Columns {
				if name != data.Orders && !f.HasColumn(c.Name) {
					t.Errorf("column %s is missing", c.Name)
				}
			}
			checkSchema(t, filepath.Join(dir, name+".parquet"), synth.BusinessSaaS, name)
		})
	}
	attrs := ds.Table(data.Customers).Attrs
	want := []data.AttrColumn{{Name: "industry", Type: data.TypeString}, {Name: "employees", Type: data.TypeFloat64}}
	if !slices.Equal(attrs, want) {
		t.Errorf("customer attributes = %v, want %v", attrs, want)
	}
	if ds.Has(data.Orders) {
		t.Error("orders should not be generated")
	}
	var n int64
	st, err := ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{Attrs: true}, func(h *data.History) error {
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(statsParams.Customers) || st.Customers != n {
		t.Errorf("scanned %d customers, want %d", n, statsParams.Customers)
	}
	for _, name := range synth.Tables[1:] {
		if st.Rows[name] != sum.Rows(name) || st.Orphans[name] != 0 {
			t.Errorf("%s: scan bound %d rows (%d orphans), file has %d", name, st.Rows[name], st.Orphans[name], sum.Rows(name))
		}
	}
}

// checkSchema compares a file's schema with data.Schema of the table's
// specs and checks the logical types leaf by leaf.
func checkSchema(t *testing.T, path, business, table string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	specs, err := synth.SpecsFor(business, table)
	if err != nil {
		t.Fatal(err)
	}
	want, err := data.Schema("churn", specs)
	if err != nil {
		t.Fatal(err)
	}
	if !parquet.EqualNodes(pf.Schema(), want) {
		t.Errorf("schema\n%v\nwant\n%v", pf.Schema(), want)
	}
	cols := pf.Root().Columns()
	if len(cols) != len(specs) {
		t.Fatalf("%d columns, want %d", len(cols), len(specs))
	}
	for i, c := range cols {
		sp := specs[i]
		if c.Name() != sp.Name || c.Optional() != sp.Optional {
			t.Errorf("column %d is %s (optional %v), want %s (optional %v)", i, c.Name(), c.Optional(), sp.Name, sp.Optional)
		}
		var lt format.LogicalTypeValue
		if l := c.Type().LogicalType(); l != nil {
			lt = l.Value
		}
		kind := c.Type().Kind()
		ok := false
		switch sp.Type {
		case data.TypeString:
			_, isString := lt.(*format.StringType)
			ok = kind == parquet.ByteArray && isString
		case data.TypeInt64:
			_, isInt := lt.(*format.IntType)
			ok = kind == parquet.Int64 && (lt == nil || isInt)
		case data.TypeFloat64:
			ok = kind == parquet.Double && lt == nil
		case data.TypeBool:
			ok = kind == parquet.Boolean && lt == nil
		case data.TypeDate:
			_, isDate := lt.(*format.DateType)
			ok = kind == parquet.Int32 && isDate
		case data.TypeTimestamp:
			ts, isTS := lt.(*format.TimestampType)
			if isTS {
				_, micros := ts.Unit.Value.(*format.MicroSeconds)
				ok = kind == parquet.Int64 && micros && ts.IsAdjustedToUTC
			}
		}
		if !ok {
			t.Errorf("column %s has type %v, want %s", c.Name(), c.Type(), sp.Type)
		}
	}
	tab, _ := data.LookupTable(table)
	wantSort := []string{data.KeyColumn}
	if tab.Time != "" {
		wantSort = append(wantSort, tab.Time)
	}
	for _, rg := range pf.Metadata().RowGroups {
		var got []string
		for _, sc := range rg.SortingColumns {
			if sc.Descending {
				t.Errorf("row group sorted descending")
			}
			got = append(got, specs[sc.ColumnIdx].Name)
		}
		if !slices.Equal(got, wantSort) {
			t.Errorf("row group sorted by %v, want %v", got, wantSort)
		}
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec != format.Snappy {
				t.Errorf("column %v compressed with %v, want snappy", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}
	if v, ok := pf.Lookup("churn.synth"); !ok || v == "" {
		t.Error("no churn.synth metadata")
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		p     synth.Params
		want  error
	}{
		{"no customers", nil, synth.Params{Customers: 0, Months: 12}, nil},
		{"too many customers", nil, synth.Params{Customers: synth.MaxCustomers + 1, Months: 12}, nil},
		{"no months", nil, synth.Params{Customers: 10, Months: 0}, nil},
		{"too many months", nil, synth.Params{Customers: 10, Months: synth.MaxMonths + 1}, nil},
		{"end out of range", nil, synth.Params{Customers: 10, Months: 12, End: data.MakeDate(1970, 1, 2)}, nil},
		{"unknown business", nil, synth.Params{Customers: 10, Months: 12, Business: "retail"}, nil},
		{"shop with interventions", nil, synth.Params{Customers: 10, Months: 12, Business: synth.BusinessEcommerce, Interventions: &synth.Interventions{ControlShare: 0.2, Compliance: 0.85}}, nil},
		{"folder with other files", func(t *testing.T, dir string) {
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("keep me"), 0o644)
		}, synth.Params{Customers: 10, Months: 12}, synth.ErrOutputInUse},
		{"a file", func(t *testing.T, dir string) {
			os.WriteFile(dir, []byte("keep me"), 0o644)
		}, synth.Params{Customers: 10, Months: 12}, synth.ErrOutputInUse},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(scratch, "err", string(rune('a'+i)))
			os.MkdirAll(filepath.Dir(dir), 0o755)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := listing(t, filepath.Dir(dir))
			_, err := synth.Generate(context.Background(), dir, tt.p, synth.WriteOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if after := listing(t, filepath.Dir(dir)); !slices.Equal(before, after) {
				t.Errorf("folder changed: %v → %v", before, after)
			}
		})
	}
}

// listing returns the paths under dir, recursively, with their sizes.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil {
			out = append(out, fmt.Sprintf("%s %d", p, info.Size()))
		}
		return nil
	})
	return out
}

func TestGenerateReplacesGeneratedFolder(t *testing.T) {
	dir := filepath.Join(scratch, "replace")
	generate(t, dir, synth.Params{Customers: 50, Months: 6, Seed: 1}, synth.WriteOptions{})
	sum := generate(t, dir, synth.Params{Customers: 70, Months: 6, Seed: 1}, synth.WriteOptions{})
	if sum.Rows(data.Customers) != 70 {
		t.Errorf("customers = %d", sum.Rows(data.Customers))
	}
	if len(histories(t, dir)) != 70 {
		t.Error("the folder was not replaced")
	}
}

// TestCancelLeavesNothing cancels a run part-way and checks that neither the
// output nor a temporary folder is left behind.
func TestCancelLeavesNothing(t *testing.T) {
	parent := filepath.Join(scratch, "cancel")
	os.MkdirAll(parent, 0o755)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := synth.Generate(ctx, filepath.Join(parent, "out"), synth.Params{Customers: 20000, Months: 24, Seed: 1},
		synth.WriteOptions{Progress: func(done int) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		t.Errorf("left behind: %s", e.Name())
	}
}

func BenchmarkGenerate(b *testing.B) {
	p := synth.Params{Customers: 10000, Months: 24, Seed: 1}
	dir := b.TempDir()
	b.ReportAllocs()
	var rows int64
	for i := 0; b.Loop(); i++ {
		sum, err := synth.Generate(context.Background(), filepath.Join(dir, "out"), p, synth.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		rows = 0
		for _, t := range sum.Tables {
			rows += t.Rows
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(p.Customers)*float64(b.N)/b.Elapsed().Seconds(), "customers/s")
}
