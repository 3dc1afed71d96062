package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/predict"
)

var quiet = slog.New(slog.DiscardHandler)

// published lists what a reader globbing the output folder's tables sees.
func published(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, pattern := range []string{"predictions/*/*", "alerts/*/*", "reports/*/*"} {
		m, err := filepath.Glob(filepath.Join(out, pattern))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m...)
	}
	return got
}

func treeBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d files, then %d", what, len(a), len(b))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s: %s differs", what, name)
		}
	}
}

// TestRunNoChampionDoNotTrust is the regression test for the first run
// panicking (nil champion) when the challenger's verdict is do_not_trust:
// it fails with ErrNoModel, writes a manifest saying why, and leaves the
// registry and the published folders untouched.
func TestRunNoChampionDoNotTrust(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, demo(t), root)
	cfg.Eval.Verdict.MinAUC = 0.999
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Logger: quiet})
	if !errors.Is(err, ErrNoModel) {
		t.Fatalf("err = %v, want ErrNoModel", err)
	}
	for _, want := range []string{eval.LevelDoNotTrust, "no champion yet", "ROC AUC"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if mf == nil || mf.Outcome != "failed" || mf.Verdict != eval.LevelDoNotTrust || mf.Champion != "" || mf.Promoted || !reflect.DeepEqual(mf.Outputs, RunOutputs{}) {
		t.Fatalf("manifest = %+v", mf)
	}
	var onDisk Manifest
	b, err := os.ReadFile(filepath.Join(cfg.Out, "runs", mf.RunID, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &onDisk); err != nil || onDisk.Outcome != "failed" || !strings.Contains(onDisk.Error, "no model to score with") {
		t.Errorf("manifest on disk: %v %+v", err, onDisk)
	}
	if _, err := os.Stat(filepath.Join(cfg.Registry, "history.jsonl")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the registry's history was written by a run that published nothing (%v)", err)
	}
	if vs, _ := (&Registry{Dir: cfg.Registry}).Versions(); len(vs) != 0 {
		t.Errorf("the registry stores %v after a failed run", vs)
	}
	if got := published(t, cfg.Out); len(got) != 0 {
		t.Errorf("a failed run published %v", got)
	}
}

// TestRunSharedRegistry is the regression test for runs sharing a model
// registry without a lock: three runs (other out folders, other seeds, so
// other models) start together; exactly one finds no champion, the others
// compare with the champion before them, and every run scored with the
// champion it reports.
func TestRunSharedRegistry(t *testing.T) {
	root := t.TempDir()
	const n = 3
	mfs := make([]*Manifest, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cfg := testConfig(t, demo(t), root)
		cfg.Out = filepath.Join(root, fmt.Sprintf("out%d", i))
		cfg.Training.Params.Seed = uint64(10 + i)
		cfg.Promotion.Margin = 0.0001
		wg.Add(1)
		go func() {
			defer wg.Done()
			mfs[i], errs[i] = Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Logger: quiet})
		}()
	}
	wg.Wait()
	firsts := 0
	for i, mf := range mfs {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if mf.Promotion.Reason == "no champion yet" {
			firsts++
		}
		var pm predict.Manifest
		b, err := os.ReadFile(filepath.Join(mf.Outputs.Predictions, predict.ManifestFile))
		if err != nil || json.Unmarshal(b, &pm) != nil {
			t.Fatalf("run %d: predictions manifest: %v", i, err)
		}
		if pm.ModelVersion != mf.Champion || mf.Outputs.ScoredWith != mf.Champion || mf.Outputs.Evaluated != mf.Challenger {
			t.Errorf("run %d reports champion %s but scored with %s", i, mf.Champion, pm.ModelVersion)
		}
	}
	if firsts != 1 {
		t.Errorf("%d runs found no champion, want exactly 1", firsts)
	}
	// The history is one chain: each promotion replaces the champion
	// promoted before it, and CHAMPION names the last one.
	reg := &Registry{Dir: filepath.Join(root, "models")}
	raw, err := os.ReadFile(filepath.Join(reg.Dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	champ := ""
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ev Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatal(err)
		}
		switch ev.Event {
		case "promoted":
			if ev.Previous != champ {
				t.Errorf("%s replaced %q, but the champion was %q", ev.Version, ev.Previous, champ)
			}
			champ = ev.Version
		case "kept":
			if ev.Version != champ {
				t.Errorf("kept %q, but the champion was %q", ev.Version, champ)
			}
		}
	}
	if got, _ := reg.Champion(); got != champ {
		t.Errorf("CHAMPION is %s, the history ends with %s", got, champ)
	}
}

