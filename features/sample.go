package features

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/churnlab/churn/data"
)

// Sample bounds the rows of a feature table built in memory (BuildTable) by
// sampling customers with a seeded hash of their id, and weights the kept
// rows by the inverse of their chance to be kept, so that weighted totals,
// rates and fitted probabilities stay those of the whole population.
//
// A customer belongs to the first Stratum whose Match reports true;
// customers matching none are left out. Within a stratum a customer is kept
// when its hash is below the stratum's threshold; the threshold is the
// largest that keeps at most MaxRows rows. The result does not depend on
// the order or the parallelism in which customers are computed, and the
// memory held while building stays within about 1.25 × MaxRows rows per
// stratum (and 1.25 × MaxRows/2 positives for a ByLabel stratum).
type Sample struct {
	Seed   uint64
	Strata []Stratum
}

// Stratum is one part of a Sample.
type Stratum struct {
	// Name labels the stratum in SampleStats.
	Name string
	// Match chooses the stratum's customers; nil matches every customer.
	Match func(customerID string) bool
	// MaxRows bounds the rows kept; 0 keeps every row.
	MaxRows int
	// ByLabel samples labelled rows by their label: positive rows are all
	// kept while they fit in half of MaxRows (else sampled by customer to
	// that half), and negative rows, sampled by customer, fill the rest.
	// Rows with an unknown label are left out. This keeps the rare class
	// whole for training. Without ByLabel, customers are sampled uniformly
	// with all their rows (for evaluation).
	ByLabel bool
}

// SampleStats describes what a Sample kept.
type SampleStats struct {
	Strata []StratumStats `json:"strata"`
}

// StratumStats counts one stratum's rows: seen (computed) and kept, and
// the kept rows' weight (1 / threshold) per class.
type StratumStats struct {
	Name    string `json:"name"`
	MaxRows int    `json:"max_rows,omitempty"`
	ByLabel bool   `json:"by_label"`
	// Rows and Positives are the rows computed, Kept and KeptPositives
	// those kept.
	Rows          int64 `json:"rows"`
	Positives     int64 `json:"positives"`
	Kept          int64 `json:"kept"`
	KeptPositives int64 `json:"kept_positives"`
	// Weight is the weight of the kept (negative, for ByLabel) rows and
	// PositiveWeight that of the kept positive rows (ByLabel only).
	Weight         float64 `json:"weight"`
	PositiveWeight float64 `json:"positive_weight,omitempty"`
}

// String describes the stratum in one line.
func (s StratumStats) String() string {
	if s.MaxRows == 0 || s.Kept == s.Rows {
		return fmt.Sprintf("%s: every row (%d, %d churned)", s.Name, s.Rows, s.Positives)
	}
	if s.ByLabel {
		return fmt.Sprintf("%s: %d of %d rows (%d of %d churned rows, weight %.4g; others weight %.4g)",
			s.Name, s.Kept, s.Rows, s.KeptPositives, s.Positives, s.PositiveWeight, s.Weight)
	}
	return fmt.Sprintf("%s: %d of %d rows (customers sampled uniformly, weight %.4g)", s.Name, s.Kept, s.Rows, s.Weight)
}

// Validate reports strata that cannot work.
func (s *Sample) Validate() error {
	if len(s.Strata) == 0 {
		return errors.New("sample: no stratum")
	}
	for i, st := range s.Strata {
		if st.MaxRows < 0 {
			return fmt.Errorf("sample: stratum %d (%s): max rows %d is negative", i, st.Name, st.MaxRows)
		}
		if st.ByLabel && st.MaxRows == 1 {
			return fmt.Errorf("sample: stratum %d (%s): max rows 1 leaves no room for both classes", i, st.Name)
		}
	}
	return nil
}

// sampleHash is a customer's hash in [0, 1), from its id and the seed.
func sampleHash(id string, seed uint64) float64 {
	f := fnv.New64a()
	f.Write([]byte(id))
	x := f.Sum64() ^ (seed*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019)
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	x *= 0x94d049bb133111eb
	x ^= x >> 32
	return float64(x>>11) / (1 << 53)
}

