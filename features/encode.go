package features

import (
	"fmt"
	"slices"
	"strings"
)

// Encoder turns a feature table into a numeric matrix: numeric and flag
// features pass through (NaN stays NaN, meaning missing), and each
// categorical feature becomes one-hot columns named "feature=level" for its
// most frequent levels in the data the encoder was fitted on, plus a
// "feature=(other)" column for rarer and unseen levels. A missing level sets
// every one of its columns to 0.
//
// The encoding is reproducible: levels are ranked by count (descending),
// ties by name, and kept while they occur at least MinCount times, up to
// MaxLevels. An Encoder is immutable after fitting and safe for concurrent
// use.
type Encoder struct {
	Columns []EncodedColumn `json:"columns"`
	// Features are the spec features the encoder was fitted on, in order.
	Features []string `json:"features"`
}

// EncodedColumn is one column of the encoded matrix.
type EncodedColumn struct {
	Name    string `json:"name"`
	Feature int    `json:"feature"`         // index into Encoder.Features
	Level   string `json:"level,omitempty"` // one-hot level
	Other   bool   `json:"other,omitempty"` // the bucket of other levels
}

// EncoderOptions configures FitEncoder; zero values mean defaults.
type EncoderOptions struct {
	MaxLevels int // per categorical feature (default 20)
	MinCount  int // rows a level needs to get its own column (default 10)
}

// OtherLevel names the one-hot column of rare and unseen levels.
const OtherLevel = "(other)"

// FitEncoder learns the encoding from t (usually the training rows: rows
// selects them, nil = all).
func FitEncoder(t *Table, rows []int, opt EncoderOptions) *Encoder {
	if opt.MaxLevels <= 0 {
		opt.MaxLevels = 20
	}
	if opt.MinCount <= 0 {
		opt.MinCount = 10
	}
	e := &Encoder{Features: t.Spec.Names()}
	for i, d := range t.Spec.Features {
		if d.Kind != Categorical {
			e.Columns = append(e.Columns, EncodedColumn{Name: d.Name, Feature: i})
			continue
		}
		counts := map[string]int{}
		each(t.Len(), rows, func(r int) {
			if s := t.Cat[i][r]; s != "" {
				counts[s]++
			}
		})
		levels := make([]string, 0, len(counts))
		for s, c := range counts {
			if c >= opt.MinCount {
				levels = append(levels, s)
			}
		}
		slices.SortFunc(levels, func(a, b string) int {
			if counts[a] != counts[b] {
				return counts[b] - counts[a]
			}
			return strings.Compare(a, b)
		})
		if len(levels) > opt.MaxLevels {
			levels = levels[:opt.MaxLevels]
		}
		for _, s := range levels {
			e.Columns = append(e.Columns, EncodedColumn{Name: d.Name + "=" + s, Feature: i, Level: s})
		}
		e.Columns = append(e.Columns, EncodedColumn{Name: d.Name + "=" + OtherLevel, Feature: i, Other: true})
	}
	return e
}

func each(n int, rows []int, f func(int)) {
	if rows == nil {
		for r := 0; r < n; r++ {
			f(r)
		}
		return
	}
	for _, r := range rows {
		f(r)
	}
}

// Names returns the encoded column names.
func (e *Encoder) Names() []string {
	out := make([]string, len(e.Columns))
	for i, c := range e.Columns {
		out[i] = c.Name
	}
	return out
}

// Check reports whether t has the features the encoder was fitted on.
func (e *Encoder) Check(t *Table) error {
	if got := t.Spec.Names(); !slices.Equal(got, e.Features) {
		return fmt.Errorf("the feature table's columns differ from the model's (%d vs %d features)", len(got), len(e.Features))
	}
	return nil
}

// Matrix encodes the rows of t (rows selects them, nil = all) into a dense
// row-major float32 matrix with NaN for missing values. It returns the
// matrix and its number of rows.
func (e *Encoder) Matrix(t *Table, rows []int) ([]float32, int) {
	n := t.Len()
	if rows != nil {
		n = len(rows)
	}
	p := len(e.Columns)
	out := make([]float32, n*p)
	known := map[int]map[string]bool{}
	for _, c := range e.Columns {
		if c.Level != "" {
			if known[c.Feature] == nil {
				known[c.Feature] = map[string]bool{}
			}
			known[c.Feature][c.Level] = true
		}
	}
	k := 0
	each(t.Len(), rows, func(r int) {
		row := out[k*p : (k+1)*p]
		for j, c := range e.Columns {
			if t.Num[c.Feature] != nil {
				row[j] = float32(t.Num[c.Feature][r])
				continue
			}
			s := t.Cat[c.Feature][r]
			switch {
			case s == "":
			case c.Other:
				if !known[c.Feature][s] {
					row[j] = 1
				}
			case s == c.Level:
				row[j] = 1
			}
		}
		k++
	})
	return out, n
}

// FeatureOf returns, for each encoded column, the spec feature it comes
// from, so per-column contributions can be summed per feature.
func (e *Encoder) FeatureOf() []int {
	out := make([]int, len(e.Columns))
	for i, c := range e.Columns {
		out[i] = c.Feature
	}
	return out
}
