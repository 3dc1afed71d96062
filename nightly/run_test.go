package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/predict"
)

// demoData generates a small dataset once per test binary.
var demoData = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "churn-nightly")
	if err != nil {
		return "", err
	}
	d := filepath.Join(dir, "data")
	_, err = synth.Generate(context.Background(), d, synth.Params{Customers: 1500, Months: 24, Seed: 5}, synth.WriteOptions{})
	return d, err
})

var clock = func() time.Time { return time.Date(2024, 12, 1, 2, 0, 0, 0, time.UTC) }

func testConfig(t *testing.T, dataDir, root string) *Config {
	t.Helper()
	c := &Config{Data: dataDir, Out: filepath.Join(root, "out"), Registry: filepath.Join(root, "models")}
	c.Training.Params.Rounds = 60
	c.Training.Snapshots = 6
	c.Eval.Bootstrap.Resamples = 50
	c.Eval.Backtest.Origins = 2
	return c
}

func demo(t *testing.T) string {
	t.Helper()
	d, err := demoData()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRunTwice runs the job twice on the same inputs: the first run
// promotes its challenger (no champion yet), the second trains the same
// model and keeps the champion, and both write byte-identical predictions.
func TestRunTwice(t *testing.T) {
	root := t.TempDir()
	asOf := data.MakeDate(2024, 12, 1)
	var preds [2][]byte
	for i := 0; i < 2; i++ {
		mf, err := Run(context.Background(), Options{Config: testConfig(t, demo(t), root), AsOf: asOf, Now: clock, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if mf.Outcome != "ok" || mf.Scored == 0 || mf.Champion == "" || mf.Outputs.Report == "" {
			t.Fatalf("run %d manifest: %+v", i, mf)
		}
		if want := i == 0; mf.Promoted != want {
			t.Errorf("run %d promoted = %v, want %v (%s)", i, mf.Promoted, want, mf.Promotion.Reason)
		}
		if i == 1 && (mf.Challenger != mf.Champion || !strings.Contains(mf.Promotion.Reason, "not better")) {
			t.Errorf("second run: challenger %s, champion %s, %s", mf.Challenger, mf.Champion, mf.Promotion.Reason)
		}
		checkControlGroups(t, mf)
		checkReview(t, mf)
		if note := stepNote(t, mf, "train uplift"); note != "skipped: training.uplift is off" {
			t.Errorf("run %d: train uplift %q with training.uplift off", i, note)
		}
		files, _ := filepath.Glob(filepath.Join(mf.Outputs.Predictions, "*.parquet"))
		if len(files) == 0 {
			t.Fatal("no prediction files")
		}
		preds[i], _ = os.ReadFile(files[0])
		for _, f := range []string{"report.html", "report.json", "report.md"} {
			if _, err := os.Stat(filepath.Join(filepath.Dir(mf.Outputs.Report), f)); err != nil {
				t.Error(err)
			}
		}
		if _, err := os.Stat(filepath.Join(root, "out", "runs", mf.RunID, "manifest.json")); err != nil {
			t.Error(err)
		}
	}
	if !bytes.Equal(preds[0], preds[1]) {
		t.Error("the same inputs gave different prediction files")
	}
	reg := &Registry{Dir: filepath.Join(root, "models")}
	vs, _ := reg.Versions()
	champ, _ := reg.Champion()
	if len(vs) != 1 || champ != vs[0] {
		t.Errorf("registry versions %v, champion %s", vs, champ)
	}
	for _, f := range []string{"card.json", "card.md", "model.json"} {
		if _, err := os.Stat(filepath.Join(reg.Dir, "versions", champ, f)); err != nil {
			t.Error(err)
		}
	}
	hist, _ := os.ReadFile(filepath.Join(reg.Dir, "history.jsonl"))
	// added (once: the second run trains the same version), promoted, kept.
	if n := strings.Count(string(hist), "\n"); n != 3 || strings.Count(string(hist), `"event":"added"`) != 1 || !strings.Contains(string(hist), `"event":"promoted"`) || !strings.Contains(string(hist), `"event":"kept"`) {
		t.Errorf("history:\n%s", hist)
	}
}

// TestRunLocked: a run while another holds the lock fails at once.
func TestRunLocked(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, demo(t), root)
	lk, err := acquireRunLock(cfg.Out, "2024-12-01", clock())
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Unlock()
	_, err = Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("err = %v, want ErrLocked naming the holder", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, "runs")); !os.IsNotExist(err) {
		t.Errorf("a locked-out run wrote %s", filepath.Join(cfg.Out, "runs"))
	}
}

// TestRunCorruptInput: a corrupt table fails the run before anything is
// published (no predictions, reports or models).
func TestRunCorruptInput(t *testing.T) {
	root := t.TempDir()
	src := demo(t)
	dst := filepath.Join(root, "data")
	os.MkdirAll(dst, 0o755)
	es, _ := os.ReadDir(src)
	for _, e := range es {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		if e.Name() == "tickets.parquet" {
			b = b[:len(b)/2] // truncated
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	cfg := testConfig(t, dst, root)
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock})
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "tickets.parquet") {
		t.Fatalf("err = %v, want ErrInput naming tickets.parquet", err)
	}
	for _, p := range []string{filepath.Join(cfg.Out, "predictions"), filepath.Join(cfg.Out, "reports"), cfg.Registry} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed run", p)
		}
	}
	if mf == nil || mf.Outcome != "failed" {
		t.Fatalf("manifest = %+v", mf)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, "runs", mf.RunID, "manifest.json")); err != nil {
		t.Errorf("a failed run leaves its manifest: %v", err)
	}
}

