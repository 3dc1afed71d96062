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
// are never decoded. play and treatment_group are optional, so partitions
// written before control groups existed read as having no units.
var predictionsTable = &data.Table{Name: "predictions", Columns: []data.Column{
	{Name: "customer_id", Type: data.TypeString, Required: true},
	{Name: "churn_probability", Type: data.TypeFloat64, Required: true},
	{Name: "risk_tier", Type: data.TypeString, Required: true},
	{Name: "annual_revenue", Type: data.TypeFloat64},
	{Name: "lifecycle_stage", Type: data.TypeString},
	{Name: "reason_1_category", Type: data.TypeString},
	{Name: "play", Type: data.TypeString},
	{Name: "treatment_group", Type: data.TypeString},
	{Name: "owner", Type: data.TypeString},
}}

// Positions of predictionsTable's columns.
const (
	pcID = iota
	pcProb
	pcTier
	pcRevenue
	pcStage
	pcCategory
	pcPlay
	pcGroup
	pcOwner
)

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

// files returns the partition's Parquet files in name order (rank order
// for churn's part-NNNNN files).
func (p *partition) files() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(p.dir, "*.parquet"))
	sort.Strings(files)
	return files, err
}

// rows returns the number of rows of the partition's files, from their
// footers.
func (p *partition) rows(files []string) (int64, error) {
	var n int64
	for _, path := range files {
		f, err := data.OpenFile(path, predictionsTable, nil)
		if err != nil {
			return 0, err
		}
		n += f.NumRows
		f.Close()
	}
	return n, nil
}

// each calls fn with every row group of the partition's files in order
// (and the file's path), decoded into one reused batch whose key strings
// are transient (valid until fn returns).
func (p *partition) each(ctx context.Context, files []string, fn func(path string, b *data.Batch) error) error {
	b := &data.Batch{TransientKeys: true}
	for _, path := range files {
		f, err := data.OpenFile(path, predictionsTable, nil)
		if err != nil {
			return err
		}
		for rg := 0; rg < f.NumRowGroups(); rg++ {
			if err := ctx.Err(); err != nil {
				f.Close()
				return err
			}
			if err := f.ReadRowGroup(rg, nil, false, b); err != nil {
				f.Close()
				return err
			}
			if err := fn(path, b); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
	}
	return nil
}

// sampleHash is a seeded 64-bit hash of a customer id (FNV-1a, then the
// splitmix64 finaliser): which customers a run's realised metrics are
// measured on, the same customers in every run.
func sampleHash(id string, seed uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ (h >> 31)
}

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
