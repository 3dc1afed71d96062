package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

func init() { register(newGenerateCmd) }

// GenerateOptions are the inputs of churn generate.
type GenerateOptions struct {
	Customers   int
	Months      int
	Seed        uint64
	Out         string
	End         string // YYYY-MM-DD; "" means synth.DefaultEnd
	Compression string
	Workers     int // 0 means one per CPU
	// Interventions simulates the retention loop (synth.Interventions)
	// with ControlShare and Compliance.
	Interventions bool
	ControlShare  float64
	Compliance    float64
	// Business is synth.BusinessSaaS or synth.BusinessEcommerce.
	Business string
	// loopFlags names the loop's flags given without --interventions.
	loopFlags []string
}

func newGenerateCmd(stdio IO) *cobra.Command {
	return generateCmd(stdio, runGenerate)
}

// generateCmd builds the command; runF does the work (tests may stop there).
func generateCmd(stdio IO, runF func(context.Context, IO, *GenerateOptions) error) *cobra.Command {
	opts := &GenerateOptions{}
	c := &cobra.Command{
		Use:   "generate --out DIR [flags]",
		Short: "Write a synthetic B2B SaaS (or e-commerce) dataset with planted churn mechanisms",
		Long: `generate writes synthetic customer histories in churn's input contract, one
Parquet file per table (customers, subscriptions, usage, payments, contacts,
tickets, surveys, signals, churn_events), sorted by customer_id then time.

Churn follows a documented latent model: churners show warning signs (falling
usage, more tickets, a champion leaving, late payments, downgrades, NPS
detractors, going silent, data exports, billing questions, cancel-page views)
over the 60-120 days before they leave, mostly at a contract renewal; some
churners show no sign and some customers show signs and stay. The mechanisms
and their strengths are listed in docs/generator.md.

With --interventions it also simulates the retention loop: every month,
customers whose warning signs show are targeted by the play of their dominant
sign, a share is held out as control (reproducible from the data: the split is
data.Experiment{seed, "generated", share}), treated customers are reached with
probability --compliance, and each play has a planted effect on churn within 90
days. It writes the interventions table and DIR/_generator.json (the planted
effects); customers keep their latent profile, and a play that saves a
customer cancels its churn (docs/generator.md).

With --business ecommerce it writes a shop without subscriptions instead:
customers (signup_date = first purchase, segment, region, channel) and orders
(ts, amount, items). Purchases follow BG/NBD (Poisson purchase rates that
differ by customer, dropout after each purchase) with Gamma-Gamma order values;
60% of the customers buy less and less often, with smaller baskets, over the
90-180 days before they drop out. Churn is latent: there is no churn date, so
label by inactivity. DIR/_generator.json records the planted parameters and
how many customers dropped out (docs/generator.md).

The same flags give byte-identical files. The folder is written atomically:
an interrupted run leaves nothing behind. An existing folder is replaced only
if it holds nothing but table files (and _generator.json).`,
		Example: `  # 2000 customers over the 24 months to 2024-12-31
  churn generate --customers 2000 --months 24 --seed 1 --out demo/data

  # the benchmark volume (about 80M usage rows), compressed with zstd
  churn generate --customers 1000000 --seed 7 --compression zstd --out /tmp/big

  # with the simulated retention loop and its planted effects, for churn review
  churn generate --customers 20000 --seed 1 --interventions --out demo/loop

  # an e-commerce shop: customers and orders, churn latent (inactivity)
  churn generate --business ecommerce --customers 5000 --seed 3 --out demo-ecommerce/data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range []string{"control-share", "compliance"} {
				if cmd.Flags().Changed(name) {
					opts.loopFlags = append(opts.loopFlags, "--"+name)
				}
			}
			if err := opts.validate(); err != nil {
				return err
			}
			return runF(cmd.Context(), stdio, opts)
		},
	}
	f := c.Flags()
	f.IntVar(&opts.Customers, "customers", 2000, "number of customers")
	f.IntVar(&opts.Months, "months", 24, "length of the period in months, ending on --end")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed; the same seed gives the same files")
	f.StringVar(&opts.Out, "out", "", "output folder (required)")
	f.StringVar(&opts.End, "end", synth.DefaultEnd.String(), "last day of the period (YYYY-MM-DD), \"today\" for the customers table")
	f.StringVar(&opts.Compression, "compression", "snappy", "Parquet compression: snappy or zstd")
	f.IntVar(&opts.Workers, "workers", 0, "goroutines generating customers (0 = one per CPU); does not change the output")
	loop := synth.DefaultInterventions()
	f.BoolVar(&opts.Interventions, "interventions", false, "simulate the retention loop: write the interventions table and _generator.json")
	f.Float64Var(&opts.ControlShare, "control-share", loop.ControlShare, "with --interventions: share of targeted customers held out as control, in [0, 1)")
	f.Float64Var(&opts.Compliance, "compliance", loop.Compliance, "with --interventions: probability that a treated customer is reached")
	f.StringVar(&opts.Business, "business", synth.BusinessSaaS, "kind of business: saas (subscriptions) or ecommerce (orders, churn latent)")
	_ = c.MarkFlagRequired("out")
	return c
}

func (o *GenerateOptions) params() (synth.Params, error) {
	p := synth.Params{Customers: o.Customers, Months: o.Months, Seed: o.Seed, Business: o.Business}
	if o.Interventions {
		p.Interventions = &synth.Interventions{ControlShare: o.ControlShare, Compliance: o.Compliance}
	}
	if o.End != "" {
		d, err := data.ParseDate(o.End)
		if err != nil {
			return p, fmt.Errorf("--end: %w", err)
		}
		p.End = d
	}
	p.EnsureDefaults()
	return p, nil
}

// validate checks the flags; every problem is a usage error.
func (o *GenerateOptions) validate() error {
	if o.Out == "" {
		return usageErrorf("--out is required")
	}
	switch o.Compression {
	case "snappy", "zstd":
	default:
		return usageErrorf("--compression: %q is not snappy or zstd", o.Compression)
	}
	if !slices.Contains(synth.Businesses(), o.Business) {
		return usageErrorf("--business: %q is not one of %s", o.Business, strings.Join(synth.Businesses(), ", "))
	}
	if o.Interventions && o.Business == synth.BusinessEcommerce {
		return usageErrorf("--interventions simulates SaaS retention plays; --business ecommerce has none")
	}
	if o.Workers < 0 {
		return usageErrorf("--workers must not be negative (got %d)", o.Workers)
	}
	if len(o.loopFlags) > 0 && !o.Interventions {
		return usageErrorf("%s needs --interventions", o.loopFlags[0])
	}
	p, err := o.params()
	if err != nil {
		return &UsageError{Err: err}
	}
	if err := p.Validate(); err != nil {
		return usageErrorf("--%w", err)
	}
	return nil
}

func runGenerate(ctx context.Context, stdio IO, o *GenerateOptions) error {
	p, err := o.params()
	if err != nil {
		return err
	}
	start := time.Now()
	last := start
	sum, err := synth.Generate(ctx, o.Out, p, synth.WriteOptions{
		Compression:  o.Compression,
		Workers:      o.Workers,
		ChurnVersion: Version(),
		Progress: func(done int) {
			if now := time.Now(); now.Sub(last) >= 10*time.Second {
				last = now
				slog.Info("generating", "customers", done, "total", p.Customers)
			}
		},
	})
	if err != nil {
		return err
	}
	rows := make([]any, 0, len(sum.Tables))
	for _, t := range sum.Tables {
		rows = append(rows, slog.Int64(t.Name, t.Rows))
	}
	slog.Info("generated", "out", sum.Dir, "customers", p.Customers, "churned", sum.Churned,
		"seconds", time.Since(start).Round(time.Millisecond).Seconds(), slog.Group("rows", rows...))

	if sum.Truth != nil && sum.Truth.Shop != nil {
		fmt.Fprintf(stdio.Out, "wrote %s: e-commerce, %d customers, %d months to %s, seed %d; %d dropped out (latent, %d after a decline)\n",
			sum.Dir, p.Customers, p.Months, p.End, p.Seed, sum.Churned, sum.Truth.Shop.AfterDecline)
	} else {
		fmt.Fprintf(stdio.Out, "wrote %s: %d customers, %d months to %s, seed %d; %d churned, %d new\n",
			sum.Dir, p.Customers, p.Months, p.End, p.Seed, sum.Churned, sum.New)
	}
	tw := tabwriter.NewWriter(stdio.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "table\trows\tbytes")
	for _, t := range sum.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", t.Name, t.Rows, t.Bytes)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if sum.Truth == nil || sum.Truth.Interventions == nil {
		return nil
	}
	iv := sum.Truth.Interventions
	fmt.Fprintf(stdio.Out, "\nplanted effects (%s): control share %g, compliance %g, churn within %d days\n",
		synth.TruthFile, iv.Experiment.Share, iv.Compliance, iv.HorizonDays)
	fmt.Fprintln(tw, "play\ttargeted\tcontrol\trelative_risk_reduction")
	for _, pl := range iv.Plays {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%g\n", pl.Name, pl.Targeted, pl.Control, pl.RelativeRiskReduction)
	}
	return tw.Flush()
}
