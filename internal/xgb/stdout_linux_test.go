package xgb

import (
	"bytes"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// redirectFD points file descriptor fd at a temporary file until the returned
// function is called, which restores fd and returns what was written.
func redirectFD(t *testing.T, fd int) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "fd")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(int(f.Fd()), fd, 0); err != nil {
		t.Fatal(err)
	}
	return func() string {
		syscall.Dup3(saved, fd, 0)
		syscall.Close(saved)
		b, _ := os.ReadFile(f.Name())
		f.Close()
		return string(b)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsGoToSlogNotStdout trains at XGBoost's loudest verbosity with a
// misspelt parameter and checks that stdout stays empty while the warning
// about the unused parameter reaches slog.
func TestLogsGoToSlogNotStdout(t *testing.T) {
	var logs syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	const p = 6
	X, y := synth(16, 2000, p, 0.1)
	restoreOut := redirectFD(t, 1)
	restoreErr := redirectFD(t, 2)
	func() {
		m := newMatrix(t, X, y, p)
		b := testBooster(t, append(baseParams, param{"verbosity", "3"}, param{"colsample_bytreee", "0.5"}), m)
		trainRounds(t, b, m, 5)
		if _, err := b.EvalOneIter(4, []*DMatrix{m}, []string{"train"}); err != nil {
			t.Error(err)
		}
		if _, _, err := b.Predict(m, PredictOptions{Contribs: true}); err != nil {
			t.Error(err)
		}
		if _, err := b.SaveJSON(); err != nil {
			t.Error(err)
		}
		b.Close()
	}()
	stdout, stderr := restoreOut(), restoreErr()
	if stdout != "" {
		t.Errorf("XGBoost wrote to stdout:\n%s", stdout)
	}
	if stderr != "" {
		t.Logf("XGBoost wrote to stderr directly:\n%s", stderr)
	}
	got := logs.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, "colsample_bytreee") || !strings.Contains(got, "component=xgboost") {
		t.Errorf("no slog warning about the unused parameter; slog got:\n%s", got)
	}
	t.Logf("slog got %d lines, e.g.\n%s", strings.Count(got, "\n"), firstLines(got, 5))
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestParseLogLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		level    slog.Level
		text, at string
	}{
		{"warning", "[10:20:30] WARNING: ../src/learner.cc:767: \nParameters: { \"x\" } are not used.\n\n", slog.LevelWarn, `Parameters: { "x" } are not used.`, "learner.cc:767"},
		{"info", "[10:20:30] INFO: ../src/tree/updater_prune.cc:98: tree pruning end, 3 extra nodes", slog.LevelInfo, "tree pruning end, 3 extra nodes", "updater_prune.cc:98"},
		{"debug", "[10:20:30] DEBUG: ../src/gbm/gbtree.cc:155: Using tree method: 3", slog.LevelDebug, "Using tree method: 3", "gbtree.cc:155"},
		{"console", "[10:20:30] ======== Monitor (0): Learner ========", slog.LevelInfo, "======== Monitor (0): Learner ========", ""},
		{"empty", "  \n", slog.LevelInfo, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level, text, at := parseLogLine(tc.in)
			if level != tc.level || text != tc.text || at != tc.at {
				t.Errorf("got %v %q %q, want %v %q %q", level, text, at, tc.level, tc.text, tc.at)
			}
		})
	}
}
