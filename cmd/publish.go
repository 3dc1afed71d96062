package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/nightly"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/predict/pgsink"
)

func init() { register(newPublishCmd) }

// PublishOptions are the inputs of churn publish.
type PublishOptions struct {
	Out        string
	AsOf       string
	All        bool
	Sinks      []string
	Schema     string
	ConfigFile string
}

func newPublishCmd(stdio IO) *cobra.Command {
	o := &PublishOptions{}
	c := &cobra.Command{
		Use:   "publish --out DIR (--as-of DATE | --all) (--sink URL | --config FILE)",
		Short: "Load published predictions partitions into PostgreSQL for BI tools",
		Long: `Loads the predictions, alerts and run manifest of published partitions
(OUT/predictions/as_of=DATE and OUT/alerts/as_of=DATE, which churn predict and
churn run write) into a PostgreSQL database: the tables SCHEMA.predictions,
SCHEMA.alerts and SCHEMA.runs and the view SCHEMA.latest_predictions (schema
churn unless --schema or the config's sinks[].schema say otherwise), created
when missing. Each date is loaded with COPY in one transaction that replaces
that date's rows: dashboards see the old rows or the new ones, never a mix,
and loading a date twice leaves the same rows.

churn predict and churn run load their partition themselves when sinks are
configured (--sink, or predict.sinks in the config); churn publish is for
catching up after a database outage, back-filling history (--all: every
partition not loaded yet or loaded from other files) and loading into a new
database. The Parquet files stay the system of record.

The password never goes in the URL: set PGPASSWORD, use a PGPASSFILE
(~/.pgpass), or name a variable in the config's sinks[].password_env.
--config takes a churn run config (its out folder and predict.sinks) or a
churn predict config (its sinks). See docs/bi.md.`,
		Example: `  PGPASSWORD=… churn publish --out demo/scores --as-of 2024-12-01 --sink postgres://churn@db:5432/analytics
  PGPASSWORD=… churn publish --config churn.yaml --all      # a churn run config with predict.sinks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd.Context(), stdio, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Out, "out", "", "output folder holding predictions/ and alerts/ (default: a run config's out)")
	f.StringVar(&o.AsOf, "as-of", "", "load the partitions of this date, YYYY-MM-DD")
	f.BoolVar(&o.All, "all", false, "load every complete partition that the database lacks or holds from other files")
	f.StringArrayVar(&o.Sinks, "sink", envList("CHURN_PREDICT_SINK"), "PostgreSQL URL postgres://USER@HOST:PORT/DB, without the password (repeatable; replaces the config's sinks; env CHURN_PREDICT_SINK)")
	f.StringVar(&o.Schema, "schema", predict.DefaultSinkSchema, "schema of the tables, for the --sink URLs")
	f.StringVar(&o.ConfigFile, "config", "", "churn run or churn predict config whose sinks (and out folder) to use")
	return c
}

func runPublish(ctx context.Context, stdio IO, o *PublishOptions) error {
	if (o.AsOf == "") == !o.All {
		return usageErrorf("give --as-of DATE or --all")
	}
	var dates []data.Date
	if o.AsOf != "" {
		d, err := data.ParseDate(o.AsOf)
		if err != nil {
			return usageErrorf("--as-of: %v", err)
		}
		dates = []data.Date{d}
	}
	var sinks []predict.SinkConfig
	out := o.Out
	if o.ConfigFile != "" {
		s, cfgOut, err := configSinks(o.ConfigFile)
		if err != nil {
			return err
		}
		sinks = s
		if out == "" {
			out = cfgOut
		}
	}
	if len(o.Sinks) > 0 {
		s, err := sinkFlags(o.Sinks, o.Schema)
		if err != nil {
			return err
		}
		sinks = s
	}
	if len(sinks) == 0 {
		return usageErrorf("no sink: give --sink postgres://USER@HOST:PORT/DB, or a --config with sinks")
	}
	if out == "" {
		return usageErrorf("give --out DIR (the folder holding predictions/ and alerts/)")
	}
	if _, err := os.Stat(out); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	pending := pgsink.PendingNone
	if o.All {
		pending = pgsink.PendingAll
	}
	var errs []error
	for _, sk := range sinks {
		res, err := pgsink.Publish(ctx, pgsink.Options{Sink: sk, Out: out, Dates: dates, Pending: pending, Logger: slog.Default()})
		printSinkResults(stdio.Out, []*pgsink.Result{res})
		if res != nil && res.Skipped > 0 {
			fmt.Fprintf(stdio.Out, "postgres  %s: %d dates already loaded from the same files\n", res.Sink, res.Skipped)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// configSinks reads the sinks of a churn run config (predict.sinks, and
// its out folder) or of a churn predict config (sinks).
func configSinks(path string) ([]predict.SinkConfig, string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var top map[string]any
	if err := yaml.NewDecoder(bytes.NewReader(raw)).Decode(&top); err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if _, run := top["predict"]; run {
		c, err := nightly.LoadConfig(path)
		if err != nil {
			return nil, "", err
		}
		return c.Predict.Sinks, c.Out, nil
	}
	c, err := predict.LoadConfig(path)
	if err != nil {
		return nil, "", err
	}
	return c.Sinks, "", nil
}
