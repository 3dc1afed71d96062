package features

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
)

// Batch is a block of feature rows in columnar form: one Vec per column of
// Spec.Columns (customer_id, as_of, the features, label).
type Batch struct {
	N    int
	Cols []data.Vec
	// Customers holds the customers rows of the batch's customers when
	// requested (RunOptions.KeepCustomers), one per row.
	Customers []data.Customer

	encoded             *data.RowGroup
	labelled, positives int64
}

// Builder computes feature rows for a dataset under a spec.
type Builder struct {
	ds    *data.Dataset
	spec  *Spec
	label LabelConfig
	mask  groupMask
	scan  data.ScanOptions
	// attr[i] is, for spec feature i, the index of its customer attribute
	// (or -1 for fixed features); id[i] its position in Values (fixed
	// features), found by name: a spec read back from JSON carries names,
	// not positions.
	attr []int
	id   []int
	// life says the spec has lifetime features, computed with the fit of
	// spec.Lifetime dated lifeDates' latest on or before T.
	life      bool
	lifeDates []data.Date
}

// NewBuilder prepares computing the features of spec over ds. The label
// config must be the one NewSpec returned (mode resolved, data end known).
func NewBuilder(ds *data.Dataset, spec *Spec, lc LabelConfig) (*Builder, error) {
	b := &Builder{ds: ds, spec: spec, label: lc, mask: maskOf(spec.Config.Groups)}
	if b.life = spec.hasLifetime(); b.life {
		var err error
		if b.lifeDates, err = spec.lifetimeDates(); err != nil {
			return nil, err
		}
	}
	has := datasetHas(ds)
	attrs := ds.Table(data.Customers).Attrs
	tables := map[string]bool{}
	fixed := map[string]int{}
	for i, d := range defs(&spec.Config) {
		fixed[d.Name] = i
	}
	for _, d := range spec.Features {
		id, ok := fixed[d.Name]
		if d.Group != "attributes" && !ok {
			return nil, fmt.Errorf("feature %s (from churn %s) is not known to this churn version; rebuild the features or retrain the model", d.Name, spec.ChurnVersion)
		}
		if d.Group == "attributes" {
			id = -1
		} else if want := defs(&spec.Config)[id].Kind; d.Kind != want {
			return nil, fmt.Errorf("feature %s is %s in the spec but %s in this churn version", d.Name, d.Kind, want)
		}
		b.id = append(b.id, id)
		idx := -1
		if d.Group == "attributes" {
			name := strings.TrimPrefix(d.Needs[0][0], "customers.")
			idx = slices.IndexFunc(attrs, func(a data.AttrColumn) bool { return a.Name == name })
			if idx < 0 {
				return nil, fmt.Errorf("the dataset has no customer attribute %q", name)
			}
			b.scan.Attrs = true
		} else if !available(d.Needs, has) {
			return nil, fmt.Errorf("the dataset cannot provide feature %s (needs %v)", d.Name, d.Needs)
		}
		b.attr = append(b.attr, idx)
		for _, alt := range d.Needs {
			for _, item := range alt {
				t, _, _ := strings.Cut(item, ".")
				if has(t, "") && t != data.Customers {
					tables[t] = true
				}
			}
		}
	}
	// Labels need these too.
	switch lc.Mode {
	case LabelChurnEvents, LabelNone:
		if has(data.ChurnEvents, "") {
			tables[data.ChurnEvents] = true
		}
	case LabelInactivity:
		tables[data.Orders] = true
	}
	for _, t := range data.TableNames() {
		if tables[t] {
			b.scan.Tables = append(b.scan.Tables, t)
		}
	}
	if b.scan.Tables == nil {
		b.scan.Tables = []string{}
	}
	// Decode only the columns the computations read.
	b.scan.Columns = map[string][]string{
		data.Customers:  {"signup_date", "plan", "segment", "region", "seats", "mrr", "contract_end", "churn_date", "churned"},
		data.UsageTable: {"date", "active_users", "sessions", "minutes"},
		data.Contacts:   {"ts", "kind", "direction"},
		data.Tickets:    {"opened_at", "closed_at", "category", "escalated", "csat"},
		data.Orders:     {"ts", "amount"},
	}
	if u := ds.Table(data.UsageTable); u != nil && u.HasColumn("active_users") && u.HasColumn("sessions") {
		// Use is seen in active users and sessions; minutes only matter
		// without them.
		b.scan.Columns[data.UsageTable] = []string{"date", "active_users", "sessions"}
	}
	return b, nil
}