// TestRunConfigCheckedBeforeSideEffects is the regression test for a
// broken alert rule found only when scoring, after the challenger was
// promoted: a rule that does not parse stops the run before anything is
// written; one naming a feature the challenger lacks stops it before the
// registry or any output changes.
func TestRunConfigCheckedBeforeSideEffects(t *testing.T) {
	tests := []struct {
		name, when, want string
		manifest         bool
	}{
		{"syntax", `tier == `, "unexpected token", false},
		{"unknown feature", `tier == "high" and mrr_trend_bogus > 1`, "mrr_trend_bogus", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			cfg := testConfig(t, demo(t), root)
			cfg.Predict.Alerts = []predict.AlertRule{{Name: "broken", When: tt.when}}
			mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Logger: quiet})
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `"broken"`) {
				t.Fatalf("err = %v, want ErrConfig naming rule \"broken\" and %q", err, tt.want)
			}
			if _, err := os.Stat(cfg.Registry); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the registry was touched (%v)", err)
			}
			if got := published(t, cfg.Out); len(got) != 0 {
				t.Errorf("published %v", got)
			}
			if (mf != nil) != tt.manifest {
				t.Errorf("manifest %+v, want one: %v", mf, tt.manifest)
			}
		})
	}
}

// TestRunReproducible: the same inputs, seed and --now in two fresh
// folders give byte-identical predictions, alerts, report (html too) and
// model files.
func TestRunReproducible(t *testing.T) {
	var outs [2]string
	var regs [2]string
	for i := range outs {
		root := t.TempDir()
		cfg := testConfig(t, demo(t), root)
		mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Logger: quiet, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		outs[i], regs[i] = cfg.Out, filepath.Join(cfg.Registry, "versions", mf.Champion)
	}
	for _, sub := range []string{"predictions", "alerts", "reports"} {
		sameTree(t, sub, treeBytes(t, filepath.Join(outs[0], sub)), treeBytes(t, filepath.Join(outs[1], sub)))
	}
	sameTree(t, "model", treeBytes(t, regs[0]), treeBytes(t, regs[1]))
}

