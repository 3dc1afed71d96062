package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

func init() { register(newFeaturesCmd) }

// FeaturesOptions are the inputs of churn features.
type FeaturesOptions struct {
	Data      string
	Out       string
	SpecOut   string
	AsOf      string
	Snapshots string
	Horizon   string
	Gap       string
	LabelMode string
	DataEnd   string
	Windows   string
	Groups    []string
	Workers   int
	// Holdout is the share of customers written to HoldoutOut instead of
	// Out (0: no holdout), chosen by a hash of customer_id and HoldoutSeed.
	Holdout     float64
	HoldoutSeed uint64
	HoldoutOut  string
	// Customers and ExcludeCustomers are id list files: keep only the
	// listed customers, or leave the listed ones out.
	Customers        string
	ExcludeCustomers string
	// Shard ("i/n", --shard) builds only shard i of n of the customers
	// (data.ShardOf) into Out/shard-IIIII-of-NNNNN.parquet (Out is then a
	// folder) for churn features merge.
	Shard string
	// Sample (--sample N), when not 0, writes to Out a stratified sample
	// of at most Sample customers instead of the whole table (see
	// features.BuildSample), chosen by a hash of customer_id seeded with
	// SampleSeed. It must be at least 2.
	Sample     int
	SampleSeed uint64
	IO         IO
	// engine, when set, computes the table (churn-beam): see Engine.
	engine *Engine
}

func newFeaturesCmd(stdio IO) *cobra.Command { return featuresCmd(stdio, nil) }

