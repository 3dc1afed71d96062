package data

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
	"github.com/pierrec/lz4/v4"

	"github.com/churnlab/churn/internal/parquettest"
)

//go:generate sh -c "NODE_PATH=$CHURN_DUCKDB_DIR/node_modules node testdata/codecs/gen.js testdata/codecs"

// codecRows is the number of rows testdata/codecs/gen.js writes.
const codecRows = 500

// TestReadCodecs reads a customers file written by DuckDB with each
// compression codec of the Parquet spec that parquet-go supports, and
// checks every value against the formulas of testdata/codecs/gen.js.
func TestReadCodecs(t *testing.T) {
	cust, _ := LookupTable(Customers)
	for _, tc := range []struct {
		file  string
		codec format.CompressionCodec
	}{
		{"customers_uncompressed.parquet", format.Uncompressed},
		{"customers_snappy.parquet", format.Snappy},
		{"customers_gzip.parquet", format.Gzip},
		{"customers_zstd.parquet", format.Zstd},
		{"customers_lz4_raw.parquet", format.Lz4Raw},
		{"customers_brotli.parquet", format.Brotli},
	} {
		t.Run(tc.codec.String(), func(t *testing.T) {
			path := filepath.Join("testdata", "codecs", tc.file)
			f, err := OpenFile(path, cust, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, rg := range f.pf.Metadata().RowGroups {
				for _, c := range rg.Columns {
					if c.MetaData.Codec != tc.codec {
						t.Fatalf("column %s is compressed with %s, want %s: regenerate the file", strings.Join(c.MetaData.PathInSchema, "."), c.MetaData.Codec, tc.codec)
					}
				}
			}
			if f.NumRows != codecRows {
				t.Fatalf("%d rows, want %d", f.NumRows, codecRows)
			}
			var b Batch
			i := 0
			for rg := 0; rg < f.NumRowGroups(); rg++ {
				if err := f.ReadRowGroup(rg, nil, true, &b); err != nil {
					t.Fatal(err)
				}
				col := func(name string) *Vec { return &b.Cols[cust.ColumnIndex(name)] }
				for r := 0; r < b.N; r++ {
					sum := md5.Sum([]byte(fmt.Sprint(i)))
					want := []string{fmt.Sprintf("C%05d", i), MakeDate(2020, 1, 1).AddDays(i % 1000).String(), hex.EncodeToString(sum[:]),
						fmt.Sprint(i % 50), fmt.Sprint(float64(i) * 1.25), fmt.Sprint(i%3 == 0)}
					if i%7 == 0 {
						want[3] = "null"
					}
					seats := fmt.Sprint(col("seats").Int(r))
					if col("seats").IsNull(r) {
						seats = "null"
					}
					got := []string{col(KeyColumn).Str(r), col("signup_date").Date(r).String(), col("plan").Str(r),
						seats, fmt.Sprint(col("mrr").Float(r)), fmt.Sprint(col("churned").Bool(r) == 1)}
					for k := range want {
						if got[k] != want[k] {
							t.Fatalf("row %d: got %q, want %q", i+1, got, want)
						}
					}
					i++
				}
			}
		})
	}
}

// TestLZ4RawDecode checks the LZ4_RAW codec parquet-go looks up: it must
// decompress into the buffer it is given when the page fits (parquet-go
// v0.32.0 keeps that buffer when the output has the page's size, so output
// written elsewhere is lost), grow it when the page does not fit, and fail
// on corrupt input instead of growing without bound.
func TestLZ4RawDecode(t *testing.T) {
	codec := parquet.LookupCompressionCodec(format.Lz4Raw)
	rng := rand.New(rand.NewPCG(1, 2))
	page := make([]byte, 64<<10)
	for i := range page {
		page[i] = byte(rng.IntN(16)) // compresses, but by less than 3x
	}
	comp := make([]byte, lz4.CompressBlockBound(len(page)))
	n, err := lz4.CompressBlock(page, comp, nil)
	if err != nil || n == 0 {
		t.Fatalf("compress: %d, %v", n, err)
	}
	comp = comp[:n]
	if 3*len(comp) <= len(page) {
		t.Fatalf("the page compresses %d to %d; the test needs a ratio below 3", len(page), len(comp))
	}
	t.Run("into the given buffer", func(t *testing.T) {
		dst := make([]byte, len(page))
		out, err := codec.Decode(dst, comp)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, page) {
			t.Fatal("decoded page differs")
		}
		if &out[0] != &dst[0] {
			t.Fatal("the page fits the given buffer, but was decoded elsewhere")
		}
	})
	t.Run("grows a short buffer", func(t *testing.T) {
		out, err := codec.Decode(make([]byte, 10), comp)
		if err != nil || !bytes.Equal(out, page) {
			t.Fatalf("decoded %d bytes, err %v", len(out), err)
		}
	})
	t.Run("corrupt input", func(t *testing.T) {
		bad := bytes.Clone(comp)
		binary.LittleEndian.PutUint16(bad[len(bad)/2:], 0xffff) // a match offset or literal run past the data
		bad = append(bad[:len(bad)/2+2], 0xff, 0xff, 0xff)
		if _, err := codec.Decode(nil, bad); err == nil {
			t.Fatal("corrupt input decoded without error")
		}
	})
}

// TestLegacyLZ4Unsupported checks that a file compressed with the
// deprecated Hadoop-framed LZ4 codec, which parquet-go cannot read, is
// reported by file, column and codec before any page is decoded.
func TestLegacyLZ4Unsupported(t *testing.T) {
	cust, _ := LookupTable(Customers)
	src, err := os.ReadFile(filepath.Join("testdata", "codecs", "customers_uncompressed.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "customers.parquet")
	if err := os.WriteFile(path, relabel(t, src, "mrr"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = OpenFile(path, cust, nil)
	var ie *InputError
	if !errors.As(err, &ie) || ie.File != path || ie.Column != "mrr" || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "LZ4") {
		t.Fatalf("err = %v, want an ErrUnsupported InputError naming %s, column mrr and LZ4", err, path)
	}
	dir := filepath.Dir(path)
	r := validateDir(t, dir, ValidateOptions{})
	if r.OK || len(r.Problems) == 0 || r.Problems[0].Check != checkUnreadable.ID || r.Problems[0].Column != "mrr" {
		t.Fatalf("validate: want an unreadable error on column mrr:%s", describe(dir, r))
	}
}

// relabel returns the Parquet file b with the named column labelled as
// compressed with legacy LZ4.
func relabel(t *testing.T, b []byte, column string) []byte {
	t.Helper()
	out, err := parquettest.SetCodec(b, format.Lz4, column)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
