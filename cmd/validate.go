package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data"
)

func init() { register(newValidateCmd) }

// ValidateOptions are the inputs of churn validate.
type ValidateOptions struct {
	// Dir is the dataset directory.
	Dir string
	// AsOf is the as-of date, YYYY-MM-DD; "" skips the as-of checks.
	AsOf string
	// Format is "text" or "json".
	Format string
	// Now is the instant future dates are measured from; zero means now.
	// Tests set it to get reproducible reports.
	Now time.Time
}

func newValidateCmd(stdio IO) *cobra.Command {
	return newValidateCmdWith(stdio, runValidate)
}

// newValidateCmdWith builds the command with run as its work, so that tests
// can stop before it.
func newValidateCmdWith(stdio IO, run func(context.Context, *ValidateOptions, IO) error) *cobra.Command {
	opts := &ValidateOptions{}
	c := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a dataset against the data contract and report every problem",
		Long: `validate checks a dataset directory against the data contract: readable
files, schemas and types, required tables and columns, nulls, vocabularies
and ranges, sort order, duplicate customers, rows without a customer, and
dates after the as-of date, in the future or implausibly old.

It reports every problem it finds, each with the file, row and column, then
a summary per table. Errors make the dataset unusable (exit code 1);
warnings and notes are worth knowing (exit code 0). See docs/validate.md.`,
		Example: `  churn validate demo/data
  churn validate demo/data --as-of 2024-06-01
  churn validate demo/data --format json > report.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return run(cmd.Context(), opts, stdio)
		},
	}
	c.Flags().StringVar(&opts.AsOf, "as-of", "", "as-of date YYYY-MM-DD: warn about rows dated on or after it")
	c.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json")
	return c
}

// runValidate validates the dataset, writes the report to stdout and
// returns a *data.ValidationError when the dataset has errors.
func runValidate(ctx context.Context, opts *ValidateOptions, stdio IO) error {
	if opts.Format != "text" && opts.Format != "json" {
		return usageErrorf("--format: %q is not text or json", opts.Format)
	}
	vo := data.ValidateOptions{Now: opts.Now}
	if opts.AsOf != "" {
		d, err := data.ParseDate(opts.AsOf)
		if err != nil {
			return usageErrorf("--as-of: %v", err)
		}
		vo.AsOf = d.Time()
	}
	start := time.Now()
	rep, err := data.Validate(ctx, opts.Dir, vo)
	if err != nil {
		return err
	}
	slog.Debug("validated", "dir", opts.Dir, "files", rep.Files, "rows", rep.Rows, "seconds", time.Since(start).Seconds())
	if opts.Format == "json" {
		err = rep.WriteJSON(stdio.Out)
	} else {
		err = rep.WriteText(stdio.Out)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return rep.Err()
}
