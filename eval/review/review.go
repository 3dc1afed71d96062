package review

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
)

// Options are the inputs of Run.
type Options struct {
	// Dataset is the input data: customers, the label's table and, when
	// present, interventions. Required; the caller owns it (Run does not
	// close it) and Run only reads it.
	Dataset *data.Dataset
	// Out is the output folder whose predictions/as_of=DATE partitions are
	// reviewed (those with _SUCCESS). Required.
	Out string
	// AsOf is the review date, "as if today were AsOf": outcomes come
	// only from days before it, a window is closed only when it ended
	// before it, and partitions and interventions dated after it are left
	// out. NoDate (or the zero Date) means the day after the data's last
	// day.
	AsOf data.Date
	// Label is the outcome definition, training's. A zero Mode or Horizon
	// is taken from the newest partition's model (_manifest.json), else
	// auto and 90 days. DataEnd zero means the data's last day; either way
	// it is capped at the day before AsOf.
	Label features.LabelConfig
	// Features holds the feature windows (onboarding and renewal days)
	// that place units of the interventions table in a lifecycle stage, as
	// the models' features do; nil means the defaults.
	Features *features.Config
	// Config holds the settings; zero fields mean defaults.
	Config Config
	// Staged maps as-of dates to partition folders read instead of (or as
	// well as) the published ones: the nightly job reviews tonight's
	// staged predictions before publishing them with the review.
	Staged map[data.Date]string
	// Now is the clock of the generation time in review.html's footer
	// (default time.Now); fix it for byte-identical files.
	Now func() time.Time
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// Errors about the inputs, for callers to tell them apart.
var (
	// ErrNothingToReview: no predictions partition and no intervention
	// with a group.
	ErrNothingToReview = errors.New("nothing to review")
	// ErrNoWindow: the label mode has no outcome window (snapshot, none).
	ErrNoWindow = errors.New("the label has no outcome window")
)

// reviewer holds one review's state.
type reviewer struct {
	opt  Options
	cfg  Config
	lc   features.LabelConfig
	asOf data.Date // the review date
	out  *outcomes
	meas *measured // the customers closed runs are measured on
	z    float64
	log  *slog.Logger

	mu     sync.Mutex // guards strs, strID and inputs while partitions are read
	strs   []string
	strID  map[string]int32
	inputs Inputs
	// units are every unit, once the partitions are read.
	units []unit
}

// unit is one customer assigned to a group by a play on a date.
type unit struct {
	h     uint64 // the customer's hash in the customer index
	cust  int32
	date  data.Date
	play  int32
	treat bool
	pred  bool  // from a predictions partition (else from interventions)
	tier  int8  // -1 unknown
	stage int32 // interned strings; -1 unknown
	cat   int32
	owner int32
	prob  float64 // NaN unknown
	mrr   float64 // monthly revenue, NaN unknown
	// Outcome: y 1 churned, 0 stayed, NaN open; active false when not a
	// customer on date.
	y         float64
	active    bool
	contacted bool
}

// before reports whether u is an earlier unit than v of the same customer
// and play: earlier date, then predictions before interventions.
func (u *unit) before(v *unit) bool {
	if u.date != v.date {
		return u.date < v.date
	}
	return u.pred && !v.pred
}

// Run reviews every predictions partition under Options.Out with the
// outcomes and interventions of Options.Dataset. It reads only the
// columns it needs, column by column, and is deterministic: the same
// inputs, config and clock give the same Review.
func Run(ctx context.Context, opt Options) (*Review, error) {
	if opt.Dataset == nil || opt.Out == "" {
		return nil, errors.New("review: Dataset and Out are required")
	}
	cfg := opt.Config
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt.AsOf == 0 {
		opt.AsOf = data.NoDate
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	parts, later, err := listPartitions(opt.Out, opt.AsOf, opt.Staged)
	if err != nil {
		return nil, err
	}
	lc, err := resolveLabel(opt, parts)
	if err != nil {
		return nil, err
	}
	asOf := opt.AsOf
	if asOf == data.NoDate {
		asOf = lc.DataEnd.AddDays(1)
		// Partitions after the data's end are left out too.
		kept := parts[:0]
		for _, p := range parts {
			if p.asOf <= asOf {
				kept = append(kept, p)
			} else {
				later++
			}
		}
		parts = kept
	}
	rv := &reviewer{opt: opt, cfg: cfg, lc: lc, asOf: asOf, z: zScore(cfg.Level), log: log, strID: map[string]int32{}}
	start := time.Now()
	if rv.out, err = loadOutcomes(ctx, opt.Dataset, lc, cfg.Workers); err != nil {
		return nil, fmt.Errorf("read the outcomes: %w", err)
	}
	rv.meas = newMeasured(rv.out, sampleCut(int64(rv.out.n()), cfg.MaxRows), cfg.Seed)
	rv.inputs = Inputs{Out: opt.Out, Data: opt.Dataset.Dir, Partitions: len(parts), LaterPartitions: later, Customers: rv.out.n()}
	log.Info("review: outcomes read", "customers", rv.out.n(), "seconds", time.Since(start).Seconds())
	// Unit tables start large enough for a good share of the customers:
	// growing them costs a rehash each time.
	ivUnits := &unitSet{}
	ivUnits.at.reserve(rv.out.n() / cfg.Workers)
	contacts, err := rv.readInterventions(ctx, ivUnits)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 && rv.inputs.InterventionUnits == 0 {
		return nil, fmt.Errorf("%w: no predictions partition under %s (as of %s or before) and no intervention with a group in %s",
			ErrNothingToReview, opt.Out, asOf, opt.Dataset.Dir)
	}
	runs := make([]PastRun, len(parts))
	sums := make([]tierSums, len(parts))
	// Each goroutine reading partitions takes a worker of its own: its
	// unit set and buffers, reused from partition to partition.
	workers := make(chan *worker, cfg.Workers)
	workers <- &worker{set: ivUnits}
	for range cfg.Workers - 1 {
		w := &worker{set: &unitSet{}}
		w.set.at.reserve(rv.out.n() / cfg.Workers)
		workers <- w
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	for i := range parts {
		g.Go(func() error {
			w := <-workers
			defer func() { workers <- w }()
			var err error
			runs[i], sums[i], err = rv.partition(gctx, &parts[i], w)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	all := (<-workers).set
	for range cfg.Workers - 1 {
		all.absorb((<-workers).set)
	}
	rv.units = all.units
	log.Info("review: partitions read", "partitions", len(parts), "seconds", time.Since(start).Seconds())
	rv.outcomesOfUnits(contacts)
	rep := &Review{SchemaVersion: SchemaVersion, AsOf: asOf.String(), DataEnd: lc.DataEnd.String(), Config: cfg,
		Label: LabelInfo{Mode: string(lc.Mode), HorizonDays: lc.Horizon, GapDays: lc.Gap}, Runs: runs, Generated: now().UTC()}
	rep.Calibration = pooledTiers(sums, rv.z)
	rep.EstimateCheck = estimateCheck(runs)
	rv.plays(rep, contacts != nil)
	rep.Inputs = rv.inputs
	rep.Notes = rv.notes(rep)
	rep.Headline = headline(rep)
	log.Info("review done", "as_of", rep.AsOf, "runs", len(runs), "plays", len(rep.Plays), "seconds", time.Since(start).Seconds())
	return rep, nil
}

// resolveLabel settles the outcome definition: the caller's, else the
// newest partition's model's, else the defaults; resolved for the data and
// capped at the day before the review date.
func resolveLabel(opt Options, parts []partition) (features.LabelConfig, error) {
	lc := opt.Label
	for i := len(parts) - 1; i >= 0; i-- {
		m := parts[i].model.Model
		if m.LabelMode == "" && m.HorizonDays == 0 {
			continue
		}
		if lc.Mode == "" {
			lc.Mode = features.LabelMode(m.LabelMode)
		}
		if lc.Horizon == 0 {
			lc.Horizon = m.HorizonDays
		}
		break
	}
	lc, err := features.ResolveLabel(opt.Dataset, lc)
	if err != nil {
		return lc, fmt.Errorf("label: %w", err)
	}
	if lc.Mode == features.LabelSnapshot || lc.Mode == features.LabelNone {
		return lc, fmt.Errorf("%w: label mode %s; a review needs dated outcomes (churn_events, customers.churn_date or orders)", ErrNoWindow, lc.Mode)
	}
	if opt.AsOf != data.NoDate && (lc.DataEnd == data.NoDate || lc.DataEnd >= opt.AsOf) {
		lc.DataEnd = opt.AsOf.AddDays(-1)
	}
	if lc.DataEnd == data.NoDate {
		return lc, errors.New("label: the data holds no date, so no outcome window can close")
	}
	return lc, nil
}

// intern returns the number of s (new strings are cloned). Callers hold
// rv.mu.
func (rv *reviewer) intern(s string) int32 {
	if id, ok := rv.strID[s]; ok {
		return id
	}
	s = string([]byte(s))
	id := int32(len(rv.strs))
	rv.strs = append(rv.strs, s)
	rv.strID[s] = id
	return id
}

// str returns interned string id, "" for -1.
func (rv *reviewer) str(id int32) string {
	if id < 0 {
		return ""
	}
	return rv.strs[id]
}

// unitTable finds the unit of a customer (by its hash in the customer
// index, unique among the data's ids) and play: an open-addressing table
// whose slots carry the unit's date and source, so that the many
// candidates repeating an earlier unit are dropped after touching one
// slot.
type unitTable struct {
	slots []unitSlot
	n     int
	mask  uint64
}

type unitSlot struct {
	h    uint64
	play int32
	ui   int32 // index in reviewer.units + 1; 0 is empty
	date data.Date
	pred bool
}

// slot returns the slot of (h, play): the unit's, or the empty one to
// fill (then count it with added).
func (t *unitTable) slot(h uint64, play int32) *unitSlot {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	for s := (h ^ uint64(play)*0x9e3779b97f4a7c15) & t.mask; ; s = (s + 1) & t.mask {
		sl := &t.slots[s]
		if sl.ui == 0 || (sl.h == h && sl.play == play) {
			return sl
		}
	}
}

// reserve makes room for about n units without growing; it empties the
// table, so call it first.
func (t *unitTable) reserve(n int) {
	size := 1024
	for size < 2*n {
		size *= 2
	}
	t.slots, t.mask = make([]unitSlot, size), uint64(size-1)
}

func (t *unitTable) grow() {
	old := t.slots
	size := max(1024, 2*len(old))
	t.slots, t.mask = make([]unitSlot, size), uint64(size-1)
	for _, sl := range old {
		if sl.ui != 0 {
			*t.slot(sl.h, sl.play) = sl
		}
	}
}

// candidate is a unit found in a row group, before deduplication: the
// customer by its hash in the customer index (and number, when already
// looked up: else -1), the play, date and source, and the row the whole
// unit is built from if it is kept (most candidates repeat an earlier
// unit and are dropped first).
type candidate struct {
	h    uint64
	play int32
	cust int32
	date data.Date
	row  int32
	pred bool
}

// unitSet holds each customer's first unit per play among the
// candidates added to it, with their table. Each goroutine reading
// partitions has its own (no lock); absorb joins them.
type unitSet struct {
	units []unit
	at    unitTable
}

// add adds candidate units, keeping each customer's first unit per play
// (unit.before): build makes the unit of a kept candidate. The result does
// not depend on the order of calls. A candidate of a customer the data
// does not hold (ids) is dropped and counted in the result.
func (s *unitSet) add(cands []candidate, ids *idIndex, build func(c *candidate) unit) (unknown int64) {
	for k := range cands {
		c := &cands[k]
		sl := s.at.slot(c.h, c.play)
		if sl.ui != 0 && (sl.date < c.date || (sl.date == c.date && (sl.pred || !c.pred))) {
			continue // an earlier (or as early) unit is there
		}
		if c.cust < 0 {
			if c.cust = ids.find(c.h); c.cust < 0 {
				unknown++
				continue
			}
		}
		u := build(c)
		u.h = c.h
		s.put(sl, u)
	}
	return unknown
}

// put stores u in its slot sl (found by slot for u's key), replacing the
// unit there.
func (s *unitSet) put(sl *unitSlot, u unit) {
	if sl.ui != 0 {
		s.units[sl.ui-1] = u
		sl.date, sl.pred = u.date, u.pred
		return
	}
	s.units = append(s.units, u)
	*sl = unitSlot{h: u.h, play: u.play, ui: int32(len(s.units)), date: u.date, pred: u.pred}
	s.at.n++
}

// absorb adds the units of o, keeping each customer's first per play.
func (s *unitSet) absorb(o *unitSet) {
	for i := range o.units {
		u := &o.units[i]
		sl := s.at.slot(u.h, u.play)
		if sl.ui == 0 || u.before(&s.units[sl.ui-1]) {
			s.put(sl, *u)
		}
	}
}

// tierSums are a run's measured rows per tier, for the pooled calibration.
type tierSums struct {
	rows, churned [3]float64
	sumP          [3]float64
}

// partition reads one predictions partition: its run metrics, and its
// targeted rows as candidate units.
// worker is what one goroutine reading partitions holds: its unit set
// and the buffers it reuses.
type worker struct {
	set       *unitSet
	b1, b2    data.Batch
	cands     []candidate
	all, meas scoredRows
}

func (rv *reviewer) partition(ctx context.Context, p *partition, w *worker) (PastRun, tierSums, error) {
	var ts tierSums
	files, n, err := p.open()
	if err != nil {
		return PastRun{}, ts, fmt.Errorf("read the predictions partition %s: %w", p.dir, err)
	}
	defer closeAll(files)
	closed := rv.out.closed(p.asOf)
	set, cands := w.set, w.cands[:0]
	all := &w.all
	all.p, all.tier, all.y = slices.Grow(all.p[:0], int(n)), slices.Grow(all.tier[:0], int(n)), nil
	meas := &w.meas
	meas.p, meas.y, meas.tier = meas.p[:0], append(meas.y[:0], 0)[:0], meas.tier[:0]
	var topY []float64 // labels of the top Capacity rows
	tl := tally{prev: math.Inf(1)}
	var unknown, targeted int64
	var hist data.History
	// Every row group is read in two steps: probabilities and tiers (and
	// the customer ids of a closed run, whose rows are sampled by
	// customer); then, only where the high and medium tiers are (the
	// first row groups: files are in rank order), what units need.
	first := []int{pcTier}
	if closed {
		first = append(first, pcID)
	}
	sel1 := selection(first...)
	sel2 := selection(pcRevenue, pcStage, pcCategory, pcPlay, pcGroup, pcOwner)
	if !closed {
		sel2[pcID] = true
	}
	b1, b2 := &w.b1, &w.b2
	row := 0
	err = each(ctx, files, func(g rowGroup) error {
		if err := g.read(sel1, b1); err != nil {
			return err
		}
		bad := func(c, r int, value string, err error) error {
			return &data.InputError{File: g.path, Row: b1.FirstRow + int64(r), Column: predictionsTable.Columns[c].Name, Value: value, Err: err}
		}
		tierOf := make([]int8, len(b1.Cols[pcTier].Dict))
		for i, s := range b1.Cols[pcTier].Dict {
			tierOf[i] = tierIndex(s)
		}
		probs, tiers := b1.Cols[pcProb].Floats[:b1.N], b1.Cols[pcTier].Codes[:b1.N]
		targets := false
		for r, code := range tiers {
			prob, tier := probs[r], tierOf[code]
			if !(prob >= 0 && prob <= 1) {
				return bad(pcProb, r, fmt.Sprint(prob), errors.New("a churn probability must be in [0, 1]"))
			}
			if tier < 0 {
				return bad(pcTier, r, b1.Cols[pcTier].Dict[code], errors.New("want high, medium or low"))
			}
			tl.add(prob, tier)
			all.p, all.tier = append(all.p, prob), append(all.tier, tier)
			targets = targets || tier <= 1
		}
		ids := &b1.Cols[pcID]
		var c []data.Vec
		var plays, stages, cats, owners []int32
		var groups []int8 // 1 treat, 0 control, -1 other
		if targets {
			if err := g.read(sel2, b2); err != nil {
				return err
			}
			c = b2.Cols
			if !closed {
				ids = &c[pcID]
			}
			if !c[pcGroup].Absent {
				plays, stages, cats, owners = rv.codes(&c[pcPlay]), rv.codes(&c[pcStage]), rv.codes(&c[pcCategory]), rv.codes(&c[pcOwner])
				groups = make([]int8, len(c[pcGroup].Dict))
				for i, s := range c[pcGroup].Dict {
					groups[i] = groupIndex(s)
				}
			}
		}
		for r := 0; r < b1.N; r, row = r+1, row+1 {
			group := int8(-1)
			if groups != nil && c[pcGroup].Codes[r] >= 0 {
				if group = groups[c[pcGroup].Codes[r]]; group < 0 {
					return bad(pcGroup, r, c[pcGroup].Str(r), errors.New("want treat or control"))
				}
			}
			top := closed && row < rv.cfg.Capacity
			if group < 0 && !closed {
				continue
			}
			id := ids.Str(r)
			h := rv.out.ids.hashOf(id)
			sampled := closed && rv.meas.has(h, rv.cfg.Seed)
			if group < 0 && !sampled && !top {
				continue
			}
			prob, tier := probs[r], tierOf[tiers[r]]
			ci := int32(-1)
			if sampled || top {
				var rec *custOutcome
				switch {
				case sampled && rv.meas.cut != math.MaxUint64:
					if j := rv.meas.find(h); j >= 0 {
						ci, rec = rv.meas.num[j], &rv.meas.rec[j]
					}
				default:
					if ci = rv.out.ids.find(h); ci >= 0 {
						rec = &rv.out.cust[ci]
					}
				}
				if rec == nil {
					unknown++
					continue
				}
				y, active := rv.out.labelOf(rec, p.asOf, &hist)
				if !active {
					y = math.NaN()
				}
				if top {
					topY = append(topY, y)
				}
				if sampled && !math.IsNaN(y) {
					meas.p, meas.y, meas.tier = append(meas.p, prob), append(meas.y, y), append(meas.tier, tier)
				}
			}
			if group < 0 {
				continue
			}
			targeted++
			pl := code(plays, &c[pcPlay], r)
			if pl < 0 {
				return bad(pcPlay, r, "", fmt.Errorf("%w: a row with a treatment_group needs its play", data.ErrNull))
			}
			cands = append(cands, candidate{h: h, play: pl, cust: ci, date: p.asOf, row: int32(r), pred: true})
		}
		unknown += set.add(cands, &rv.out.ids, func(cd *candidate) unit {
			r := int(cd.row)
			return unit{cust: cd.cust, date: cd.date, play: cd.play, treat: groups[c[pcGroup].Codes[r]] == 1, pred: true, tier: tierOf[tiers[r]],
				stage: code(stages, &c[pcStage], r), cat: code(cats, &c[pcCategory], r), owner: code(owners, &c[pcOwner], r), prob: probs[r], mrr: c[pcRevenue].Float(r) / 12}
		})
		cands = cands[:0]
		return nil
	})
	w.cands = cands
	if err != nil {
		return PastRun{}, ts, fmt.Errorf("read the predictions partition %s: %w", p.dir, err)
	}
	rv.mu.Lock()
	rv.inputs.PredictionRows += int64(len(all.p))
	rv.inputs.TargetedRows += targeted
	rv.inputs.UnknownCustomers += unknown
	rv.mu.Unlock()
	run := rv.runMetrics(p, closed, all, &tl, meas, topY, &ts)
	run.Targeted = int(targeted)
	return run, ts, nil
}

// codes maps a row group's dictionary of a string column to interned
// strings.
func (rv *reviewer) codes(v *data.Vec) []int32 {
	m := make([]int32, len(v.Dict))
	rv.mu.Lock()
	for i, s := range v.Dict {
		m[i] = rv.intern(s)
	}
	rv.mu.Unlock()
	return m
}

// code returns row r's interned string of a column mapped by m, -1 when
// null.
func code(m []int32, v *data.Vec, r int) int32 {
	if v.Absent || v.Codes[r] < 0 {
		return -1
	}
	return m[v.Codes[r]]
}

func groupIndex(s string) int8 {
	switch s {
	case data.GroupTreat:
		return 1
	case data.GroupControl:
		return 0
	}
	return -1
}

// runMetrics measures one run: estimates from every row's probability,
// and, for a closed window, the realised metrics on the measured rows.
// tally sums a run's rows per tier as they are read, and whether they come
// in rank order.
type tally struct {
	rows, sumP [3]float64
	prev       float64
	unsorted   bool
}

func (t *tally) add(p float64, tier int8) {
	t.rows[tier]++
	t.sumP[tier] += p
	t.unsorted = t.unsorted || p > t.prev
	t.prev = p
}

// expectedConfusion is the expected confusion matrix at the tier cut
// (high and medium flagged) when labels are Bernoulli(p).
func (t *tally) expectedConfusion() Confusion {
	flagged := t.rows[0] + t.rows[1]
	tp, fn := t.sumP[0]+t.sumP[1], t.sumP[2]
	return confusion(flagged+t.rows[2], flagged, [4]float64{tp, flagged - tp, fn, t.rows[2] - fn})
}

func (rv *reviewer) runMetrics(p *partition, closed bool, all *scoredRows, tl *tally, meas *scoredRows, topY []float64, ts *tierSums) PastRun {
	cfg := rv.cfg
	nan := Num(math.NaN())
	none := CI{nan, nan}
	run := PastRun{AsOf: p.asOf.String(), Status: "open", WindowEnd: rv.lc.Spec().LastDay(p.asOf).String(), ModelVersion: p.model.ModelVersion,
		Rows: all.Len(), Capacity: cfg.Capacity, BaseRate: nan, ROCAUC: nan, ROCAUCCI: none, PRAUC: nan, PRAUCCI: none,
		TopDecileLift: nan, TopDecileLiftCI: none, PrecisionAtCapacity: nan}
	if tl.unsorted {
		all.sortByRank()
	}
	// Estimates.
	est := rv.estimate(all, p.asOf)
	run.EstimatedChurnRate = Num(ratio(tl.sumP[0]+tl.sumP[1]+tl.sumP[2], float64(all.Len())))
	run.EstimatedROCAUC, run.EstimatedROCAUCCI = est.auc.num(), est.auc.ci()
	run.EstimatedPrecisionAtCapacity, run.EstimatedPrecisionAtCapacityCI = est.prec.num(), est.prec.ci()
	run.EstimatedConfusion = tl.expectedConfusion()
	var tiers [3]Tier
	for t := range tiers {
		tiers[t] = Tier{Tier: tierNames[t], Rows: int(tl.rows[t]), MeanProbability: Num(ratio(tl.sumP[t], tl.rows[t])), ChurnRate: nan, ChurnRateCI: none}
	}
	run.Tiers = tiers[:]
	if !closed {
		return run
	}
	run.Status = "closed"
	meas.sortByRank()
	run.MeasuredRows = meas.Len()
	for k, y := range meas.y {
		t := meas.tier[k]
		ts.rows[t]++
		ts.churned[t] += y
		ts.sumP[t] += meas.p[k]
		run.Churned += int(y)
	}
	for t := range tiers {
		tiers[t].Measured, tiers[t].Churned = int(ts.rows[t]), int(ts.churned[t])
		lo, hi := wilson(ts.churned[t], ts.rows[t], rv.z)
		tiers[t].ChurnRate, tiers[t].ChurnRateCI = Num(ratio(ts.churned[t], ts.rows[t])), CI{Num(lo), Num(hi)}
	}
	run.BaseRate = Num(ratio(float64(run.Churned), float64(run.MeasuredRows)))
	var known, pos float64
	for _, y := range topY {
		if !math.IsNaN(y) {
			known++
			pos += y
		}
	}
	run.PrecisionAtCapacity = Num(ratio(pos, known))
	c := realisedConfusion(meas)
	run.Confusion = &c
	auc, ap, lift := rv.bootstrap(meas, p.asOf)
	run.ROCAUC, run.ROCAUCCI = auc.num(), auc.ci()
	run.PRAUC, run.PRAUCCI = ap.num(), ap.ci()
	run.TopDecileLift, run.TopDecileLiftCI = lift.num(), lift.ci()
	return run
}

// rng returns the random stream of a purpose (stream) in a run (date),
// seeded by the config's seed.
func (rv *reviewer) rng(date data.Date, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(rv.cfg.Seed, uint64(uint32(date))<<32|stream))
}

// estimates are a run's expected metrics from its probabilities.
type estimates struct {
	auc, prec interval
}

// estimate computes the expected ROC AUC and precision at capacity of
// rows (rank order). The AUC's interval comes from labels
// simulated from the probabilities: Resamples draws of every row's label
// as Bernoulli(p) on a seeded sample of SampleRows rows, whose AUCs'
// standard deviation, scaled by √(sample ÷ rows), gives a normal interval
// around the expected AUC. Precision at capacity is a mean of independent
// Bernoulli labels: its variance Σp(1−p)/K² is exact.
func (rv *reviewer) estimate(rows *scoredRows, date data.Date) estimates {
	cfg := rv.cfg
	n := rows.Len()
	e := estimates{auc: interval{math.NaN(), math.NaN(), math.NaN()}, prec: interval{math.NaN(), math.NaN(), math.NaN()}}
	if n == 0 {
		return e
	}
	e.auc.v = expectedAUC(rows.p)
	k := min(cfg.Capacity, n)
	var sp, spq float64
	for _, p := range rows.p[:k] {
		sp += p
		spq += p * (1 - p)
	}
	sd := math.Sqrt(spq) / float64(k)
	e.prec = interval{sp / float64(k), math.Max(0, sp/float64(k)-rv.z*sd), math.Min(1, sp/float64(k)+rv.z*sd)}
	if math.IsNaN(e.auc.v) {
		return e
	}
	sub := rows.sample(cfg.SampleRows, rv.rng(date, 1))
	m := sub.Len()
	// AUC by the rank-sum (Mann–Whitney) formula, one pass per labelling.
	rank := midRanks(sub.p)
	aucs := make([]float64, 0, cfg.Resamples)
	r := rv.rng(date, 2)
	for range cfg.Resamples {
		var n1, sum float64
		for i, p := range sub.p {
			if r.Float64() < p {
				n1++
				sum += rank[i]
			}
		}
		if n0 := float64(m) - n1; n1 > 0 && n0 > 0 {
			aucs = append(aucs, (sum-n1*(n1+1)/2)/(n1*n0))
		}
	}
	if len(aucs) >= 2 {
		half := rv.z * metrics.StdDev(aucs) * math.Sqrt(float64(m)/float64(n))
		e.auc.lo, e.auc.hi = math.Max(0, e.auc.v-half), math.Min(1, e.auc.v+half)
	}
	return e
}

// midRanks returns the ascending mid-ranks of probabilities p in
// decreasing order (ties share the mean of their ranks): with them the AUC
// of a labelling is (Σ ranks of churners − n₁(n₁+1)/2) ÷ (n₁·n₀), the
// Mann–Whitney statistic, ties counting half.
func midRanks(p []float64) []float64 {
	m := len(p)
	rank := make([]float64, m)
	for k := 0; k < m; {
		j := k
		for j < m && p[j] == p[k] {
			j++
		}
		// Rows k…j−1 hold ascending ranks m−j+1 … m−k.
		mid := float64(2*m-j-k+1) / 2
		for ; k < j; k++ {
			rank[k] = mid
		}
	}
	return rank
}

// bootstrap measures ROC AUC, PR AUC and top-decile lift of the measured
// rows (rank order) with percentile intervals: Resamples resamples with
// replacement of a seeded sample of SampleRows of them, the distances from
// the sample's own estimates scaled by √(sample ÷ measured rows).
func (rv *reviewer) bootstrap(rows *scoredRows, date data.Date) (auc, ap, lift interval) {
	cfg := rv.cfg
	nan := math.NaN()
	auc, ap, lift = interval{nan, nan, nan}, interval{nan, nan, nan}, interval{nan, nan, nan}
	n := rows.Len()
	if n == 0 {
		return
	}
	auc.v, ap.v = metrics.RankAreas(rows.blocks(), rows.y, nil, nil)
	lift.v = topDecileLift(rows.y, nil)
	sub := rows.sample(cfg.SampleRows, rv.rng(date, 3))
	m := sub.Len()
	blocks := sub.blocks()
	key, w := make([]int, m), make([]float64, m)
	for i := range key {
		key[i] = i
	}
	subAUC, subAP := metrics.RankAreas(blocks, sub.y, nil, nil)
	subLift := topDecileLift(sub.y, nil)
	va, vp, vl := make([]float64, cfg.Resamples), make([]float64, cfg.Resamples), make([]float64, cfg.Resamples)
	for b := range cfg.Resamples {
		r := rand.New(rand.NewPCG(rv.cfg.Seed^uint64(uint32(date)), 0xb007+uint64(b)))
		clear(w)
		for range m {
			w[r.IntN(m)]++
		}
		va[b], vp[b] = metrics.RankAreas(blocks, sub.y, key, w)
		vl[b] = topDecileLift(sub.y, w)
	}
	scale := math.Sqrt(float64(m) / float64(n))
	auc = scaledPercentile(va, auc.v, subAUC, scale, cfg.Level)
	ap = scaledPercentile(vp, ap.v, subAP, scale, cfg.Level)
	lift = scaledPercentile(vl, lift.v, subLift, scale, cfg.Level)
	return
}

// realisedConfusion is the confusion matrix at the tier cut of labelled
// rows.
func realisedConfusion(rows *scoredRows) Confusion { return confusionAtCut(rows.tier, rows.y) }

// confusionAtCut counts the rows above and below the tier cut by their
// chance to churn v: the labels (0 or 1) make counts, probabilities
// expected counts.
func confusionAtCut(tier []int8, v []float64) Confusion {
	var c [4]float64 // tp fp fn tn
	var flagged float64
	for k, x := range v {
		if tier[k] <= 1 {
			flagged++
			c[0] += x
			c[1] += 1 - x
		} else {
			c[2] += x
			c[3] += 1 - x
		}
	}
	return confusion(float64(len(v)), flagged, c)
}

func confusion(n, flagged float64, c [4]float64) Confusion {
	return Confusion{Rows: Num(n), Flagged: Num(flagged), TP: Num(c[0]), FP: Num(c[1]), FN: Num(c[2]), TN: Num(c[3]),
		Precision: Num(ratio(c[0], c[0]+c[1])), Recall: Num(ratio(c[0], c[0]+c[2]))}
}

// pooledTiers sums the closed runs' measured rows per tier.
func pooledTiers(sums []tierSums, z float64) []Tier {
	var all tierSums
	for _, s := range sums {
		for t := range 3 {
			all.rows[t] += s.rows[t]
			all.churned[t] += s.churned[t]
			all.sumP[t] += s.sumP[t]
		}
	}
	out := make([]Tier, 3)
	for t := range out {
		lo, hi := wilson(all.churned[t], all.rows[t], z)
		out[t] = Tier{Tier: tierNames[t], Rows: int(all.rows[t]), MeanProbability: Num(ratio(all.sumP[t], all.rows[t])),
			Measured: int(all.rows[t]), Churned: int(all.churned[t]), ChurnRate: Num(ratio(all.churned[t], all.rows[t])), ChurnRateCI: CI{Num(lo), Num(hi)}}
	}
	return out
}

// estimateCheck compares the closed runs' estimated and realised AUCs.
func estimateCheck(runs []PastRun) EstimateCheck {
	var ec EstimateCheck
	var abs, signed float64
	for _, r := range runs {
		if r.Status != "closed" || !r.ROCAUC.Valid() || !r.EstimatedROCAUC.Valid() {
			continue
		}
		ec.ClosedRuns++
		d := r.ROCAUC.F() - r.EstimatedROCAUC.F()
		abs += math.Abs(d)
		signed += d
		if r.EstimatedROCAUCCI[0].Valid() && r.ROCAUC >= r.EstimatedROCAUCCI[0] && r.ROCAUC <= r.EstimatedROCAUCCI[1] {
			ec.Within++
		}
	}
	n := float64(ec.ClosedRuns)
	ec.Share, ec.MeanAbsError, ec.MeanSignedErr = Num(ratio(float64(ec.Within), n)), Num(ratio(abs, n)), Num(ratio(signed, n))
	return ec
}
