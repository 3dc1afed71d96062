package predict

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/churnlab/churn/data"
)

// Layout of the output folder.
const (
	PredictionsDir = "predictions"
	AlertsDir      = "alerts"
	SuccessFile    = "_SUCCESS"
	ManifestFile   = "_manifest.json"
	AlertsParquet  = "alerts.parquet"
	AlertsJSONL    = "alerts.jsonl"
	partitionKey   = "as_of="
)

// PartitionDir returns OUT/<kind>/as_of=YYYY-MM-DD.
func PartitionDir(out, kind string, asOf data.Date) string {
	return filepath.Join(out, kind, partitionKey+asOf.String())
}

// Partitions lists the complete partitions (with _SUCCESS) of a kind in an
// output folder, oldest first. A missing folder has none.
func Partitions(out, kind string) ([]data.Date, error) {
	entries, err := os.ReadDir(filepath.Join(out, kind))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dates []data.Date
	for _, e := range entries {
		v, ok := strings.CutPrefix(e.Name(), partitionKey)
		if !ok || !e.IsDir() {
			continue
		}
		d, err := data.ParseDate(v)
		if err != nil || d.String() != v {
			continue
		}
		if _, err := os.Stat(filepath.Join(out, kind, e.Name(), SuccessFile)); err != nil {
			continue
		}
		dates = append(dates, d)
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i] < dates[j] })
	return dates, nil
}

// previousRun holds the probabilities and tiers of an earlier partition,
// sorted by customer_id.
type previousRun struct {
	asOf data.Date
	ids  []string
	prob []float64
	tier []int8
}

func (p *previousRun) Len() int           { return len(p.ids) }
func (p *previousRun) Less(i, j int) bool { return p.ids[i] < p.ids[j] }
func (p *previousRun) Swap(i, j int) {
	p.ids[i], p.ids[j] = p.ids[j], p.ids[i]
	p.prob[i], p.prob[j] = p.prob[j], p.prob[i]
	p.tier[i], p.tier[j] = p.tier[j], p.tier[i]
}

// previousTable reads the columns of a predictions file that the next run
// compares with.
var previousTable = &data.Table{Name: "predictions", Columns: []data.Column{
	{Name: "customer_id", Type: data.TypeString, Required: true},
	{Name: "churn_probability", Type: data.TypeFloat64, Required: true},
	{Name: "risk_tier", Type: data.TypeString, Required: true},
}}

// readPrevious reads the most recent complete predictions partition before
// asOf in out; nil when there is none. A partition that cannot be read is
// an error naming the file: the comparison must not vanish silently.
func readPrevious(ctx context.Context, out string, asOf data.Date) (*previousRun, error) {
	dates, err := Partitions(out, PredictionsDir)
	if err != nil {
		return nil, fmt.Errorf("list previous predictions: %w", err)
	}
	i := sort.Search(len(dates), func(i int) bool { return dates[i] >= asOf }) - 1
	if i < 0 {
		return nil, nil
	}
	dir := PartitionDir(out, PredictionsDir, dates[i])
	p := &previousRun{asOf: dates[i]}
	err = EachBatch(ctx, dir, previousTable, func(b *data.Batch) error {
		for r := 0; r < b.N; r++ {
			p.ids = append(p.ids, strings.Clone(b.Cols[0].Str(r)))
			p.prob = append(p.prob, b.Cols[1].Float(r))
			p.tier = append(p.tier, tierIndex(b.Cols[2].Str(r)))
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("read the previous predictions (remove or repair the partition %s): %w", dir, err)
	}
	sort.Sort(p)
	for j := 1; j < len(p.ids); j++ {
		if p.ids[j] == p.ids[j-1] {
			return nil, fmt.Errorf("read the previous predictions in %s: customer %s appears twice", dir, p.ids[j])
		}
	}
	return p, nil
}

// Tier names by index.
var tierNames = [...]string{"high", "medium", "low"}

const (
	tierHigh int8 = iota
	tierMedium
	tierLow
)

func tierIndex(s string) int8 {
	for i, n := range tierNames {
		if n == s {
			return int8(i)
		}
	}
	return -1
}

// EachBatch calls fn with every row group of the Parquet files in a
// partition folder, files in name order (rank order for predictions'
// part-NNNNN files), decoded by t (only its columns are read) into one
// batch that is reused: its strings are valid until fn returns.
func EachBatch(ctx context.Context, dir string, t *data.Table, fn func(*data.Batch) error) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	var b data.Batch
	for _, path := range files {
		f, err := data.OpenFile(path, t, nil)
		if err != nil {
			return err
		}
		for rg := 0; rg < f.NumRowGroups(); rg++ {
			if err = ctx.Err(); err == nil {
				if err = f.ReadRowGroup(rg, nil, false, &b); err == nil {
					err = fn(&b)
				}
			}
			if err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
	}
	return nil
}