// TestRunPublishesTogether is the regression test for a full disk between
// two partitions leaving predictions and alerts of two runs: when the
// alerts cannot be published, the previous run's predictions, alerts and
// report stay as they were, and the registry's champion does not move.
// It also checks that, at the moment a kill -9 would leave staging behind
// (everything staged, nothing published), a reader's globs see nothing of
// the new run, and that stale staging folders are removed by the next run.
func TestRunPublishesTogether(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, demo(t), root)
	asOf := data.MakeDate(2024, 12, 1)
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: asOf, Now: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	before := treeBytes(t, cfg.Out+"/predictions")
	beforeRep := treeBytes(t, cfg.Out+"/reports")
	champ := mf.Champion

	// Leftovers of killed runs: an old churn's hidden sibling inside
	// reports/ and a lockless folder in _staging.
	legacy := filepath.Join(cfg.Out, "reports", ".as_of=2024-11-01.tmp-123-abc-1")
	stale := filepath.Join(cfg.Out, predict.StagingDir, "txn-999-x-1", "00-report")
	for _, d := range []string{legacy, stale} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "report.json"), []byte("{}"), 0o644)
	}

	// A later run (another clock, another seed: other bytes, another
	// model) whose alerts cannot be published.
	cfg2 := testConfig(t, demo(t), root)
	cfg2.Training.Params.Seed = 99
	later := func() time.Time { return clock().Add(24 * time.Hour) }
	var sawStaged bool
	opt := Options{Config: cfg2, AsOf: asOf, Now: later, Logger: quiet}
	opt.beforePublish = func() {
		sawStaged = true
		for _, p := range published(t, cfg.Out) {
			if _, ok := before[strings.TrimPrefix(p, cfg.Out+"/predictions/")]; !ok && !strings.Contains(p, "/alerts/") && !strings.Contains(p, "/reports/as_of=2024-12-01/") {
				t.Errorf("before publishing, a reader sees %s", p)
			}
		}
		if _, err := os.Stat(legacy); !errors.Is(err, fs.ErrNotExist) {
			t.Error("a stale hidden staging folder inside reports/ survives the next run")
		}
		if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
			t.Error("a dead run's staging folder survives the next run")
		}
		os.RemoveAll(filepath.Join(cfg.Out, "alerts"))
		os.WriteFile(filepath.Join(cfg.Out, "alerts"), []byte("in the way"), 0o644)
	}
	if _, err := Run(context.Background(), opt); err == nil {
		t.Fatal("the run succeeded although its alerts could not be published")
	}
	if !sawStaged {
		t.Fatal("the run never reached publishing")
	}
	sameTree(t, "predictions", before, treeBytes(t, cfg.Out+"/predictions"))
	sameTree(t, "reports", beforeRep, treeBytes(t, cfg.Out+"/reports"))
	if got, _ := (&Registry{Dir: cfg.Registry}).Champion(); got != champ {
		t.Errorf("the champion moved to %s in a run that published nothing", got)
	}
	if es, _ := os.ReadDir(filepath.Join(cfg.Out, predict.StagingDir)); len(es) != 0 {
		t.Errorf("staging leftovers: %v", es)
	}
}

// TestRunWebhookSecret is the regression test for a webhook URL with a
// secret in its path (Slack style) printed in full on stderr and in the
// run manifest: only the scheme and host appear.
func TestRunWebhookSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusForbidden)
	}))
	defer srv.Close()
	root := t.TempDir()
	cfg := testConfig(t, demo(t), root)
	cfg.Predict.Webhook.URL = srv.URL + "/services/T000/B000/XXXXs3cr3tp4th"
	var logs bytes.Buffer
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err == nil {
		t.Fatal("a refused required webhook did not fail the run")
	}
	b, rerr := os.ReadFile(filepath.Join(cfg.Out, "runs", mf.RunID, "manifest.json"))
	if rerr != nil {
		t.Fatal(rerr)
	}
	for what, s := range map[string]string{"logs": logs.String(), "error": err.Error(), "manifest": string(b)} {
		if strings.Contains(s, "s3cr3tp4th") || strings.Contains(s, "/services/") {
			t.Errorf("the webhook's secret path is in the %s:\n%s", what, s)
		}
	}
	if !strings.Contains(string(b), srv.URL+"/…") {
		t.Errorf("the manifest should name the webhook by scheme and host:\n%s", b)
	}
	_ = io.Discard
}

// TestRunLeakBlocksPromotion is the regression test for a leaking model
// promoted and published: without a subscriptions history the lifecycle
// features are today's values (static), the out-of-time AUC is near 1 and
// 268 of 638 customers were published at probability 1.0. The verdict is
// now do_not_trust, which blocks promotion and, with no champion yet,
// publishes nothing; the error names the features to look at.
func TestRunLeakBlocksPromotion(t *testing.T) {
	root := t.TempDir()
	src, dst := demo(t), filepath.Join(root, "data")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	es, _ := os.ReadDir(src)
	for _, e := range es {
		if e.Name() == "subscriptions.parquet" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	cfg := testConfig(t, dst, root)
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Logger: quiet})
	if !errors.Is(err, ErrNoModel) {
		t.Fatalf("err = %v, want ErrNoModel (a leaking model must not be promoted)", err)
	}
	if mf.Verdict != eval.LevelDoNotTrust || !strings.Contains(err.Error(), "static") || !strings.Contains(err.Error(), "lifecycle_stage") {
		t.Errorf("verdict %s; the error should name the static features to look at: %v", mf.Verdict, err)
	}
	if got := published(t, cfg.Out); len(got) != 0 {
		t.Errorf("published %v", got)
	}
}
