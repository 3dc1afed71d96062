package data

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// inputSentinels are the errors every failure to read outside input must
// wrap.
var inputSentinels = []error{ErrCorrupt, ErrSchema, ErrEmpty, ErrNull, ErrUnsorted, ErrDuplicateKey, ErrUnsupported, ErrInvalidUTF8, ErrInvalidKey}

// checkInputError fails t unless err is an *InputError naming file and
// wrapping one of the package's sentinels.
func checkInputError(t *testing.T, err error, file string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("error %q (%T) is not an *InputError", err, err)
	}
	if file != "" && ie.File != file {
		t.Fatalf("error %q names file %q, want %q", err, ie.File, file)
	}
	for _, s := range inputSentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %q wraps none of the input sentinels", err)
}

// readWholeFile opens path as table t and decodes every row group with
// every column and attribute, returning the first error.
func readWholeFile(path string, t *Table) error {
	f, err := OpenFile(path, t, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	var b Batch
	for i := 0; i < f.NumRowGroups(); i++ {
		if err := f.ReadRowGroup(i, nil, true, &b); err != nil {
			return err
		}
		if b.N != int(f.RowGroupRows(i)) {
			return errors.New("batch size differs from the row group size")
		}
	}
	return nil
}

func scanDir(dir string) error {
	ds, err := Open(dir)
	if err != nil {
		return err
	}
	defer ds.Close()
	_, err = ds.Scan(context.Background(), KeyRange{}, ScanOptions{Attrs: true}, func(*History) error { return nil })
	return err
}

// fuzzInputLimit is how long one input may take. The fuzzing engine kills a
// worker after 10 s on one input; the watchdog applies the same limit when
// the seeds run as a plain test.
const fuzzInputLimit = 10 * time.Second

// FuzzOpenFile feeds arbitrary bytes to the Parquet reader as a file of
// one contract table (chosen by which), then through Open and Scan next to a
// valid customers file, then through Validate. Every failure must be an
// *InputError that names the file and wraps a sentinel, Validate must report
// an error exactly when the reader fails, and nothing may panic or hang.
func FuzzOpenFile(f *testing.F) {
	ids := fixtureIDs(7)
	for _, name := range []string{Customers, UsageTable, Tickets, Payments, Subscriptions, Surveys, Interventions} {
		tbl, _ := LookupTable(name)
		which := uint8(tableIndex(name))
		for _, opt := range []WriterOptions{{RowGroupRows: 3}, {Compression: "zstd"}, {Compression: "none", RowGroupRows: 5}} {
			b := fixtureBytes(f, tbl, ids, opt)
			f.Add(b, which)
			for _, cut := range []int{4, 12, len(b) / 3, len(b) / 2, len(b) - 9, len(b) - 1} {
				f.Add(b[:cut], which)
			}
			for _, at := range []int{len(b) / 4, len(b) / 2, len(b) - 12, len(b) - 6} {
				c := append([]byte(nil), b...)
				c[at] ^= 0x5a
				f.Add(c, which)
			}
		}
	}
	corrupt, _ := filepath.Glob(filepath.Join("testdata", "corrupt", "*.parquet"))
	for _, p := range corrupt {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	// Files other engines wrote, one per codec, and LZ4_RAW pages with
	// damaged bytes.
	codecs, _ := filepath.Glob(filepath.Join("testdata", "codecs", "*.parquet"))
	for _, p := range codecs {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		if strings.Contains(p, "lz4_raw") {
			for _, at := range []int{len(b) / 5, len(b) / 3, len(b) / 2} {
				c := append([]byte(nil), b...)
				c[at] ^= 0xff
				f.Add(c, uint8(0))
			}
		}
	}
	// Strings another tool wrote without checking them: not UTF-8, an
	// empty id, a NUL in an id (dictionary-encoded and plain).
	foreign := filepath.Join(f.TempDir(), "foreign.parquet")
	for _, id := range []string{"c\xff", "", "c\x00"} {
		writeForeign(f, foreign, []ColumnSpec{spec("customer_id", TypeString), {Name: "plan", Type: TypeString, Dict: true, Optional: true}, optional("tier", TypeString)},
			[]string{"a", "Bj\xf6rn", "x"}, []string{id, "pro", "\xe9"})
		b, err := os.ReadFile(foreign)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
	}
	f.Add([]byte{}, uint8(0))
	f.Add([]byte("PAR1"), uint8(0))
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"), uint8(0))
	f.Add([]byte("PAR1\xff\xff\xff\x7fPAR1"), uint8(0))
	cust, _ := LookupTable(Customers)
	custFile := fixtureBytes(f, cust, ids, WriterOptions{RowGroupRows: 4})

	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		// A hang or a pathologically slow input is a bug too.
		watchdog := time.AfterFunc(fuzzInputLimit, func() {
			panic(fmt.Sprintf("input of %d bytes took longer than %v", len(b), fuzzInputLimit))
		})
		defer watchdog.Stop()
		tbl := Contract[int(which)%len(Contract)]
		dir := t.TempDir()
		path := filepath.Join(dir, tbl.Name+".parquet")
		writeBytes(t, path, b)
		if err := readWholeFile(path, tbl); err != nil {
			checkInputError(t, err, path)
		}
		if tbl.Name != Customers {
			writeBytes(t, filepath.Join(dir, Customers+".parquet"), custFile)
		}
		if err := scanDir(dir); err != nil {
			checkInputError(t, err, "")
		}
		// Validate reads the same bytes leniently: it must not fail, and it
		// must find an error exactly when the reader does.
		r, err := Validate(context.Background(), dir, ValidateOptions{Now: validateNow})
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		checkAgreesWithReader(t, dir, r)
	})
}