// checkControlGroups checks that a run records its control groups in the
// manifest and marks the control accounts of the report's accounts to
// call, placed by the predict config's experiment (the defaults here).
func checkControlGroups(t *testing.T, mf *Manifest) {
	t.Helper()
	e := mf.Experiment
	if e == nil || e.Share != predict.DefaultControlShare || e.Seed != 0 || e.Cohort != "" || e.Targeted != mf.Tiers.High+mf.Tiers.Medium || e.Control == 0 || e.Control >= e.Targeted {
		t.Fatalf("manifest experiment %+v, tiers %+v", e, mf.Tiers)
	}
	rep := readReport(t, mf)
	ta := rep.TopAccounts
	exp := data.Experiment{Share: predict.DefaultControlShare}
	control := 0
	for _, a := range ta.Accounts {
		if a.Play == "" || a.Group != exp.Group(a.Play, a.CustomerID) {
			t.Errorf("account %s: play %q, group %q; the experiment says %q", a.CustomerID, a.Play, a.Group, exp.Group(a.Play, a.CustomerID))
		}
		if a.Group == data.GroupControl {
			control++
		}
	}
	if len(ta.Accounts) == 0 || ta.Control != control || ta.ToCall != len(ta.Accounts)-control {
		t.Errorf("report: %d accounts, %d to call, %d control (%d marked)", len(ta.Accounts), ta.ToCall, ta.Control, control)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "churn.yaml")
	os.WriteFile(path, []byte("data: d\nout: o\nregistry: r\ntraining:\n  snapshots: 8\n  params:\n    algo: logreg\npromotion:\n  metric: log_loss\n"), 0o644)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	// Paths in the file are relative to its folder; from the environment
	// (and flags), relative to the working directory: left as given.
	if err := c.ApplyEnv(func(k string) string {
		return map[string]string{"CHURN_SNAPSHOTS": "10", "CHURN_OUT": "/x", "CHURN_REGISTRY": "rel/models"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	c.EnsureDefaults()
	if c.Training.Snapshots != 10 || c.Out != "/x" || c.Data != filepath.Join(dir, "d") || c.Registry != "rel/models" || c.Training.Params.Algo != "logreg" || c.Promotion.Metric != "log_loss" {
		t.Errorf("config = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	os.WriteFile(path, []byte("data: d\nsnapshots: 3\n"), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("unknown key: %v", err)
	}
	bad := &Config{Data: "d", Out: "o", Registry: "r", Training: TrainingConfig{Snapshots: 1}, Promotion: PromotionConfig{Metric: "accuracy"}}
	bad.EnsureDefaults()
	err = bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "snapshots") || !strings.Contains(err.Error(), "accuracy") {
		t.Errorf("Validate = %v", err)
	}

	// The predict section's control groups: share 0 stays off, a share
	// out of range names the key.
	for _, tt := range []struct {
		name, src, err string
		share          float64
	}{
		{"default", "data: d\nout: o\nregistry: r\n", "", predict.DefaultControlShare},
		{"off", "data: d\nout: o\nregistry: r\npredict:\n  control: {share: 0, cohort: 2025q1}\n", "", 0},
		{"out of range", "data: d\nout: o\nregistry: r\npredict:\n  control: {share: 2}\n", "predict: control.share must be between 0 and 1 (got 2", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(path, []byte(tt.src), 0o644)
			c, err := LoadConfig(path)
			if err != nil {
				t.Fatal(err)
			}
			c.EnsureDefaults()
			err = c.Validate()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Validate = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || c.Predict.Control.Experiment().Share != tt.share {
				t.Errorf("control %+v, err %v; want share %g", c.Predict.Control.Experiment(), err, tt.share)
			}
		})
	}
}

// checkReview checks that a run reviewed its predictions: the review step,
// the manifest's headline, review.html published, and the report's review
// section with the same headline.
func checkReview(t *testing.T, mf *Manifest) {
	t.Helper()
	var step *Step
	for i := range mf.Steps {
		if mf.Steps[i].Name == "review" {
			step = &mf.Steps[i]
		}
	}
	if step == nil || mf.Review == nil || step.Note != mf.Review.Headline || !strings.HasPrefix(mf.Review.Headline, "Review "+mf.AsOf+": ") {
		t.Fatalf("review step %+v, manifest review %+v", step, mf.Review)
	}
	if mf.Review.HTML == "" || mf.Outputs.Review != mf.Review.HTML {
		t.Fatalf("review published at %q (outputs %q)", mf.Review.HTML, mf.Outputs.Review)
	}
	for _, f := range []string{"review.html", "review.json", "review.md", "saved_customers.parquet"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(mf.Review.HTML), f)); err != nil {
			t.Error(err)
		}
	}
	rep := readReport(t, mf)
	if rep.Review == nil || rep.Review.Headline != mf.Review.Headline || rep.Review.Link != "../../review/as_of="+mf.AsOf+"/review.html" {
		t.Errorf("report's review section %+v", rep.Review)
	}
	html, _ := os.ReadFile(mf.Outputs.Report)
	if !bytes.Contains(html, []byte(`<h2 id="review">Periodic review</h2>`)) {
		t.Error("report.html has no review section")
	}
}