// class is a sampling class within a stratum: its kept rows (indices into
// the table being built), the customers' hashes, and the threshold.
type class struct {
	budget    int     // rows to keep at most; 0: all
	threshold float64 // keep customers whose hash is below; starts at 1
	rows      []int32 // kept rows, by table index
	hashes    []float64
}

func (c *class) admit(h float64) bool { return h < c.threshold }

// add records kept rows of one customer.
func (c *class) add(h float64, rows ...int32) {
	for _, r := range rows {
		c.rows = append(c.rows, r)
		c.hashes = append(c.hashes, h)
	}
}

// trim lowers the threshold so that at most keep rows stay (whole
// customers: a customer's rows share its hash) and returns the rows
// dropped. Lowering it never drops a row the final threshold keeps: the
// final threshold keeps at most the budget, and keep ≥ budget.
func (c *class) trim(keep int) (dropped []int32) {
	if len(c.rows) <= keep {
		return nil
	}
	hs := slices.Clone(c.hashes)
	slices.Sort(hs)
	// The new threshold is the smallest hash whose rows would overflow:
	// every row with a hash below it fits.
	t := hs[keep]
	if t > c.threshold {
		t = c.threshold
	}
	c.threshold = t
	rows, hashes := c.rows[:0], c.hashes[:0]
	for i, h := range c.hashes {
		if h < t {
			rows, hashes = append(rows, c.rows[i]), append(hashes, h)
		} else {
			dropped = append(dropped, c.rows[i])
		}
	}
	c.rows, c.hashes = rows, hashes
	return dropped
}

// weight is the inverse of the share kept.
func (c *class) weight() float64 { return 1 / c.threshold }

// BuildTable computes the rows of ds at opt.AsOf in memory and keeps those
// the sample chooses, with their weights in Table.Weight; nil sample keeps
// every row (weights nil). Rows come in customer order, a customer's rows
// in date order, as in a table written by Build. opt.Writer and opt.Keep
// are ignored (the sample's strata choose the customers).
func BuildTable(ctx context.Context, ds *data.Dataset, opt BuildOptions, sample *Sample) (*Table, SampleStats, Stats, error) {
	if sample != nil {
		if err := sample.Validate(); err != nil {
			return nil, SampleStats{}, Stats{}, err
		}
	}
	spec, b, err := newBuild(ctx, ds, &opt)
	if err != nil {
		return nil, SampleStats{}, Stats{}, err
	}
	tb := newTableBuilder(spec, sample, ds.Table(data.Customers).NumRows()*int64(max(1, len(opt.AsOf))))
	// Batches are added as the workers finish them (under a lock), not
	// in customer order, so that finished batches never wait with their
	// values; finish sorts the kept rows into customer order.
	var mu sync.Mutex
	add := func(bt *Batch) error {
		mu.Lock()
		defer mu.Unlock()
		tb.add(bt)
		bt.Cols = nil
		return nil
	}
	st, err := b.RunWith(ctx, RunOptions{Dates: opt.AsOf, Workers: opt.Workers, Prepare: add}, func(*Batch) error { return nil })
	if err != nil {
		return nil, SampleStats{}, st, err
	}
	t, sst := tb.finish()
	return t, sst, st, nil
}

// tableBuilder appends batches to a Table, sampling as it goes. It is not
// safe for concurrent use: BuildTable calls it under a lock.
type tableBuilder struct {
	t      *Table
	sample *Sample
	strata []*stratumState
	dead   []bool // rows dropped by a trim, removed by compact
	ndead  int
	intern []map[string]string // per categorical feature
	lastID string
}

type stratumState struct {
	Stratum
	stats    StratumStats
	pos, neg class // ByLabel: by label; else neg holds every row
}

