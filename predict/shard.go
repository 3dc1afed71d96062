package predict

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// The split of predict between per-customer and global work.
//
// Per customer — a pure function of that customer's rows, the as-of date,
// the config and the model, the same code on one machine, in `churn predict
// --shard i/n` processes and in Beam workers: the feature row, the
// calibrated probability, the reasons (with their texts), the annual
// revenue, p_alive and clv, the owner and lifecycle stage, the expected
// uplift of the play that targets the customer, and the values of the
// features the alert rules read. That is a Record.
//
// Global — on all the records at once, in stage's finish: the join with the
// previous run, the ranks, the tiers (capacities are shares of everyone),
// rank_by saved_mrr, the control groups (SHA-256 per customer, but only of
// the customers the tiers target), the alerts (rules may read rank and
// tier), the files and their manifests. Merge, Publish and Stage all run it.

// Record is one customer's per-customer prediction (see above): what
// predict computes from that customer's data alone, before the global
// work. Records are plain values, safe to copy and to send between
// processes (WriteShard stores them as Parquet; Beam encodes the struct).
type Record struct {
	CustomerID string
	// Probability is the calibrated churn probability.
	Probability float64
	// AnnualRevenue is 12 × MRR at as-of; NaN when unknown.
	AnnualRevenue float64
	// PAlive and CLV are the model's p_alive and clv features; NaN when
	// absent or missing.
	PAlive, CLV float64
	// ExpectedUplift is the churn probability × the relative risk
	// reduction the uplift model expects from the customer's play; NaN
	// without a used uplift model. Tiering later clears it for the low
	// tier.
	ExpectedUplift float64
	// Owner and LifecycleStage are "" when unknown.
	Owner, LifecycleStage string
	// Reasons are the top reasons, strongest first; an unused one has
	// Feature "".
	Reasons [MaxReasons]RecordReason
	// RuleNumbers holds the values of the features the alert rules read,
	// in the order of Scorer.RuleFeatures (NaN for categorical ones and
	// missing values); RuleStrings the categorical ones' values ("" for
	// numeric ones), or nil when no rule reads a categorical feature.
	RuleNumbers []float64
	RuleStrings []string
}

// RecordReason is one reason of a Record.
type RecordReason struct {
	Feature      string  // the feature's name; "" when unused
	Contribution float32 // to the logit, as the model computed it
	Text         string  // in business words
}

// hasRuleStrings reports whether an alert rule reads a categorical feature.
func (s *scoring) hasRuleStrings() bool {
	for _, fi := range s.rules.feats {
		if s.spec.Features[fi].Kind == features.Categorical {
			return true
		}
	}
	return false
}

// record returns customer i's Record.
func (s *scoring) record(i int) Record {
	cs := &s.recs[i]
	r := Record{
		CustomerID: cs.id, Probability: cs.prob, AnnualRevenue: cs.annual, PAlive: cs.pAlive, CLV: cs.clv,
		ExpectedUplift: cs.uplift, Owner: cs.owner, LifecycleStage: cs.stage,
	}
	for j, ref := range cs.reasons {
		if ref.feat >= 0 {
			r.Reasons[j] = RecordReason{Feature: s.spec.Features[ref.feat].Name, Contribution: ref.contrib, Text: ref.text}
		}
	}
	k := len(s.rules.feats)
	r.RuleNumbers = slices.Clone(s.nums[i*k : (i+1)*k])
	if len(s.strs) > 0 {
		r.RuleStrings = slices.Clone(s.strs[i*k : (i+1)*k])
	}
	return r
}

