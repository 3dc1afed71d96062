package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/churnlab/churn/beam/internal/wire"
	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

func init() {
	register.DoFn6x1[context.Context, string, func(*[]byte) bool, func(string, []byte), func([]byte), func(string, float64), error](&featuresFn{})
	register.DoFn4x1[context.Context, string, func(*[]byte) bool, func(*[]byte) bool, error](&writeFeaturesFn{})
	register.DoFn3x1[[]byte, func(*string, *smallest) bool, func([]byte), error](&planFn{})
	register.DoFn5x1[string, []byte, func(*[]byte) bool, func(string, []byte), func([]byte), error](&sampleFn{})
	register.DoFn1x1[[]byte, error](&writeFileFn{})
	register.Emitter1[[]byte]()
	register.Emitter2[string, float64]()
	register.Iter1[[]byte]()
	register.Iter2[string, smallest]()
	register.Function2x1(mergeTallies)
	beam.RegisterType(reflect.TypeOf((*smallest)(nil)).Elem())
	register.Combiner3[smallest, float64, smallest](&smallestFn{})
}

// FeaturesJob is what the workers of a features pipeline need: the
// dataset, the spec (lifetime fits included) and label settings the
// launcher made with features.NewBuild, the dates, and where to write.
type FeaturesJob struct {
	Dir     string
	Spec    json.RawMessage
	Label   features.LabelConfig
	Dates   []data.Date // the rows' dates (features.Builder.RowDates)
	AsOf    bool        // whether as_of holds them (false: a dateless snapshot)
	Only    string      // --customers
	Exclude string      // --exclude-customers
	// Parts is the number of part files per as-of date; Staging the
	// folder they are written to (the launcher publishes it).
	Parts   int
	Staging string
	// SampleSize, when not 0, keeps a stratified sample of that many
	// customers (features.PlanSample) with SampleSeed.
	SampleSize   int
	SampleSeed   uint64
	ChurnVersion string
}

func (j *FeaturesJob) encode() string {
	b, err := json.Marshal(j)
	if err != nil {
		panic(err) // plain values
	}
	return string(b)
}

func decodeFeaturesJob(s string) (*FeaturesJob, error) {
	var j FeaturesJob
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return nil, fmt.Errorf("pipeline: features job: %w", err)
	}
	return &j, nil
}

// Files the pipelines leave in their staging folder for the launcher.
const (
	statsFile  = "_stats"       // the run's tally (wire)
	sampleFile = "_sample.json" // the sample plan (JSON)
)

// partKey names the part file of a row: as_of=DATE/part-NNNNN (part-NNNNN
// alone for a dateless snapshot table).
func partKey(id string, T data.Date, asOf bool, parts int) string {
	name := fmt.Sprintf("part-%05d", data.ShardOf(id, parts))
	if !asOf {
		return name
	}
	return "as_of=" + T.String() + "/" + name
}

// FeaturesPipeline adds to s the pipeline that writes the feature table of
// job: the source, the co-grouping by customer, the rows of each customer
// by features.Builder.Row, and the part files; the run's tally and (with
// a sample) the plan go to files in job.Staging.
func FeaturesPipeline(s beam.Scope, ds *data.Dataset, job *FeaturesJob, scan data.ScanOptions) {
	enc := job.encode()
	files := beam.CreateList(s.Scope("files"), fileRefs(ds, specOf(scan)))
	pieces := beam.ParDo(s.Scope("read"), &readFn{Dir: job.Dir, Scan: specOf(scan), Only: job.Only, Exclude: job.Exclude}, files)
	byCustomer := beam.GroupByKey(s.Scope("group"), pieces)
	rows, tallies, strata := beam.ParDo3(s.Scope("features"), &featuresFn{Job: enc}, byCustomer)
	plan := beam.Create(s.Scope("no sample"), []byte{})
	if job.SampleSize != 0 {
		counts := beam.CombinePerKey(s.Scope("strata"), &smallestFn{K: job.SampleSize}, strata)
		plan = beam.ParDo(s.Scope("plan"), &planFn{Size: job.SampleSize, Seed: job.SampleSeed}, beam.Impulse(s), beam.SideInput{Input: counts})
		beam.ParDo0(s.Scope("write plan"), &writeFileFn{Path: filepath.Join(job.Staging, sampleFile)}, plan)
		var kept beam.PCollection
		rows, kept = beam.ParDo2(s.Scope("sample"), &sampleFn{}, rows, beam.SideInput{Input: plan})
		tallies = beam.Flatten(s.Scope("tallies"), tallies, kept)
	}
	tally := beam.Combine(s.Scope("tally"), mergeTallies, tallies)
	beam.ParDo0(s.Scope("write tally"), &writeFileFn{Path: filepath.Join(job.Staging, statsFile)}, tally)
	parts := beam.GroupByKey(s.Scope("parts"), rows)
	beam.ParDo0(s.Scope("write"), &writeFeaturesFn{Job: enc}, parts, beam.SideInput{Input: plan})
}