// ScanOptions returns what the builder reads of the dataset: the tables and
// columns its features and labels need (a distributed reader keys these
// tables by customer and assembles the data.History Row takes). With
// wholeCustomers the customers table is read whole (owner included), as
// RunOptions.KeepCustomers reads it. The maps are the caller's.
func (b *Builder) ScanOptions(wholeCustomers bool) data.ScanOptions {
	scan := b.scan
	scan.Tables = slices.Clone(scan.Tables)
	scan.Columns = maps.Clone(scan.Columns)
	if wholeCustomers {
		delete(scan.Columns, data.Customers)
	}
	return scan
}

// Row computes one feature row of the customer in h as of T into the
// columns of dst (appending), unless the customer is not a customer at T.
// It reports whether a row was added; a feature that overflows is an
// *OverflowError. Row is a pure function of h, T and the builder's spec
// (with its lifetime fits: see Spec.LifetimeAt) and label config.
func (b *Builder) Row(h *data.History, T data.Date, asOfKnown bool, vals *Values, dst *Batch) (bool, error) {
	label, active := Label(h, T, &b.label)
	if !active {
		return false, nil
	}
	if err := computeMask(h, T, &b.spec.Config, b.mask, vals); err != nil {
		return false, err
	}
	if b.life {
		if err := ComputeLifetime(h, T, b.spec.lifetimeAt(b.lifeDates, T), &b.spec.Config, vals); err != nil {
			return false, err
		}
	}
	for i, d := range b.spec.Features {
		if a := b.attr[i]; a >= 0 && d.Kind != Categorical && overflows(h.Customer.Attrs[a].Num) {
			return false, &OverflowError{Customer: h.Customer.ID, AsOf: T, Feature: d.Name, Value: h.Customer.Attrs[a].Num, Columns: d.Needs[0]}
		}
	}
	cols := dst.Cols
	cols[0].AppendUnique(h.Customer.ID)
	if asOfKnown {
		cols[1].AppendDate(T)
	} else {
		cols[1].AppendNull()
	}
	for i, d := range b.spec.Features {
		v := &cols[2+i]
		if a := b.attr[i]; a >= 0 {
			av := h.Customer.Attrs[a]
			switch {
			case av.Null && d.Kind == Categorical:
				v.AppendNull()
			case d.Kind == Categorical:
				v.AppendString(av.Str)
			default:
				v.AppendFloat(av.Num)
			}
			continue
		}
		if d.Kind == Categorical {
			if s := vals.Cat[b.id[i]]; s != "" {
				v.AppendString(s)
			} else {
				v.AppendNull()
			}
			continue
		}
		v.AppendFloat(vals.Num[b.id[i]])
	}
	lv := &cols[len(cols)-1]
	if math.IsNaN(label) {
		lv.AppendNull()
	} else {
		lv.AppendInt(int64(label))
	}
	dst.N++
	return true, nil
}

// NewBatch returns an empty batch for the builder's columns with room for
// capacity rows.
func (b *Builder) NewBatch(capacity int) *Batch {
	specs := b.spec.Columns()
	bt := &Batch{Cols: make([]data.Vec, len(specs))}
	for i, c := range specs {
		bt.Cols[i] = data.NewVec(c.Type)
		bt.Cols[i].Grow(capacity)
	}
	return bt
}

// Stats counts what a run saw.
type Stats struct {
	Customers int64 // customers in the dataset (scanned)
	Rows      int64 // feature rows written (customer × as-of)
	Labelled  int64 // rows with a known label
	Positives int64 // rows labelled 1
	Scan      data.ScanStats
}

// Run computes the rows for every customer and as-of date, in parallel over
// customer shards, and calls emit with each shard's batch in customer_id
// order (emit runs on one goroutine at a time). Within a customer, rows
// follow the order of dates. If dates is empty the table is a snapshot
// without dates (LabelSnapshot): one row per customer with a null as_of,
// computed as of the day after the data end.
func (b *Builder) Run(ctx context.Context, dates []data.Date, workers int, keepCustomers bool, emit func(*Batch) error) (Stats, error) {
	return b.RunWith(ctx, RunOptions{Dates: dates, Workers: workers, KeepCustomers: keepCustomers}, emit)
}

