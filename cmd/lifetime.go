package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval/lifetime"
	"github.com/churnlab/churn/features"
)

func init() { register(newLifetimeCmd) }

// LifetimeOptions are the inputs of churn lifetime.
type LifetimeOptions struct {
	IO         IO
	Data       string
	Out        string
	AsOf       string // YYYY-MM-DD, required
	HoldoutEnd string // YYYY-MM-DD; "" means the day after the last purchase
	Events     string
	// HorizonDays, CLVMonths and Discount default to
	// features.LifetimeConfig's defaults (the one definition).
	HorizonDays int
	CLVMonths   int
	Discount    float64
}

// SBGOptions are the inputs of churn lifetime sbg.
type SBGOptions struct {
	IO          IO
	Survivors   string // a survivors CSV, or
	Data        string // a dataset to count survivors from
	Out         string
	CohortBy    string
	AsOf        string
	MinPeriods  int
	SignupsFrom string
	FitPeriods  int
	Periods     int
	// PeriodMonths is the length of a period in months (for DERL's
	// discounting); --data periods are months.
	PeriodMonths int
	Discount     float64
}

func newLifetimeCmd(stdio IO) *cobra.Command {
	c := lifetimeCmd(stdio, runLifetime)
	c.AddCommand(sbgCmd(stdio, runSBG))
	return c
}