// TestRunReviewFails checks that a review that cannot be made (an old
// predictions partition is corrupt) is a warning: the run succeeds and
// publishes its predictions and report, without a review.
func TestRunReviewFails(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, demo(t), root)
	// Last month's run, which tonight's compares with, is fine.
	if _, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 11, 1), Now: clock, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	broken := predict.PartitionDir(cfg.Out, predict.PredictionsDir, data.MakeDate(2024, 6, 1))
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]string{"part-00000.parquet": "not parquet", predict.SuccessFile: ""} {
		if err := os.WriteFile(filepath.Join(broken, name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mf, err := Run(context.Background(), Options{Config: cfg, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Version: "test"})
	if err != nil {
		t.Fatalf("a failed review failed the run: %v", err)
	}
	if mf.Outcome != "ok" || mf.Review != nil || mf.Outputs.Review != "" || mf.Outputs.Predictions == "" {
		t.Fatalf("manifest: outcome %s, review %+v, outputs %+v", mf.Outcome, mf.Review, mf.Outputs)
	}
	warned := false
	for _, w := range mf.Warnings {
		warned = warned || (strings.Contains(w, "review failed") && strings.Contains(w, "part-00000.parquet"))
	}
	if !warned {
		t.Errorf("warnings %q do not say the review failed and why", mf.Warnings)
	}
	if _, err := os.Stat(filepath.Join(mf.Outputs.Predictions, predict.SuccessFile)); err != nil {
		t.Errorf("the predictions are not published: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, "review", "as_of=2024-12-01")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a review was published: %v", err)
	}
	raw, _ := os.ReadFile(filepath.Join(filepath.Dir(mf.Outputs.Report), eval.JSONFile))
	if bytes.Contains(raw, []byte(`"review"`)) {
		t.Error("the report has a review section without a review")
	}
	if _, err := os.Stat(filepath.Join(cfg.Out, predict.StagingDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging left behind: %v", err)
	}
}

// readReport reads the run's report.json.
func readReport(t *testing.T, mf *Manifest) *eval.Report {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(mf.Outputs.Report), eval.JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	var rep eval.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}