// TestReadBadInput checks that each kind of bad input gives one clear error
// naming the file and, where it applies, the row and column.
func TestReadBadInput(t *testing.T) {
	ids := fixtureIDs(9)
	cust, _ := LookupTable(Customers)
	usage, _ := LookupTable(UsageTable)
	good := fixtureBytes(t, usage, ids, WriterOptions{RowGroupRows: 4})

	type tcase struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the bad file
		want  error
		msg   []string // substrings of the message besides the file
		// fileOnly cases are checked with OpenFile and ReadRowGroup only
		// (a scan stops at an earlier problem of the file).
		fileOnly bool
	}
	fromTestdata := func(name, table string) func(t *testing.T, dir string) string {
		return func(t *testing.T, dir string) string {
			b, err := os.ReadFile(filepath.Join("testdata", "corrupt", name))
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, table+".parquet")
			writeBytes(t, p, b)
			return p
		}
	}
	tests := []tcase{
		{name: "empty file", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			writeBytes(t, p, nil)
			return p
		}, want: ErrEmpty, msg: []string{"empty"}},
		{name: "not parquet", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			writeBytes(t, p, []byte("customer_id,date\nc000,2024-01-01\n"))
			return p
		}, want: ErrCorrupt},
		{name: "corrupt footer length", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			c := append([]byte(nil), good...)
			copy(c[len(c)-8:], "\xff\xff\xff\x7f")
			writeBytes(t, p, c)
			return p
		}, want: ErrCorrupt, msg: []string{"footer"}},
		{name: "corrupt data page", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			c := append([]byte(nil), good...)
			for i := 8; i < 40; i++ {
				c[i] = 0xff
			}
			writeBytes(t, p, c)
			return p
		}, want: ErrCorrupt, msg: []string{"column customer_id"}},
		{name: "wrong column type", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			writeTable(t, p, []ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "date", Type: TypeString}}, 1,
				[]Vec{strVec("c000"), strVec("2024-01-01")}, WriterOptions{})
			return p
		}, want: ErrSchema, msg: []string{"column date", "cannot be read as DATE"}},
		{name: "missing required column", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			writeTable(t, p, []ColumnSpec{{Name: "customer_id", Type: TypeString}}, 1, []Vec{strVec("c000")}, WriterOptions{})
			return p
		}, want: ErrSchema, msg: []string{"column date", "required column is missing"}},
		{name: "unknown table", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usages.parquet")
			writeBytes(t, p, good)
			return p
		}, want: ErrUnknownTable, msg: []string{`"usages"`, "known tables"}},
		{name: "null in required column", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			d := dateVec(t, "2024-01-01", "", "2024-01-03")
			writeTable(t, p, []ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "date", Type: TypeDate, Optional: true}}, 3,
				[]Vec{strVec("c000", "c000", "c001"), d}, WriterOptions{})
			return p
		}, want: ErrNull, msg: []string{"usage.parquet:2", "column date"}},
		{name: "NaN in a required column", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "payments.parquet")
			writeForeign(t, p, []ColumnSpec{spec("customer_id", TypeString), spec("invoice_date", TypeDate), spec("amount", TypeFloat64), spec("status", TypeString)},
				[]string{"c000", "2024-01-01", "1", "paid"}, []string{"c001", "2024-01-01", "NaN", "paid"})
			return p
		}, want: ErrNull, msg: []string{"payments.parquet:2", "column amount", `value "NaN"`, "NaN (not a number) reads as a missing value"}, fileOnly: true},
	}
	// Fuzzer finds: a few bytes that claim huge lists or strings must fail
	// without allocating what they claim.
	tests = append(tests,
		tcase{name: "footer claims 2^31 row groups", setup: fromTestdata("footer-huge-list.parquet", UsageTable),
			want: ErrCorrupt, msg: []string{"malformed footer", "thrift list claims 2147483647 items"}},
		tcase{name: "page header claims a 1 GiB string", setup: fromTestdata("page-header-huge-string.parquet", Customers),
			want: ErrCorrupt, msg: []string{"column customer_id", "page header at offset"}, fileOnly: true},
	)
	// A valid file cut at several offsets.
	for _, cut := range []int{3, 4, 100, len(good) / 2, len(good) - 20, len(good) - 8, len(good) - 4, len(good) - 1} {
		tests = append(tests, tcase{name: "truncated at " + strconv.Itoa(cut), setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "usage.parquet")
			writeBytes(t, p, good[:cut])
			return p
		}, want: ErrCorrupt})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFixture(t, filepath.Join(dir, "customers.parquet"), cust, ids, WriterOptions{})
			bad := tt.setup(t, dir)
			err := scanDir(dir)
			if tt.fileOnly {
				tbl, _ := LookupTable(strings.TrimSuffix(filepath.Base(bad), ".parquet"))
				err = readWholeFile(bad, tbl)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.File != bad {
				t.Fatalf("err = %q, want an *InputError naming %s", err, bad)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("err = %q, want one line", err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %q, want it to mention %q", err, m)
				}
			}
			// The file on its own gives the same kind of error, at a small
			// cost whatever its bytes claim.
			if tt.want != ErrUnknownTable {
				tbl, ok := LookupTable(strings.TrimSuffix(filepath.Base(bad), ".parquet"))
				if !ok {
					tbl = usage
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				err := readWholeFile(bad, tbl)
				runtime.ReadMemStats(&after)
				if !errors.Is(err, tt.want) {
					t.Errorf("OpenFile+ReadRowGroup: err = %v, want %v", err, tt.want)
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
					t.Errorf("reading it allocated %d MiB", alloc>>20)
				}
			}
		})
	}
}

