package imports

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/parquettest"
)

// exportRow is a Parquet file from another tool: other names and types.
type exportRow struct {
	Account int64     `parquet:"account"`
	Since   time.Time `parquet:"since,timestamp(millisecond)"`
	Renewal int32     `parquet:"renewal,date"`
	Tier    string    `parquet:"tier"`
	Active  bool      `parquet:"active"`
	Spend   *float64  `parquet:"spend,optional"`
	Region  *string   `parquet:"region,optional"`
	Seats   int32     `parquet:"seats"`
	Score   float32   `parquet:"score"`
}

func writeExport(t *testing.T, path string, rows []exportRow) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := parquet.NewGenericWriter[exportRow](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestParquetSource(t *testing.T) {
	dir := writeFiles(t, map[string]string{"mapping.yaml": `tables:
  customers:
    source: export.parquet
    columns:
      customer_id: account
      signup_date: {from: since, format: "%d/%m/%Y"}   # ignored for typed values
      contract_end: renewal
      plan: {from: tier, values: {gold: Enterprise, silver: Pro}}
      mrr: spend
      region: region
      seats: seats
`})
	spend := 99.5
	region := "EU"
	day := func(y int, m time.Month, d int) int32 { return int32(data.MakeDate(y, m, d)) }
	writeExport(t, filepath.Join(dir, "export.parquet"), []exportRow{
		{Account: 20, Since: time.Date(2023, 5, 6, 23, 59, 0, 0, time.UTC), Renewal: day(2025, 1, 1), Tier: "gold", Active: true, Spend: &spend, Region: &region, Seats: 12, Score: 0.25},
		{Account: 3, Since: time.Date(2022, 1, 2, 0, 0, 0, 0, time.UTC), Renewal: day(2024, 6, 30), Tier: "silver", Seats: 1, Score: 1.5},
	})
	m, err := Load(filepath.Join(dir, "mapping.yaml"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	sum, err := Import(t.Context(), m, Options{Out: out, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.Table(data.Customers).Nulls; n["mrr"] != 1 || n["region"] != 1 {
		t.Errorf("nulls = %v", n)
	}
	hs, _, attrs := scanAll(t, out)
	if len(hs) != 2 {
		t.Fatalf("%d customers", len(hs))
	}
	a, b := hs[0].Customer, hs[1].Customer // "20" < "3" as text
	if a.ID != "20" || a.SignupDate != date(t, "2023-05-06") || a.ContractEnd != date(t, "2025-01-01") || a.Plan != "Enterprise" || a.MRR != 99.5 || a.Region != "EU" || a.Seats != 12 {
		t.Errorf("customer 20 = %+v", a)
	}
	if b.ID != "3" || b.Plan != "Pro" || b.MRR == b.MRR || b.Region != "" || b.SignupDate != date(t, "2022-01-02") {
		t.Errorf("customer 3 = %+v", b)
	}
	if got := attr(t, attrs, hs[0], "active"); got.Num != 1 {
		t.Errorf("active = %+v", got)
	}
	if got := attr(t, attrs, hs[1], "score"); got.Num != 1.5 {
		t.Errorf("score = %+v", got)
	}
}

func TestDecimalString(t *testing.T) {
	tests := []struct {
		raw   []byte
		scale int32
		want  string
	}{
		{[]byte{0x04, 0xD2}, 2, "12.34"},
		{[]byte{0xFB, 0x2E}, 2, "-12.34"},
		{[]byte{0x05}, 3, "0.005"},
		{[]byte{0x07}, 0, "7"},
	}
	for _, tt := range tests {
		li := leafInfo{kind: parquet.FixedLenByteArray, scale: tt.scale}
		if got := renderValue(parquet.FixedLenByteArrayValue(tt.raw), &li); got != tt.want {
			t.Errorf("decimal %x scale %d = %q, want %q", tt.raw, tt.scale, got, tt.want)
		}
	}
}

// TestParquetSourceCodecs imports the customers files DuckDB wrote with
// every codec churn reads (data/testdata/codecs), and checks that a file
// compressed with the deprecated Hadoop-framed LZ4 codec is refused with a
// message naming the file, column and codec.
func TestParquetSourceCodecs(t *testing.T) {
	for _, codec := range []string{"uncompressed", "snappy", "gzip", "zstd", "lz4_raw", "brotli"} {
		t.Run(codec, func(t *testing.T) {
			src, err := filepath.Abs(filepath.Join("..", "testdata", "codecs", "customers_"+codec+".parquet"))
			if err != nil {
				t.Fatal(err)
			}
			sum, out := mustImport(t, "tables:\n  customers:\n    source: "+src+"\n    attributes: {keep: none}\n", nil)
			if n := sum.Table(data.Customers).Rows; n != 500 {
				t.Fatalf("%d rows, want 500", n)
			}
			hs, _, _ := scanAll(t, out)
			if c := hs[499].Customer; c.ID != "C00499" || c.MRR != 499*1.25 || c.Plan != "3cf166c6b73f030b4f67eeaeba301103" {
				t.Fatalf("last customer = %+v", c)
			}
		})
	}
	t.Run("legacy LZ4", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "codecs", "customers_uncompressed.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = parquettest.SetCodec(b, format.Lz4); err != nil {
			t.Fatal(err)
		}
		_, _, err = runMapping(t, "tables:\n  customers:\n    source: c.parquet\n", map[string]string{"c.parquet": string(b)})
		var ie *data.InputError
		if !errors.As(err, &ie) || !strings.HasSuffix(ie.File, "c.parquet") || ie.Column == "" || !errors.Is(err, data.ErrUnsupported) || !strings.Contains(err.Error(), "LZ4") {
			t.Fatalf("err = %v, want an ErrUnsupported InputError naming c.parquet, a column and LZ4", err)
		}
	})
}