// featuresCmd builds churn features, run by e when it is set.
func featuresCmd(stdio IO, e *Engine) *cobra.Command {
	o := &FeaturesOptions{IO: stdio, engine: e}
	c := &cobra.Command{
		Use:   "features --data DIR (--as-of DATE | --snapshots FROM:TO:STEP) --out FILE.parquet",
		Short: "Build point-in-time features and labels from customer histories",
		Long: `Computes, for every customer who is a customer at each as-of date T, the
features known at T (only rows strictly before T count) and the label:
1 if the customer churns in (T+gap, T+gap+horizon], 0 if not, null when the
window is not fully observed in the data (such rows are kept for scoring but
not used for training). Several as-of dates stack into one training table
with an as_of column.

The feature spec (names, descriptions, units, windows, label settings and a
fingerprint of the input) is stored in the Parquet file's metadata.

To hold out a test set, --holdout SHARE writes that share of the customers
(every as-of row of each) to --holdout-out instead of --out, chosen by a
hash of customer_id and --holdout-seed: the same seed gives the same split.
--customers FILE keeps only the listed customers and --exclude-customers
FILE leaves them out (one id a line; a customer_id header, blank lines and
# comments are skipped). Every table keeps the spec, so churn train, eval
and score-table take it. Evaluate a model trained on --out with churn eval
on --holdout-out.

To train on one machine from more customers than fit, --sample N writes a
stratified sample of at most N customers, each with all its snapshots:
customers with a churned row are all kept while they fit in half of N (else
N/2 of them), customers whose labelled rows are all 0 fill the rest, and
customers with no labelled row are left out; within each stratum the
customers with the smallest hash of customer_id and --sample-seed are kept.
Every row carries a sample_weight column (customers in the stratum ÷ kept),
which churn train, eval and score-table use for calibration and metrics so
that they speak for the population. --sample cannot be combined with
--shard or --holdout.`,
		Example: `  churn features --data demo/data --as-of 2024-10-01 --out features.parquet
  churn features --data demo/data --snapshots 2024-01-01:2024-09-01:1m --horizon 90d --out train.parquet
  churn features --data telco --out telco-features.parquet   # snapshot data: no dates needed
  churn features --data demo/data --snapshots 2024-01-01:2024-09-01:1m --out train.parquet --holdout 0.2 --holdout-seed 7 --holdout-out test.parquet
  churn features --data demo/data --as-of 2024-10-01 --out f.parquet --exclude-customers pilots.txt
  churn features --data big --snapshots 2024-01-01:2024-09-01:1m --out sample.parquet --sample 200000 --sample-seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("sample") && o.Sample == 0 {
				return usageErrorf("--sample 0: the sample size must be at least 2 customers")
			}
			return runFeatures(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Data, "data", "", "dataset directory (required)")
	f.StringVar(&o.Out, "out", "", "output feature table, .parquet (required)")
	f.StringVar(&o.SpecOut, "spec-out", "", "also write the feature spec as JSON to this file")
	f.StringVar(&o.AsOf, "as-of", "", "as-of date YYYY-MM-DD")
	f.StringVar(&o.Snapshots, "snapshots", "", "as-of dates FROM:TO:STEP, STEP like 1m, 2w or 30d (inclusive range)")
	f.StringVar(&o.Horizon, "horizon", "90d", "label horizon: churn within this long after the as-of date (e.g. 90d, 12w, 3m)")
	f.StringVar(&o.Gap, "gap", "0d", "gap between the as-of date and the label window")
	f.StringVar(&o.LabelMode, "label", "auto", "label source: auto, churn_date, churn_events, snapshot, inactivity or none")
	f.StringVar(&o.DataEnd, "data-end", "", "last day the data covers (default: the latest date in the data)")
	f.StringVar(&o.Windows, "windows", "30,90,180", "short, medium and long windows in days")
	f.StringSliceVar(&o.Groups, "groups", nil, "feature groups to compute (default all): "+strings.Join(features.GroupNames(), ", "))
	f.IntVar(&o.Workers, "workers", 0, "parallel workers (default: number of CPUs)")
	f.Float64Var(&o.Holdout, "holdout", 0, "share of customers to hold out into --holdout-out, e.g. 0.2")
	f.Uint64Var(&o.HoldoutSeed, "holdout-seed", 0, "seed of the customer hash that picks the held-out customers")
	f.StringVar(&o.HoldoutOut, "holdout-out", "", "feature table of the held-out customers, .parquet (with --holdout)")
	f.StringVar(&o.Customers, "customers", "", "file of customer ids (one a line): only these customers")
	f.StringVar(&o.ExcludeCustomers, "exclude-customers", "", "file of customer ids (one a line) to leave out")
	f.StringVar(&o.Shard, "shard", "", "build only shard i of n (i/n, e.g. 0/4) of the customers, by a hash of customer_id; --out is then a folder that gets shard-IIIII-of-NNNNN.parquet; join the shards with churn features merge (docs/scaling.md)")
	f.IntVar(&o.Sample, "sample", 0, "write a stratified sample of at most N customers (all their snapshots, churned ones first up to half, weighted by a sample_weight column) instead of the whole table")
	f.Uint64Var(&o.SampleSeed, "sample-seed", 0, "seed of the customer hash that picks the sampled customers (with --sample)")
	c.MarkFlagRequired("data")
	c.MarkFlagRequired("out")
	c.MarkFlagsMutuallyExclusive("as-of", "snapshots")
	c.AddCommand(featuresMergeCmd(stdio))
	return c
}

// featuresMergeCmd builds churn features merge.
func featuresMergeCmd(stdio IO) *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge --out FILE.parquet SHARD...",
		Short: "Join the shards of churn features --shard i/n into one feature table",
		Long: `Reads the shard files that churn features --shard i/n wrote (files, or folders
of them), checks that they are one complete set — shards 0 to n-1 of the same
n, each exactly once, with the same feature spec — and writes the feature
table churn features without --shard would have written: the same rows in the
same order (customer_id, as_of), the same schema and spec. Only the row-group
boundaries inside the file differ. Written atomically; an incomplete or mixed
set fails (exit 1) and writes nothing.`,
		Example: `  churn features --data d --snapshots 2024-01-01:2024-09-01:1m --out shards --shard 0/2
  churn features --data d --snapshots 2024-01-01:2024-09-01:1m --out shards --shard 1/2
  churn features merge --out train.parquet shards`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasSuffix(out, ".parquet") {
				return usageErrorf("--out %q: the feature table is a .parquet file", out)
			}
			spec, st, err := features.MergeShardsFile(cmd.Context(), args, data.WriterOptions{ChurnVersion: Version()}, out)
			if err != nil {
				return err
			}
			return printFeatureSummary(stdio, out, spec, st)
		},
	}
	c.Flags().StringVar(&out, "out", "", "output feature table, .parquet (required)")
	c.MarkFlagRequired("out")
	return c
}

// parseDays parses a length like 90, 90d, 12w or 3m (months of 30 days).
func parseDays(s string) (int, error) {
	s = strings.TrimSpace(s)
	mult := 1
	switch {
	case strings.HasSuffix(s, "d"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "w"):
		s, mult = s[:len(s)-1], 7
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], 30
	case strings.HasSuffix(s, "y"):
		s, mult = s[:len(s)-1], 365
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a length like 90d, 12w or 3m", s)
	}
	return n * mult, nil
}

// parseSnapshots parses FROM:TO:STEP into the dates from FROM to TO
// inclusive; a STEP in months (1m) steps by calendar months.
func parseSnapshots(s string) ([]data.Date, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("--snapshots %q: want FROM:TO:STEP, e.g. 2024-01-01:2024-12-01:1m", s)
	}
	from, err := data.ParseDate(parts[0])
	if err != nil {
		return nil, fmt.Errorf("--snapshots: %w", err)
	}
	to, err := data.ParseDate(parts[1])
	if err != nil {
		return nil, fmt.Errorf("--snapshots: %w", err)
	}
	if to < from {
		return nil, fmt.Errorf("--snapshots: %s is before %s", parts[1], parts[0])
	}
	step := parts[2]
	var dates []data.Date
	if strings.HasSuffix(step, "m") {
		n, err := strconv.Atoi(strings.TrimSuffix(step, "m"))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--snapshots: bad step %q", step)
		}
		for k := 0; ; k++ {
			d := data.DateOf(from.Time().AddDate(0, k*n, 0))
			if d > to {
				break
			}
			dates = append(dates, d)
		}
	} else {
		n, err := parseDays(step)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--snapshots: bad step %q", step)
		}
		for d := from; d <= to; d += data.Date(n) {
			dates = append(dates, d)
		}
	}
	if len(dates) > 1000 {
		return nil, fmt.Errorf("--snapshots: %d dates is too many (at most 1000)", len(dates))
	}
	return dates, nil
}

// featureConfig turns the shared feature and label flags into configs.
func featureConfig(windows string, groups []string, horizon, gap, mode, dataEnd string) (features.Config, features.LabelConfig, error) {
	var cfg features.Config
	var lc features.LabelConfig
	w := strings.Split(windows, ",")
	if len(w) != 3 {
		return cfg, lc, usageErrorf("--windows %q: want three lengths in days, e.g. 30,90,180", windows)
	}
	for i, p := range []*int{&cfg.Short, &cfg.Medium, &cfg.Long} {
		n, err := parseDays(w[i])
		if err != nil {
			return cfg, lc, usageErrorf("--windows: %v", err)
		}
		*p = n
	}
	cfg.Groups = groups
	var err error
	if lc.Horizon, err = parseDays(horizon); err != nil {
		return cfg, lc, usageErrorf("--horizon: %v", err)
	}
	if lc.Gap, err = parseDays(gap); err != nil {
		return cfg, lc, usageErrorf("--gap: %v", err)
	}
	lc.Mode = features.LabelMode(mode)
	lc.DataEnd = data.NoDate
	if dataEnd != "" {
		if lc.DataEnd, err = data.ParseDate(dataEnd); err != nil {
			return cfg, lc, usageErrorf("--data-end: %v", err)
		}
	}
	cfg.EnsureDefaults()
	lc.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, lc, &UsageError{Err: err}
	}
	if err := lc.Validate(); err != nil {
		return cfg, lc, &UsageError{Err: err}
	}
	return cfg, lc, nil
}

func runFeatures(ctx context.Context, o *FeaturesOptions) error {
	if err := checkSampleFlags(o); err != nil {
		return err
	}
	var shard data.Shard
	if o.engine != nil {
		if err := engineFeaturesChecks(o); err != nil {
			return err
		}
	} else if o.Shard != "" {
		var err error
		if shard, err = data.ParseShard(o.Shard); err != nil {
			return usageErrorf("--shard: %v", err)
		}
		if o.Holdout != 0 || o.HoldoutOut != "" || o.SpecOut != "" {
			return usageErrorf("--shard cannot be combined with --holdout or --spec-out: give them to a run without --shard")
		}
		if strings.HasSuffix(o.Out, ".parquet") {
			return usageErrorf("--out %q: with --shard, --out is the folder of the shard files", o.Out)
		}
	} else if !strings.HasSuffix(o.Out, ".parquet") {
		return usageErrorf("--out %q: the feature table is a .parquet file", o.Out)
	}
	cfg, lc, err := featureConfig(o.Windows, o.Groups, o.Horizon, o.Gap, o.LabelMode, o.DataEnd)
	if err != nil {
		return err
	}
	var dates []data.Date
	switch {
	case o.AsOf != "":
		d, err := data.ParseDate(o.AsOf)
		if err != nil {
			return usageErrorf("--as-of: %v", err)
		}
		dates = []data.Date{d}
	case o.Snapshots != "":
		if dates, err = parseSnapshots(o.Snapshots); err != nil {
			return &UsageError{Err: err}
		}
	}
	keep, heldOut, err := customerFilter(o)
	if err != nil {
		return err
	}
	start := time.Now()
	ds, err := data.Open(o.Data)
	if err != nil {
		return err
	}
	defer ds.Close()
	opt := features.BuildOptions{AsOf: dates, Config: cfg, Label: lc, Workers: o.Workers, Writer: data.WriterOptions{ChurnVersion: Version()}, Keep: keep, Shard: shard}
	if o.engine != nil {
		return runFeaturesEngine(ctx, ds, opt, o, start)
	}
	if o.Shard != "" {
		path := filepath.Join(o.Out, shard.FileName())
		spec, st, err := features.BuildFile(ctx, ds, opt, path)
		if err != nil {
			return err
		}
		slog.Info("feature shard built", "shard", shard.String(), "out", path, "rows", st.Rows, "seconds", time.Since(start).Seconds())
		return printFeatureSummary(o.IO, path, spec, st)
	}
	if o.Sample != 0 {
		return runFeaturesSample(ctx, o, ds, opt, start)
	}
	var test *builtTable
	if heldOut != nil {
		// Both tables are written, then both published: a failure leaves
		// neither.
		opt.Keep = func(id string) bool { return keep(id) && !heldOut(id) }
		testOpt := opt
		testOpt.Keep = func(id string) bool { return keep(id) && heldOut(id) }
		if test, err = buildStaged(ctx, ds, testOpt, o.HoldoutOut); err != nil {
			return err
		}
		defer test.f.Abort()
	}
	out, err := buildStaged(ctx, ds, opt, o.Out)
	if err != nil {
		return err
	}
	defer out.f.Abort()
	if err := out.f.Commit(); err != nil {
		return err
	}
	if test != nil {
		if err := test.f.Commit(); err != nil {
			return err
		}
	}
	spec, st := out.spec, out.stats
	if err := writeSpecOut(o.SpecOut, spec); err != nil {
		return err
	}
	slog.Info("features built", "out", o.Out, "rows", st.Rows, "features", len(spec.Features), "seconds", time.Since(start).Seconds())
	if err := printFeatureSummary(o.IO, o.Out, spec, st); err != nil {
		return err
	}
	if test != nil {
		fmt.Fprintf(o.IO.Out, "\nheld out: %.0f%% of the customers by a hash of customer_id with seed %d\n", 100*o.Holdout, o.HoldoutSeed)
		return printFeatureSummary(o.IO, o.HoldoutOut, test.spec, test.stats)
	}
	return nil
}

// checkSampleFlags reports --sample settings that cannot work together.
func checkSampleFlags(o *FeaturesOptions) error {
	switch {
	case o.Sample == 0 && o.SampleSeed != 0:
		return usageErrorf("--sample-seed needs --sample, the sample size in customers")
	case o.Sample == 0:
		return nil
	case o.Sample < 2:
		return usageErrorf("--sample %d: the sample size must be at least 2 customers", o.Sample)
	case o.Shard != "":
		return usageErrorf("--sample cannot be combined with --shard: a sample is planned over every customer (docs/scaling.md)")
	case o.Holdout != 0 || o.HoldoutOut != "":
		return usageErrorf("--sample cannot be combined with --holdout: hold out with --exclude-customers, or evaluate on a table built without --sample")
	}
	return nil
}

// runFeaturesSample writes the stratified sample (--sample) to o.Out.
func runFeaturesSample(ctx context.Context, o *FeaturesOptions, ds *data.Dataset, opt features.BuildOptions, start time.Time) error {
	spec, plan, st, err := features.BuildSampleFile(ctx, ds, opt, features.SampleOptions{Size: o.Sample, Seed: o.SampleSeed}, o.Out)
	if err != nil {
		return err
	}
	if err := writeSpecOut(o.SpecOut, spec); err != nil {
		return err
	}
	slog.Info("feature sample built", "out", o.Out, "rows", st.Rows, "features", len(spec.Features), "seconds", time.Since(start).Seconds())
	if err := printFeatureSummary(o.IO, o.Out, spec, st); err != nil {
		return err
	}
	return printSampleSummary(o.IO, plan)
}

// printSampleSummary describes a sample plan under the feature summary.
func printSampleSummary(stdio IO, plan *features.SamplePlan) error {
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "sample\tat most %d customers, seed %d, weights in %s\n", plan.Size, plan.Seed, features.SampleWeightColumn)
	for _, s := range plan.Strata {
		switch {
		case s.Name == features.StratumUnlabelled:
			fmt.Fprintf(tw, "  %s\t%d customers left out (no labelled row)\n", s.Name, s.Customers)
		case s.Kept == s.Customers:
			fmt.Fprintf(tw, "  %s\tall %d customers kept, weight 1\n", s.Name, s.Customers)
		default:
			fmt.Fprintf(tw, "  %s\t%d of %d customers kept, weight %.6g\n", s.Name, s.Kept, s.Customers, s.Weight)
		}
	}
	return tw.Flush()
}

// writeSpecOut writes spec as JSON to path (--spec-out), unless path is
// empty.
func writeSpecOut(path string, spec *features.Spec) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return data.WriteFileAtomic(path, append(b, '\n'))
}

// customerFilter turns the customer selection flags into the customers to
// keep and, with --holdout, those held out (nil without).
func customerFilter(o *FeaturesOptions) (keep, heldOut func(string) bool, err error) {
	switch {
	case o.Holdout != 0 && o.HoldoutOut == "":
		return nil, nil, usageErrorf("--holdout needs --holdout-out, the feature table of the held-out customers")
	case o.Holdout == 0 && o.HoldoutOut != "":
		return nil, nil, usageErrorf("--holdout-out needs --holdout, the share of customers to hold out")
	case o.HoldoutOut != "" && !strings.HasSuffix(o.HoldoutOut, ".parquet"):
		return nil, nil, usageErrorf("--holdout-out %q: the feature table is a .parquet file", o.HoldoutOut)
	case o.HoldoutOut != "" && o.HoldoutOut == o.Out:
		return nil, nil, usageErrorf("--holdout-out and --out are the same file")
	}
	if o.Holdout != 0 {
		h := features.Holdout{Share: o.Holdout, Seed: o.HoldoutSeed}
		if err := h.Validate(); err != nil {
			return nil, nil, usageErrorf("--holdout: %v", err)
		}
		heldOut = h.HeldOut
	}
	if keep, err = CustomerKeep(o.Customers, o.ExcludeCustomers); err != nil {
		return nil, nil, err
	}
	return keep, heldOut, nil
}

// CustomerKeep reads the files of --customers (only) and
// --exclude-customers (exclude), either "" for none, and returns the
// customers they keep. Engines' workers call it with the same flags.
func CustomerKeep(only, exclude string) (func(string) bool, error) {
	var in, out map[string]bool
	var err error
	if only != "" {
		if in, err = features.ReadCustomerList(only); err != nil {
			return nil, fmt.Errorf("--customers: %w", err)
		}
	}
	if exclude != "" {
		if out, err = features.ReadCustomerList(exclude); err != nil {
			return nil, fmt.Errorf("--exclude-customers: %w", err)
		}
	}
	return func(id string) bool { return (in == nil || in[id]) && !out[id] }, nil
}

// builtTable is a feature table written to a staging file, not yet
// published.
type builtTable struct {
	f     *data.AtomicFile
	spec  *features.Spec
	stats features.Stats
}

func buildStaged(ctx context.Context, ds *data.Dataset, opt features.BuildOptions, path string) (*builtTable, error) {
	f, err := data.CreateAtomic(path)
	if err != nil {
		return nil, err
	}
	spec, st, err := features.Build(ctx, ds, opt, f)
	if err != nil {
		f.Abort()
		return nil, err
	}
	return &builtTable{f: f, spec: spec, stats: st}, nil
}

func printFeatureSummary(stdio IO, out string, spec *features.Spec, st features.Stats) error {
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "feature table\t%s\n", out)
	fmt.Fprintf(tw, "customers scanned\t%d\n", st.Customers)
	fmt.Fprintf(tw, "rows (customer × as-of)\t%d\n", st.Rows)
	rate := 0.0
	if st.Labelled > 0 {
		rate = float64(st.Positives) / float64(st.Labelled) * 100
	}
	fmt.Fprintf(tw, "labelled rows\t%d (%d churned, %.1f%%); %d unlabelled (window not observed)\n", st.Labelled, st.Positives, rate, st.Rows-st.Labelled)
	fmt.Fprintf(tw, "label\t%s, horizon %d days, gap %d days, data end %s\n", spec.Label.Mode, spec.Label.HorizonDay, spec.Label.GapDays, orNone(spec.Label.DataEnd))
	fmt.Fprintf(tw, "features\t%d\n", len(spec.Features))
	if s := spec.StaticNames(); len(s) > 0 {
		fmt.Fprintf(tw, "static (today's values)\t%s\n", strings.Join(s, ", "))
	}
	for table, n := range st.Scan.Orphans {
		if n > 0 {
			fmt.Fprintf(tw, "rows without a customer\t%s: %d (ignored)\n", table, n)
		}
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
