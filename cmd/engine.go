package cmd

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
)

// Engine runs the per-customer work of churn features and churn predict
// outside this process: churn-beam (the module beam/) passes one that runs
// it as an Apache Beam pipeline. Everything else stays churn's: the flags,
// the config, the checks of the input, the spec and its lifetime fits, and
// predict's global work (tiers, control groups, alerts, files). A command
// built with an engine is churn's command with the same flags, less those
// the engine cannot honour (--shard, --holdout: usage errors).
type Engine struct {
	// Name is the binary's name ("churn-beam"), in usage and messages.
	Name string
	// Short and Long describe the binary in its root command's help.
	Short, Long string
	// Features writes the feature table churn features would write,
	// computed from ds with opt (spec fits and all; opt.Keep is set from
	// --customers and --exclude-customers) into the folder o.Out,
	// published atomically. It returns the spec and the counts.
	// With --sample (o.Sample) the table is the stratified sample of
	// features.BuildSample, and the plan is returned.
	Features func(ctx context.Context, ds *data.Dataset, opt features.BuildOptions, o *FeaturesOptions) (*EngineTable, error)
	// Predict scores the customers as churn predict with opt (opened from
	// o by OpenPredict) would and publishes the same partitions
	// (predict.PublishParts does the global work).
	Predict func(ctx context.Context, opt predict.Options, o *PredictOptions) (*predict.Result, error)
	// Flags are added to every command (Beam's runner flags).
	Flags *pflag.FlagSet
}

// EngineTable is the feature table an engine wrote.
type EngineTable struct {
	Spec   *features.Spec
	Stats  features.Stats
	Sample *features.SamplePlan // with --sample
}

// RunEngine runs an engine's binary (features and predict) with the given
// arguments and streams, and returns the exit code, as Run does for churn.
func RunEngine(args []string, stdio IO, e *Engine) int {
	return run(newEngineRoot(stdio, e), e.Name, args, stdio)
}

// newEngineRoot builds the engine's command tree: churn's root (logging
// flags, typed usage errors) with only features and predict.
func newEngineRoot(stdio IO, e *Engine) *cobra.Command {
	fc := featuresCmd(stdio, e)
	fc.RemoveCommand(fc.Commands()...) // no merge: the engine writes one table
	fc.Use = strings.Replace(fc.Use, "--out FILE.parquet", "--out DIR", 1)
	fc.Flag("out").Usage = "output folder of the feature table: as_of=DATE/part-NNNNN.parquet and _SUCCESS (required)"
	fc.Example = ""
	pc := predictCmd(stdio, func(ctx context.Context, stdio IO, o *PredictOptions) error {
		o.engine = e
		return runPredict(ctx, stdio, o)
	})
	pc.RemoveCommand(pc.Commands()...) // no merge: the engine publishes
	pc.Example = ""
	root := newRoot(stdio, []*cobra.Command{fc, pc})
	root.Use, root.Short, root.Long, root.Example = e.Name, e.Short, e.Long, ""
	if e.Flags != nil {
		root.PersistentFlags().AddFlagSet(e.Flags)
	}
	return root
}

// engineFeaturesChecks refuses the churn features flags an engine cannot
// honour, and requires --out to be a folder.
func engineFeaturesChecks(o *FeaturesOptions) error {
	e := o.engine
	switch {
	case o.Shard != "":
		return usageErrorf("--shard: %s shards by itself; --shard is churn's, for runs without an engine", e.Name)
	case o.Holdout != 0 || o.HoldoutOut != "":
		return usageErrorf("--holdout is not supported by %s: hold out with --exclude-customers here, or let churn train hold out (train.holdout)", e.Name)
	case strings.HasSuffix(o.Out, ".parquet"):
		return usageErrorf("--out %q: %s writes a folder (as_of=DATE/part-NNNNN.parquet), not a .parquet file", o.Out, e.Name)
	}
	return nil
}

// runFeaturesEngine is runFeatures' end with an engine.
func runFeaturesEngine(ctx context.Context, ds *data.Dataset, opt features.BuildOptions, o *FeaturesOptions, start time.Time) error {
	t, err := o.engine.Features(ctx, ds, opt, o)
	if err != nil {
		return err
	}
	spec, st := t.Spec, t.Stats
	if err := writeSpecOut(o.SpecOut, spec); err != nil {
		return err
	}
	slog.Info("features built", "engine", o.engine.Name, "out", o.Out, "rows", st.Rows, "features", len(spec.Features), "seconds", time.Since(start).Seconds())
	if err := printFeatureSummary(o.IO, o.Out, spec, st); err != nil {
		return err
	}
	if t.Sample != nil {
		return printSampleSummary(o.IO, t.Sample)
	}
	return nil
}
