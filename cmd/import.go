package cmd

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/churnlab/churn/data/imports"
)

func init() { register(newImportCmd) }

// ImportOptions are the inputs of churn import.
type ImportOptions struct {
	IO        IO
	Mapping   string // mapping YAML file
	Out       string // dataset directory to write
	SourceDir string // replaces the mapping's source_dir when set
	DryRun    bool
	JSON      bool // summary as JSON
}

func newImportCmd(stdio IO) *cobra.Command { return NewImportCmd(stdio, runImport) }

// NewImportCmd builds churn import; runF does the work (tests may stop
// before it).
func NewImportCmd(stdio IO, runF func(context.Context, *ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: stdio}
	cmd := &cobra.Command{
		Use:   "import --mapping FILE.yaml --out DIR",
		Short: "Build a churn dataset from CSV, text or Parquet files with a YAML mapping",
		Long: `Import reads CSV files, whitespace-separated text files and Parquet files
with other names and types, converts them as a YAML mapping says, and writes a
contract dataset: one DIR/<table>.parquet per table, sorted by customer_id and
time. The mapping names, per table, the source file, the column each contract
column comes from, date formats, value vocabularies (Yes/No → true/false),
which extra customer columns to keep as attributes, lookups through other
files, aggregation and label derivation; docs/import.md documents every key,
and examples/ holds mappings for the Telco, Orange, RavenStack and CDNOW data.

Relative source paths resolve against the mapping's source_dir (itself relative
to the mapping file); --source-dir replaces it. ${VAR} and ${VAR:-default} are
expanded in source paths.

A value that cannot be converted stops the import with its file, line, column
and value, unless the mapping's on_error says to null it or skip the row. The
dataset is built in a temporary directory and renamed into place: on error,
nothing is written. An existing DIR is replaced only if it holds nothing but a
dataset. The summary (rows per table, nulls, skipped rows, label
disagreements) goes to stdout; progress to stderr.

Every table is held in memory while it is converted and sorted (about two to
three times the size of its source text).`,
		Example: `  churn import --mapping examples/telco.yaml --out data/telco
  churn import --mapping examples/ravenstack.yaml --out data/ravenstack --json
  CHURN_PUBLIC_DATA=/mnt/public churn import --mapping examples/cdnow.yaml --out data/cdnow
  churn import --mapping my.yaml --source-dir /data/exports --out data/mine --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Mapping == "" {
				return usageErrorf("--mapping is required")
			}
			if opts.Out == "" && !opts.DryRun {
				return usageErrorf("--out is required (or use --dry-run)")
			}
			return runF(c.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Mapping, "mapping", "", "mapping YAML file (see docs/import.md)")
	f.StringVar(&opts.Out, "out", "", "dataset directory to write (replaced atomically)")
	f.StringVar(&opts.SourceDir, "source-dir", "", "directory relative source paths resolve against (replaces the mapping's source_dir)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "read and convert everything, write nothing")
	f.BoolVar(&opts.JSON, "json", false, "print the summary as JSON")
	return cmd
}

func runImport(ctx context.Context, opts *ImportOptions) error {
	m, err := imports.Load(opts.Mapping, imports.LoadOptions{SourceDir: opts.SourceDir})
	if err != nil {
		return err
	}
	sum, err := imports.Import(ctx, m, imports.Options{Out: opts.Out, DryRun: opts.DryRun, Logger: slog.Default(), ChurnVersion: Version()})
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, sum)
	}
	return sum.WriteText(opts.IO.Out)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
