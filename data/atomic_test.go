package data

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := WriteFileSync(filepath.Join(dir, name), []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func equalTree(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestTxnCommit: directories staged together appear together, replace
// what was there whole, and leave nothing in the staging root.
func TestTxnCommit(t *testing.T) {
	out := t.TempDir()
	root := filepath.Join(out, "_staging")
	preds, alerts := filepath.Join(out, "predictions", "as_of=2024-05-01"), filepath.Join(out, "alerts", "as_of=2024-05-01")
	for i, content := range []string{"first", "second"} {
		txn, err := BeginTxn(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, final := range []string{preds, alerts} {
			dir, err := txn.Dir(filepath.Base(filepath.Dir(final)), final)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{"part-00000.parquet": content}
			if i == 0 {
				files["only-in-first"] = ""
			}
			writeTree(t, dir, files)
		}
		if _, err := txn.Dir("again", preds); err == nil {
			t.Error("staging one final path twice is accepted")
		}
		if dir, ok := txn.Staged(preds + "/"); !ok || readTree(t, dir)["part-00000.parquet"] != content {
			t.Errorf("Staged(%s) = %s, %v: not the staged content", preds, dir, ok)
		}
		if _, ok := txn.Staged(filepath.Join(out, "other")); ok {
			t.Error("Staged finds a path that is not staged")
		}
		if err := txn.Commit(); err != nil {
			t.Fatal(err)
		}
		txn.Abort() // after Commit: nothing
		for _, final := range []string{preds, alerts} {
			want := map[string]string{"part-00000.parquet": content}
			if i == 0 {
				want["only-in-first"] = ""
			}
			if got := readTree(t, final); !equalTree(got, want) {
				t.Errorf("commit %d: %s holds %v, want %v (a replacement must be whole)", i, final, got, want)
			}
		}
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staging root is left behind (%v)", err)
	}
}

// TestTxnCommitFailureRollsBack is the regression test for outputs of two
// runs mixed: when publishing the second directory fails, the first one is
// put back, so every final path holds the previous run's content.
func TestTxnCommitFailureRollsBack(t *testing.T) {
	out := t.TempDir()
	preds, alerts := filepath.Join(out, "predictions", "as_of=2024-05-01"), filepath.Join(out, "alerts", "as_of=2024-05-01")
	commit := func(content string) error {
		txn, err := BeginTxn(filepath.Join(out, "_staging"))
		if err != nil {
			t.Fatal(err)
		}
		defer txn.Abort()
		for _, final := range []string{preds, alerts} {
			dir, err := txn.Dir("x", final)
			if err != nil {
				t.Fatal(err)
			}
			writeTree(t, dir, map[string]string{"part": content})
		}
		return txn.Commit()
	}
	if err := commit("old"); err != nil {
		t.Fatal(err)
	}
	// The alerts cannot be replaced: a read-only alerts/ folder.
	if err := os.Chmod(filepath.Dir(alerts), 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Dir(alerts), 0o755)
	if os.Geteuid() == 0 {
		// root ignores permissions: make the rename fail another way, by
		// putting a file where the alerts folder's parent must be.
		os.Chmod(filepath.Dir(alerts), 0o755)
		os.RemoveAll(filepath.Dir(alerts))
		if err := os.WriteFile(filepath.Dir(alerts), []byte("not a folder"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Dir(alerts))
	}
	if err := commit("new"); err == nil {
		t.Fatal("the commit succeeded although the alerts cannot be published")
	}
	if got := readTree(t, preds); got["part"] != "old" {
		t.Errorf("after a failed commit the predictions hold %q, want the previous run's %q", got["part"], "old")
	}
	entries, _ := os.ReadDir(filepath.Join(out, "_staging"))
	if len(entries) != 0 {
		t.Errorf("staging leftovers after a failed commit: %v", entries)
	}
}

// TestTxnAbort: nothing staged is published and nothing stays behind.
func TestTxnAbort(t *testing.T) {
	out := t.TempDir()
	txn, err := BeginTxn(filepath.Join(out, "_staging"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := txn.Dir("r", filepath.Join(out, "reports", "as_of=2024-05-01"))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, dir, map[string]string{"report.json": "{}"})
	txn.Abort()
	if err := txn.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if _, err := os.Stat(filepath.Join(out, "reports")); !errors.Is(err, os.ErrNotExist) {
		t.Error("an aborted transaction published something")
	}
	if _, err := os.Stat(filepath.Join(out, "_staging")); !errors.Is(err, os.ErrNotExist) {
		t.Error("an aborted transaction left its staging folder")
	}
}

// TestCleanStaging: the staging folders of processes that died are
// removed, those of live transactions (this process's too) are kept.
func TestCleanStaging(t *testing.T) {
	root := filepath.Join(t.TempDir(), "_staging")
	live, err := BeginTxn(root)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	liveDir, _ := live.Dir("p", filepath.Join(root, "..", "p"))

	// A transaction of a process that was killed: its lock file is free.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledTxn$")
	cmd.Env = append(os.Environ(), "CHURN_HELPER_TXN_ROOT="+root)
	outp, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(outp), "staged") {
		t.Fatalf("helper process: %v\n%s", err, outp)
	}
	// A staging folder without a lock file (left by an older churn).
	if err := os.MkdirAll(filepath.Join(root, "predictions-as_of=2024-05-02.123.1-1", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	removed, err := CleanStaging(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 {
		t.Errorf("removed %v, want the killed transaction's and the lockless folder", removed)
	}
	if _, err := os.Stat(liveDir); err != nil {
		t.Errorf("the live transaction's folder was removed: %v", err)
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, ".lock") }) {
		t.Errorf("after cleaning, the staging root holds %v, want the live transaction's folder and lock", names)
	}
	if removed, err := CleanStaging(filepath.Join(root, "missing")); err != nil || removed != nil {
		t.Errorf("missing root: %v, %v", removed, err)
	}
}

// TestHelperKilledTxn is run by TestCleanStaging in a child process: it
// stages a directory and exits without committing or aborting, like a
// process killed with kill -9.
func TestHelperKilledTxn(t *testing.T) {
	root := os.Getenv("CHURN_HELPER_TXN_ROOT")
	if root == "" {
		t.Skip("helper process for TestCleanStaging")
	}
	txn, err := BeginTxn(root)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := txn.Dir("p", filepath.Join(root, "..", "q"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "part"), []byte("x"), 0o644)
	os.Stdout.WriteString("staged\n")
	os.Exit(3)
}

// TestAtomicDirStagesOutsideGlobs is the regression test for a killed
// report step leaving reports/.as_of=…tmp-… where
// read_json('reports/*/report.json') finds it: while a directory is being
// built, no sibling of it exists, and its files are two levels deeper.
func TestAtomicDirStagesOutsideGlobs(t *testing.T) {
	reports := filepath.Join(t.TempDir(), "reports")
	final := filepath.Join(reports, "as_of=2024-05-01")
	ad, err := CreateAtomicDir(final)
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, ad.Path, map[string]string{"report.json": "{}"})
	matches, err := filepath.Glob(filepath.Join(reports, "*", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 0 {
		t.Errorf("a glob over reports/*/report.json sees a directory being built: %v", matches)
	}
	if err := ad.Commit(); err != nil {
		t.Fatal(err)
	}
	matches, _ = filepath.Glob(filepath.Join(reports, "*", "report.json"))
	if len(matches) != 1 || matches[0] != filepath.Join(final, "report.json") {
		t.Errorf("after Commit the glob sees %v", matches)
	}
	if entries, _ := os.ReadDir(reports); len(entries) != 1 {
		t.Errorf("reports/ holds %d entries after Commit, want 1", len(entries))
	}
}
