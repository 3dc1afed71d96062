package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Dataset is an opened dataset directory.
type Dataset struct {
	Dir    string
	tables map[string]*TableFiles
}

// TableFiles is one table of a dataset: one or more Parquet files.
type TableFiles struct {
	Table *Table
	// Path is the file or folder the table was found at.
	Path  string
	Files []*File
	// Attrs lists the customer attributes (customers table only); every file
	// of the table must have the same ones.
	Attrs []AttrColumn

	// batches recycles decoding buffers between scans of the table.
	batches sync.Pool
}

// NumRows returns the total number of rows over the table's files.
func (t *TableFiles) NumRows() int64 {
	var n int64
	for _, f := range t.Files {
		n += f.NumRows
	}
	return n
}

// HasColumn reports whether every file of the table provides the column.
func (t *TableFiles) HasColumn(name string) bool {
	for _, f := range t.Files {
		if !f.HasColumn(name) {
			return false
		}
	}
	return len(t.Files) > 0
}

// Open opens the dataset at dir: it finds each table's files, opens them and
// checks their schemas against the contract. Unknown tables, missing
// required tables or columns, and unreadable files are errors.
func Open(dir string) (_ *Dataset, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	ds := &Dataset{Dir: dir, tables: map[string]*TableFiles{}}
	defer func() {
		if err != nil {
			ds.Close()
		}
	}()
	for _, e := range entries {
		name := e.Name()
		if skipName(name) {
			continue
		}
		path := filepath.Join(dir, name)
		var tname string
		switch {
		case e.IsDir():
			tname = name
		case strings.HasSuffix(name, ".parquet"):
			tname = strings.TrimSuffix(name, ".parquet")
		default:
			continue // not data: notes, manifests, CSV sources
		}
		t, ok := LookupTable(tname)
		if !ok {
			return nil, &InputError{File: path, Err: unknownTableError(tname)}
		}
		if prev, dup := ds.tables[tname]; dup {
			return nil, &InputError{File: path, Err: fmt.Errorf("table %s is given twice (also %s)", tname, prev.Path)}
		}
		tf := &TableFiles{Table: t, Path: path}
		ds.tables[tname] = tf
		if err := tf.open(path, e.IsDir()); err != nil {
			return nil, err
		}
	}
	if _, ok := ds.tables[Customers]; !ok {
		return nil, &InputError{File: dir, Err: fmt.Errorf("%w: a dataset needs customers.parquet or a customers/ folder", ErrNoCustomers)}
	}
	return ds, nil
}

func skipName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

func (tf *TableFiles) open(path string, dir bool) error {
	if !dir {
		f, err := OpenFile(path, tf.Table, nil)
		if err != nil {
			return err
		}
		tf.Files = append(tf.Files, f)
		tf.Attrs = f.Attrs
		return nil
	}
	var paths []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && skipName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("table %s: %w", tf.Table.Name, err)
	}
	if len(paths) == 0 {
		return &InputError{File: path, Err: fmt.Errorf("%w: folder of table %s holds no .parquet files", ErrEmpty, tf.Table.Name)}
	}
	sort.Strings(paths)
	for i, p := range paths {
		part, err := hivePartition(path, p)
		if err != nil {
			return err
		}
		f, err := OpenFile(p, tf.Table, part)
		if err != nil {
			return err
		}
		tf.Files = append(tf.Files, f)
		if i == 0 {
			tf.Attrs = f.Attrs
		} else if !sameAttrs(tf.Attrs, f.Attrs) {
			return &InputError{File: p, Err: fmt.Errorf("%w: attribute columns differ from %s", ErrSchema, paths[0])}
		}
	}
	return nil
}

func sameAttrs(a, b []AttrColumn) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hivePartition parses key=value folders between root and the file.
func hivePartition(root, file string) (map[string]string, error) {
	rel, err := filepath.Rel(root, filepath.Dir(file))
	if err != nil || rel == "." {
		return nil, nil
	}
	var part map[string]string
	for _, seg := range strings.Split(rel, string(filepath.Separator)) {
		k, v, ok := strings.Cut(seg, "=")
		if !ok {
			continue
		}
		if part == nil {
			part = map[string]string{}
		}
		part[k] = v
	}
	return part, nil
}

// Close closes every file.
func (ds *Dataset) Close() error {
	var errs []error
	for _, t := range ds.tables {
		for _, f := range t.Files {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// Table returns the named table, or nil if the dataset lacks it.
func (ds *Dataset) Table(name string) *TableFiles { return ds.tables[name] }

// Has reports whether the dataset holds the named table.
func (ds *Dataset) Has(name string) bool { return ds.tables[name] != nil }

// Tables returns the dataset's tables in contract order.
func (ds *Dataset) Tables() []*TableFiles {
	var out []*TableFiles
	for _, t := range Contract {
		if tf := ds.tables[t.Name]; tf != nil {
			out = append(out, tf)
		}
	}
	return out
}
