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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stdio.ErrOut, "churn: internal error: %v\n%s", p, debug.Stack())
			code = ExitFailure
		}
	}()
	root := NewRootCmd(stdio)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		fmt.Fprintln(stdio.ErrOut, "churn: interrupted; outputs being written were discarded (anything already published is complete)")
		return ExitInterrupted
	case isUsage(err):
		fmt.Fprintf(stdio.ErrOut, "churn: %v\nRun '%s --help' for usage.\n", err, commandPath(root, args))
		return ExitUsage
	default:
		fmt.Fprintf(stdio.ErrOut, "churn: %v\n", err)
		return ExitFailure
	}
}

func isUsage(err error) bool {
	var ue *UsageError
	if errors.As(err, &ue) {
		return true
	}
	// cobra's own flag and argument errors.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument", "required flag", "accepts ", "requires at least", "requires at most", "if any flags in the group"} {
		if len(msg) >= len(p) && containsStr(msg, p) {
			return true
		}
	}
	return false
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
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
			return nil
		},
	}
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.ErrOut)
	root.PersistentFlags().StringVar(&lo.Level, "log-level", envOr("CHURN_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env CHURN_LOG_LEVEL)")
	root.PersistentFlags().StringVar(&lo.Format, "log-format", envOr("CHURN_LOG_FORMAT", "text"), "log format: text or json (env CHURN_LOG_FORMAT)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &UsageError{Err: err} })
	for _, add := range subcommands {
		root.AddCommand(add(stdio))
	}
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
