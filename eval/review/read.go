package review

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

// predictionsTable lists the columns of a predictions file the review
// reads, and nothing else: the other columns (reasons, texts, actions…)
// are never decoded. churn_probability comes first, as the column every
// read decodes; the others are chosen per row group (readRows). play and
// treatment_group are optional, so partitions written before control
// groups existed read as having no units.
var predictionsTable = &data.Table{Name: "predictions", Columns: []data.Column{
	{Name: "churn_probability", Type: data.TypeFloat64, Required: true},
	{Name: "risk_tier", Type: data.TypeString, Required: true},
	{Name: "customer_id", Type: data.TypeString, Required: true},
	{Name: "annual_revenue", Type: data.TypeFloat64},
	{Name: "lifecycle_stage", Type: data.TypeString},
	{Name: "reason_1_category", Type: data.TypeString},
	{Name: "play", Type: data.TypeString},
	{Name: "treatment_group", Type: data.TypeString},
	{Name: "owner", Type: data.TypeString},
}}

// Positions of predictionsTable's columns.
const (
	pcProb = iota
	pcTier
	pcID
	pcRevenue
	pcStage
	pcCategory
	pcPlay
	pcGroup
	pcOwner
	numPredCols
)

// selection returns the Selection of predictionsTable's columns cols.
func selection(cols ...int) data.Selection {
	sel := make(data.Selection, numPredCols)
	for _, c := range cols {
		sel[c] = true
	}
	return sel
}

// partition is one published (or staged) predictions partition.
type partition struct {
	asOf data.Date
	dir  string
	// model is the partition's _manifest.json (zero when absent).
	model partitionModel
}

// partitionModel is what the review reads of a partition's _manifest.json.
type partitionModel struct {
	ModelVersion string `json:"model_version"`
	Model        struct {
		LabelMode   string `json:"label_mode"`
		HorizonDays int    `json:"horizon_days"`
	} `json:"model"`
}

// listPartitions returns the complete predictions partitions under out
// dated on or before asOf (every one when asOf is NoDate), oldest first,
// with staged standing in for (or adding to) the published ones, and how
// many later ones were left out.
func listPartitions(out string, asOf data.Date, staged map[data.Date]string) ([]partition, int, error) {
	dates, err := predict.Partitions(out, predict.PredictionsDir)
	if err != nil {
		return nil, 0, fmt.Errorf("list the predictions partitions: %w", err)
	}
	dirs := map[data.Date]string{}
	for _, d := range dates {
		dirs[d] = predict.PartitionDir(out, predict.PredictionsDir, d)
	}
	for d, dir := range staged {
		dirs[d] = dir
	}
	var parts []partition
	later := 0
	for d, dir := range dirs {
		if asOf != data.NoDate && d > asOf {
			later++
			continue
		}
		p := partition{asOf: d, dir: dir}
		b, err := os.ReadFile(filepath.Join(dir, predict.ManifestFile))
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, 0, err
		default:
			if err := json.Unmarshal(b, &p.model); err != nil {
				return nil, 0, &data.InputError{File: filepath.Join(dir, predict.ManifestFile), Err: fmt.Errorf("%w: %v", data.ErrCorrupt, err)}
			}
		}
		parts = append(parts, p)
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].asOf < parts[j].asOf })
	return parts, later, nil
}

// open opens the partition's Parquet files in name order (rank order for
// churn's part-NNNNN files) and returns them with their total rows (from
// the footers). Close them with closeAll.
func (p *partition) open() ([]*data.File, int64, error) {
	paths, err := filepath.Glob(filepath.Join(p.dir, "*.parquet"))
	if err != nil {
		return nil, 0, err
	}
	sort.Strings(paths)
	var files []*data.File
	var n int64
	for _, path := range paths {
		f, err := data.OpenFile(path, predictionsTable, nil)
		if err != nil {
			closeAll(files)
			return nil, 0, err
		}
		files = append(files, f)
		n += f.NumRows
	}
	return files, n, nil
}

func closeAll(files []*data.File) {
	for _, f := range files {
		f.Close()
	}
}

// rowGroup is one row group of a partition's file, read column by column
// as needed.
type rowGroup struct {
	path string
	f    *data.File
	i    int
}

// read decodes the columns of sel (churn_probability always) into dst,
// with transient customer ids (valid until the next read into dst).
func (g rowGroup) read(sel data.Selection, dst *data.Batch) error {
	dst.TransientKeys = true
	return g.f.ReadRowGroup(g.i, sel, false, dst)
}

// each calls fn with every row group of files, in order.
func each(ctx context.Context, files []*data.File, fn func(g rowGroup) error) error {
	for _, f := range files {
		for i := 0; i < f.NumRowGroups(); i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(rowGroup{f.Path, f, i}); err != nil {
				return err
			}
		}
	}
	return nil
}

// idHash is a seeded 64-bit hash of a customer id: eight bytes at a
// time, each word folded in by a multiply and a shift, then the splitmix64
// finaliser. It keys the customer index and, with the review's seed, the
// sample of customers closed runs are measured on.
func idHash(id string, seed uint64) uint64 {
	h := seed*0x9e3779b97f4a7c15 ^ uint64(len(id))*0xff51afd7ed558ccd
	i := 0
	for ; i+8 <= len(id); i += 8 {
		w := uint64(id[i]) | uint64(id[i+1])<<8 | uint64(id[i+2])<<16 | uint64(id[i+3])<<24 |
			uint64(id[i+4])<<32 | uint64(id[i+5])<<40 | uint64(id[i+6])<<48 | uint64(id[i+7])<<56
		h = (h ^ w) * 0x100000001b3
		h ^= h >> 29
	}
	var w uint64
	for k := 0; i < len(id); i, k = i+1, k+8 {
		w |= uint64(id[i]) << k
	}
	return mix64(h ^ w)
}

func mix64(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ (h >> 31)
}

// sampleHash places the customer whose id hashes to h in the sample of a
// seed: the customers with sampleHash ≤ sampleCut, the same in every run.
// h is uniform (idHash ends with a finaliser), and xor with a constant and
// multiplication by an odd one are bijections, so the result is uniform
// too.
func sampleHash(h, seed uint64) uint64 { return (h ^ seed*0x9e3779b97f4a7c15) * 0xd6e8feb86659fd93 }

// sampleCut returns the hash threshold that keeps about want of n rows
// (every row when n ≤ want).
func sampleCut(n int64, want int) uint64 {
	if n <= int64(want) {
		return math.MaxUint64
	}
	return uint64(float64(want) / float64(n) * math.MaxUint64)
}

// Tiers by index.
var tierNames = [...]string{"high", "medium", "low"}

func tierIndex(s string) int8 {
	for i, n := range tierNames {
		if n == s {
			return int8(i)
		}
	}
	return -1
}
