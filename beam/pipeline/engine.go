// Package pipeline runs churn features and churn predict as Apache Beam
// pipelines: a splittable Parquet source (one restriction a row group),
// the co-grouping of every table's rows by customer_id, churn's own
// per-customer code (features.Builder.Row; predict.Scorer.Score), and
// sinks that write the part files churn's readers take, published
// atomically by the launcher. Engine plugs it into churn's commands
// (cmd.RunEngine), so churn-beam takes churn's flags and config.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/spf13/pflag"

	"github.com/churnlab/churn/beam/internal/wire"
	"github.com/churnlab/churn/cmd"
	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
)

// CustomersPerPart is the default number of customers per part file: the
// part count is the customers table's rows over it, rounded up.
const CustomersPerPart = 200_000

// SuccessFile marks a complete feature table folder.
const SuccessFile = "_SUCCESS"

// Engine returns churn-beam's engine: churn's features and predict
// commands whose per-customer work runs as a Beam pipeline on the runner
// of --runner (default prism, in-process, workers in loopback mode).
// Beam's flags (the Go flags its packages define) are added to the
// commands, with --parts.
func Engine() *cmd.Engine {
	e := &engine{}
	fs := pflag.NewFlagSet("beam", pflag.ContinueOnError)
	fs.IntVar(&e.parts, "parts", 0, fmt.Sprintf("part files per as-of date (default: one per %d customers)", CustomersPerPart))
	fs.AddGoFlagSet(flag.CommandLine)
	return &cmd.Engine{
		Name:  "churn-beam",
		Short: "churn features and churn predict as Apache Beam pipelines (prism, Flink, Spark, Dataflow)",
		Long: `churn-beam runs the per-customer work of churn features and churn predict on
an Apache Beam runner, sharded by customer: the same flags, config, code and
results as churn's. Training and the evaluation report stay on one machine
(churn train takes churn-beam features --sample). See docs/scaling.md.`,
		Features: e.features,
		Predict:  e.predict,
		Flags:    fs,
	}
}

type engine struct {
	parts int
}

// partsFor returns the part count for ds.
func (e *engine) partsFor(ds *data.Dataset) int {
	if e.parts > 0 {
		return e.parts
	}
	n := ds.Table(data.Customers).NumRows()
	return int(max(1, (n+CustomersPerPart-1)/CustomersPerPart))
}

func (e *engine) features(ctx context.Context, ds *data.Dataset, opt features.BuildOptions, o *cmd.FeaturesOptions) (*cmd.EngineTable, error) {
	spec, b, err := features.NewBuild(ctx, ds, opt)
	if err != nil {
		return nil, err
	}
	dates, asOf, err := b.RowDates(opt.AsOf)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	out, err := data.CreateAtomicDir(o.Out)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	job := &FeaturesJob{
		Dir: abs(ds.Dir), Spec: raw, Label: b.Label(), Dates: dates, AsOf: asOf,
		Only: abs(o.Customers), Exclude: abs(o.ExcludeCustomers),
		Parts: e.partsFor(ds), Staging: abs(out.Path),
		SampleSize: o.Sample, SampleSeed: o.SampleSeed, ChurnVersion: cmd.Version(),
	}
	p, s := beam.NewPipelineWithRoot()
	scan := b.ScanOptions(false)
	FeaturesPipeline(s, ds, job, scan)
	if err := runPipeline(ctx, p); err != nil {
		return nil, err
	}
	t := &cmd.EngineTable{Spec: spec}
	var tl tally
	if err := readStaged(out.Path, statsFile, func(b []byte) error { _, err := wire.Decode(b, &tl); return err }); err != nil {
		return nil, err
	}
	t.Stats = tl.stats(specOf(scan).tables(ds))
	if o.Sample != 0 {
		err := readStaged(out.Path, sampleFile, func(b []byte) (err error) { t.Sample, err = features.DecodeSamplePlan(string(b)); return err })
		if err != nil {
			return nil, err
		}
		if t.Sample == nil { // no customer had a row
			if t.Sample, err = features.PlanSample(o.SampleSeed, o.Sample, nil); err != nil {
				return nil, err
			}
		}
	}
	if err := data.WriteFileSync(filepath.Join(out.Path, SuccessFile), nil); err != nil {
		return nil, err
	}
	return t, out.Commit()
}

