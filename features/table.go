package features

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
)

// Table is a feature table in memory, column by column.
type Table struct {
	Spec *Spec
	IDs  []string
	AsOf []data.Date // NoDate when the table has no dates
	// Num holds the numeric and flag features, one slice per spec feature
	// (nil for categorical ones); NaN is missing.
	Num [][]float64
	// Cat holds the categorical features (nil for the others); "" is
	// missing.
	Cat [][]string
	// Label is 1, 0 or NaN (unknown) per row.
	Label []float64
	// Weight is each row's sampling weight (the inverse of its chance to
	// be in a sampled table, see Sample); nil means every row weighs 1.
	// Metrics, calibration and shares multiply it in, so that a sample
	// speaks for the population.
	Weight []float64
}

// sortRows puts the rows in customer order, a customer's rows by date,
// moving every column in place (no second copy of the table).
func (t *Table) sortRows() {
	n := t.Len()
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortStableFunc(perm, func(a, b int32) int {
		if c := strings.Compare(t.IDs[a], t.IDs[b]); c != 0 {
			return c
		}
		return cmp.Compare(t.AsOf[a], t.AsOf[b])
	})
	if slices.IsSorted(perm) {
		return
	}
	permute(t.IDs, perm)
	permute(t.AsOf, perm)
	permute(t.Label, perm)
	if t.Weight != nil {
		permute(t.Weight, perm)
	}
	for i := range t.Num {
		if t.Num[i] != nil {
			permute(t.Num[i], perm)
		}
		if t.Cat[i] != nil {
			permute(t.Cat[i], perm)
		}
	}
}

// permute sets xs[k] to the old xs[perm[k]] for every k, in place, by
// following the permutation's cycles.
func permute[T any](xs []T, perm []int32) {
	done := make([]bool, len(xs))
	for start := range xs {
		if done[start] {
			continue
		}
		tmp := xs[start]
		k := start
		for {
			done[k] = true
			src := int(perm[k])
			if src == start {
				xs[k] = tmp
				break
			}
			xs[k] = xs[src]
			k = src
		}
	}
}

// Weights returns the weights of rows (indexes into t), nil when the
// table has none: metrics take nil as every row weighing 1.
func (t *Table) Weights(rows []int) []float64 {
	if t.Weight == nil {
		return nil
	}
	w := make([]float64, len(rows))
	for k, i := range rows {
		w[k] = t.Weight[i]
	}
	return w
}

// RowWeight returns row i's weight (1 when the table has none).
func (t *Table) RowWeight(i int) float64 {
	if t.Weight == nil {
		return 1
	}
	return t.Weight[i]
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.IDs) }

// ReadSpec reads the Spec stored in a feature table's footer; for a folder
// of parts (see ReadTable), the first part's.
func ReadSpec(path string) (*Spec, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files, err := TableFiles(path)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, &data.InputError{File: path, Err: errNoParts}
		}
		path = files[0]
	}
	f, err := data.OpenFile(path, &data.Table{Name: "features", Columns: []data.Column{{Name: ColCustomerID, Type: data.TypeString, Required: true}}}, nil)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return specOf(f)
}

func specOf(f *data.File) (*Spec, error) {
	raw, ok := f.Metadata(MetadataKey)
	if !ok {
		return nil, &data.InputError{File: f.Path, Err: errors.New("not a churn feature table: no feature spec in the file's metadata (make it with churn features)")}
	}
	s, err := DecodeSpec([]byte(raw))
	if err != nil {
		return nil, &data.InputError{File: f.Path, Err: err}
	}
	return s, nil
}

// ReadTable reads a feature table written by Build or BuildSample: a
// Parquet file, or a folder of them. A folder stands for every *.parquet
// file under it, recursively (Hive folders such as
// as_of=2024-01-01/part-00000.parquet included; names starting with _ or .
// are skipped), read in path order; the parts must carry the same spec
// (their footers' specs equal byte for byte) and all have, or all lack, a
// SampleWeightColumn. Their rows are concatenated and sorted by
// (customer_id, as_of), as one file's are.
//
// A SampleWeightColumn fills Table.Weight; each weight must be finite and
// positive.
func ReadTable(ctx context.Context, path string) (*Table, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		var r tableReader
		if err := r.read(ctx, path); err != nil {
			return nil, err
		}
		return r.t, nil
	}
	files, err := TableFiles(path)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &data.InputError{File: path, Err: errNoParts}
	}
	var r tableReader
	for _, f := range files {
		if err := r.read(ctx, f); err != nil {
			return nil, err
		}
	}
	r.t.sortRows()
	return r.t, nil
}

var errNoParts = errors.New("no .parquet file in this folder (a feature table folder holds the parts of one table)")

