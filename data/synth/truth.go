package synth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/metrics"
)

// TruthFile is the name of the file, in the dataset folder, that holds what
// the generator planted (GeneratorTruth). Readers skip it: names starting
// with "_" are not tables.
const TruthFile = "_generator.json"

// GeneratorTruth is the content of DIR/_generator.json: what the generator
// planted, for tests and reviews that check they recover it.
type GeneratorTruth struct {
	Params        TruthParams        `json:"params"`
	Interventions *InterventionTruth `json:"interventions,omitempty"`
}

// TruthParams are the generator's parameters.
type TruthParams struct {
	Customers int    `json:"customers"`
	Months    int    `json:"months"`
	Seed      uint64 `json:"seed"`
	// Start and End are the first and last day of the period, YYYY-MM-DD;
	// End is the data end.
	Start string `json:"start"`
	End   string `json:"end"`
}

// InterventionTruth describes the simulated retention loop.
type InterventionTruth struct {
	// Experiment is the control-group split: data.Experiment{Seed, Cohort,
	// Share}.Group(play, customer_id) recomputes any customer's group.
	Experiment TruthExperiment `json:"experiment"`
	// Compliance is the probability that a treated customer was reached.
	Compliance float64 `json:"compliance"`
	// HorizonDays is the window of the planted effects.
	HorizonDays int         `json:"horizon_days"`
	Plays       []TruthPlay `json:"plays"`
}

// TruthExperiment is data.Experiment in JSON.
type TruthExperiment struct {
	Seed   int64   `json:"seed"`
	Cohort string  `json:"cohort"`
	Share  float64 `json:"share"`
}

// Experiment returns the split as a data.Experiment.
func (e TruthExperiment) Experiment() data.Experiment {
	return data.Experiment{Seed: e.Seed, Cohort: e.Cohort, Share: e.Share}
}

// TruthPlay is the planted effect of one play and how many customers it
// targeted.
type TruthPlay struct {
	Name string `json:"name"`
	// RelativeRiskReduction is the planted intent-to-treat RRR over
	// HorizonDays, 1 − P(churn | treat) / P(churn | control). For a play
	// whose effect differs by stage it is the average of ByStage over the
	// play's targeted customers who were at risk in windows that closed
	// by the data end (the customers whose churn the effect can prevent):
	// what a review of those windows estimates. Rounded to 4 decimals.
	RelativeRiskReduction float64 `json:"relative_risk_reduction"`
	// ByStage is the planted RRR in each lifecycle stage.
	ByStage map[string]float64 `json:"by_stage"`
	// Targeted counts the play's interventions rows (treat and control);
	// Control counts the control rows.
	Targeted int64 `json:"targeted"`
	Control  int64 `json:"control"`
}

// playCount accumulates one play's assignments.
type playCount struct {
	targeted, control int64
	// atRisk counts treat and control customers at risk in a window that
	// closed by the end; effect sums their planted RRRs.
	atRisk int64
	effect float64
}

func (pc *playCount) count(a *Assignment, end data.Date) {
	pc.targeted++
	if a.Group == data.GroupControl {
		pc.control++
	}
	if a.AtRisk && a.Day+HorizonDays <= end {
		pc.atRisk++
		pc.effect += Plays[a.play].Effect(a.Stage)
	}
}

func (pc *playCount) add(o *playCount) {
	pc.targeted += o.targeted
	pc.control += o.control
	pc.atRisk += o.atRisk
	pc.effect += o.effect
}

// truthOf assembles the truth of a generated dataset.
func truthOf(p *Params, plays []playCount) *GeneratorTruth {
	exp := p.Experiment()
	iv := &InterventionTruth{
		Experiment:  TruthExperiment{Seed: exp.Seed, Cohort: exp.Cohort, Share: exp.Share},
		Compliance:  p.Interventions.Compliance,
		HorizonDays: HorizonDays,
	}
	for i := range Plays {
		pl := &Plays[i]
		tp := TruthPlay{Name: pl.Name, RelativeRiskReduction: pl.RRR, ByStage: map[string]float64{},
			Targeted: plays[i].targeted, Control: plays[i].control}
		for _, st := range Stages {
			tp.ByStage[st] = pl.Effect(st)
		}
		if len(pl.ByStage) > 0 && plays[i].atRisk > 0 {
			tp.RelativeRiskReduction = metrics.Round(plays[i].effect/float64(plays[i].atRisk), 4)
		}
		iv.Plays = append(iv.Plays, tp)
	}
	return &GeneratorTruth{
		Params: TruthParams{Customers: p.Customers, Months: p.Months, Seed: p.Seed,
			Start: p.Start().String(), End: p.End.String()},
		Interventions: iv,
	}
}

// writeTruth writes t to path, a new file in the staged dataset folder.
func writeTruth(path string, t *GeneratorTruth) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	if err := data.WriteFileSync(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", TruthFile, err)
	}
	return nil
}

// ReadTruth reads DIR/_generator.json of a generated dataset.
func ReadTruth(dir string) (*GeneratorTruth, error) {
	path := filepath.Join(dir, TruthFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var t GeneratorTruth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &t, nil
}
