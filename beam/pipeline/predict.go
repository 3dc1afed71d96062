package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/churnlab/churn/beam/internal/wire"
	"github.com/churnlab/churn/cmd"
	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

func init() {
	register.DoFn4x1[context.Context, string, func(*[]byte) bool, func(int, []byte), error](&scoreFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&writeRecordsFn{})
	register.Emitter2[int, []byte]()
}

// PredictJob is what the workers of a predict pipeline need: churn
// predict's options (the as-of date resolved) to open the same scorer
// with cmd.OpenPredict, the number of part files and where they go.
type PredictJob struct {
	Options cmd.PredictOptions
	Tables  []string // the tables the scan reads, customers first
	Parts   int
	Staging string
}

func (j *PredictJob) encode() string {
	b, err := json.Marshal(j) // Options.Now is not encoded: the as-of date is resolved
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decodePredictJob(s string) (*PredictJob, error) {
	var j PredictJob
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		return nil, fmt.Errorf("pipeline: predict job: %w", err)
	}
	return &j, nil
}

// PredictPipeline adds to s the pipeline that scores the customers of
// job: the source, the co-grouping by customer, predict.Scorer.Score per
// customer, and one part file of records per part (Scorer.WriteRecords)
// in job.Staging, for predict.PublishParts.
func PredictPipeline(s beam.Scope, ds *data.Dataset, job *PredictJob, scan data.ScanOptions) {
	enc := job.encode()
	files := beam.CreateList(s.Scope("files"), fileRefs(ds, specOf(scan)))
	pieces := beam.ParDo(s.Scope("read"), &readFn{Dir: job.Options.Data, Scan: specOf(scan)}, files)
	byCustomer := beam.GroupByKey(s.Scope("group"), pieces)
	scored := beam.ParDo(s.Scope("score"), &scoreFn{Job: enc}, byCustomer)
	parts := beam.GroupByKey(s.Scope("parts"), scored)
	beam.ParDo0(s.Scope("write"), &writeRecordsFn{Job: enc}, parts)
}

// openScorer opens the scorer churn predict would use for job.
func openScorer(enc string) (*PredictJob, *predict.Scorer, func(), error) {
	job, err := decodePredictJob(enc)
	if err != nil {
		return nil, nil, nil, err
	}
	opt, done, err := cmd.OpenPredict(&job.Options)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, err := predict.NewScorer(opt)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return job, sc, done, nil
}

// scoreFn scores one customer from its pieces: it emits, keyed by part,
// the customer's tally and its Record (none for a customer who is not a
// customer at the as-of date).
type scoreFn struct {
	Job string

	job  *PredictJob
	sc   *predict.Scorer
	done func()
	asm  assembler
	h    data.History
	hs   []*data.History
}

func (fn *scoreFn) Setup() error {
	var err error
	if fn.job, fn.sc, fn.done, err = openScorer(fn.Job); err != nil {
		return err
	}
	ds, err := data.Open(fn.job.Options.Data)
	if err != nil {
		return err
	}
	defer ds.Close()
	fn.asm = newAssembler(ds, fn.sc.ScanOptions())
	fn.hs = []*data.History{&fn.h}
	return nil
}

func (fn *scoreFn) Teardown() {
	if fn.done != nil {
		fn.done()
	}
}

func (fn *scoreFn) ProcessElement(ctx context.Context, id string, values func(*[]byte) bool, emit func(int, []byte)) error {
	var t tally
	kept, err := fn.asm.assemble(id, values, &fn.h, &t)
	if err != nil {
		return err
	}
	var recs []predict.Record
	if kept {
		if recs, err = fn.sc.Score(ctx, fn.hs); err != nil {
			return err
		}
		t.Rows = int64(len(recs))
	}
	b := wire.Append(nil, &t)
	if len(recs) == 1 {
		b = wire.Append(b, &recs[0])
	}
	emit(data.ShardOf(id, fn.job.Parts), b)
	return nil
}

// writeRecordsFn writes the records of one part, sorted by customer_id,
// with their tally, as a part file (Scorer.WriteRecords).
type writeRecordsFn struct {
	Job string

	job  *PredictJob
	sc   *predict.Scorer
	done func()
}

func (fn *writeRecordsFn) Setup() error {
	var err error
	fn.job, fn.sc, fn.done, err = openScorer(fn.Job)
	return err
}

func (fn *writeRecordsFn) Teardown() {
	if fn.done != nil {
		fn.done()
	}
}

func (fn *writeRecordsFn) ProcessElement(ctx context.Context, part int, values func(*[]byte) bool) error {
	var all tally
	var recs []predict.Record
	var b []byte
	for values(&b) {
		var t tally
		rest, err := wire.Decode(b, &t)
		if err != nil {
			return fmt.Errorf("pipeline: part %d: %w", part, err)
		}
		all.add(&t)
		if len(rest) > 0 {
			var r predict.Record
			if _, err := wire.Decode(rest, &r); err != nil {
				return fmt.Errorf("pipeline: part %d: %w", part, err)
			}
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b predict.Record) int { return strings.Compare(a.CustomerID, b.CustomerID) })
	path := filepath.Join(fn.job.Staging, fmt.Sprintf("part-%05d.parquet", part))
	return fn.sc.WriteRecords(ctx, path, recs, all.stats(fn.job.Tables))
}
