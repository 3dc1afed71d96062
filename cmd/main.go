package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// version is set at build time with -ldflags "-X github.com/churnlab/churn/cmd.version=v1.2.3".
var version = ""

// Version returns the churn version: the build-time value, else the module
// version, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// UsageError is a mistake in how the command was called (exit code 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// IO holds the streams a command uses, so tests can capture them.
type IO struct {
	In     io.Reader
	Out    io.Writer // results only
	ErrOut io.Writer // logs, progress, errors
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Main runs churn with os.Args and returns the exit code.
func Main() int {
	return Run(os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
}

// Run runs churn with the given arguments and streams and returns the exit
// code. It never panics: a panic is reported as an internal error.
func Run(args []string, stdio IO) (code int) {
	return run(NewRootCmd(stdio), "churn", args, stdio)
}

// run runs the command tree root as the binary name.
func run(root *cobra.Command, name string, args []string, stdio IO) (code int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stdio.ErrOut, "%s: internal error: %v\n%s", name, p, debug.Stack())
			code = ExitFailure
		}
	}()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	code = ExitCode(ctx, err)
	switch code {
	case ExitOK:
	case ExitInterrupted:
		fmt.Fprintf(stdio.ErrOut, "%s: interrupted; outputs being written were discarded (anything already published is complete)\n", name)
	case ExitUsage:
		fmt.Fprintf(stdio.ErrOut, "%s: %v\nRun '%s --help' for usage.\n", name, err, commandPath(root, args))
	default:
		fmt.Fprintf(stdio.ErrOut, "%s: %v\n", name, err)
	}
	return code
}

// ExitCode maps a command's error to churn's exit code; it is the only
// place that does. ctx is the command's context: an error after it was
// cancelled (Ctrl-C, SIGTERM) is an interruption whatever the error says.
// Only a *UsageError (a mistake in how churn was called: flags, arguments,
// their values) exits 2; every other error is a failure, exit 1.
func ExitCode(ctx context.Context, err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitFailure
}

// typeUsageErrors makes every mistake cobra itself finds in a command line
// a *UsageError: wrong positional arguments (each command's Args) and
// unknown subcommands. Flag parsing errors go through SetFlagErrorFunc and
// required or grouped flags through the root's PersistentPreRunE.
func typeUsageErrors(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	// The root runs (instead of cobra's untyped "unknown command" check) so
	// that an unknown command is a usage error with suggestions.
	root.Args = cobra.ArbitraryArgs
	root.SuggestionsMinimumDistance = 2
	root.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return &UsageError{Err: errors.New(msg)}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if check := c.Args; check != nil && c != root {
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return &UsageError{Err: err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil {
		return root.Name()
	}
	return c.CommandPath()
}

// logOptions are the persistent logging flags.
type logOptions struct {
	Level  string
	Format string
}

// NewRootCmd builds the command tree.
func NewRootCmd(stdio IO) *cobra.Command {
	cmds := make([]*cobra.Command, len(subcommands))
	for i, add := range subcommands {
		cmds[i] = add(stdio)
	}
	return newRoot(stdio, cmds)
}

// newRoot builds churn's root command over the given subcommands.
func newRoot(stdio IO, cmds []*cobra.Command) *cobra.Command {
	lo := &logOptions{}
	root := &cobra.Command{
		Use:   "churn",
		Short: "Predict which customers are about to leave, say why, and what to do about it",
		Long: `churn builds point-in-time features from customer histories in Parquet,
trains and evaluates a churn classifier, and writes scored predictions with
reasons and next steps for BI tools.`,
		Example: `  churn generate --customers 2000 --months 24 --seed 1 --out demo/data
  churn validate demo/data
  churn version`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			logger, err := newLogger(stdio.ErrOut, lo)
			if err != nil {
				return &UsageError{Err: err}
			}
			slog.SetDefault(logger)
			// cobra checks these again right after, with untyped errors.
			if err := errors.Join(cmd.ValidateRequiredFlags(), cmd.ValidateFlagGroups()); err != nil {
				return &UsageError{Err: err}
			}
			return nil
		},
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.ErrOut)
	root.PersistentFlags().StringVar(&lo.Level, "log-level", envOr("CHURN_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env CHURN_LOG_LEVEL)")
	root.PersistentFlags().StringVar(&lo.Format, "log-format", envOr("CHURN_LOG_FORMAT", "text"), "log format: text or json (env CHURN_LOG_FORMAT)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &UsageError{Err: err} })
	root.AddCommand(cmds...)
	typeUsageErrors(root)
	return root
}

// subcommands registers the command constructors; each command file adds
// itself in an init function.
var subcommands []func(IO) *cobra.Command

func register(f func(IO) *cobra.Command) { subcommands = append(subcommands, f) }

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// envList returns the whitespace-separated values of an environment
// variable (nil when unset or blank): a default for repeatable flags.
func envList(key string) []string {
	return strings.Fields(os.Getenv(key))
}

func newLogger(w io.Writer, o *logOptions) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.Level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", o.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch o.Format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", o.Format)
}
