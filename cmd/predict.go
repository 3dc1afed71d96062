package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/predict/pgsink"
	"github.com/churnlab/churn/train"
)

func init() { register(newPredictCmd) }

// PredictOptions are the inputs of churn predict.
type PredictOptions struct {
	Data       string
	Model      string
	AsOf       string // YYYY-MM-DD or "today" (UTC)
	Out        string
	ConfigFile string
	Reasons    string // overrides reasons.method of the config
	// ControlShare overrides control.share of the config: a number in
	// [0, 1], "" to keep the config's (or the default).
	ControlShare string
	ModelVersion string
	Workers      int
	Top          int
	// Now is the clock for scored_at and "today" (--now); nil means
	// time.Now.
	Now func() time.Time `json:"-"`
	// Shard ("i/n", --shard) scores only shard i of n of the customers
	// (data.ShardOf) and writes their per-customer records to
	// Out/shard-IIIII-of-NNNNN.parquet for churn predict merge.
	Shard string
	// Shards are the shard files or folders churn predict merge reads.
	Shards []string
	// Sinks (--sink) are database URLs that replace the config's sinks:
	// the published partition is loaded into each (predict/pgsink).
	Sinks []string
	// engine, when set, scores the customers (churn-beam): see Engine.
	engine *Engine
}

func newPredictCmd(stdio IO) *cobra.Command {
	return predictCmd(stdio, runPredict)
}

