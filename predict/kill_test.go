package predict

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// TestKillDuringPredict runs the real churn binary on a dataset big enough
// to take a moment and kills it (SIGKILL) at several moments: while it
// computes, the moment it starts writing, while it writes, and while it
// replaces an existing partition. After every kill the partitions that
// were there are unchanged and readable, and no partial partition is
// visible where readers look (predictions/*/ and alerts/*/). No hook in the
// production code is needed: the test watches the staging folder appear.
func TestKillDuringPredict(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it many times")
	}
	f := getFixture(t)
	root := t.TempDir()
	bin := filepath.Join(root, "churn")
	build := exec.Command("go", "build", "-o", bin, "../cmd/churn")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ds := filepath.Join(root, "data")
	if _, err := synth.Generate(context.Background(), ds, synth.Params{Customers: 12000, Months: 24, Seed: 21}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "predict.yaml")
	// Many small files make the write phase long enough to be hit.
	os.WriteFile(cfg, []byte("output: {rows_per_file: 500, row_group_rows: 100}\nreasons: {method: exact}\n"), 0o644)
	out := filepath.Join(root, "out")
	args := func(asOf data.Date) []string {
		return []string{"predict", "--data", ds, "--model", f.modelDir, "--as-of", asOf.String(), "--out", out, "--config", cfg, "--top", "0", "--workers", "2"}
	}
	run := func(asOf data.Date) time.Duration {
		start := time.Now()
		cmd := exec.Command(bin, args(asOf)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("churn %v: %v\n%s", args(asOf), err, b)
		}
		return time.Since(start)
	}
	took := run(asOfA)
	t.Logf("a full run takes %v", took)
	before := treeBytes(t, out)
	checkPartition(t, PartitionDir(out, PredictionsDir, asOfA))

	// A moment is a fraction of a full run's time, or the moment a staging
	// folder of kind appears plus a delay.
	type moment struct {
		name  string
		frac  float64
		kind  string
		after time.Duration
	}
	var moments []moment
	for _, frac := range []float64{0.05, 0.3, 0.6, 0.85} {
		moments = append(moments, moment{name: fmt.Sprintf("%.0f%% into the run", frac*100), frac: frac})
	}
	for _, after := range []time.Duration{0, 2 * time.Millisecond, 10 * time.Millisecond, 30 * time.Millisecond} {
		moments = append(moments, moment{name: fmt.Sprintf("%v after predictions started writing", after), kind: PredictionsDir, after: after})
	}
	moments = append(moments, moment{name: "as alerts start writing", kind: AlertsDir})

	kill := func(m moment, asOf data.Date) {
		cmd := exec.Command(bin, args(asOf)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		start := time.Now()
		ready := func() bool {
			if m.kind == "" {
				return time.Since(start) >= time.Duration(m.frac*float64(took))
			}
			found, _ := filepath.Glob(filepath.Join(out, StagingDir, m.kind+"-*"))
			return len(found) > 0
		}
		deadline := time.Now().Add(3*took + 10*time.Second)
		fired := false
		for !fired && time.Now().Before(deadline) {
			select {
			case err := <-done:
				t.Logf("%s: the run finished before the kill (%v)", m.name, err)
				return
			default:
			}
			if ready() {
				time.Sleep(m.after)
				cmd.Process.Signal(syscall.SIGKILL)
				fired = true
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		err := <-done
		if !fired {
			t.Fatalf("%s: the moment never came (%v)\n%s", m.name, err, stderr.String())
		}
	}

	// Kills during a new date: the earlier date stays byte for byte, and
	// the new one is either absent or complete.
	for _, m := range moments {
		kill(m, asOfB)
		after := treeBytes(t, out)
		for name, b := range before {
			if !bytes.Equal(b, after[name]) {
				t.Fatalf("killed %s: %s changed or vanished", m.name, name)
			}
		}
		checkVisible(t, out, m.name)
		leftovers, _ := os.ReadDir(filepath.Join(out, StagingDir))
		_, err := os.Stat(PartitionDir(out, PredictionsDir, asOfB))
		t.Logf("killed %s: new partition present %v, %d staging folder(s) left", m.name, err == nil, len(leftovers))
		// Start the next kill from the same state.
		os.RemoveAll(PartitionDir(out, PredictionsDir, asOfB))
		os.RemoveAll(PartitionDir(out, AlertsDir, asOfB))
	}

	// Kills while replacing an existing partition of the same date: the
	// date is always there and complete, old or new.
	run(asOfB)
	for _, m := range moments[4:] {
		kill(m, asOfB)
		checkVisible(t, out, "replacing, "+m.name)
		for _, d := range []data.Date{asOfA, asOfB} {
			if _, err := os.Stat(filepath.Join(PartitionDir(out, PredictionsDir, d), SuccessFile)); err != nil {
				t.Fatalf("replacing, %s: partition %s is gone: %v", m.name, d, err)
			}
		}
	}

	// The next run removes what the killed runs left in the staging folder.
	run(asOfB)
	if _, err := os.Stat(filepath.Join(out, StagingDir)); err == nil {
		entries, _ := os.ReadDir(filepath.Join(out, StagingDir))
		t.Errorf("staging leftovers of killed runs survive a run: %v", entries)
	}
}

// checkVisible checks what a reader globbing OUT/*/*/ sees: complete
// partitions only.
func checkVisible(t *testing.T, out, when string) {
	t.Helper()
	for _, kind := range []string{PredictionsDir, AlertsDir} {
		entries, err := os.ReadDir(filepath.Join(out, kind))
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), partitionKey) {
				t.Fatalf("%s: %s/%s is visible to readers of %s/*/", when, kind, e.Name(), kind)
			}
			dir := filepath.Join(out, kind, e.Name())
			if _, err := os.Stat(filepath.Join(dir, SuccessFile)); err != nil {
				t.Fatalf("%s: %s has no _SUCCESS: a partial partition is visible", when, dir)
			}
			if kind == PredictionsDir {
				checkPartition(t, dir)
			}
		}
	}
}

// checkPartition reads every file of a predictions partition and compares
// the rows with the manifest.
func checkPartition(t *testing.T, dir string) {
	t.Helper()
	var man Manifest
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	if rows := readPredictions(t, dir); int64(len(rows)) != man.Rows {
		t.Fatalf("%s: %d rows, the manifest says %d", dir, len(rows), man.Rows)
	}
}