// TestScanCountsEveryTrailingOrphan checks that rows after the last customer
// are read and counted whatever their keys: keys with the highest bytes
// (once bytes above U+10FFFF, now refused as invalid UTF-8) stopped the
// scan early, hiding later rows and their errors.
func TestScanCountsEveryTrailingOrphan(t *testing.T) {
	dir := t.TempDir()
	writeTable(t, filepath.Join(dir, "customers.parquet"), custSpecs()[:1], 1, []Vec{strVec("a")}, WriterOptions{})
	d := dateVec(t, "2024-01-01", "2024-01-01", "2024-01-01", "")
	writeTable(t, filepath.Join(dir, "usage.parquet"),
		[]ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "date", Type: TypeDate, Optional: true}}, 4,
		[]Vec{strVec("a", "\uffff", "\U0010FFFF", "\U0010FFFF\U0010FFFF"), d}, WriterOptions{RowGroupRows: 2})
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	_, err = ds.Scan(context.Background(), KeyRange{}, ScanOptions{}, func(*History) error { return nil })
	if !errors.Is(err, ErrNull) || !strings.Contains(err.Error(), "usage.parquet:4: column date") {
		t.Fatalf("err = %v, want the null in row 4 of usage.parquet", err)
	}
	// Without the bad row, the three trailing rows are orphans.
	d = dateVec(t, "2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01")
	writeTable(t, filepath.Join(dir, "usage.parquet"),
		[]ColumnSpec{{Name: "customer_id", Type: TypeString}, {Name: "date", Type: TypeDate}}, 4,
		[]Vec{strVec("a", "\uffff", "\U0010FFFF", "\U0010FFFF\U0010FFFF"), d}, WriterOptions{RowGroupRows: 2})
	ds2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds2.Close()
	st, err := ds2.Scan(context.Background(), KeyRange{}, ScanOptions{}, func(*History) error { return nil })
	if err != nil || st.Orphans[UsageTable] != 3 || st.Rows[UsageTable] != 1 {
		t.Fatalf("stats %+v, err %v", st, err)
	}
}
