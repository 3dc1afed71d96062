package eval

import (
	"fmt"
	"math"
	"sort"

	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// Drift compares the evaluated rows with the model's training reference
// (train.Manifest.Reference) by the population stability index.
type Drift struct {
	// Population names the rows compared with the training reference when
	// they are not the evaluated rows (the nightly job's scoring snapshot).
	Population string `json:"population,omitempty"`
	Threshold  Num    `json:"threshold"`
	Moderate   Num    `json:"moderate"`
	Rows       int    `json:"rows"`
	// Score is the drift of the calibrated probability against its
	// distribution on the model's held-out rows.
	Score    DriftItem   `json:"score"`
	Features []DriftItem `json:"features"`
	// Drifting lists the features (and churn_probability) above
	// Threshold, highest PSI first.
	Drifting []string `json:"drifting"`
	Notes    []string `json:"notes"`
}

// DriftItem is one variable's PSI over the reference bins.
type DriftItem struct {
	Feature string `json:"feature"`
	PSI     Num    `json:"psi"`
	// Status: stable (PSI ≤ moderate), moderate, or high (> threshold).
	Status string `json:"status"`
	Bins   int    `json:"bins"`
	// Expected and Actual are the shares per reference bin (the last is
	// missing values), for the reference and the evaluated rows.
	Expected []Num `json:"expected"`
	Actual   []Num `json:"actual"`
}

// psiFloor keeps empty bins from making the PSI infinite.
const psiFloor = 1e-4

// PSI returns the population stability index Σ (a − e) · ln(a / e) of
// actual shares a against expected shares e, each share floored at 1e-4.
// Both slices must have the same length.
func PSI(expected, actual []float64) float64 {
	var s float64
	for i := range expected {
		e, a := math.Max(expected[i], psiFloor), math.Max(actual[i], psiFloor)
		s += (a - e) * math.Log(a/e)
	}
	return s
}

func driftStatus(psi float64, cfg DriftConfig) string {
	switch {
	case psi > cfg.Threshold:
		return "high"
	case psi > cfg.Moderate:
		return "moderate"
	}
	return "stable"
}

// driftItem compares counts (weighted, summing to total) with ref.
func driftItem(ref *train.Distribution, counts []float64, total float64, cfg DriftConfig) DriftItem {
	act := make([]float64, len(counts))
	it := DriftItem{Feature: ref.Name, Bins: len(ref.Shares)}
	for b := range counts {
		act[b] = counts[b] / total
		it.Expected = append(it.Expected, Num(ref.Shares[b]))
		it.Actual = append(it.Actual, Num(act[b]))
	}
	psi := PSI(ref.Shares, act)
	it.PSI, it.Status = Num(psi), driftStatus(psi, cfg)
	return it
}

// DriftCounter counts a population into a model's reference bins batch by
// batch, so a population too large to hold (tonight's scored customers)
// can be checked for drift as it streams by. It is not safe for concurrent
// use.
type DriftCounter struct {
	refs   []*train.Distribution // per spec feature; nil without a reference
	score  *train.Distribution
	counts [][]float64 // per spec feature, weighted
	scores []float64
	n      int     // rows counted
	total  float64 // their weight
	notes  []string
	cfg    DriftConfig
}

// NewDriftCounter prepares counting tables of spec against mf's reference.
func NewDriftCounter(mf *train.Manifest, spec *features.Spec, cfg DriftConfig) *DriftCounter {
	if cfg.Threshold == 0 {
		cfg.Threshold = 0.2
	}
	if cfg.Moderate == 0 {
		cfg.Moderate = 0.1
	}
	byName := map[string]*train.Distribution{}
	for i := range mf.Reference {
		byName[mf.Reference[i].Name] = &mf.Reference[i]
	}
	c := &DriftCounter{cfg: cfg, refs: make([]*train.Distribution, len(spec.Features)), counts: make([][]float64, len(spec.Features))}
	for f, def := range spec.Features {
		ref, ok := byName[def.Name]
		if !ok || len(ref.Shares) == 0 {
			c.notes = append(c.notes, fmt.Sprintf("no training reference for %s (model trained before drift references were stored?)", def.Name))
			continue
		}
		c.refs[f], c.counts[f] = ref, make([]float64, len(ref.Shares))
	}
	if ref, ok := byName[train.ScoreName]; ok && len(ref.Shares) > 0 {
		c.score, c.scores = ref, make([]float64, len(ref.Shares))
	} else {
		c.notes = append(c.notes, "no training reference for the score")
	}
	return c
}

// Add counts rows of t (nil: all) and their probabilities (prob[k] for the
// k-th counted row), each row by its weight (Table.Weight: a sample's rows
// count for the customers they stand for, as in the training reference).
func (c *DriftCounter) Add(t *features.Table, rows []int, prob []float64) {
	n := t.Len()
	if rows != nil {
		n = len(rows)
	}
	row := func(k int) int {
		if rows == nil {
			return k
		}
		return rows[k]
	}
	for f, ref := range c.refs {
		if ref == nil {
			continue
		}
		cnt := c.counts[f]
		if t.Cat[f] != nil {
			for k := 0; k < n; k++ {
				cnt[ref.Level(t.Cat[f][row(k)])] += t.RowWeight(row(k))
			}
		} else {
			for k := 0; k < n; k++ {
				cnt[ref.Bin(t.Num[f][row(k)])] += t.RowWeight(row(k))
			}
		}
	}
	if c.score != nil {
		for k := 0; k < n; k++ {
			c.scores[c.score.Bin(prob[k])] += t.RowWeight(row(k))
		}
	}
	for k := 0; k < n; k++ {
		c.total += t.RowWeight(row(k))
	}
	c.n += n
}

// Drift returns the PSI of every feature and of the score over the rows
// counted so far; population names them in the report ("" for the
// evaluated rows).
func (c *DriftCounter) Drift(population string) Drift {
	d := Drift{Population: population, Threshold: Num(c.cfg.Threshold), Moderate: Num(c.cfg.Moderate), Rows: c.n,
		Features: []DriftItem{}, Drifting: []string{}, Notes: append([]string{}, c.notes...)}
	if c.n == 0 || c.total <= 0 {
		return d
	}
	for f, ref := range c.refs {
		if ref != nil {
			d.Features = append(d.Features, driftItem(ref, c.counts[f], c.total, c.cfg))
		}
	}
	d.Score = DriftItem{Feature: train.ScoreName, PSI: nan(), Status: "unknown"}
	if c.score != nil {
		d.Score = driftItem(c.score, c.scores, c.total, c.cfg)
	}
	type named struct {
		name string
		psi  float64
	}
	var over []named
	for _, it := range append([]DriftItem{d.Score}, d.Features...) {
		if it.Status == "high" {
			over = append(over, named{it.Feature, it.PSI.F()})
		}
	}
	sort.SliceStable(over, func(a, b int) bool { return over[a].psi > over[b].psi })
	for _, o := range over {
		d.Drifting = append(d.Drifting, o.name)
	}
	return d
}

func drift(mf *train.Manifest, t *features.Table, rows []int, prob []float64, cfg DriftConfig) Drift {
	c := NewDriftCounter(mf, t.Spec, cfg)
	if len(rows) > 0 {
		c.Add(t, rows, prob)
	}
	return c.Drift("")
}

// DriftOf compares a population (every row of pop.Table, with its
// probabilities) with a model's training reference.
func DriftOf(mf *train.Manifest, pop *Population, cfg DriftConfig) (Drift, error) {
	if len(pop.Prob) != pop.Table.Len() {
		return Drift{}, fmt.Errorf("drift population: %d probabilities for %d rows", len(pop.Prob), pop.Table.Len())
	}
	c := NewDriftCounter(mf, pop.Table.Spec, cfg)
	c.Add(pop.Table, nil, pop.Prob)
	return c.Drift(pop.Label), nil
}

// SetDrift replaces the report's drift section and revises the verdict.
func (r *Report) SetDrift(d Drift) {
	r.Drift = d
	r.Verdict = verdict(r, r.Config)
}