// readStaged passes the file name of dir to read and removes it; a missing
// file (the pipeline saw no element) is left to the caller's default.
func readStaged(dir, name string, read func([]byte) error) error {
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := read(b); err != nil {
		return fmt.Errorf("churn-beam: %s: %w", path, err)
	}
	return os.Remove(path)
}

func (e *engine) predict(ctx context.Context, opt predict.Options, o *cmd.PredictOptions) (*predict.Result, error) {
	sc, err := predict.NewScorer(opt)
	if err != nil {
		return nil, err
	}
	// The parts are staged in a transaction of their own under the
	// output's staging folder, never published: PublishParts publishes
	// the partitions they make.
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return nil, err
	}
	txn, err := data.BeginTxn(filepath.Join(opt.Out, data.StagingName))
	if err != nil {
		return nil, err
	}
	defer txn.Abort()
	dir, err := txn.Dir("beam-parts", filepath.Join(opt.Out, data.StagingName, "beam-parts"))
	if err != nil {
		return nil, err
	}
	po := *o
	po.AsOf, po.Now = opt.AsOf.String(), nil
	po.Data, po.Model, po.ConfigFile = abs(po.Data), abs(po.Model), abs(po.ConfigFile)
	scan := sc.ScanOptions()
	job := &PredictJob{Options: po, Tables: specOf(scan).tables(opt.Dataset), Parts: e.partsFor(opt.Dataset), Staging: abs(dir)}
	p, s := beam.NewPipelineWithRoot()
	PredictPipeline(s, opt.Dataset, job, scan)
	if err := runPipeline(ctx, p); err != nil {
		return nil, err
	}
	return predict.PublishParts(ctx, opt, []string{dir})
}

// runPipeline runs p on the runner of --runner. A failed job's error is
// the runner's report of the failing stage (logged at debug level) cut
// to the error of churn's code that failed it, such as an *InputError
// naming the file.
func runPipeline(ctx context.Context, p *beam.Pipeline) error {
	// The runner's own logs (job states, a failed bundle's plan) are
	// debug-level detail for churn-beam's user.
	prev := slog.Default()
	slog.SetDefault(slog.New(demoted{prev.Handler()}))
	err := beamx.Run(ctx, p)
	slog.SetDefault(prev)
	if err == nil {
		return nil
	}
	slog.Debug("the Beam job failed", "error", err.Error())
	msg := err.Error()
	const marker = "] failed:\n"
	if i := strings.LastIndex(msg, marker); i >= 0 {
		msg = strings.TrimSpace(msg[i+len(marker):])
	}
	return fmt.Errorf("the Beam job failed: %s", msg)
}

// demoted logs every record at debug level.
type demoted struct{ h slog.Handler }

func (d demoted) Enabled(ctx context.Context, _ slog.Level) bool {
	return d.h.Enabled(ctx, slog.LevelDebug)
}

func (d demoted) Handle(ctx context.Context, r slog.Record) error {
	r.Level = slog.LevelDebug
	return d.h.Handle(ctx, r)
}

func (d demoted) WithAttrs(as []slog.Attr) slog.Handler { return demoted{d.h.WithAttrs(as)} }
func (d demoted) WithGroup(name string) slog.Handler    { return demoted{d.h.WithGroup(name)} }

// abs makes a path absolute for workers in other folders ("" stays "").
func abs(p string) string {
	if p == "" {
		return ""
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// customerKeep is cmd.CustomerKeep, nil when no list is given.
func customerKeep(only, exclude string) (func(string) bool, error) {
	if only == "" && exclude == "" {
		return nil, nil
	}
	return cmd.CustomerKeep(only, exclude)
}