// appendRecord adds r to the scored customers (callers keep them in
// customer order).
func (s *scoring) appendRecord(r *Record, featIndex map[string]int) error {
	k := len(s.rules.feats)
	hasStr := s.hasRuleStrings()
	if len(r.RuleNumbers) != k || hasStr != (r.RuleStrings != nil) || (hasStr && len(r.RuleStrings) != k) {
		return fmt.Errorf("customer %s: the record holds %d rule values, the alert rules read %d features", r.CustomerID, len(r.RuleNumbers), k)
	}
	cs := customerScore{id: r.CustomerID, prob: r.Probability, annual: r.AnnualRevenue, pAlive: r.PAlive, clv: r.CLV,
		prevProb: math.NaN(), prevTier: -1, uplift: r.ExpectedUplift, stage: r.LifecycleStage}
	if n, ok := stageNames[cs.stage]; ok {
		cs.stage = n
	}
	if r.Owner != "" {
		o, ok := s.owners[r.Owner]
		if !ok {
			o = r.Owner
			s.owners[o] = o
		}
		cs.owner = o
	}
	for j, rr := range r.Reasons {
		if rr.Feature == "" {
			cs.reasons[j] = reasonRef{feat: -1}
			continue
		}
		fi, ok := featIndex[rr.Feature]
		if !ok {
			return fmt.Errorf("customer %s: reason feature %q is not a feature of the model", r.CustomerID, rr.Feature)
		}
		cs.reasons[j] = reasonRef{feat: int16(fi), contrib: rr.Contribution, text: rr.Text}
	}
	s.nums = append(s.nums, r.RuleNumbers...)
	for _, v := range r.RuleStrings {
		s.strs = append(s.strs, s.rend.internString(v))
	}
	s.recs = append(s.recs, cs)
	return nil
}

