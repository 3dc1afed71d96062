package data

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/lz4"
	"github.com/parquet-go/parquet-go/format"
	pierrec "github.com/pierrec/lz4/v4"
)

// Compression codecs. parquet-go decides a column chunk's codec from the
// file's footer, through a table it keeps per codec (compressionCodecs,
// read by parquet.LookupCompressionCodec). Its v0.32.0 page reader
// decompresses a page into a pooled buffer of the page's uncompressed size
// and keeps that buffer whenever the codec's output has the page's size,
// even when the codec wrote the output elsewhere (parquet-go issue #608; fix
// proposed in pull request #609). Its LZ4_RAW codec reallocates whenever the
// buffer holds less than three times the compressed page, that is for
// almost every page DuckDB, Spark or pyarrow write with LZ4: such files
// read as zeros or as stale bytes of earlier pages ("decoding definition
// levels … expected 122880 values but got only 0"). The same codec doubles
// its buffer without bound on corrupt input.
//
// churn replaces the decoders in that table, once, when the package is
// initialised: LZ4_RAW with lz4RawCodec below, and the other codecs with a
// wrapper that copies output written elsewhere back into the buffer parquet-go
// keeps. This changes parquet-go for the whole process (package imports
// reads Parquet through parquet-go directly and gets the fix too). When
// parquet-go releases the fix, delete this file; TestReadCodecs and
// TestLZ4RawDecode say whether reading still works without it.
//
//go:linkname parquetCodecs github.com/parquet-go/parquet-go.compressionCodecs
var parquetCodecs [format.Lz4Raw + 1]compress.Codec

// codecsPatched reports whether init replaced parquet-go's decoders; false
// means parquet-go's table no longer looks as expected (a new version), and
// the tests of this file fail until this file is updated or removed.
var codecsPatched bool

func init() {
	want := map[format.CompressionCodec]compress.Codec{
		format.Uncompressed: &parquet.Uncompressed, format.Snappy: &parquet.Snappy, format.Gzip: &parquet.Gzip,
		format.Brotli: &parquet.Brotli, format.Zstd: &parquet.Zstd, format.Lz4Raw: &parquet.Lz4Raw,
	}
	for c, codec := range want {
		if parquetCodecs[c] != codec {
			return
		}
	}
	for c, codec := range want {
		switch c {
		case format.Uncompressed:
		case format.Lz4Raw:
			parquetCodecs[c] = &lz4RawCodec{Codec: &parquet.Lz4Raw}
		default:
			parquetCodecs[c] = intoBuffer{codec}
		}
	}
	codecsPatched = true
}

// intoBuffer decodes with its codec and, when the codec wrote its output to
// new storage although the output fits the buffer it was given, copies the
// output into that buffer.
type intoBuffer struct{ compress.Codec }

func (c intoBuffer) Decode(dst, src []byte) ([]byte, error) {
	out, err := c.Codec.Decode(dst, src)
	if err == nil && len(out) > 0 && len(out) <= cap(dst) && unsafe.SliceData(out) != unsafe.SliceData(dst) {
		out = append(dst[:0], out...)
	}
	return out, err
}

// lz4MaxRatio bounds how much an LZ4 block can expand: a match of n bytes
// takes at least n/255 bytes of input.
const lz4MaxRatio = 255

// lz4RawCodec is parquet-go's LZ4_RAW codec with a decoder that writes into
// the buffer it is given when the page fits, and stops growing the buffer
// at the largest size the input could expand to.
type lz4RawCodec struct{ *lz4.Codec }

func (c *lz4RawCodec) Decode(dst, src []byte) ([]byte, error) {
	if len(src) == 0 {
		return dst[:0], nil
	}
	limit := lz4MaxRatio*len(src) + 64
	buf := dst[:cap(dst)]
	if len(buf) == 0 {
		buf = make([]byte, min(limit, 3*len(src)))
	}
	for {
		n, err := pierrec.UncompressBlock(src, buf)
		if err == nil {
			return buf[:n], nil
		}
		if len(buf) >= limit {
			return nil, fmt.Errorf("LZ4_RAW page of %d bytes does not decompress: %v", len(src), err)
		}
		buf = make([]byte, min(limit, 2*len(buf)))
	}
}

// codecName describes a codec churn cannot read.
func codecName(c format.CompressionCodec) string {
	switch c {
	case format.Lz4:
		return "LZ4 (the deprecated Hadoop-framed LZ4 codec, not LZ4_RAW)"
	case format.LZO:
		return "LZO"
	}
	return c.String()
}

// readableCodec reports whether churn reads pages compressed with c.
func readableCodec(c format.CompressionCodec) bool {
	switch c {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Brotli, format.Zstd, format.Lz4Raw:
		return true
	}
	return false
}

// errCodec is the error for a column chunk compressed with a codec churn
// cannot read.
func errCodec(c format.CompressionCodec) error {
	return fmt.Errorf("%w: the column is compressed with %s, which churn cannot read; write the file with ZSTD, SNAPPY, GZIP, BROTLI or LZ4_RAW instead (DuckDB: COPY … (FORMAT parquet, COMPRESSION zstd); Spark: spark.sql.parquet.compression.codec=zstd)",
		ErrUnsupported, codecName(c))
}

// checkCodecs reports the first column chunk of the given leaves (all
// leaves when nil) whose codec churn cannot read, as an InputError naming
// path and the column.
func checkCodecs(path string, md *format.FileMetaData, leaves []int) error {
	for _, rg := range md.RowGroups {
		for i := range rg.Columns {
			if leaves != nil && !slices.Contains(leaves, i) {
				continue
			}
			cm := &rg.Columns[i].MetaData
			if !readableCodec(cm.Codec) {
				return &InputError{File: path, Column: strings.Join(cm.PathInSchema, "."), Err: errCodec(cm.Codec)}
			}
		}
	}
	return nil
}

// CheckCodecs returns an *InputError wrapping ErrUnsupported, naming path
// and the column, when a column chunk of pf is compressed with a codec churn
// cannot read (LZ4 with Hadoop framing, LZO). Readers that use parquet-go
// directly call it before reading pages, so that the message names the codec.
func CheckCodecs(path string, pf *parquet.File) error {
	return checkCodecs(path, pf.Metadata(), nil)
}

// leaves returns the file leaves f reads.
func (f *File) leaves() []int {
	var out []int
	for _, c := range f.cols {
		if c.leaf >= 0 {
			out = append(out, c.leaf)
		}
	}
	for _, c := range f.attrs {
		out = append(out, c.leaf)
	}
	return out
}
