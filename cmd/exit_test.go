package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestExitCode checks that exit codes come from error types, never from
// their text: an I/O error whose message says "invalid argument" (EINVAL)
// is a failure, not a usage mistake.
func TestExitCode(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	einval := &fs.PathError{Op: "write", Path: "out/predictions/part-00000.parquet", Err: syscall.EINVAL}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"ok", bg, nil, ExitOK},
		{"usage", bg, usageErrorf("--as-of: bad date"), ExitUsage},
		{"wrapped usage", bg, fmt.Errorf("run: %w", &UsageError{Err: errors.New("x")}), ExitUsage},
		{"EINVAL is a failure", bg, fmt.Errorf("publish: %w", einval), ExitFailure},
		{"text that looks like cobra's", bg, errors.New("unknown flag in the data: required flag missing; accepts 3 values"), ExitFailure},
		{"bad input", bg, &data.InputError{File: "customers.parquet", Row: 3, Column: "mrr", Err: data.ErrNull}, ExitFailure},
		{"cancelled context", cancelled, errors.New("read: something"), ExitInterrupted},
		{"context.Canceled", bg, fmt.Errorf("score: %w", context.Canceled), ExitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.ctx, tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestCobraErrorsAreUsage runs command lines with mistakes cobra finds
// itself and checks each exits 2 with its message and a pointer to --help.
func TestCobraErrorsAreUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"unknown command with suggestion", []string{"trian"}, "did you mean train?"},
		{"unknown flag", []string{"validate", "--bogus", "x"}, "unknown flag: --bogus"},
		{"extra argument", []string{"train", "extra", "--features", "f", "--model", "m"}, `unknown command "extra"`},
		{"missing argument", []string{"validate"}, "accepts 1 arg(s), received 0"},
		{"required flag", []string{"run"}, `required flag(s) "as-of" not set`},
		{"mutually exclusive flags", []string{"features", "--data", "d", "--out", "o", "--as-of", "2024-01-01", "--snapshots", "2024-01-01"}, "none of the others can be"},
		{"bad flag value", []string{"generate", "--customers", "many"}, "invalid argument"},
		{"completion with two shells", []string{"completion", "bash", "zsh"}, `unknown command "zsh"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(tt.args, IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, ExitUsage, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) || !strings.Contains(errOut.String(), "--help' for usage") {
				t.Errorf("stderr does not say %q and point to --help:\n%s", tt.want, errOut.String())
			}
		})
	}
	var out, errOut bytes.Buffer
	if code := Run(nil, IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}); code != ExitOK || !strings.Contains(out.String(), "Usage:") {
		t.Errorf("churn without arguments: exit %d, want 0 and the help; stdout:\n%s", code, out.String())
	}
}
