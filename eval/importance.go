package eval

import (
	"context"
	"math/rand/v2"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

// Importance ranks the features by the model's own gain and by permutation
// importance on the evaluated rows.
type Importance struct {
	// PermutationRows is the number of evaluated rows used (a seeded
	// sample of at most permutation.rows of the EvaluatedRows), Repeats
	// the shuffles per feature, BaseAUC the model's AUC on those rows.
	PermutationRows int                 `json:"permutation_rows"`
	EvaluatedRows   int                 `json:"evaluated_rows"`
	Repeats         int                 `json:"repeats"`
	BaseAUC         Num                 `json:"base_auc"`
	Features        []FeatureImportance `json:"features"`
}

// FeatureImportance is one feature's importance, with its business
// description.
type FeatureImportance struct {
	Feature     string `json:"feature"`
	Description string `json:"description"`
	Group       string `json:"group"`
	Kind        string `json:"kind"`
	Unit        string `json:"unit"`
	// Static marks today's values (from the customers table), which may
	// leak the label into past snapshots.
	Static bool `json:"static"`
	// GainShare is the feature's share of the model's total gain
	// (Manifest.Importance).
	GainShare Num `json:"gain_share"`
	// PermutationDrop is the mean AUC lost when the feature's column is
	// shuffled across the sampled rows; PermutationStd its standard
	// deviation over the repeats.
	PermutationDrop Num `json:"permutation_auc_drop"`
	PermutationStd  Num `json:"permutation_std"`
}

// importance ranks the features; rows are the evaluated rows (ascending)
// and prob the model's probabilities on them.
func importance(ctx context.Context, m *train.Model, t *features.Table, rows []int, prob []float64, cfg Config) (Importance, error) {
	imp := Importance{Repeats: cfg.Permutation.Repeats, BaseAUC: nan(), EvaluatedRows: len(rows)}
	gain := map[string]float64{}
	for _, g := range m.Manifest.Importance {
		gain[g.Feature] = g.Share
	}
	// Positions in rows of the sample, ascending.
	pos := make([]int, len(rows))
	for k := range pos {
		pos[k] = k
	}
	if len(pos) > cfg.Permutation.Rows {
		r := rand.New(rand.NewPCG(cfg.Seed, 0x9e77))
		r.Shuffle(len(pos), func(i, j int) { pos[i], pos[j] = pos[j], pos[i] })
		pos = pos[:cfg.Permutation.Rows]
		slices.Sort(pos)
	}
	sample := make([]int, len(pos))
	baseProb := make([]float64, len(pos))
	for k, j := range pos {
		sample[k], baseProb[k] = rows[j], prob[j]
	}
	imp.PermutationRows = len(sample)
	sub := t.Rows(sample)
	baseAUC := metrics.AUC(baseProb, sub.Label, nil)
	imp.BaseAUC = Num(baseAUC)
	nf := len(t.Spec.Features)
	drops := make([][]float64, nf)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	for f := 0; f < nf; f++ {
		g.Go(func() error {
			drops[f] = make([]float64, cfg.Permutation.Repeats)
			for rep := range cfg.Permutation.Repeats {
				r := rand.New(rand.NewPCG(cfg.Seed, uint64(f)<<16|uint64(rep)))
				perm := r.Perm(len(sample))
				shuffled := *sub
				if sub.Num[f] != nil {
					col := make([]float64, len(sample))
					for k, j := range perm {
						col[k] = sub.Num[f][j]
					}
					shuffled.Num = slices.Clone(sub.Num)
					shuffled.Num[f] = col
				} else {
					col := make([]string, len(sample))
					for k, j := range perm {
						col[k] = sub.Cat[f][j]
					}
					shuffled.Cat = slices.Clone(sub.Cat)
					shuffled.Cat[f] = col
				}
				sc, err := m.Score(gctx, &shuffled, nil, false)
				if err != nil {
					return err
				}
				drops[f][rep] = baseAUC - metrics.AUC(sc.Prob, sub.Label, nil)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return imp, err
	}
	for f, d := range t.Spec.Features {
		imp.Features = append(imp.Features, FeatureImportance{
			Feature: d.Name, Description: d.Description, Group: d.Group, Kind: string(d.Kind), Unit: d.Unit, Static: d.Static,
			GainShare: Num(gain[d.Name]), PermutationDrop: Num(metrics.Mean(drops[f])), PermutationStd: Num(metrics.StdDev(drops[f])),
		})
	}
	slices.SortStableFunc(imp.Features, func(a, b FeatureImportance) int {
		switch {
		case a.GainShare > b.GainShare:
			return -1
		case a.GainShare < b.GainShare:
			return 1
		case a.PermutationDrop > b.PermutationDrop:
			return -1
		case a.PermutationDrop < b.PermutationDrop:
			return 1
		}
		return 0
	})
	return imp, nil
}
