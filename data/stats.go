package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"path/filepath"

	"github.com/parquet-go/parquet-go/format"
)

// MaxDate returns the latest day found in a DATE or TIMESTAMP column of a
// table, from the files' row-group statistics, and whether it is known: it
// is unknown when the table or column is absent or a file has no statistics
// for the column.
func (ds *Dataset) MaxDate(table, column string) (Date, bool) {
	return ds.extremeDate(table, column, true)
}

// MinDate is MaxDate for the earliest day.
func (ds *Dataset) MinDate(table, column string) (Date, bool) {
	return ds.extremeDate(table, column, false)
}

func (ds *Dataset) extremeDate(table, column string, latest bool) (Date, bool) {
	better := func(a, b Date) Date {
		switch {
		case a == NoDate:
			return b
		case b == NoDate:
			return a
		case latest:
			return max(a, b)
		}
		return min(a, b)
	}
	tf := ds.tables[table]
	if tf == nil {
		return NoDate, false
	}
	ci := tf.Table.ColumnIndex(column)
	if ci < 0 {
		return NoDate, false
	}
	best := NoDate
	for _, f := range tf.Files {
		fc := &f.cols[ci]
		if fc.leaf < 0 {
			if fc.hasConst {
				x, err := parseConstant(fc.typ, fc.constant)
				if err != nil {
					return NoDate, false
				}
				best = better(toDate(x), best)
				continue
			}
			return NoDate, false
		}
		for _, rg := range f.pf.Metadata().RowGroups {
			st := rg.Columns[fc.leaf].MetaData.Statistics
			if rg.NumRows > 0 && st.NullCount == rg.NumRows {
				continue // all null
			}
			d, ok := statDate(st, fc, latest)
			if !ok {
				return NoDate, false
			}
			best = better(d, best)
		}
	}
	return best, best != NoDate
}

func toDate(x any) Date {
	switch v := x.(type) {
	case Date:
		return v
	case Timestamp:
		return v.Date()
	}
	return NoDate
}

func statDate(st format.Statistics, fc *fileColumn, latest bool) (Date, bool) {
	b, b2 := st.MaxValue, st.Max
	if !latest {
		b, b2 = st.MinValue, st.Min
	}
	if b == nil {
		b = b2
	}
	switch {
	case len(b) == 4 && fc.typ == TypeDate && fc.conv == convNone:
		return Date(int32(binary.LittleEndian.Uint32(b))), true
	case len(b) == 4 && fc.typ == TypeTimestamp && fc.conv == convDateToTime:
		return Date(int32(binary.LittleEndian.Uint32(b))), true
	case len(b) == 8:
		src := []int64{int64(binary.LittleEndian.Uint64(b))}
		conv := fc.conv
		if conv == convTimeToDate {
			conv = fc.tsScale
		}
		tmp := fileColumn{conv: conv}
		convert(src, &tmp, false)
		return Timestamp(src[0]).Date(), true
	}
	return NoDate, false
}

// Fingerprint identifies the dataset's content cheaply: a SHA-256 over each
// table file's path (relative to the dataset), size, row count and footer
// (which holds every column chunk's offsets and statistics). Any rewrite of
// the data changes it in practice; renaming the dataset directory does not.
func (ds *Dataset) Fingerprint() (string, error) {
	h := sha256.New()
	for _, tf := range ds.Tables() {
		for _, f := range tf.Files {
			rel, err := filepath.Rel(ds.Dir, f.Path)
			if err != nil {
				rel = f.Path
			}
			st, err := f.osf.Stat()
			if err != nil {
				return "", err
			}
			size := st.Size()
			var hdr [16]byte
			binary.LittleEndian.PutUint64(hdr[:8], uint64(size))
			binary.LittleEndian.PutUint64(hdr[8:], uint64(f.NumRows))
			io.WriteString(h, filepath.ToSlash(rel))
			h.Write(hdr[:])
			tail := min(size, 1<<16)
			buf := make([]byte, tail)
			if _, err := f.osf.ReadAt(buf, size-tail); err != nil && err != io.EOF {
				return "", err
			}
			h.Write(buf)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
