package predict

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
)

func TestPartitions(t *testing.T) {
	out := t.TempDir()
	for _, name := range []string{"as_of=2024-03-01", "as_of=2024-01-01", "as_of=2024-02-01", "as_of=2024-13-01", "notes", ".as_of=2024-04-01.tmp"} {
		dir := filepath.Join(out, PredictionsDir, name)
		os.MkdirAll(dir, 0o755)
		if name != "as_of=2024-02-01" { // incomplete: no _SUCCESS
			data.WriteFileSync(filepath.Join(dir, SuccessFile), nil)
		}
	}
	got, err := Partitions(out, PredictionsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].String() != "2024-01-01" || got[1].String() != "2024-03-01" {
		t.Errorf("partitions %v", got)
	}
	if got, err := Partitions(filepath.Join(out, "nothing"), PredictionsDir); err != nil || got != nil {
		t.Errorf("missing folder: %v %v", got, err)
	}
}

// TestRunPublishesBothOrNeither is the regression test for predictions
// and alerts from two different runs: when the alerts partition cannot be
// published, the predictions partition of the same date keeps the
// previous run's files, byte for byte.
func TestRunPublishesBothOrNeither(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	out := t.TempDir()
	if _, err := Run(ctx, f.options(out, asOfA)); err != nil {
		t.Fatal(err)
	}
	preds := PartitionDir(out, PredictionsDir, asOfA)
	before := treeBytes(t, preds)

	// A second run (another scored_at, so other bytes) whose alerts cannot
	// be published: alerts/ is replaced by a file.
	if err := os.RemoveAll(filepath.Join(out, AlertsDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, AlertsDir), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := f.options(out, asOfA)
	opt.Now = func() time.Time { return fixedNow().Add(time.Hour) }
	if _, err := Run(ctx, opt); err == nil {
		t.Fatal("the run succeeded although its alerts could not be published")
	}
	after := treeBytes(t, preds)
	if len(after) != len(before) {
		t.Fatalf("the predictions partition changed: %d files, want %d", len(after), len(before))
	}
	for name, b := range before {
		if !bytes.Equal(b, after[name]) {
			t.Errorf("%s changed: the predictions of the failed run were published without its alerts", name)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(out, StagingDir)); len(entries) != 0 {
		t.Errorf("staging leftovers: %v", entries)
	}
}