// newTableBuilder starts a table of spec; rows is about how many rows
// will be computed. Columns are allocated once for the rows the sample
// may hold at its peak, so they do not double (and copy) as they grow.
func newTableBuilder(spec *Spec, sample *Sample, rows int64) *tableBuilder {
	n := rows
	if sample != nil {
		var peak int64
		for _, s := range sample.Strata {
			if s.MaxRows == 0 {
				peak = rows
				break
			}
			// The trim point, and for a ByLabel stratum room for
			// positives up to an eighth of MaxRows (beyond that the
			// columns grow).
			peak += int64(s.MaxRows) * 5 / 4
			if s.ByLabel {
				peak += int64(s.MaxRows) / 8
			}
		}
		n = min(n, peak)
	}
	t := &Table{Spec: spec, IDs: make([]string, 0, n), AsOf: make([]data.Date, 0, n), Label: make([]float64, 0, n),
		Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features))}
	tb := &tableBuilder{t: t, sample: sample, intern: make([]map[string]string, len(spec.Features)), dead: make([]bool, 0, n)}
	for i, d := range spec.Features {
		if d.Kind == Categorical {
			t.Cat[i] = make([]string, 0, n)
			tb.intern[i] = map[string]string{"": ""}
		} else {
			t.Num[i] = make([]float64, 0, n)
		}
	}
	if sample != nil {
		t.Weight = make([]float64, 0, n)
		for _, s := range sample.Strata {
			ss := &stratumState{Stratum: s, stats: StratumStats{Name: s.Name, MaxRows: s.MaxRows, ByLabel: s.ByLabel}}
			ss.pos.threshold, ss.neg.threshold = 1, 1
			if s.ByLabel {
				ss.pos.budget, ss.neg.budget = s.MaxRows/2, s.MaxRows
			} else {
				ss.neg.budget = s.MaxRows
			}
			tb.strata = append(tb.strata, ss)
		}
	}
	return tb
}

// trim lowers a class's threshold when its rows pass a quarter above its
// budget. The negatives of a ByLabel stratum share MaxRows with the
// positives (at most half of it): their budget is what the positives
// leave, which only shrinks as positives come, so it never drops a row the
// final thresholds keep.
func (ss *stratumState) trim() []int32 {
	var dropped []int32
	if b := ss.pos.budget; b > 0 && len(ss.pos.rows) > b+b/4 {
		dropped = ss.pos.trim(b)
	}
	b := ss.neg.budget
	if ss.ByLabel && b > 0 {
		b -= min(len(ss.pos.rows), ss.pos.budget)
	}
	if b > 0 && len(ss.neg.rows) > b+ss.neg.budget/4 {
		dropped = append(dropped, ss.neg.trim(b)...)
	}
	return dropped
}

// add appends a batch's rows, customer by customer.
func (tb *tableBuilder) add(bt *Batch) error {
	ids, asOf, lab := &bt.Cols[0], &bt.Cols[1], &bt.Cols[len(bt.Cols)-1]
	for r := 0; r < bt.N; {
		id := ids.Str(r)
		end := r + 1
		for end < bt.N && ids.Str(end) == id {
			end++
		}
		tb.customer(bt, id, r, end, asOf, lab)
		r = end
	}
	return nil
}

// customer samples and appends the rows [lo, hi) of one customer.
func (tb *tableBuilder) customer(bt *Batch, id string, lo, hi int, asOf, lab *data.Vec) {
	label := func(r int) float64 {
		if x := lab.Int(r); x != data.NullInt {
			return float64(x)
		}
		return math.NaN()
	}
	if tb.sample == nil {
		for r := lo; r < hi; r++ {
			tb.appendRow(bt, id, r, asOf, label(r), math.NaN())
		}
		return
	}
	var ss *stratumState
	for _, s := range tb.strata {
		if s.Match == nil || s.Match(id) {
			ss = s
			break
		}
	}
	if ss == nil {
		return
	}
	h := sampleHash(id, tb.sample.Seed)
	for r := lo; r < hi; r++ {
		y := label(r)
		ss.stats.Rows++
		if y == 1 {
			ss.stats.Positives++
		}
		c := &ss.neg
		if ss.ByLabel {
			switch {
			case math.IsNaN(y):
				continue
			case y == 1:
				c = &ss.pos
			}
		}
		if c.budget > 0 && !c.admit(h) {
			continue
		}
		c.add(h, int32(tb.t.Len()))
		tb.appendRow(bt, id, r, asOf, y, 0)
		if d := ss.trim(); len(d) > 0 {
			tb.drop(d)
		}
	}
}