// lifetimeCmd builds churn lifetime; runF does the work (tests may stop
// there).
func lifetimeCmd(stdio IO, runF func(context.Context, *LifetimeOptions) error) *cobra.Command {
	o := &LifetimeOptions{IO: stdio}
	def := lifetimeDefaults()
	c := &cobra.Command{
		Use:   "lifetime --data DIR --as-of DATE --out OUT [--events orders|payments] [--horizon-days N] [--clv-months N] [--discount D] [--holdout-end DATE]",
		Short: "Purchase and dropout models for businesses without contracts: P(alive), expected purchases, CLV",
		Long: `Lifetime fits the Fader–Hardie models for customers who buy without a
contract (retail, e-commerce, marketplaces), where nobody cancels and churn is
latent: BG/NBD (how often each customer buys, and whether they are still
"alive") and Gamma-Gamma (how much they spend), by maximum likelihood on the
purchases strictly before --as-of (the calibration period). Repeat purchases
are counted per distinct purchase day; time is in weeks, measured to the
calibration period's last day (as-of − 1), as in the papers.

Purchase events are the orders table (--events orders: each order's day and
amount) or the payments table (--events payments: each paid or late invoice's
invoice_date and amount; failed, refunded and open invoices are not
purchases). Customers without a purchase before --as-of are not in the fit;
they are counted in the output.

It prints the parameters with their standard errors and log-likelihoods and
writes, atomically (the folder OUT is replaced as a whole, so it must be new,
empty, or an earlier lifetime output):
  OUT/lifetime.json      parameters, settings, the calibration/holdout check,
                         distributions of CLV and P(alive), Kaplan-Meier summary
  OUT/customers.parquet  per customer (sorted by customer_id): frequency,
                         recency, T, monetary, p_alive, churn_score (1 − p_alive),
                         prob_no_purchase and expected_purchases in the
                         horizon, expected_spend, clv
  OUT/report.html        the calibration/holdout plot (expected against actual
                         holdout purchases per calibration frequency), the CLV
                         distribution and Kaplan-Meier retention by signup
                         cohort (churn dates when the data has them, else a
                         lapse of --horizon-days without a purchase)

The holdout period runs from --as-of to --holdout-end (default: the day after
the last purchase); its purchases only fill the check's "actual" column.
churn lifetime sbg projects cohort retention for contractual businesses.
The math and its sources: docs/lifetime.md.
Exit status: 0 ok, 1 bad data (no purchase table, as-of outside the data), 2 usage mistakes.`,
		Example: `  churn import --mapping examples/cdnow.yaml --out data/cdnow
  churn lifetime --data data/cdnow --as-of 1997-10-01 --out out/cdnow-lifetime
  duckdb -c "SELECT * FROM 'out/cdnow-lifetime/customers.parquet' ORDER BY clv DESC LIMIT 10"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Data, "data", "", "dataset directory with an orders (or payments) table (required)")
	f.StringVar(&o.Out, "out", "", "output folder, replaced as a whole (required)")
	f.StringVar(&o.AsOf, "as-of", "", "end of the calibration period, YYYY-MM-DD: purchases strictly before it are fitted (required)")
	f.StringVar(&o.HoldoutEnd, "holdout-end", "", "end (exclusive) of the holdout period checked against the model, YYYY-MM-DD (default: the day after the last purchase)")
	f.StringVar(&o.Events, "events", lifetime.EventsOrders, "purchase events: orders or payments")
	f.IntVar(&o.HorizonDays, "horizon-days", def.HorizonDays, "window of expected_purchases and prob_no_purchase, and the lapse of the retention curves, in days")
	f.IntVar(&o.CLVMonths, "clv-months", def.CLVMonths, "CLV horizon in months")
	f.Float64Var(&o.Discount, "discount", *def.AnnualDiscount, "yearly discount rate of the CLV (0.1 = 10%)")
	c.MarkFlagRequired("data")
	c.MarkFlagRequired("out")
	c.MarkFlagRequired("as-of")
	return c
}

// lifetimeDefaults returns the lifetime settings' defaults, defined once
// in features.LifetimeConfig (they also set the lifetime features).
func lifetimeDefaults() features.LifetimeConfig {
	var c features.LifetimeConfig
	c.EnsureDefaults()
	return c
}

// checkOutOutsideData refuses an output folder inside (or equal to) the
// dataset: the dataset reader would take it for an unknown table.
func checkOutOutsideData(out, dataDir string) error {
	o, err1 := filepath.Abs(out)
	d, err2 := filepath.Abs(dataDir)
	if err1 != nil || err2 != nil {
		return nil
	}
	if rel, err := filepath.Rel(d, o); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return usageErrorf("--out %s is inside the dataset %s; choose a folder outside it", out, dataDir)
	}
	return nil
}

func parseDateFlag(name, s string) (data.Date, error) {
	if s == "" {
		return data.NoDate, nil
	}
	d, err := data.ParseDate(s)
	if err != nil {
		return data.NoDate, usageErrorf("--%s: %v", name, err)
	}
	return d, nil
}

func runLifetime(ctx context.Context, o *LifetimeOptions) error {
	start := time.Now()
	asOf, err := parseDateFlag("as-of", o.AsOf)
	if err != nil {
		return err
	}
	holdoutEnd, err := parseDateFlag("holdout-end", o.HoldoutEnd)
	if err != nil {
		return err
	}
	switch {
	case o.Events != lifetime.EventsOrders && o.Events != lifetime.EventsPayments:
		return usageErrorf("--events %q: want orders or payments", o.Events)
	case holdoutEnd.Valid() && holdoutEnd <= asOf:
		return usageErrorf("--holdout-end %s must be after --as-of %s", holdoutEnd, asOf)
	case o.HorizonDays <= 0:
		return usageErrorf("--horizon-days %d: want a positive number of days", o.HorizonDays)
	case o.CLVMonths <= 0:
		return usageErrorf("--clv-months %d: want a positive number of months", o.CLVMonths)
	case !(o.Discount >= 0) || o.Discount > 10:
		return usageErrorf("--discount %v: want a yearly rate between 0 and 10 (0.1 = 10%%)", o.Discount)
	}
	if err := checkOutOutsideData(o.Out, o.Data); err != nil {
		return err
	}
	ds, err := data.Open(o.Data)
	if err != nil {
		return err
	}
	defer ds.Close()
	rep, err := lifetime.Run(ctx, lifetime.Options{Dataset: ds, AsOf: asOf, HoldoutEnd: holdoutEnd, Events: o.Events,
		HorizonDays: o.HorizonDays, CLVMonths: o.CLVMonths, AnnualDiscount: o.Discount, Logger: slog.Default()})
	if err != nil {
		return err
	}
	if err := rep.Write(o.Out, Version()); err != nil {
		return err
	}
	slog.Info("lifetime written", "dir", o.Out, "seconds", time.Since(start).Seconds())
	return rep.WriteTable(o.IO.Out, o.Out)
}

// sbgCmd builds churn lifetime sbg; runF does the work.
func sbgCmd(stdio IO, runF func(context.Context, *SBGOptions) error) *cobra.Command {
	o := &SBGOptions{IO: stdio}
	c := &cobra.Command{
		Use:   "sbg (--survivors FILE.csv | --data DIR [--cohort-by month|quarter|plan|segment] [--as-of DATE]) --out OUT",
		Short: "Project cohort retention with the shifted-beta-geometric model (contractual businesses)",
		Long: `sbg fits the shifted-beta-geometric model (Fader and Hardie 2007, "How to
project customer retention") to each cohort's survivor counts: every customer
has a constant churn probability θ per period, θ ~ Beta(α, β) across customers,
so retention rises over time as the likely leavers leave. It projects the
survivors per period and the discounted expected residual lifetime (DERL).

The counts come from a CSV (--survivors) with the header cohort,period,alive:
the customers alive at the start of each period, period 0 being the cohort's
size; each cohort's rows together, periods 0, 1, 2, … in order, alive
non-increasing integers. Or from a dataset (--data): customers.signup_date and
the churn date (customers.churn_date, else the first churn event), in periods
of one month after signup, cohorts by signup month or quarter, plan or
segment. Censoring at the data's end (--as-of, default the day after its
latest date): each cohort is cut at the period its latest customer reached;
plan and segment cohorts count only customers observed for --min-periods
months or more; cohorts with fewer than 2 whole months are skipped. Data that
holds only the customers still there when its history starts (like churn
generate's) makes earlier cohorts survivors only: --signups-from DATE keeps
the customers who signed up from then on. A cohort without a finite optimum
(e.g. nobody churned) is reported without a fit; the others are fitted.

--fit-periods N fits on periods 0..N only and compares the projection with the
later periods (as the paper does with 7 of 12 years). Output, atomically (OUT
replaced as a whole): OUT/sbg.json (cohorts[]: name, alpha, beta, se,
log_likelihood, actual, projected survivors per period to --periods past the
last observed one, survival, retention, derl) and OUT/sbg.html (actual against
projected curves).
Exit status: 0 ok, 1 bad input (the CSV error names file, row and column), 2 usage mistakes.`,
		Example: `  churn lifetime sbg --survivors internal/clv/testdata/sbg_fader_hardie_2007.csv --fit-periods 7 --period-months 12 --out out/sbg
  churn lifetime sbg --data demo/data --cohort-by quarter --out out/sbg-quarters`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Survivors, "survivors", "", "CSV of survivor counts: cohort,period,alive")
	f.StringVar(&o.Data, "data", "", "dataset to count survivors from (customers.signup_date and churn dates)")
	f.StringVar(&o.Out, "out", "", "output folder, replaced as a whole (required)")
	f.StringVar(&o.CohortBy, "cohort-by", lifetime.ByMonth, "with --data: cohorts by signup month or quarter, plan or segment")
	f.StringVar(&o.AsOf, "as-of", "", "with --data: end of observation, YYYY-MM-DD (default: the day after the data's latest date)")
	f.StringVar(&o.SignupsFrom, "signups-from", "", "with --data: only customers who signed up on or after this date, YYYY-MM-DD (for data that holds only the customers still there when its history starts)")
	f.IntVar(&o.MinPeriods, "min-periods", 6, "with --data and --cohort-by plan or segment: months a customer must have been observed to count")
	f.IntVar(&o.FitPeriods, "fit-periods", 0, "fit on periods 0..N only (0: every observed period)")
	f.IntVar(&o.Periods, "periods", lifetime.DefaultProjectPeriods, "project survivors this many periods past each cohort's last observed one")
	f.IntVar(&o.PeriodMonths, "period-months", 1, "length of a period in months, to discount DERL (12 for yearly counts; --data periods are months)")
	f.Float64Var(&o.Discount, "discount", *lifetimeDefaults().AnnualDiscount, "yearly discount rate of DERL (0.1 = 10%)")
	c.MarkFlagRequired("out")
	c.MarkFlagsOneRequired("survivors", "data")
	c.MarkFlagsMutuallyExclusive("survivors", "data")
	return c
}

func runSBG(ctx context.Context, o *SBGOptions) error {
	switch {
	case o.FitPeriods != 0 && o.FitPeriods < 2:
		return usageErrorf("--fit-periods %d: want 0 (all) or at least 2", o.FitPeriods)
	case o.Periods < 1:
		return usageErrorf("--periods %d: want at least 1", o.Periods)
	case o.PeriodMonths < 1:
		return usageErrorf("--period-months %d: want at least 1", o.PeriodMonths)
	case o.MinPeriods < 2:
		return usageErrorf("--min-periods %d: want at least 2", o.MinPeriods)
	case !(o.Discount >= 0) || o.Discount > 10:
		return usageErrorf("--discount %v: want a yearly rate between 0 and 10 (0.1 = 10%%)", o.Discount)
	}
	opt := lifetime.SBGOptions{FitPeriods: o.FitPeriods, Project: o.Periods, PeriodMonths: o.PeriodMonths, AnnualDiscount: o.Discount}
	var cohorts []lifetime.Cohort
	if o.Survivors != "" {
		f, err := os.Open(o.Survivors)
		if err != nil {
			return err
		}
		defer f.Close()
		if cohorts, err = lifetime.ReadSurvivors(f, o.Survivors); err != nil {
			return err
		}
		opt.Source = o.Survivors
	} else {
		switch o.CohortBy {
		case lifetime.ByMonth, lifetime.ByQuarter, lifetime.ByPlan, lifetime.BySegment:
		default:
			return usageErrorf("--cohort-by %q: want month, quarter, plan or segment", o.CohortBy)
		}
		if o.PeriodMonths != 1 {
			return usageErrorf("--period-months %d: --data counts survivors per month", o.PeriodMonths)
		}
		asOf, err := parseDateFlag("as-of", o.AsOf)
		if err != nil {
			return err
		}
		from, err := parseDateFlag("signups-from", o.SignupsFrom)
		if err != nil {
			return err
		}
		if err := checkOutOutsideData(o.Out, o.Data); err != nil {
			return err
		}
		ds, err := data.Open(o.Data)
		if err != nil {
			return err
		}
		defer ds.Close()
		var der lifetime.Derived
		cohorts, der, err = lifetime.SurvivorsFromData(ctx, ds, lifetime.SurvivorsOptions{CohortBy: o.CohortBy, AsOf: asOf, SignupsFrom: from, MinPeriods: o.MinPeriods})
		if err != nil {
			return err
		}
		opt.Source, opt.Derived = o.Data, &der
	}
	rep, err := lifetime.FitSBG(ctx, cohorts, opt)
	if err != nil {
		return err
	}
	if err := rep.Write(o.Out); err != nil {
		return fmt.Errorf("write %s: %w", o.Out, err)
	}
	return rep.WriteTable(o.IO.Out, o.Out)
}
