package eval

import (
	"fmt"
	"math"

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

func driftItem(ref *train.Distribution, bin func(k int) int, n int, cfg DriftConfig) DriftItem {
	counts := make([]float64, len(ref.Shares))
	for k := 0; k < n; k++ {
		counts[bin(k)]++
	}
	act := make([]float64, len(counts))
	it := DriftItem{Feature: ref.Name, Bins: len(ref.Shares)}
	for b := range counts {
		act[b] = counts[b] / float64(n)
		it.Expected = append(it.Expected, Num(ref.Shares[b]))
		it.Actual = append(it.Actual, Num(act[b]))
	}
	psi := PSI(ref.Shares, act)
	it.PSI, it.Status = Num(psi), driftStatus(psi, cfg)
	return it
}

func drift(mf *train.Manifest, t *features.Table, rows []int, prob []float64, cfg DriftConfig) Drift {
	d := Drift{Threshold: Num(cfg.Threshold), Moderate: Num(cfg.Moderate), Rows: len(rows), Features: []DriftItem{}, Drifting: []string{}, Notes: []string{}}
	refs := map[string]*train.Distribution{}
	for i := range mf.Reference {
		refs[mf.Reference[i].Name] = &mf.Reference[i]
	}
	if len(rows) == 0 {
		return d
	}
	for fi, def := range t.Spec.Features {
		ref, ok := refs[def.Name]
		if !ok || len(ref.Shares) == 0 {
			d.Notes = append(d.Notes, fmt.Sprintf("no training reference for %s (model trained before drift references were stored?)", def.Name))
			continue
		}
		var bin func(k int) int
		if def.Kind == features.Categorical {
			bin = func(k int) int { return ref.Level(t.Cat[fi][rows[k]]) }
		} else {
			bin = func(k int) int { return ref.Bin(t.Num[fi][rows[k]]) }
		}
		d.Features = append(d.Features, driftItem(ref, bin, len(rows), cfg))
	}
	d.Score = DriftItem{Feature: train.ScoreName, PSI: nan(), Status: "unknown"}
	if ref, ok := refs[train.ScoreName]; ok && len(ref.Shares) > 0 {
		d.Score = driftItem(ref, func(k int) int { return ref.Bin(prob[k]) }, len(rows), cfg)
	} else {
		d.Notes = append(d.Notes, "no training reference for the score")
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
	for i := 1; i < len(over); i++ {
		for j := i; j > 0 && over[j].psi > over[j-1].psi; j-- {
			over[j], over[j-1] = over[j-1], over[j]
		}
	}
	for _, o := range over {
		d.Drifting = append(d.Drifting, o.name)
	}
	return d
}

// DriftOf compares a population (every row of pop.Table, with its
// probabilities) with a model's training reference.
func DriftOf(mf *train.Manifest, pop *Population, cfg DriftConfig) (Drift, error) {
	if len(pop.Prob) != pop.Table.Len() {
		return Drift{}, fmt.Errorf("drift population: %d probabilities for %d rows", len(pop.Prob), pop.Table.Len())
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = 0.2
	}
	if cfg.Moderate == 0 {
		cfg.Moderate = 0.1
	}
	all := make([]int, pop.Table.Len())
	for i := range all {
		all[i] = i
	}
	d := drift(mf, pop.Table, all, pop.Prob, cfg)
	d.Population = pop.Label
	return d, nil
}

// SetDrift replaces the report's drift section and revises the verdict.
func (r *Report) SetDrift(d Drift) {
	r.Drift = d
	r.Verdict = verdict(r, r.Config)
}