func (tb *tableBuilder) appendRow(bt *Batch, id string, r int, asOf *data.Vec, y, w float64) {
	t := tb.t
	if id != tb.lastID {
		tb.lastID = strings.Clone(id)
	}
	t.IDs = append(t.IDs, tb.lastID)
	t.AsOf = append(t.AsOf, asOf.Date(r))
	t.Label = append(t.Label, y)
	if t.Weight != nil {
		t.Weight = append(t.Weight, w) // set in finish
	}
	for i := range t.Spec.Features {
		v := &bt.Cols[2+i]
		if t.Cat[i] != nil {
			s := v.Str(r)
			in, ok := tb.intern[i][s]
			if !ok {
				in = strings.Clone(s)
				tb.intern[i][in] = in
			}
			t.Cat[i] = append(t.Cat[i], in)
		} else {
			t.Num[i] = append(t.Num[i], v.Float(r))
		}
	}
	tb.dead = append(tb.dead, false)
}

// drop marks rows dropped and compacts the table when a quarter of it is
// dead.
func (tb *tableBuilder) drop(rows []int32) {
	for _, r := range rows {
		tb.dead[r] = true
	}
	tb.ndead += len(rows)
	if tb.ndead*4 > len(tb.dead) {
		tb.compact()
	}
}

// compact removes dead rows and renumbers the classes' row indices.
func (tb *tableBuilder) compact() {
	if tb.ndead == 0 {
		return
	}
	t := tb.t
	newIndex := make([]int32, len(tb.dead))
	n := int32(0)
	for i, d := range tb.dead {
		newIndex[i] = n
		if !d {
			n++
		}
	}
	keep := func(i int) bool { return !tb.dead[i] }
	t.IDs = filter(t.IDs, keep)
	t.AsOf = filter(t.AsOf, keep)
	t.Label = filter(t.Label, keep)
	if t.Weight != nil {
		t.Weight = filter(t.Weight, keep)
	}
	for i := range t.Num {
		if t.Num[i] != nil {
			t.Num[i] = filter(t.Num[i], keep)
		}
		if t.Cat[i] != nil {
			t.Cat[i] = filter(t.Cat[i], keep)
		}
	}
	for _, ss := range tb.strata {
		for _, c := range []*class{&ss.pos, &ss.neg} {
			for k, r := range c.rows {
				c.rows[k] = newIndex[r]
			}
		}
	}
	tb.dead = tb.dead[:t.Len()]
	clear(tb.dead)
	tb.ndead = 0
}

// filter keeps xs[i] where keep(i), in place (the capacity stays, for the
// rows to come).
func filter[T any](xs []T, keep func(int) bool) []T {
	out := xs[:0]
	for i, x := range xs {
		if keep(i) {
			out = append(out, x)
		}
	}
	clear(xs[len(out):])
	return out
}

// finish applies the final thresholds (positives to their half first, then
// negatives to what is left of MaxRows), sets the weights and compacts.
func (tb *tableBuilder) finish() (*Table, SampleStats) {
	var sst SampleStats
	for _, ss := range tb.strata {
		if ss.ByLabel && ss.MaxRows > 0 {
			tb.drop(ss.pos.trim(ss.pos.budget))
			tb.drop(ss.neg.trim(ss.MaxRows - len(ss.pos.rows)))
		} else if ss.MaxRows > 0 {
			tb.drop(ss.neg.trim(ss.MaxRows))
		}
		ss.stats.Weight = ss.neg.weight()
		for _, r := range ss.neg.rows {
			tb.t.Weight[r] = ss.stats.Weight
		}
		if ss.ByLabel {
			ss.stats.PositiveWeight = ss.pos.weight()
			for _, r := range ss.pos.rows {
				tb.t.Weight[r] = ss.stats.PositiveWeight
			}
		}
		ss.stats.KeptPositives = int64(len(ss.pos.rows))
		ss.stats.Kept = int64(len(ss.pos.rows) + len(ss.neg.rows))
		if !ss.ByLabel {
			ss.stats.KeptPositives = 0
			for _, r := range ss.neg.rows {
				if tb.t.Label[r] == 1 {
					ss.stats.KeptPositives++
				}
			}
		}
		sst.Strata = append(sst.Strata, ss.stats)
	}
	tb.compact()
	tb.dead = nil
	tb.t.sortRows()
	return tb.t, sst
}
