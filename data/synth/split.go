package synth

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/churnlab/churn/data"
)

// SplitTable rewrites the table file dir/table.parquet as a Hive-style
// folder of n files, dir/table/chunk=K/part.parquet, written in row groups
// of rgRows rows. Rows are dealt out in runs of run rows, so that a
// customer's rows span files and row groups while each file stays sorted
// as the contract requires. Tests of readers that split tables (data's
// ScanRowGroup, churn-beam's source) use it.
func SplitTable(dir, table string, n, run, rgRows int) error {
	if n < 1 || run < 1 || rgRows < 1 {
		return fmt.Errorf("synth: SplitTable: n, run and rgRows must be positive")
	}
	tab, ok := data.LookupTable(table)
	if !ok {
		return fmt.Errorf("synth: SplitTable: no table %s in the contract", table)
	}
	src := filepath.Join(dir, table+".parquet")
	f, err := data.OpenFile(src, tab, nil)
	if err != nil {
		return err
	}
	specs := data.Specs(tab)
	outs := make([][]data.Vec, n)
	for k := range outs {
		for _, c := range specs {
			outs[k] = append(outs[k], data.NewVec(c.Type))
		}
	}
	var b data.Batch
	row := 0
	for rg := 0; rg < f.NumRowGroups(); rg++ {
		if err := f.ReadRowGroup(rg, nil, false, &b); err != nil {
			f.Close()
			return err
		}
		for i := 0; i < b.N; i++ {
			k := (row / run) % n
			for c := range outs[k] {
				outs[k][c].AppendFrom(&b.Cols[c], i)
			}
			row++
		}
	}
	f.Close()
	if err := os.Remove(src); err != nil {
		return err
	}
	for k, cols := range outs {
		path := filepath.Join(dir, table, fmt.Sprintf("chunk=%d", k), "part.parquet")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := writePart(path, specs, cols, rgRows); err != nil {
			return err
		}
	}
	return nil
}

func writePart(path string, specs []data.ColumnSpec, cols []data.Vec, rgRows int) error {
	w, err := os.Create(path)
	if err != nil {
		return err
	}
	defer w.Close()
	pw, err := data.NewWriter(w, specs, data.WriterOptions{RowGroupRows: rgRows})
	if err != nil {
		return err
	}
	if err := pw.Write(cols[0].Len(), cols); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	return w.Close()
}