// RunOptions configures RunWith.
type RunOptions struct {
	Dates         []data.Date
	Workers       int  // default GOMAXPROCS
	KeepCustomers bool // fill Batch.Customers
	// Prepare, when set, is called with each shard's batch on the worker
	// goroutine that computed it, before the batch is handed to emit: work
	// done there (such as encoding the batch) runs in parallel.
	Prepare func(*Batch) error
	// Keep, when set, chooses the customers whose rows are computed (by
	// id); the others are read but skipped. It is called from several
	// goroutines.
	Keep func(customerID string) bool
	// DatesOf, when set, gives each customer's own as-of dates (ascending)
	// in place of Dates: a customer's rows are computed at its dates only
	// (none when it returns none). It is called from several goroutines.
	DatesOf func(customerID string) []data.Date
	// BatchRows is about how many rows a batch holds (a customer's rows
	// are never split); 0 means DefaultBatchRows.
	BatchRows int
}

// DefaultBatchRows is the default size of a Batch: large enough that the
// per-batch work (a Parquet row group, a scoring call) is amortised, small
// enough that the batches in flight take tens of megabytes whatever the
// size of the data.
const DefaultBatchRows = 1 << 14

func (o *RunOptions) batchRows() int {
	if o.BatchRows > 0 {
		return o.BatchRows
	}
	return DefaultBatchRows
}