// predictCmd builds the command; runF does the work (tests may stop there).
func predictCmd(stdio IO, runF func(context.Context, IO, *PredictOptions) error) *cobra.Command {
	o := &PredictOptions{}
	c := &cobra.Command{
		Use:   "predict --data DIR --model DIR --as-of DATE --out DIR [--config FILE]",
		Short: "Score customers: churn risk, reasons, next steps and alerts, as Parquet for BI",
		Long: `Scores every customer who is a customer on the as-of date with a model made by
churn train. Features are computed as of that date (only data before it counts)
with the model's own feature settings. Each customer gets a calibrated churn
probability, a rank (1 = riskiest) and a risk tier (high, medium, low), the
revenue at risk, its top three reasons in business words, a recommended action
and owner from the playbook, and the change since the previous run. Alert rules
pick the customers someone must act on. A share of the customers each play
targets (control.share, default 0.1; --control-share) is held out as a control
group: treatment_group says who, they get no alerts, and they must not be
contacted because of churn (docs/playbook.md, control groups).

Output (each partition appears whole or not at all; re-running a date replaces
it atomically):
  OUT/predictions/as_of=DATE/part-*.parquet, _manifest.json, _SUCCESS
  OUT/alerts/as_of=DATE/alerts.parquet, alerts.jsonl, _manifest.json, _SUCCESS

The config file (YAML) sets the tiers, the reasons method, the playbook, the
alert rules and an optional webhook; see docs/predictions.md and
docs/playbook.md. Without one, the defaults apply: high = top 5%, medium = the
next 15%. Exit status 1 when the webhook fails after the outputs are written,
unless webhook.required is false.

Past one machine: --shard i/n scores only the customers of shard i of n (a
hash of customer_id) and writes their per-customer records to
OUT/shard-IIIII-of-NNNNN.parquet; run the n shards anywhere (a Kubernetes
Indexed Job, docs/scaling.md) with the same flags and an explicit --as-of,
then churn predict merge publishes them as the one partition churn predict
would have written.`,
		Example: `  churn predict --data demo/data --model models/v1 --as-of 2024-12-01 --out demo/scores
  churn predict --data demo/data --model models/v1 --as-of today --out demo/scores --config predict.yaml
  duckdb -c "SELECT * FROM read_parquet('demo/scores/predictions/*/*.parquet', hive_partitioning=true) WHERE risk_tier = 'high' ORDER BY as_of DESC, rank LIMIT 20"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runF(cmd.Context(), stdio, o)
		},
	}
	bindPredictFlags(c, o)
	c.Flags().StringVar(&o.Shard, "shard", "", "score only shard i of n (i/n, e.g. 0/4) of the customers, by a hash of customer_id, into OUT/shard-IIIII-of-NNNNN.parquet; publish the shards with churn predict merge (docs/scaling.md)")
	c.AddCommand(predictMergeCmd(stdio, runF))
	return c
}

// bindPredictFlags adds the flags churn predict and churn predict merge
// share, all required but --config and the overrides.
func bindPredictFlags(c *cobra.Command, o *PredictOptions) {
	f := c.Flags()
	f.StringVar(&o.Data, "data", "", "dataset directory (required)")
	f.StringVar(&o.Model, "model", "", "model directory made by churn train (required)")
	f.StringVar(&o.AsOf, "as-of", "", `as-of date YYYY-MM-DD, or "today" (UTC) (required)`)
	f.StringVar(&o.Out, "out", "", "output directory (required)")
	f.StringVar(&o.ConfigFile, "config", envOr("CHURN_PREDICT_CONFIG", ""), "predict config YAML: tiers, reasons, playbook, alerts, webhook (env CHURN_PREDICT_CONFIG)")
	f.StringVar(&o.Reasons, "reasons", envOr("CHURN_PREDICT_REASONS", ""), "reasons method, overriding the config: auto, exact, approx or none (env CHURN_PREDICT_REASONS)")
	f.StringVar(&o.ControlShare, "control-share", envOr("CHURN_PREDICT_CONTROL_SHARE", ""), "share of each play's targeted customers held out as a control group, overriding the config: 0 to 1, 0 turns it off (env CHURN_PREDICT_CONTROL_SHARE; default 0.1)")
	f.StringVar(&o.ModelVersion, "model-version", "", "model version written in every row (default: sha256 of the model's model.json)")
	f.IntVar(&o.Workers, "workers", 0, "parallel workers (default: number of CPUs)")
	f.IntVar(&o.Top, "top", 10, "riskiest customers to list on stdout")
	f.StringArrayVar(&o.Sinks, "sink", envList("CHURN_PREDICT_SINK"), "after publishing, load the partition into this PostgreSQL database, postgres://USER@HOST:PORT/DB (repeatable; replaces the config's sinks; password from PGPASSWORD or PGPASSFILE, never in the URL; env CHURN_PREDICT_SINK; docs/bi.md)")
	addNowFlag(f, &o.Now)
	c.MarkFlagRequired("data")
	c.MarkFlagRequired("model")
	c.MarkFlagRequired("as-of")
	c.MarkFlagRequired("out")
}

// predictMergeCmd builds churn predict merge.
func predictMergeCmd(stdio IO, runF func(context.Context, IO, *PredictOptions) error) *cobra.Command {
	o := &PredictOptions{}
	c := &cobra.Command{
		Use:   "merge --data DIR --model DIR --as-of DATE --out DIR [--config FILE] SHARD...",
		Short: "Publish the shards of churn predict --shard i/n as one partition",
		Long: `Reads the shard files that churn predict --shard i/n wrote (files, or folders
of them), checks that they are one complete set — shards 0 to n-1 of the same
n, each exactly once, from the same model, as-of date, dataset and config —
and does the work that needs every customer at once: the comparison with the
previous run, ranks, risk tiers, control groups and alerts. It then publishes
the predictions and alerts partitions exactly as churn predict with the same
flags would (the same files, byte for byte), atomically, and posts the
webhook. Give it the flags the shards were run with. An incomplete or mixed
set fails (exit 1) and writes nothing.`,
		Example: `  churn predict --data d --model m --as-of 2024-12-01 --out shards --shard 0/2
  churn predict --data d --model m --as-of 2024-12-01 --out shards --shard 1/2
  churn predict merge --data d --model m --as-of 2024-12-01 --out scores shards`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Shards = args
			return runF(cmd.Context(), stdio, o)
		},
	}
	bindPredictFlags(c, o)
	return c
}

func runPredict(ctx context.Context, stdio IO, o *PredictOptions) error {
	popt, done, err := OpenPredict(o)
	if err != nil {
		return err
	}
	defer done()
	var shard data.Shard
	if o.Shard != "" {
		if shard, err = data.ParseShard(o.Shard); err != nil {
			return usageErrorf("--shard: %v", err)
		}
	}
	start := time.Now()
	if o.Shard != "" {
		sr, err := predict.WriteShard(ctx, popt, shard, filepath.Join(o.Out, shard.FileName()))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdio.Out, "shard %v\t%s (%d customers)\n", sr.Shard, sr.Path, sr.Rows)
		return err
	}
	var res *predict.Result
	switch {
	case o.engine != nil:
		res, err = o.engine.Predict(ctx, popt, o)
	case o.Shards != nil:
		res, err = predict.Merge(ctx, popt, o.Shards)
	default:
		res, err = predict.Run(ctx, popt)
	}
	if res != nil {
		slog.Info("predict finished", "rows", res.Rows, "alerts", res.Alerts, "seconds", time.Since(start).Seconds())
		if perr := printPredictSummary(stdio.Out, res, o.Top); perr != nil && err == nil {
			err = perr
		}
	}
	var we *predict.WebhookError
	if errors.As(err, &we) {
		err = fmt.Errorf("%w (the predictions and alerts are written; set webhook.required: false to let the run succeed anyway)", err)
	}
	// The sinks get the published partition, also when the webhook
	// failed: the database follows the files, whatever the notification.
	if res != nil && (err == nil || we != nil) && len(popt.Config.Sinks) > 0 {
		results, serr := pgsink.AfterRun(ctx, popt.Config.Sinks, popt.Out, popt.AsOf, nil, slog.Default())
		printSinkResults(stdio.Out, results)
		err = errors.Join(err, serr)
	}
	return err
}

// sinkFlags turns --sink URLs into sink configs in schema, checked: a bad
// URL or schema is a usage mistake.
func sinkFlags(urls []string, schema string) ([]predict.SinkConfig, error) {
	c := &predict.Config{}
	for _, u := range urls {
		c.Sinks = append(c.Sinks, predict.SinkConfig{URL: u, Schema: schema})
	}
	if err := c.ValidateSinks(); err != nil {
		return nil, usageErrorf("--sink: %v", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return c.Sinks, nil
}

// printSinkResults writes a line per sink and date loaded.
func printSinkResults(w io.Writer, results []*pgsink.Result) {
	for _, r := range results {
		if r == nil {
			continue
		}
		if len(r.Loads) == 0 {
			fmt.Fprintf(w, "postgres  %s: nothing to load\n", r.Sink)
		}
		for _, l := range r.Loads {
			fmt.Fprintf(w, "postgres  %s: as_of=%s loaded (%d predictions, %d alerts, %.1f s)\n", r.Sink, l.AsOf, l.Rows, l.Alerts, l.Seconds)
		}
	}
}

func printPredictSummary(w io.Writer, res *predict.Result, top int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	files := "files"
	if len(res.Files) == 1 {
		files = "file"
	}
	fmt.Fprintf(tw, "predictions\t%s (%d customers, %d %s)\n", res.PredictionsDir, res.Rows, len(res.Files), files)
	var rules []string
	for _, rc := range res.AlertsByRule {
		rules = append(rules, fmt.Sprintf("%s %d", rc.Rule, rc.Alerts))
	}
	fmt.Fprintf(tw, "alerts\t%s (%d", res.AlertsDir, res.Alerts)
	if len(rules) > 0 {
		fmt.Fprintf(tw, ": %s", strings.Join(rules, ", "))
	}
	fmt.Fprintf(tw, ")\n")
	fmt.Fprintf(tw, "risk tiers\thigh %d, medium %d, low %d\n", res.Tiers.High, res.Tiers.Medium, res.Tiers.Low)
	fmt.Fprintf(tw, "control groups\t%s\n", controlSummary(res.Experiment, res.AlertsSkippedControl))
	if res.Previous.Valid() {
		fmt.Fprintf(tw, "compared with\tas_of=%s (%d customers in both)\n", res.Previous, res.PreviousMatched)
	} else {
		fmt.Fprintf(tw, "compared with\tnothing (no earlier partition)\n")
	}
	method := map[string]string{predict.ReasonsExact: "exact (SHAP)", predict.ReasonsApprox: "approx (Saabas)", predict.ReasonsNone: "none"}[res.ReasonsMethod]
	fmt.Fprintf(tw, "reasons\t%s\n", method)
	fmt.Fprintf(tw, "model\t%s\n", res.ModelVersion)
	if u := res.Uplift; u != nil {
		if u.Used {
			fmt.Fprintf(tw, "uplift model\tQini %.4f vs %.4f ranking by risk (validated from %s)\n", u.Qini, u.QiniRisk, u.ValidFrom)
		} else {
			fmt.Fprintf(tw, "uplift model\tignored: %s\n", u.Note)
		}
	}
	fmt.Fprintf(tw, "ranked by\t%s\n", map[string]string{predict.RankByRisk: "risk (churn_probability)", predict.RankBySavedMRR: "expected MRR saved (expected_mrr_saved)"}[res.RankBy])
	switch wh := res.Webhook; {
	case !wh.Configured:
	case wh.Err != nil:
		fmt.Fprintf(tw, "webhook\tFAILED: %v\n", wh.Err)
	case wh.Requests == 0:
		fmt.Fprintf(tw, "webhook\t%s: no alerts to send\n", wh.URL)
	default:
		fmt.Fprintf(tw, "webhook\t%s: %d alerts in %d request(s)\n", wh.URL, wh.Alerts, wh.Sent)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if top == 0 || len(res.Top) == 0 {
		return nil
	}
	saved := res.RankBy == predict.RankBySavedMRR
	if saved {
		fmt.Fprintf(w, "\nThe %d customers with the most MRR expected saved\n", min(top, len(res.Top)))
	} else {
		fmt.Fprintf(w, "\nThe %d riskiest customers\n", min(top, len(res.Top)))
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "RANK\tCUSTOMER\tPROBABILITY\tTIER\tTOP REASON\tACTION\tOWNER\tROLE"
	if saved {
		head += "\tSAVED MRR"
	}
	fmt.Fprintln(tw, head)
	for i, p := range res.Top {
		if i == top {
			break
		}
		reason := "-"
		if len(p.Reasons) > 0 {
			reason = p.Reasons[0].Text
		}
		owner := p.Owner
		if owner == "" {
			owner = "-"
		}
		prob := fmt.Sprintf("%.3f", p.Probability)
		if !math.IsNaN(p.PreviousProbability) {
			prob += fmt.Sprintf(" (%+.3f)", p.Probability-p.PreviousProbability)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s", p.Rank, p.CustomerID, prob, p.Tier, clip(reason, 60), clip(nextStep(p), 60), owner, p.OwnerRole)
		if saved {
			fmt.Fprintf(tw, "\t%s", savedText(p.ExpectedMRRSaved))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// savedText writes an expected MRR saved, "-" when unknown.
func savedText(x float64) string {
	if math.IsNaN(x) {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// doNotContact is what the listings show instead of the next step of a
// control customer (docs/playbook.md#control-groups).
const doNotContact = "control — do not contact"

// nextStep is the action to show for a listed customer: the play's, or
// doNotContact for a control customer.
func nextStep(p predict.Prediction) string {
	if p.Group == data.GroupControl {
		return doNotContact
	}
	return p.Action
}

// controlSummary describes a run's control groups and the alerts withheld
// from them in one line.
func controlSummary(e predict.ExperimentInfo, withheld int) string {
	if e.Share == 0 {
		return fmt.Sprintf("off (control.share 0: all %d targeted customers treated)", e.Targeted)
	}
	return fmt.Sprintf("%d of %d targeted customers held out, %d alerts withheld (share %g, seed %d, cohort %q)", e.Control, e.Targeted, withheld, e.Share, e.Seed, e.Cohort)
}

// clip shortens s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// OpenPredict checks churn predict's options and opens what they name —
// the model (and its uplift model), the config with the overrides, the
// dataset — into the predict.Options churn predict runs with; done closes
// them. churn-beam's workers call it with the launcher's options (the
// as-of date resolved) to score exactly as churn predict does.
func OpenPredict(o *PredictOptions) (_ predict.Options, done func(), err error) {
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	now := clockOr(o.Now)
	var asOf data.Date
	if o.AsOf == "today" {
		asOf = data.DateOf(now())
	} else {
		d, err := data.ParseDate(o.AsOf)
		if err != nil {
			return predict.Options{}, nil, usageErrorf("--as-of: %v", err)
		}
		asOf = d
	}
	switch o.Reasons {
	case "", predict.ReasonsAuto, predict.ReasonsExact, predict.ReasonsApprox, predict.ReasonsNone:
	default:
		return predict.Options{}, nil, usageErrorf("--reasons %q: want auto, exact, approx or none", o.Reasons)
	}
	if o.Top < 0 {
		return predict.Options{}, nil, usageErrorf("--top must not be negative")
	}
	if o.engine != nil && o.Shard != "" {
		return predict.Options{}, nil, usageErrorf("--shard: %s shards by itself; --shard is churn's, for runs without an engine", o.engine.Name)
	}
	if o.Shard != "" {
		if _, err := data.ParseShard(o.Shard); err != nil {
			return predict.Options{}, nil, usageErrorf("--shard: %v", err)
		}
	}
	var share *float64
	if o.ControlShare != "" {
		v, err := strconv.ParseFloat(strings.TrimSpace(o.ControlShare), 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return predict.Options{}, nil, usageErrorf("--control-share %q: want a number from 0 to 1 (0 turns control groups off)", o.ControlShare)
		}
		share = &v
	}
	cfg := &predict.Config{}
	if o.ConfigFile != "" {
		var err error
		if cfg, err = predict.LoadConfig(o.ConfigFile); err != nil {
			return predict.Options{}, nil, err
		}
	}
	if o.Reasons != "" {
		cfg.Reasons.Method = o.Reasons
	}
	if len(o.Sinks) > 0 {
		sinks, err := sinkFlags(o.Sinks, predict.DefaultSinkSchema)
		if err != nil {
			return predict.Options{}, nil, err
		}
		cfg.Sinks = sinks
	}
	if share != nil {
		cfg.Control.Share = share
	}
	model, err := train.Load(o.Model)
	if err != nil {
		return predict.Options{}, nil, err
	}
	closers = append(closers, model.Close)
	// The model directory's uplift model, when churn train --uplift made
	// one: predict uses it when it is trusted.
	uplift, err := train.LoadUplift(filepath.Join(o.Model, train.UpliftDir))
	switch {
	case errors.Is(err, train.ErrNoUplift):
	case err != nil:
		return predict.Options{}, nil, err
	default:
		closers = append(closers, uplift.Close)
	}
	ds, err := data.Open(o.Data)
	if err != nil {
		return predict.Options{}, nil, err
	}
	closers = append(closers, func() { ds.Close() })
	return predict.Options{
		Dataset: ds, Model: model, Uplift: uplift, ModelVersion: o.ModelVersion, AsOf: asOf, Out: o.Out, Config: *cfg,
		Now: now, Workers: o.Workers, Logger: slog.Default(), Top: max(o.Top, 1), ChurnVersion: Version(),
	}, closeAll, nil
}
