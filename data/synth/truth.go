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
	// Shop is the planted model of BusinessEcommerce.
	Shop *ShopPlanted `json:"shop,omitempty"`
}

// ShopPlanted is what the generator planted in a shop's data: the model's
// population parameters ([Shop]) and how many customers dropped out.
// Per-customer truth is ShopTruthOf.
type ShopPlanted struct {
	// BG/NBD: λ ~ Gamma(r, alpha) repeat purchases a week, p ~ Beta(a, b).
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
	// Gamma-Gamma: amount ~ Gamma(p, ν), ν ~ Gamma(q, gamma) (consumer
	// segment; business orders are 1.8 times larger).
	P     float64 `json:"p"`
	Q     float64 `json:"q"`
	Gamma float64 `json:"gamma"`
	// The purchase-rate decline before dropout (ShopModel).
	DeclineShare  float64 `json:"decline_share"`
	DeclineDays   [2]int  `json:"decline_days"`
	DeclineRate   float64 `json:"decline_rate"`
	DeclineBasket float64 `json:"decline_basket"`
	// DroppedOut counts the customers whose last purchase (dropout) falls
	// within the period; AfterDecline those of them with a decline.
	DroppedOut   int64 `json:"dropped_out"`
	AfterDecline int64 `json:"dropped_out_after_decline"`
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
	// Business is BusinessEcommerce for a shop, empty for SaaS.
	Business string `json:"business,omitempty"`
}

func truthParams(p *Params) TruthParams {
	tp := TruthParams{Customers: p.Customers, Months: p.Months, Seed: p.Seed, Start: p.Start().String(), End: p.End.String()}
	if p.ecommerce() {
		tp.Business = p.Business
	}
	return tp
}

// shopTruthOf assembles the truth of a generated shop.
func shopTruthOf(p *Params, dropped, declined int64) *GeneratorTruth {
	m := &Shop
	return &GeneratorTruth{Params: truthParams(p), Shop: &ShopPlanted{
		R: m.R, Alpha: m.Alpha, A: m.A, B: m.B, P: m.P, Q: m.Q, Gamma: m.Gamma,
		DeclineShare: m.DeclineShare, DeclineDays: m.DeclineDays, DeclineRate: m.DeclineRate, DeclineBasket: m.DeclineBasket,
		DroppedOut: dropped, AfterDecline: declined,
	}}
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
	return &GeneratorTruth{Params: truthParams(p), Interventions: iv}
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
