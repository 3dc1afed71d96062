// Package parquettest edits Parquet files for tests: it makes files that
// other engines would write but churn's own writer cannot, such as files
// labelled with a codec churn refuses.
package parquettest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// SetCodec returns a copy of the Parquet file b whose footer says the
// named columns (dotted paths; every column when none is named) are
// compressed with codec. The pages are left as they are, so reading them
// with the new codec fails: the file is for testing how readers refuse a
// codec before they decode pages.
func SetCodec(b []byte, codec format.CompressionCodec, columns ...string) ([]byte, error) {
	if len(b) < 12 || string(b[len(b)-4:]) != "PAR1" {
		return nil, errors.New("not a Parquet file")
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	if n > len(b)-12 {
		return nil, errors.New("footer length exceeds the file")
	}
	body, footer := b[:len(b)-8-n], b[len(b)-8-n:len(b)-8]
	var md format.FileMetaData
	proto := &thrift.CompactProtocol{}
	if err := thrift.Unmarshal(proto, footer, &md); err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	found := map[string]bool{}
	for _, rg := range md.RowGroups {
		for i := range rg.Columns {
			cm := &rg.Columns[i].MetaData
			name := strings.Join(cm.PathInSchema, ".")
			if len(columns) == 0 || slices.Contains(columns, name) {
				cm.Codec = codec
				found[name] = true
			}
		}
	}
	for _, c := range columns {
		if !found[c] {
			return nil, fmt.Errorf("no column %s", c)
		}
	}
	nf, err := thrift.Marshal(proto, &md)
	if err != nil {
		return nil, err
	}
	out := append(bytes.Clone(body), nf...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(nf)))
	return append(out, "PAR1"...), nil
}
