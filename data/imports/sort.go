package imports

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
	"github.com/parquet-go/parquet-go/format"

	"github.com/churnlab/churn/data"
)

// SortOptions configures Sort.
type SortOptions struct {
	// Out is the directory to write the sorted dataset to; "" (or the
	// dataset's own directory) sorts in place.
	Out string
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
	// ChurnVersion is recorded in the written files ("" records "dev").
	ChurnVersion string
}

// SortSummary reports what Sort did, one entry per Parquet file.
type SortSummary struct {
	Data  string       `json:"data"`
	Out   string       `json:"out"`
	Files []SortedFile `json:"files"`
	// NotCopied lists entries of the dataset directory that are not table
	// data and were not copied to Out.
	NotCopied []string `json:"not_copied,omitempty"`
}

// SortedFile reports one file.
type SortedFile struct {
	Table string `json:"table"`
	// Path is relative to the dataset directory.
	Path string `json:"path"`
	Rows int64  `json:"rows"`
	// WasSorted reports that the file was already in order (it is then
	// copied unchanged, or left alone in place).
	WasSorted bool `json:"was_sorted"`
}

// Sort re-sorts every Parquet file of the dataset at dir by customer_id,
// then the table's time column, keeping ties in file order. Every column is
// kept as it is (attributes, extra columns, types and key-value metadata);
// files are rewritten with Snappy compression. Each file is sorted on its
// own — the reader needs every file of a table in order, not the files in
// order among themselves — and is held in memory while it is sorted.
//
// In place, every sorted file is first written next to its original, and
// the originals are replaced only when all are written. With opt.Out, the
// new dataset is built in a temporary directory and renamed into place.
func Sort(ctx context.Context, dir string, opt SortOptions) (*SortSummary, error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	ds, err := data.Open(dir)
	if err != nil {
		return nil, err
	}
	type job struct {
		table *data.Table
		path  string
	}
	var jobs []job
	for _, tf := range ds.Tables() {
		for _, f := range tf.Files {
			jobs = append(jobs, job{tf.Table, f.Path})
		}
	}
	if err := ds.Close(); err != nil {
		return nil, err
	}
	inPlace := opt.Out == "" || sameDir(opt.Out, dir)
	sum := &SortSummary{Data: dir, Out: dir}
	if !inPlace {
		sum.Out = opt.Out
		if within(opt.Out, dir) {
			return nil, fmt.Errorf("--out %s is inside the dataset %s; choose a directory outside it", opt.Out, dir)
		}
		if err := CheckReplaceable(opt.Out); err != nil {
			return nil, err
		}
	}
	var pending []*data.AtomicFile
	defer func() {
		for _, f := range pending {
			f.Abort()
		}
	}()
	var outDir *data.AtomicDir
	if !inPlace {
		if outDir, err = data.CreateAtomicDir(opt.Out); err != nil {
			return nil, err
		}
		defer outDir.Abort()
	}
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(dir, j.path)
		if err != nil {
			return nil, err
		}
		sf := SortedFile{Table: j.table.Name, Path: rel}
		if inPlace {
			af, err := data.CreateAtomic(j.path)
			if err != nil {
				return nil, err
			}
			pending = append(pending, af)
			if sf.Rows, sf.WasSorted, err = sortFile(ctx, j.path, j.table, af, false, opt.ChurnVersion); err != nil {
				return nil, err
			}
			if sf.WasSorted {
				af.Abort() // nothing to replace
				pending = pending[:len(pending)-1]
			}
		} else {
			dst := filepath.Join(outDir.Path, rel)
			if sf.Rows, sf.WasSorted, err = sortFileTo(ctx, j.path, j.table, dst, opt.ChurnVersion); err != nil {
				return nil, err
			}
		}
		log.Info("sorted", "table", j.table.Name, "file", rel, "rows", sf.Rows, "was_sorted", sf.WasSorted)
		sum.Files = append(sum.Files, sf)
	}
	if !inPlace {
		sum.NotCopied = notTableData(dir)
		if err := outDir.Commit(); err != nil {
			return nil, err
		}
		return sum, nil
	}
	for len(pending) > 0 {
		if err := pending[0].Commit(); err != nil {
			return nil, err
		}
		pending = pending[1:]
	}
	return sum, nil
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

func within(child, parent string) bool {
	c, err1 := filepath.Abs(child)
	p, err2 := filepath.Abs(parent)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(p, c)
	return err == nil && rel != "." && !strings.HasPrefix(rel, "..")
}

// notTableData lists entries of a dataset directory that the reader skips.
func notTableData(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			if _, ok := data.LookupTable(name); ok && !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") {
				continue
			}
		} else if strings.HasSuffix(name, ".parquet") && !strings.HasPrefix(name, "_") && !strings.HasPrefix(name, ".") {
			continue
		}
		out = append(out, name)
	}
	return out
}

// sortFileTo writes the sorted file (or a copy, if it is sorted) to dst.
func sortFileTo(ctx context.Context, path string, t *data.Table, dst, version string) (int64, bool, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, false, err
	}
	f, err := os.Create(dst)
	if err != nil {
		return 0, false, err
	}
	n, wasSorted, err := sortFile(ctx, path, t, f, true, version)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, wasSorted, err
}