// featuresFn computes the feature rows of one customer from its pieces.
type featuresFn struct {
	Job string

	job   *FeaturesJob
	ds    *data.Dataset
	b     *features.Builder
	asm   assembler
	bt    *features.Batch
	vals  features.Values
	h     data.History
	buf   []byte
	label []float64
}

func (fn *featuresFn) Setup() error {
	job, err := decodeFeaturesJob(fn.Job)
	if err != nil {
		return err
	}
	spec, err := features.DecodeSpec(job.Spec)
	if err != nil {
		return err
	}
	if fn.ds, err = data.Open(job.Dir); err != nil {
		return err
	}
	if fn.b, err = features.NewBuilder(fn.ds, spec, job.Label); err != nil {
		return err
	}
	fn.job = job
	fn.asm = newAssembler(fn.ds, fn.b.ScanOptions(false))
	fn.bt = fn.b.NewBatch(len(job.Dates))
	return nil
}

func (fn *featuresFn) Teardown() {
	if fn.ds != nil {
		fn.ds.Close()
	}
}

func (fn *featuresFn) ProcessElement(ctx context.Context, id string, values func(*[]byte) bool, emitRow func(string, []byte), emitTally func([]byte), emitStratum func(string, float64)) error {
	var t tally
	kept, err := fn.asm.assemble(id, values, &fn.h, &t)
	if err != nil {
		return err
	}
	if kept {
		bt := fn.bt
		for i := range bt.Cols {
			bt.Cols[i].Truncate()
		}
		bt.N = 0
		fn.label = fn.label[:0]
		for _, T := range fn.job.Dates {
			if _, err := fn.b.Row(&fn.h, T, fn.job.AsOf, &fn.vals, bt); err != nil {
				return err
			}
		}
		lv := &bt.Cols[len(bt.Cols)-1]
		stratum := byte(0)
		if fn.job.SampleSize != 0 && bt.N > 0 {
			for r := 0; r < bt.N; r++ {
				y := math.NaN()
				if x := lv.Int(r); x != data.NullInt {
					y = float64(x)
				}
				fn.label = append(fn.label, y)
			}
			name := features.CustomerStratum(fn.label)
			stratum = byte(slices.Index(sampleStrata, name))
			emitStratum(name, features.SampleHash(id, fn.job.SampleSeed))
		}
		for r := 0; r < bt.N; r++ {
			label := byte(labelUnknown)
			if x := lv.Int(r); x != data.NullInt {
				label = byte(x)
			}
			fn.buf = appendRow(append(fn.buf[:0], stratum, label), bt.Cols, r)
			key := partKey(id, bt.Cols[1].Date(r), fn.job.AsOf, fn.job.Parts)
			emitRow(key, slices.Clone(fn.buf))
		}
		if fn.job.SampleSize == 0 { // else sampleFn counts the rows it keeps
			t.countRows(lv, bt.N)
		}
	}
	emitTally(wire.Append(nil, &t))
	return nil
}

// A row's element is its stratum (an index in sampleStrata), its label
// (0, 1 or labelUnknown) and the row (appendRow); sampleFn appends the
// weight.
const (
	rowPrefix    = 2
	labelUnknown = 2
)

// sampleStrata are the strata in features' plan order.
var sampleStrata = []string{features.StratumChurned, features.StratumRetained, features.StratumUnlabelled}

// smallest is a stratum's customer count and its K smallest hashes.
type smallest struct {
	N     int64
	Small []float64
}

// smallestFn combines a stratum's hashes into its count and K smallest.
type smallestFn struct{ K int }

func (f *smallestFn) CreateAccumulator() smallest { return smallest{} }

func (f *smallestFn) AddInput(a smallest, h float64) smallest {
	a.N++
	a.Small = append(a.Small, h)
	if len(a.Small) >= 2*f.K+64 {
		a.Small = f.trim(a.Small)
	}
	return a
}

func (f *smallestFn) MergeAccumulators(a, b smallest) smallest {
	return smallest{N: a.N + b.N, Small: f.trim(append(slices.Clip(a.Small), b.Small...))}
}

func (f *smallestFn) ExtractOutput(a smallest) smallest {
	a.Small = f.trim(a.Small)
	return a
}

func (f *smallestFn) trim(xs []float64) []float64 {
	slices.Sort(xs)
	return xs[:min(len(xs), f.K)]
}

