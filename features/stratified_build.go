package features

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
)

// SampleOptions sets the size and seed of a stratified sample (BuildSample).
type SampleOptions struct {
	// Size is the most customers the sample keeps (at least 2).
	Size int
	// Seed seeds SampleHash, which orders the customers of a stratum.
	Seed uint64
}

// BuildSample writes to w the stratified sample of the feature table Build
// would write: the customers PlanSample keeps (chosen among those
// opt.Keep keeps), each with all its rows, in Build's order (customer_id,
// as_of) and schema plus the SampleWeightColumn (SampleColumns), with the
// spec (MetadataKey) and the plan (SampleMetadataKey) in the footer.
//
// It reads the data twice: first only what the labels need (LabelInputs),
// to put every customer in its stratum by the labels of its rows at
// opt.AsOf (CustomerStratum) and keep the opt.Size smallest hashes of
// each stratum; then it computes the features of the kept customers only.
// Memory holds about 2 × Size customer ids per stratum besides Build's.
// The result depends on the data, the options and the seed, not on
// opt.Workers. opt.Shard must be unset.
func BuildSample(ctx context.Context, ds *data.Dataset, opt BuildOptions, so SampleOptions, w io.Writer) (*Spec, *SamplePlan, Stats, error) {
	if opt.Shard.Count > 0 {
		return nil, nil, Stats{}, errSampleShard
	}
	if so.Size < 2 {
		// Fail before the lifetime fits and the label pass.
		_, err := PlanSample(so.Seed, so.Size, nil)
		return nil, nil, Stats{}, err
	}
	spec, b, err := newBuild(ctx, ds, &opt)
	if err != nil {
		return nil, nil, Stats{}, err
	}
	sw, err := planStrata(ctx, ds, b, opt, so)
	if err != nil {
		return nil, nil, Stats{}, err
	}
	st, err := writeTable(ctx, ds, spec, b, opt, sw, w)
	if err != nil {
		return nil, nil, st, err
	}
	return spec, sw.plan, st, nil
}

// BuildSampleFile is BuildSample to a file, written atomically: on error
// nothing is left at path.
func BuildSampleFile(ctx context.Context, ds *data.Dataset, opt BuildOptions, so SampleOptions, path string) (*Spec, *SamplePlan, Stats, error) {
	f, err := data.CreateAtomic(path)
	if err != nil {
		return nil, nil, Stats{}, err
	}
	defer f.Abort()
	spec, plan, st, err := BuildSample(ctx, ds, opt, so, f)
	if err != nil {
		return nil, nil, st, err
	}
	return spec, plan, st, f.Commit()
}

var errSampleShard = errors.New("features: a sample is built whole, not by shard")

// sampleWeights is a plan with the weights of its kept customers.
type sampleWeights struct {
	plan   *SamplePlan
	weight map[string]float64 // by customer id
}

// keeps reports whether the customer is in the sample. It is safe for
// concurrent use.
func (s *sampleWeights) keeps(id string) bool {
	_, ok := s.weight[id]
	return ok
}

// column returns the weights of the batch's rows.
func (s *sampleWeights) column(bt *Batch) data.Vec {
	v := data.NewVec(data.TypeFloat64)
	v.Grow(bt.N)
	ids := &bt.Cols[0]
	for r := 0; r < bt.N; r++ {
		v.AppendFloat(s.weight[ids.Str(r)])
	}
	return v
}

// strataCount is what a label pass found: per stratum (sampleStrata
// order), the customers and the smallest hashes.
type strataCount struct {
	customers [3]int64
	small     [3]smallest
}

// planStrata reads the labels of every customer opt.Keep keeps at
// opt.AsOf, plans the sample and returns the kept customers' weights.
func planStrata(ctx context.Context, ds *data.Dataset, b *Builder, opt BuildOptions, so SampleOptions) (*sampleWeights, error) {
	dates, err := snapshotDates(opt.AsOf, &b.label)
	if err != nil {
		return nil, err
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	scan := LabelInputs(b.label.Mode)
	scan.Keep = opt.Keep
	shards := ds.Shards(workers * 4)
	parts := make([]strataCount, len(shards))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, r := range shards {
		p := &parts[i]
		for s := range p.small {
			p.small[s].k = so.Size
		}
		g.Go(func() error {
			labels := make([]float64, 0, len(dates))
			_, err := ds.Scan(gctx, r, scan, func(h *data.History) error {
				labels = labels[:0]
				for _, T := range dates {
					if y, active := Label(h, T, &b.label); active {
						labels = append(labels, y)
					}
				}
				if len(labels) == 0 {
					return nil // no row: not in the table
				}
				s := stratumIndex(CustomerStratum(labels))
				p.customers[s]++
				if s == 2 {
					return nil // unlabelled: counted, never kept
				}
				id := h.Customer.ID
				if hs := SampleHash(id, so.Seed); p.small[s].admits(hs) {
					p.small[s].add(hashedID{hs, strings.Clone(id)})
				}
				return nil
			})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all strataCount
	counts := make([]StratumCount, len(sampleStrata))
	for s, name := range sampleStrata {
		all.small[s].k = so.Size
		for i := range parts {
			all.customers[s] += parts[i].customers[s]
			all.small[s].merge(&parts[i].small[s])
		}
		all.small[s].trim()
		counts[s] = StratumCount{Name: name, Customers: all.customers[s]}
		for _, x := range all.small[s].xs {
			counts[s].Smallest = append(counts[s].Smallest, x.h)
		}
	}
	plan, err := PlanSample(so.Seed, so.Size, counts)
	if err != nil {
		return nil, err
	}
	sw := &sampleWeights{plan: plan, weight: map[string]float64{}}
	for s, name := range sampleStrata {
		for _, x := range all.small[s].xs {
			if w, ok := plan.Keep(x.id, name); ok {
				sw.weight[x.id] = w
			}
		}
	}
	return sw, nil
}

// stratumIndex is the index of a stratum in sampleStrata.
func stratumIndex(name string) int {
	switch name {
	case StratumChurned:
		return 0
	case StratumRetained:
		return 1
	}
	return 2
}