// sortFile reads the Parquet file at path and writes it to w sorted. If
// the file is already sorted it copies it unchanged when copyIfSorted is
// set and writes nothing otherwise. A nil w only checks the order.
func sortFile(ctx context.Context, path string, t *data.Table, w io.Writer, copyIfSorted bool, version string) (n int64, wasSorted bool, err error) {
	if version == "" {
		version = "dev"
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	defer func() {
		if p := recover(); p != nil {
			err = &data.InputError{File: path, Err: fmt.Errorf("%w: %v", data.ErrCorrupt, p)}
		}
	}()
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, false, &data.InputError{File: path, Err: fmt.Errorf("%w: %v", data.ErrCorrupt, err)}
	}
	if err := data.CheckCodecs(path, pf); err != nil {
		return 0, false, err
	}
	schema := pf.Schema()
	key, ok := schema.Lookup(data.KeyColumn)
	if !ok || key.MaxRepetitionLevel > 0 || key.Node.Type().Kind() != parquet.ByteArray {
		return 0, false, &data.InputError{File: path, Column: data.KeyColumn, Err: fmt.Errorf("%w: want a string column", data.ErrSchema)}
	}
	timeCol := -1
	var timeType parquet.Type
	if t.Time != "" {
		if tl, ok := schema.Lookup(t.Time); ok && tl.MaxRepetitionLevel == 0 {
			timeCol, timeType = tl.ColumnIndex, tl.Node.Type()
		}
	}
	// Text columns (flat BYTE_ARRAY, as STRING or without annotation, as
	// churn reads them) are checked: every string churn writes is UTF-8.
	text := map[int]string{}
	for _, p := range schema.Columns() {
		leaf, _ := schema.Lookup(p...)
		typ := leaf.Node.Type()
		if leaf.MaxRepetitionLevel > 0 || typ.Kind() != parquet.ByteArray {
			continue
		}
		if lt := typ.LogicalType(); lt != nil && lt.Value != nil {
			switch lt.Value.(type) {
			case *format.StringType, *format.EnumType:
			default:
				continue // JSON, BSON, decimals, UUIDs: not text churn reads
			}
		}
		text[leaf.ColumnIndex] = strings.Join(p, ".")
	}
	var rows []parquet.Row
	var ids [][]byte
	var times []parquet.Value
	buf := make([]parquet.Row, 512)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			k, rerr := rr.ReadRows(buf)
			for _, row := range buf[:k] {
				row = row.Clone()
				rows = append(rows, row)
				var id []byte
				var tv parquet.Value
				for _, v := range row {
					if name, ok := text[v.Column()]; ok && !v.IsNull() {
						if err := data.CheckString(string(v.ByteArray()), v.Column() == key.ColumnIndex); err != nil {
							rr.Close()
							return 0, false, &data.InputError{File: path, Row: int64(len(rows)), Column: name, Value: string(v.ByteArray()), Err: err}
						}
					}
					switch v.Column() {
					case key.ColumnIndex:
						if v.IsNull() {
							rr.Close()
							return 0, false, &data.InputError{File: path, Row: int64(len(rows)), Column: data.KeyColumn, Err: data.ErrNull}
						}
						id = v.ByteArray()
					case timeCol:
						tv = v
					}
				}
				ids = append(ids, id)
				times = append(times, tv)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return 0, false, &data.InputError{File: path, Err: fmt.Errorf("%w: %v", data.ErrCorrupt, rerr)}
			}
			if err := ctx.Err(); err != nil {
				rr.Close()
				return 0, false, err
			}
		}
		if err := rr.Close(); err != nil {
			return 0, false, err
		}
	}
	compare := func(a, b int) int {
		if c := bytes.Compare(ids[a], ids[b]); c != 0 {
			return c
		}
		if timeCol < 0 {
			return 0
		}
		ta, tb := times[a], times[b]
		switch {
		case ta.IsNull() && tb.IsNull():
			return 0
		case ta.IsNull():
			return 1 // nulls last
		case tb.IsNull():
			return -1
		}
		return timeType.Compare(ta, tb)
	}
	n = int64(len(rows))
	sorted := true
	for i := 1; i < len(rows); i++ {
		if compare(i-1, i) > 0 {
			sorted = false
			break
		}
	}
	if w == nil {
		return n, sorted, nil
	}
	if sorted {
		if !copyIfSorted {
			return n, true, nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, false, err
		}
		_, err := io.Copy(w, f)
		return n, true, err
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, compare)
	sortedBy := []parquet.SortingColumn{parquet.Ascending(data.KeyColumn)}
	if timeCol >= 0 {
		sortedBy = append(sortedBy, parquet.Ascending(t.Time))
	}
	options := []parquet.WriterOption{
		schema,
		parquet.Compression(&snappy.Codec{}),
		parquet.CreatedBy("churn", version, ""),
		parquet.DataPageStatistics(true),
		parquet.MaxRowsPerRowGroup(1 << 17),
		parquet.SortingWriterConfig(parquet.SortingColumns(sortedBy...)),
	}
	for _, kv := range pf.Metadata().KeyValueMetadata {
		options = append(options, parquet.KeyValueMetadata(kv.Key, kv.Value))
	}
	pw := parquet.NewWriter(w, options...)
	batch := make([]parquet.Row, 0, 1024)
	for i, j := range idx {
		batch = append(batch, rows[j])
		if len(batch) == cap(batch) || i == len(idx)-1 {
			if _, err := pw.WriteRows(batch); err != nil {
				return 0, false, fmt.Errorf("write sorted %s: %w", path, err)
			}
			batch = batch[:0]
		}
		if i&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return 0, false, err
			}
		}
	}
	if err := pw.Close(); err != nil {
		return 0, false, fmt.Errorf("write sorted %s: %w", path, err)
	}
	return n, false, nil
}