// planFn plans the sample from the strata's counts (features.PlanSample)
// and emits it as JSON.
type planFn struct {
	Size int
	Seed uint64
}

func (fn *planFn) ProcessElement(_ []byte, counts func(*string, *smallest) bool, emit func([]byte)) error {
	var cs []features.StratumCount
	var name string
	var sm smallest
	for counts(&name, &sm) {
		cs = append(cs, features.StratumCount{Name: name, Customers: sm.N, Smallest: slices.Clone(sm.Small)})
	}
	// The planner takes the strata in any order; sort for a stable input.
	slices.SortFunc(cs, func(a, b features.StratumCount) int { return strings.Compare(a.Name, b.Name) })
	plan, err := features.PlanSample(fn.Seed, fn.Size, cs)
	if err != nil {
		return err
	}
	enc, err := plan.Encode()
	if err != nil {
		return err
	}
	emit([]byte(enc))
	return nil
}

// sampleFn keeps the rows of the sample's customers and appends their
// weight.
type sampleFn struct {
	plan *features.SamplePlan
}

func (fn *sampleFn) ProcessElement(key string, row []byte, plan func(*[]byte) bool, emit func(string, []byte), emitTally func([]byte)) error {
	if fn.plan == nil {
		var b []byte
		if !plan(&b) {
			return fmt.Errorf("pipeline: no sample plan")
		}
		p, err := features.DecodeSamplePlan(string(b))
		if err != nil {
			return err
		}
		fn.plan = p
	}
	if int(row[0]) >= len(sampleStrata) {
		return fmt.Errorf("pipeline: a sampled row has no stratum")
	}
	w, ok := fn.plan.Keep(rowID(row[rowPrefix:]), sampleStrata[row[0]])
	if !ok {
		return nil
	}
	t := tally{Rows: 1}
	if row[1] != labelUnknown {
		t.Labelled, t.Positives = 1, int64(row[1])
	}
	emitTally(wire.Append(nil, &t))
	emit(key, binary.LittleEndian.AppendUint64(slices.Clip(row), math.Float64bits(w)))
	return nil
}

// writeFeaturesFn writes one part file of the feature table: its rows
// sorted by customer_id, in row groups of features.DefaultBatchRows, with
// the spec (and the sample plan) in the footer, as churn features does.
type writeFeaturesFn struct {
	Job string

	job  *FeaturesJob
	spec *features.Spec
}

func (fn *writeFeaturesFn) Setup() error {
	job, err := decodeFeaturesJob(fn.Job)
	if err != nil {
		return err
	}
	if fn.spec, err = features.DecodeSpec(job.Spec); err != nil {
		return err
	}
	fn.job = job
	return nil
}

func (fn *writeFeaturesFn) ProcessElement(ctx context.Context, key string, values func(*[]byte) bool, plan func(*[]byte) bool) error {
	var rows [][]byte
	var b []byte
	for values(&b) {
		rows = append(rows, b[rowPrefix:])
	}
	slices.SortFunc(rows, func(a, b []byte) int { return strings.Compare(rowID(a), rowID(b)) })
	wo, err := fn.spec.WriterOptions(data.WriterOptions{ChurnVersion: fn.job.ChurnVersion, RowGroupRows: features.DefaultBatchRows})
	if err != nil {
		return err
	}
	cols := fn.spec.Columns()
	var p []byte
	if plan(&p) && len(p) > 0 {
		wo.Metadata[features.SampleMetadataKey] = string(p)
		cols = features.SampleColumns(fn.spec)
	}
	path := filepath.Join(fn.job.Staging, filepath.FromSlash(key)+".parquet")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := data.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	pw, err := data.NewWriter(f, cols, wo)
	if err != nil {
		return err
	}
	vecs := make([]data.Vec, len(cols))
	for lo := 0; lo < len(rows); lo += features.DefaultBatchRows {
		hi := min(lo+features.DefaultBatchRows, len(rows))
		for i, c := range cols {
			vecs[i] = data.NewVec(c.Type)
			vecs[i].Grow(hi - lo)
		}
		for _, r := range rows[lo:hi] {
			if _, err := decodeRow(r, vecs); err != nil {
				return fmt.Errorf("pipeline: %s: decode a row: %w", key, err)
			}
		}
		rg := pw.BeginRowGroup()
		if err := rg.Write(hi-lo, vecs); err != nil {
			return err
		}
		if err := rg.Commit(); err != nil {
			return err
		}
	}
	if err := pw.Close(); err != nil {
		return err
	}
	return f.Commit()
}

// writeFileFn writes its element to Path atomically.
type writeFileFn struct{ Path string }

func (fn *writeFileFn) ProcessElement(b []byte) error { return data.WriteFileAtomic(fn.Path, b) }
