package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data/imports"
)

func init() { register(newSortCmd) }

// SortOptions are the inputs of churn sort.
type SortOptions struct {
	IO   IO
	Data string // dataset directory
	Out  string // "" sorts in place
	JSON bool
}

func newSortCmd(stdio IO) *cobra.Command { return NewSortCmd(stdio, runSort) }

// NewSortCmd builds churn sort; runF does the work (tests may stop before it).
func NewSortCmd(stdio IO, runF func(context.Context, *SortOptions) error) *cobra.Command {
	opts := &SortOptions{IO: stdio}
	cmd := &cobra.Command{
		Use:   "sort --data DIR [--out DIR]",
		Short: "Sort every table of a dataset by customer_id, then time",
		Long: `Sort rewrites every Parquet file of a dataset in contract order: by
customer_id, then the table's time column (start_date, date, invoice_date, ts,
opened_at, churn_date), keeping ties in file order. Readers need this order and
report "not sorted by customer_id ... (churn sort does it)" otherwise.

Every column is kept as it is, including customer attributes and columns the
contract does not know, with the files' types and metadata; files are
rewritten with Snappy compression. Each file of a table folder is sorted on
its own (the reader needs each file in order, not the files among themselves).
Files already in order are left alone (in place) or copied unchanged (--out).

Without --out the dataset is sorted in place: every sorted file is written next
to its original first, and the originals are replaced only when all are
written. With --out a new dataset is built in a temporary directory and renamed
into place; files other than table data (notes, sources) are not copied.

Limitation: each file is sorted in memory, so a file needs about two to four
times its uncompressed size in RAM; split very large tables into several files
(a table folder) first.`,
		Example: `  churn sort --data data/mine
  churn sort --data data/mine --out data/mine-sorted`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Data == "" {
				return usageErrorf("--data is required")
			}
			return runF(c.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", "", "dataset directory to sort")
	f.StringVar(&opts.Out, "out", "", "write the sorted dataset here instead of sorting in place")
	f.BoolVar(&opts.JSON, "json", false, "print the summary as JSON")
	return cmd
}

func runSort(ctx context.Context, opts *SortOptions) error {
	sum, err := imports.Sort(ctx, opts.Data, imports.SortOptions{Out: opts.Out, Logger: slog.Default(), ChurnVersion: Version()})
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, sum)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "sorted %s into %s\n", sum.Data, sum.Out)
	fmt.Fprintln(tw, "table\tfile\trows\tstate")
	resorted := 0
	for _, f := range sum.Files {
		state := "sorted now"
		if f.WasSorted {
			state = "was sorted"
		} else {
			resorted++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", f.Table, f.Path, f.Rows, state)
	}
	fmt.Fprintf(tw, "%d of %d files re-sorted\n", resorted, len(sum.Files))
	for _, n := range sum.NotCopied {
		fmt.Fprintf(tw, "not copied (not table data): %s\n", n)
	}
	return tw.Flush()
}