// fromRecords returns a scoring holding recs, which must be sorted by
// customer_id without duplicates.
func (p *plan) fromRecords(recs []Record) (*scoring, error) {
	sc := p.newScoring(int64(len(recs)))
	idx := featIndexOf(p.spec)
	for i := range recs {
		if i > 0 && recs[i].CustomerID <= recs[i-1].CustomerID {
			if recs[i].CustomerID == recs[i-1].CustomerID {
				return nil, fmt.Errorf("customer %s has two records", recs[i].CustomerID)
			}
			return nil, errors.New("predict: records are not sorted by customer_id")
		}
		if err := sc.appendRecord(&recs[i], idx); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

func featIndexOf(spec *features.Spec) map[string]int {
	m := make(map[string]int, len(spec.Features))
	for i, d := range spec.Features {
		m[d.Name] = i
	}
	return m
}

// Scorer turns customers' histories into Records: the per-customer entry
// point of predict for distributed workers (the Beam pipeline). It runs the
// same code as churn predict: features.Builder.Row, the model's scoring,
// the reasons and the uplift. A Scorer is not safe for concurrent use:
// make one per goroutine (NewScorer is cheap next to scoring).
type Scorer struct {
	p    *plan
	sc   *scoring
	vals features.Values
}

// NewScorer prepares scoring as churn predict would with opt: Dataset
// (opened for its schema and row counts; Score reads nothing from it),
// Model, Uplift, AsOf, Config, ModelVersion, Workers (per Score call) and
// Logger are used; Out, Now and the webhook are not. The reasons method
// follows the customers table's row count, as in churn predict.
func NewScorer(opt Options) (*Scorer, error) {
	p, err := newPlan(context.Background(), opt, planScore)
	if err != nil {
		return nil, err
	}
	return &Scorer{p: p}, nil
}

// ModelVersion returns the model version the rows will carry.
func (s *Scorer) ModelVersion() string { return s.p.version }

// ScanOptions returns the tables and columns Score's histories need (the
// customers table whole): what a distributed reader must key by customer.
func (s *Scorer) ScanOptions() data.ScanOptions { return s.p.builder.ScanOptions(true) }

// RuleFeatures names the features whose values Records carry in
// RuleNumbers and RuleStrings, in that order.
func (s *Scorer) RuleFeatures() []string {
	var out []string
	for _, fi := range s.p.rules.feats {
		out = append(out, s.p.spec.Features[fi].Name)
	}
	return out
}

// Score returns the Records of the customers in hs who are customers at
// the as-of date (the others get none), in the order of hs. Each History
// must hold every row of its customer in the tables the model's features
// read, with the customers row whole (owner included). Score does not
// keep hs.
func (s *Scorer) Score(ctx context.Context, hs []*data.History) ([]Record, error) {
	p := s.p
	bt := p.builder.NewBatch(len(hs))
	for _, h := range hs {
		added, err := p.builder.Row(h, p.opt.AsOf, true, &s.vals, bt)
		if err != nil {
			return nil, err
		}
		if added {
			c := h.Customer
			c.Attrs = nil
			bt.Customers = append(bt.Customers, c)
		}
	}
	if s.sc == nil {
		s.sc = p.newScoring(int64(len(hs)))
	}
	sc := s.sc
	sc.recs, sc.nums, sc.strs = sc.recs[:0], sc.nums[:0], sc.strs[:0]
	if err := sc.add(ctx, p.opt.Model, p.scoreOptions(), bt, nil); err != nil {
		return nil, err
	}
	out := make([]Record, len(sc.recs))
	for i := range out {
		out[i] = sc.record(i) // its strings are owned: add copies the ids
	}
	return out, nil
}

// Publish does churn predict's global work on recs — the Records of every
// customer, from Scorer.Score or shards, in any order (Publish sorts them
// by customer_id in place) — and publishes the predictions and alerts
// partitions into opt.Out exactly as Run does, webhook included. stats is
// reported in Result.Features; stats.Customers is the manifest's
// customers_scanned.
func Publish(ctx context.Context, opt Options, recs []Record, stats features.Stats) (*Result, error) {
	slices.SortFunc(recs, func(a, b Record) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	return runWith(ctx, opt, func(p *plan, ctx context.Context) (*scoring, features.Stats, error) {
		sc, err := p.fromRecords(recs)
		return sc, stats, err
	})
}

// Shard files.
const (
	// ShardSchemaVersion is the version of the shard file format, in the
	// footer key churn.shard.schema_version.
	ShardSchemaVersion = 1
	shardKey           = "churn.shard"
)

// ShardResult describes a written shard.
type ShardResult struct {
	Shard data.Shard
	Path  string
	// Rows is the number of customers of the shard scored.
	Rows     int64
	Features features.Stats
}

// WriteShard scores the customers of one shard (data.ShardOf of their id)
// as churn predict would and writes their Records to path, atomically, as
// a shard file for Merge. Every shard reads the whole dataset (see
// data.ShardOf for the cost) and computes only its customers.
//
// The shard file is Parquet, one row per customer in customer_id order:
// customer_id, churn_probability, annual_revenue, p_alive, clv,
// expected_uplift, owner, lifecycle_stage, reason_K_feature,
// reason_K_contribution, reason_K_text (K = 1..3), then one column
// rule_value_<feature> per feature the alert rules read (a double, or a
// string for a categorical feature); missing values are nulls. Its footer
// holds churn.shard (i/n), churn.shard.schema_version, .as_of,
// .model_version, .dataset_fingerprint, .config_sha256, .reasons_method
// and .stats (the features.Stats of the shard, JSON): Merge refuses shards
// that disagree.
func WriteShard(ctx context.Context, opt Options, shard data.Shard, path string) (*ShardResult, error) {
	if shard.Count < 1 || shard.Index < 0 || shard.Index >= shard.Count {
		return nil, fmt.Errorf("predict: %w %v", data.ErrBadShard, shard)
	}
	p, err := newPlan(ctx, opt, planShard)
	if err != nil {
		return nil, err
	}
	// About 1/n of the customers, and a margin: the hash spreads them
	// evenly (TestShardOfSpread).
	sc, stats, err := p.score(ctx, shard.Keeps, p.customers/int64(shard.Count)*11/10+64)
	if err != nil {
		return nil, err
	}
	f, err := data.CreateAtomic(path)
	if err != nil {
		return nil, err
	}
	defer f.Abort()
	if err := p.writeShard(ctx, f, sc, shard, stats); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return nil, err
	}
	p.log.Info("shard written", "shard", shard.String(), "path", path, "customers", len(sc.recs))
	return &ShardResult{Shard: shard, Path: path, Rows: int64(len(sc.recs)), Features: stats}, nil
}

// shardColumns are the columns of a shard file for the plan's rules.
func (p *plan) shardColumns() []data.Column {
	cols := []data.Column{
		{Name: "customer_id", Type: data.TypeString, Required: true},
		{Name: "churn_probability", Type: data.TypeFloat64, Required: true},
		{Name: "annual_revenue", Type: data.TypeFloat64},
		{Name: "p_alive", Type: data.TypeFloat64},
		{Name: "clv", Type: data.TypeFloat64},
		{Name: "expected_uplift", Type: data.TypeFloat64},
		{Name: "owner", Type: data.TypeString},
		{Name: "lifecycle_stage", Type: data.TypeString},
	}
	for k := 1; k <= MaxReasons; k++ {
		pre := "reason_" + strconv.Itoa(k) + "_"
		cols = append(cols, data.Column{Name: pre + "feature", Type: data.TypeString},
			data.Column{Name: pre + "contribution", Type: data.TypeFloat64},
			data.Column{Name: pre + "text", Type: data.TypeString})
	}
	for _, fi := range p.rules.feats {
		d := &p.spec.Features[fi]
		t := data.TypeFloat64
		if d.Kind == features.Categorical {
			t = data.TypeString
		}
		cols = append(cols, data.Column{Name: "rule_value_" + d.Name, Type: t})
	}
	return cols
}

// shardMeta is the footer of a shard file, less the shard itself.
func (p *plan) shardMeta() map[string]string {
	return map[string]string{
		shardKey + ".schema_version":      strconv.Itoa(ShardSchemaVersion),
		shardKey + ".as_of":               p.opt.AsOf.String(),
		shardKey + ".model_version":       p.version,
		shardKey + ".dataset_fingerprint": p.fingerprint,
		shardKey + ".config_sha256":       configHash(&p.cfg),
		shardKey + ".reasons_method":      p.method,
	}
}

func (p *plan) writeShard(ctx context.Context, f *data.AtomicFile, sc *scoring, shard data.Shard, stats features.Stats) error {
	cols := p.shardColumns()
	specs := make([]data.ColumnSpec, len(cols))
	for i, c := range cols {
		specs[i] = data.ColumnSpec{Name: c.Name, Type: c.Type, Optional: !c.Required, Dict: c.Type == data.TypeString && c.Name != "customer_id"}
	}
	meta := p.shardMeta()
	if shard.Count > 0 {
		meta[shardKey] = shard.String()
	}
	st, err := json.Marshal(stats)
	if err != nil {
		return err
	}
	meta[shardKey+".stats"] = string(st)
	oc := p.cfg.Output
	w, err := data.NewWriter(f, specs, data.WriterOptions{RowGroupRows: oc.RowGroupRows, Compression: oc.Compression,
		SortedBy: []string{"customer_id"}, ChurnVersion: p.churnVersion, Metadata: meta})
	if err != nil {
		return err
	}
	n := len(sc.recs)
	k := len(p.rules.feats)
	for lo := 0; lo < n; lo += oc.RowGroupRows { // an empty shard has no row group
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(n, lo+oc.RowGroupRows)
		vecs := make([]data.Vec, len(cols))
		for i, c := range cols {
			vecs[i] = data.NewVec(c.Type)
			vecs[i].Grow(hi - lo)
		}
		for i := lo; i < hi; i++ {
			r := sc.record(i)
			v := vecs
			v[0].AppendUnique(r.CustomerID)
			v[1].AppendFloat(r.Probability)
			v[2].AppendFloat(r.AnnualRevenue)
			v[3].AppendFloat(r.PAlive)
			v[4].AppendFloat(r.CLV)
			v[5].AppendFloat(r.ExpectedUplift)
			appendStr(&v[6], r.Owner)
			appendStr(&v[7], r.LifecycleStage)
			for j, rr := range r.Reasons {
				b := 8 + 3*j
				appendStr(&v[b], rr.Feature)
				if rr.Feature == "" {
					v[b+1].AppendNull()
				} else {
					v[b+1].AppendFloat(float64(rr.Contribution))
				}
				appendStr(&v[b+2], rr.Text)
			}
			for j := 0; j < k; j++ {
				c := &v[8+3*MaxReasons+j]
				if c.Type == data.TypeString {
					appendStr(c, r.RuleStrings[j])
				} else {
					c.AppendFloat(r.RuleNumbers[j])
				}
			}
		}
		if err := w.Write(hi-lo, vecs); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Sync()
}

// Merge reads the shard files WriteShard wrote (paths: files, or folders
// of them; see data.ShardFiles), checks that they are one complete set — shards
// 0..n-1 of the same n, each exactly once, made with the same model
// version, as-of date, dataset and config as opt — and publishes the
// predictions and alerts partitions exactly as Run with opt would: the same
// files, byte for byte (the manifest's customers_scanned and the rows of
// Result.Features included). The merge is published atomically: on error
// nothing is written. A set that does not fit is a *data.ShardSetError.
func Merge(ctx context.Context, opt Options, paths []string) (*Result, error) {
	files, err := data.ShardFiles(paths)
	if err != nil {
		return nil, err
	}
	return runWith(ctx, opt, func(p *plan, ctx context.Context) (*scoring, features.Stats, error) {
		return p.readShards(ctx, files)
	})
}

// readShards reads and checks the shard files and returns their records
// in customer order, and the run's feature statistics.
func (p *plan) readShards(ctx context.Context, files []string) (*scoring, features.Stats, error) {
	return p.readRecordFiles(ctx, files, false)
}

// readRecordFiles reads record files — a complete set of shard files, or
// with parts the part files of PartWriter (each of its own customers, no
// set to check) — checks that they come from this plan's model, as-of date,
// dataset and config, and returns their records in customer order and the
// run's feature statistics.
func (p *plan) readRecordFiles(ctx context.Context, files []string, parts bool) (*scoring, features.Stats, error) {
	var stats features.Stats
	if len(files) == 0 && !parts {
		return nil, stats, data.CheckShardSet(nil, nil)
	}
	want := p.shardMeta()
	cols := p.shardColumns()
	table := &data.Table{Name: "shard", Columns: cols}
	type shardFile struct {
		path  string
		shard data.Shard
		stats features.Stats
	}
	var set []shardFile
	for _, path := range files {
		f, err := data.OpenFile(path, table, nil)
		if err != nil {
			return nil, stats, &data.ShardSetError{File: path, Msg: fmt.Sprintf("not a record file of this model and config: %v", err)}
		}
		sf := shardFile{path: path}
		if !parts {
			s, ok := f.Metadata(shardKey)
			if ok {
				sf.shard, err = data.ParseShard(s)
			}
			if !ok || err != nil {
				f.Close()
				return nil, stats, &data.ShardSetError{File: path, Msg: "not a shard file (no valid churn.shard in its footer)"}
			}
		}
		for _, key := range slices.Sorted(maps.Keys(want)) {
			if got, _ := f.Metadata(key); got != want[key] {
				f.Close()
				return nil, stats, &data.ShardSetError{File: path, Msg: fmt.Sprintf("%s is %q, the merge has %q: every shard must come from the same model, as-of date, dataset and config", key, got, want[key])}
			}
		}
		st, _ := f.Metadata(shardKey + ".stats")
		err = json.Unmarshal([]byte(st), &sf.stats)
		f.Close()
		if err != nil {
			return nil, stats, &data.ShardSetError{File: path, Msg: fmt.Sprintf("bad churn.shard.stats: %v", err)}
		}
		set = append(set, sf)
	}
	if !parts {
		shards, paths := make([]data.Shard, len(set)), make([]string, len(set))
		for i, sf := range set {
			shards[i], paths[i] = sf.shard, sf.path
		}
		if err := data.CheckShardSet(shards, paths); err != nil {
			return nil, stats, err
		}
	}

	var recs []Record
	for _, sf := range set {
		n0 := len(recs)
		var err error
		if recs, err = readShardRecords(ctx, sf.path, table, p, recs); err != nil {
			return nil, stats, err
		}
		if !parts {
			for i := n0; i < len(recs); i++ {
				if !sf.shard.Keeps(recs[i].CustomerID) {
					return nil, stats, &data.ShardSetError{File: sf.path, Msg: fmt.Sprintf("customer %s does not belong to shard %v", recs[i].CustomerID, sf.shard)}
				}
			}
			// Every shard scans every customer and row: the scan counts
			// are the dataset's; the rows computed add up.
			stats.Customers, stats.Scan = sf.stats.Customers, sf.stats.Scan
		} else {
			// Parts hold different customers: everything adds up.
			stats.Customers += sf.stats.Customers
			stats.Scan.Merge(sf.stats.Scan)
		}
		stats.Rows += sf.stats.Rows
		stats.Labelled += sf.stats.Labelled
		stats.Positives += sf.stats.Positives
	}
	slices.SortFunc(recs, func(a, b Record) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	sc, err := p.fromRecords(recs)
	return sc, stats, err
}

// readShardRecords appends the records of one shard file to recs.
func readShardRecords(ctx context.Context, path string, table *data.Table, p *plan, recs []Record) ([]Record, error) {
	f, err := data.OpenFile(path, table, nil)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	k := len(p.rules.feats)
	var b data.Batch
	for rg := 0; rg < f.NumRowGroups(); rg++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := f.ReadRowGroup(rg, nil, false, &b); err != nil {
			return nil, err
		}
		c := b.Cols
		for i := 0; i < b.N; i++ {
			r := Record{
				CustomerID: strings.Clone(c[0].Str(i)), Probability: c[1].Float(i), AnnualRevenue: c[2].Float(i),
				PAlive: c[3].Float(i), CLV: c[4].Float(i), ExpectedUplift: c[5].Float(i),
				Owner: strings.Clone(c[6].Str(i)), LifecycleStage: strings.Clone(c[7].Str(i)),
			}
			for j := range r.Reasons {
				base := 8 + 3*j
				if name := c[base].Str(i); name != "" {
					r.Reasons[j] = RecordReason{Feature: strings.Clone(name), Contribution: float32(c[base+1].Float(i)), Text: strings.Clone(c[base+2].Str(i))}
				}
			}
			r.RuleNumbers = make([]float64, k)
			hasStr := false
			for j := 0; j < k; j++ {
				v := &c[8+3*MaxReasons+j]
				if v.Type == data.TypeString {
					hasStr = true
					r.RuleNumbers[j] = math.NaN()
				} else {
					r.RuleNumbers[j] = v.Float(i)
				}
			}
			if hasStr {
				r.RuleStrings = make([]string, k)
				for j := 0; j < k; j++ {
					if v := &c[8+3*MaxReasons+j]; v.Type == data.TypeString {
						r.RuleStrings[j] = strings.Clone(v.Str(i))
					}
				}
			}
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// WriteRecords writes recs — Records of this Scorer's customers, sorted by
// customer_id, from one worker's part of the customers — and stats, the
// features.Stats of those customers, to path atomically as a part file for
// PublishParts: the shard file format (see WriteShard) without a
// churn.shard key. churn-beam's predict pipeline writes one per part.
func (s *Scorer) WriteRecords(ctx context.Context, path string, recs []Record, stats features.Stats) error {
	p := s.p
	if p.fingerprint == "" {
		// The publisher checks that the parts read its dataset.
		fp, err := p.opt.Dataset.Fingerprint()
		if err != nil {
			return fmt.Errorf("fingerprint the dataset: %w", err)
		}
		p.fingerprint = fp
	}
	sc := p.newScoring(int64(len(recs)))
	idx := featIndexOf(p.spec)
	for i := range recs {
		if i > 0 && recs[i].CustomerID <= recs[i-1].CustomerID {
			return fmt.Errorf("predict: records are not sorted by customer_id (%s after %s)", recs[i].CustomerID, recs[i-1].CustomerID)
		}
		if err := sc.appendRecord(&recs[i], idx); err != nil {
			return err
		}
	}
	f, err := data.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := p.writeShard(ctx, f, sc, data.Shard{}, stats); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// PublishParts reads the part files Scorer.WriteRecords wrote (paths:
// files, or folders of them), checks that they come from the model, as-of
// date, dataset and config of opt, and publishes the predictions and alerts
// partitions exactly as Run with opt would (the global work on all the
// records: see Publish). The parts' stats add up to Result.Features. On
// error nothing is published.
func PublishParts(ctx context.Context, opt Options, paths []string) (*Result, error) {
	files, err := data.ShardFiles(paths)
	if err != nil {
		return nil, err
	}
	return runWith(ctx, opt, func(p *plan, ctx context.Context) (*scoring, features.Stats, error) {
		return p.readRecordFiles(ctx, files, true)
	})
}