// TableFiles lists the Parquet files of a feature table folder: every
// *.parquet file under dir, recursively, skipping files and folders whose
// names start with _ or . (such as _SUCCESS or .staging); sorted by path.
func TableFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != dir && (strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(name, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}

// tableReader appends the feature table files it reads to one Table.
type tableReader struct {
	t        *Table
	first    string // the first file read
	rawSpec  string // its footer's spec
	weighted bool   // it has a SampleWeightColumn
}

// read appends the rows of the feature table file at path.
func (r *tableReader) read(ctx context.Context, path string) error {
	spec, err := ReadSpec(path)
	if err != nil {
		return err
	}
	table := spec.table()
	table.Columns = append(table.Columns, data.Column{Name: SampleWeightColumn, Type: data.TypeFloat64})
	f, err := data.OpenFile(path, table, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	raw, _ := f.Metadata(MetadataKey)
	weighted := f.HasColumn(SampleWeightColumn)
	n := int(f.NumRows)
	if r.t == nil {
		r.first, r.rawSpec, r.weighted = path, raw, weighted
		r.t = &Table{Spec: spec, IDs: make([]string, 0, n), AsOf: make([]data.Date, 0, n), Label: make([]float64, 0, n),
			Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features))}
		for i, d := range spec.Features {
			if d.Kind == Categorical {
				r.t.Cat[i] = make([]string, 0, n)
			} else {
				r.t.Num[i] = make([]float64, 0, n)
			}
		}
		if weighted {
			r.t.Weight = make([]float64, 0, n)
		}
	} else {
		if raw != r.rawSpec {
			return &data.InputError{File: path, Err: fmt.Errorf("its feature spec differs from %s's: the parts of a table must be built from the same data with the same settings", r.first)}
		}
		if weighted != r.weighted {
			return &data.InputError{File: path, Err: fmt.Errorf("it has a %s column and %s has not, or the reverse: a folder holds the parts of one table, a sample or not", SampleWeightColumn, r.first)}
		}
	}
	t := r.t
	label := len(spec.Features) + 2
	var b data.Batch
	for rg := 0; rg < f.NumRowGroups(); rg++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.ReadRowGroup(rg, nil, false, &b); err != nil {
			return err
		}
		for r := 0; r < b.N; r++ {
			t.IDs = append(t.IDs, b.Cols[0].Str(r))
			t.AsOf = append(t.AsOf, b.Cols[1].Date(r))
			lab := math.NaN()
			if x := b.Cols[label].Int(r); x != data.NullInt {
				if x != 0 && x != 1 {
					return &data.InputError{File: path, Row: b.FirstRow + int64(r), Column: ColLabel, Value: fmt.Sprint(x), Err: errors.New("label must be 0, 1 or null")}
				}
				lab = float64(x)
			}
			t.Label = append(t.Label, lab)
		}
		if weighted {
			v := &b.Cols[label+1]
			for r := 0; r < b.N; r++ {
				w := v.Float(r)
				if !(w > 0 && !math.IsInf(w, 0)) {
					return &data.InputError{File: path, Row: b.FirstRow + int64(r), Column: SampleWeightColumn, Value: fmt.Sprint(w), Err: errors.New("a sample weight must be a positive number")}
				}
				t.Weight = append(t.Weight, w)
			}
		}
		for i := range spec.Features {
			v := &b.Cols[2+i]
			if t.Cat[i] != nil {
				for r := 0; r < b.N; r++ {
					t.Cat[i] = append(t.Cat[i], v.Str(r))
				}
			} else {
				for r := 0; r < b.N; r++ {
					t.Num[i] = append(t.Num[i], v.Float(r))
				}
			}
		}
	}
	return nil
}

// Table converts a batch built under spec into a Table (copying values).
func (b *Batch) Table(spec *Spec) *Table {
	n := b.N
	t := &Table{Spec: spec, IDs: make([]string, n), AsOf: make([]data.Date, n), Label: make([]float64, n),
		Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features))}
	for r := 0; r < n; r++ {
		t.IDs[r] = b.Cols[0].Str(r)
		t.AsOf[r] = b.Cols[1].Date(r)
		t.Label[r] = math.NaN()
		if x := b.Cols[len(b.Cols)-1].Int(r); x != data.NullInt {
			t.Label[r] = float64(x)
		}
	}
	for i, d := range spec.Features {
		v := &b.Cols[2+i]
		if d.Kind == Categorical {
			t.Cat[i] = make([]string, n)
			for r := 0; r < n; r++ {
				t.Cat[i][r] = v.Str(r)
			}
			continue
		}
		t.Num[i] = make([]float64, n)
		for r := 0; r < n; r++ {
			t.Num[i][r] = v.Float(r)
		}
	}
	return t
}

// Concat joins tables of the same spec, in order. The result has weights
// when any table has.
func Concat(spec *Spec, ts []*Table) *Table {
	out := &Table{Spec: spec, Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features))}
	weighted := slices.ContainsFunc(ts, func(t *Table) bool { return t.Weight != nil })
	for _, t := range ts {
		if weighted {
			for i := range t.IDs {
				out.Weight = append(out.Weight, t.RowWeight(i))
			}
		}
		out.IDs = append(out.IDs, t.IDs...)
		out.AsOf = append(out.AsOf, t.AsOf...)
		out.Label = append(out.Label, t.Label...)
		for i := range spec.Features {
			if t.Cat[i] != nil {
				out.Cat[i] = append(out.Cat[i], t.Cat[i]...)
			} else {
				out.Num[i] = append(out.Num[i], t.Num[i]...)
			}
		}
	}
	for i, d := range spec.Features {
		if d.Kind == Categorical && out.Cat[i] == nil {
			out.Cat[i] = []string{}
		} else if d.Kind != Categorical && out.Num[i] == nil {
			out.Num[i] = []float64{}
		}
	}
	return out
}
