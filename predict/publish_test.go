package predict

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestPublish: a new partition appears by rename, a second one replaces it
// whole, nothing stays in the staging folder, and staging folders of dead
// runs are removed while those of live ones are kept.
func TestPublish(t *testing.T) {
	out := t.TempDir()
	d := data.MakeDate(2024, 5, 1)
	final := PartitionDir(out, PredictionsDir, d)
	for i, content := range []string{"first", "second"} {
		dir, err := stage(out, PredictionsDir, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeFile(filepath.Join(dir, "part-00000.parquet"), []byte(content)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			writeFile(filepath.Join(dir, "only-in-first"), nil)
		}
		if err := publish(dir, final); err != nil {
			t.Fatal(err)
		}
		unstage(dir)
		b, err := os.ReadFile(filepath.Join(final, "part-00000.parquet"))
		if err != nil || string(b) != content {
			t.Fatalf("after publish %d: %q, %v", i, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(final, "only-in-first")); err == nil {
		t.Error("the replaced partition's files survive: the replacement must be whole")
	}
	if _, err := os.Stat(filepath.Join(out, StagingDir)); err == nil {
		t.Error("staging folder left behind")
	}

	// A staging folder of a process that does not exist is removed; ours is kept.
	root := filepath.Join(out, StagingDir)
	dead := filepath.Join(root, fmt.Sprintf("predictions-as_of=2024-05-02.%d.1-1", 1<<30))
	live := filepath.Join(root, fmt.Sprintf("predictions-as_of=2024-05-03.%d.1-1", os.Getpid()))
	for _, p := range []string{dead, live} {
		if err := os.MkdirAll(filepath.Join(p, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cleanStaging(out, quiet)
	if _, err := os.Stat(dead); err == nil {
		t.Error("a dead run's staging folder was kept")
	}
	if _, err := os.Stat(live); err != nil {
		t.Error("a live run's staging folder was removed")
	}
}

func TestPartitions(t *testing.T) {
	out := t.TempDir()
	for _, name := range []string{"as_of=2024-03-01", "as_of=2024-01-01", "as_of=2024-02-01", "as_of=2024-13-01", "notes", ".as_of=2024-04-01.tmp"} {
		dir := filepath.Join(out, PredictionsDir, name)
		os.MkdirAll(dir, 0o755)
		if name != "as_of=2024-02-01" { // incomplete: no _SUCCESS
			writeFile(filepath.Join(dir, SuccessFile), nil)
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