// RunWith is Run with options.
func (b *Builder) RunWith(ctx context.Context, opt RunOptions, emit func(*Batch) error) (Stats, error) {
	dates, workers, keepCustomers := opt.Dates, opt.Workers, opt.KeepCustomers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	asOfKnown := len(dates) > 0 || opt.DatesOf != nil
	if opt.DatesOf == nil && !asOfKnown {
		var err error
		if dates, err = snapshotDates(dates, &b.label); err != nil {
			return Stats{}, err
		}
	}
	// Callers keeping the customers rows want them whole (owner included).
	scan := b.ScanOptions(keepCustomers)
	// Customers not kept are read (the scan must pass their rows) but not
	// bound nor computed.
	scan.Keep = opt.Keep
	shards := b.ds.Shards(workers * 16)
	perShard := int(b.ds.Table(data.Customers).NumRows()) / len(shards) * max(1, len(dates)) * 11 / 10
	batchRows := min(perShard, opt.batchRows())
	// Each shard's rows come in batches of about batchRows (a customer's
	// rows are never split), in order, through the shard's channel, which
	// the worker closes when the shard is done. A worker builds one batch
	// at a time; a shard's finished batches wait in its channel until the
	// shards before it are emitted (Build encodes and compresses them on
	// the worker first, so they wait small). Memory thus holds one batch
	// per worker being built plus the finished batches of the shards in
	// flight (sem): bounded by the size of a shard (a row group of the
	// customers table), not by the size of the data.
	type result struct {
		batch *Batch
		stats data.ScanStats // with the shard's last batch
	}
	results := make([]chan result, len(shards))
	for i := range results {
		results[i] = make(chan result, perShard/batchRows+2)
	}
	g, gctx := errgroup.WithContext(ctx)
	// Bound the shards in flight (computed but not yet emitted): enough
	// that a slow shard does not leave the other workers idle.
	sem := make(chan struct{}, 2*workers)
	next := make(chan int)
	g.Go(func() error {
		defer close(next)
		for i := range shards {
			select {
			case sem <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for w := 0; w < workers; w++ {
		g.Go(func() error {
			var vals Values
			for i := range next {
				bt := b.NewBatch(batchRows)
				// send hands a finished batch to the emitter, after the
				// labels are counted and Prepare ran on it.
				send := func(bt *Batch, st data.ScanStats) error {
					lv := &bt.Cols[len(bt.Cols)-1]
					for k := 0; k < bt.N; k++ {
						if x := lv.Ints[k]; x != data.NullInt {
							bt.labelled++
							bt.positives += x
						}
					}
					if opt.Prepare != nil {
						if err := opt.Prepare(bt); err != nil {
							return err
						}
					}
					select {
					case results[i] <- result{bt, st}:
						return nil
					case <-gctx.Done():
						return gctx.Err()
					}
				}
				st, err := b.ds.Scan(gctx, shards[i], scan, func(h *data.History) error {
					at := dates
					if opt.DatesOf != nil {
						at = opt.DatesOf(h.Customer.ID)
					}
					for _, T := range at {
						added, err := b.Row(h, T, asOfKnown, &vals, bt)
						if err != nil {
							return err
						}
						if added && keepCustomers {
							c := h.Customer
							c.Attrs = nil
							bt.Customers = append(bt.Customers, c)
						}
					}
					if bt.N >= batchRows {
						if err := send(bt, data.ScanStats{}); err != nil {
							return err
						}
						bt = b.NewBatch(batchRows)
					}
					return nil
				})
				if err != nil {
					return err
				}
				if err := send(bt, st); err != nil {
					return err
				}
				close(results[i])
			}
			return nil
		})
	}
	var stats Stats
	g.Go(func() error {
		for i := range shards {
			for {
				var r result
				var ok bool
				select {
				case r, ok = <-results[i]:
				case <-gctx.Done():
					return gctx.Err()
				}
				if !ok {
					break
				}
				stats.Scan.Merge(r.stats)
				stats.Customers += r.stats.Customers
				stats.Rows += int64(r.batch.N)
				stats.Labelled += r.batch.labelled
				stats.Positives += r.batch.positives
				if err := emit(r.batch); err != nil {
					return err
				}
			}
			<-sem
		}
		return nil
	})
	err := g.Wait()
	return stats, err
}

// snapshotDates returns dates, or when it is empty (a dateless snapshot
// table) the one date its rows are computed at: the day after the data end.
func snapshotDates(dates []data.Date, lc *LabelConfig) ([]data.Date, error) {
	if len(dates) > 0 {
		return dates, nil
	}
	if lc.Mode != LabelSnapshot {
		return nil, fmt.Errorf("an as-of date is needed for label mode %s", lc.Mode)
	}
	T := data.MakeDate(9999, 12, 31)
	if lc.DataEnd != data.NoDate {
		T = lc.DataEnd.AddDays(1)
	}
	return []data.Date{T}, nil
}

// BuildOptions configures Build.
type BuildOptions struct {
	// AsOf lists the snapshot dates; empty builds a dateless snapshot table
	// (label mode snapshot only).
	AsOf    []data.Date
	Config  Config
	Label   LabelConfig
	Workers int // default GOMAXPROCS
	// Writer sets the Parquet output; Writer.ChurnVersion is also recorded
	// in the spec.
	Writer data.WriterOptions
	// Keep, when set, chooses the customers in the table (CustomerFilter
	// and Holdout make them); nil keeps every customer.
	Keep func(customerID string) bool
	// Shard, when its Count is set, builds only the customers of that
	// shard (data.ShardOf) as a shard file for MergeShards: the footer
	// records the shard (churn.shard) and the customers scanned. The spec
	// — lifetime fits included, which are fitted on every customer's
	// orders — is the one the whole table would have.
	Shard data.Shard
}

// Build computes the feature table of ds and writes it as Parquet to w, with
// the spec in the footer. It returns the spec and counts.
func Build(ctx context.Context, ds *data.Dataset, opt BuildOptions, w io.Writer) (*Spec, Stats, error) {
	spec, b, err := newBuild(ctx, ds, &opt)
	if err != nil {
		return nil, Stats{}, err
	}
	st, err := writeTable(ctx, ds, spec, b, opt, nil, w)
	if err != nil {
		return nil, st, err
	}
	return spec, st, nil
}

// writeTable computes the rows of b and writes them as Parquet to w, with
// spec in the footer. With a sample plan it writes only the plan's
// customers, with their weights (SampleColumns) and the plan in the footer.
func writeTable(ctx context.Context, ds *data.Dataset, spec *Spec, b *Builder, opt BuildOptions, sample *sampleWeights, w io.Writer) (Stats, error) {
	wo, err := spec.WriterOptions(opt.Writer)
	if err != nil {
		return Stats{}, err
	}
	keep := opt.Keep
	if sh := opt.Shard; sh.Count > 0 {
		if sh.Index < 0 || sh.Index >= sh.Count {
			return Stats{}, fmt.Errorf("features: %w %v", data.ErrBadShard, sh)
		}
		wo.Metadata[shardKey] = sh.String()
		wo.Metadata[shardCustomersKey] = strconv.FormatInt(ds.Table(data.Customers).NumRows(), 10)
		keep = func(id string) bool { return sh.Keeps(id) && (opt.Keep == nil || opt.Keep(id)) }
	}
	cols := spec.Columns()
	if sample != nil {
		if wo.Metadata[SampleMetadataKey], err = sample.plan.Encode(); err != nil {
			return Stats{}, err
		}
		cols = SampleColumns(spec)
		keep = sample.keeps
	}
	pw, err := data.NewWriter(w, cols, wo)
	if err != nil {
		return Stats{}, err
	}
	// Each shard's batch becomes one row group, encoded and compressed on
	// the worker that computed it and committed in customer order.
	encode := func(bt *Batch) error {
		if sample != nil {
			bt.Cols = append(bt.Cols, sample.column(bt))
		}
		rg := pw.BeginRowGroup()
		if err := rg.Write(bt.N, bt.Cols); err != nil {
			return err
		}
		bt.encoded = rg
		bt.Cols = nil // encoded: let the values go
		return nil
	}
	st, err := b.RunWith(ctx, RunOptions{Dates: opt.AsOf, Workers: opt.Workers, Prepare: encode, Keep: keep}, func(bt *Batch) error {
		return bt.encoded.Commit()
	})
	if err != nil {
		return st, err
	}
	return st, pw.Close()
}

// newBuild makes a fresh spec for a build of ds at opt.AsOf and its
// builder: the features the dataset supports, the label settings resolved,
// and the lifetime fits at the build's as-of dates (FitLifetime), so that
// each row as of T uses the parameters fitted at T.
func newBuild(ctx context.Context, ds *data.Dataset, opt *BuildOptions) (*Spec, *Builder, error) {
	spec, lc, err := NewSpec(ds, opt.Config, opt.Label)
	if err != nil {
		return nil, nil, err
	}
	if spec.ChurnVersion = opt.Writer.ChurnVersion; spec.ChurnVersion == "" {
		spec.ChurnVersion = "dev"
	}
	first, _ := DataRange(ds)
	if err := checkAsOf(opt.AsOf, first, lc.DataEnd); err != nil {
		return nil, nil, err
	}
	for _, d := range opt.AsOf {
		spec.AsOf = append(spec.AsOf, d.String())
	}
	if spec.hasLifetime() {
		dates, err := snapshotDates(opt.AsOf, &lc)
		if err != nil {
			return nil, nil, err
		}
		if spec.Lifetime, err = FitLifetime(ctx, ds, dates, opt.Workers); err != nil {
			return nil, nil, fmt.Errorf("fit the lifetime models: %w", err)
		}
	}
	b, err := NewBuilder(ds, spec, lc)
	if err != nil {
		return nil, nil, err
	}
	return spec, b, nil
}

// BuildFile is Build to a file, written atomically: on error nothing is
// left at path.
func BuildFile(ctx context.Context, ds *data.Dataset, opt BuildOptions, path string) (*Spec, Stats, error) {
	f, err := data.CreateAtomic(path)
	if err != nil {
		return nil, Stats{}, err
	}
	defer f.Abort()
	spec, st, err := Build(ctx, ds, opt, f)
	if err != nil {
		return nil, st, err
	}
	return spec, st, f.Commit()
}

// NewBuild prepares a build of ds with opt as Build does — the spec, with
// the lifetime fits at opt.AsOf, and its Builder — without computing any
// row: a distributed pipeline (churn-beam) computes the rows per customer
// with Builder.Row and writes them with Spec.WriterOptions. opt.Keep and
// opt.Shard are not used.
func NewBuild(ctx context.Context, ds *data.Dataset, opt BuildOptions) (*Spec, *Builder, error) {
	return newBuild(ctx, ds, &opt)
}

// RowDates returns the dates a table built at dates has rows at, and
// whether its as_of column holds them: dates themselves, or for a dateless
// snapshot table (no dates, label mode snapshot) the one date its rows are
// computed at, the day after the data end, with a null as_of. Row takes
// each date and the flag.
func (b *Builder) RowDates(dates []data.Date) ([]data.Date, bool, error) {
	at, err := snapshotDates(dates, &b.label)
	return at, len(dates) > 0, err
}

// Label returns the builder's label config: the one NewSpec resolved (mode
// and data end known), which NewBuilder takes.
func (b *Builder) Label() LabelConfig { return b.label }

// WriterOptions returns wo completed for a feature table under s, as Build
// writes it: the spec in the footer (MetadataKey) and the sort order
// (customer_id, as_of). wo's Metadata is not modified.
func (s *Spec) WriterOptions(wo data.WriterOptions) (data.WriterOptions, error) {
	enc, err := s.encode()
	if err != nil {
		return wo, err
	}
	meta := maps.Clone(wo.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[MetadataKey] = enc
	wo.Metadata = meta
	wo.SortedBy = []string{ColCustomerID, ColAsOf}
	return wo, nil
}
