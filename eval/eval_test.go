package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenConfig() Config {
	c := DefaultConfig()
	c.Bootstrap.Resamples = 200
	c.Capacity = 20
	c.Permutation.Rows = 1000
	c.Permutation.Repeats = 2
	c.TopAccounts = 5
	c.Retention.CurvePoints = 10 // keeps the golden file short
	return c
}

func runFixture(t *testing.T, cfg Config) *Report {
	t.Helper()
	f := loadFixture(t)
	r, err := Run(context.Background(), Options{Model: f.model, Table: f.table, Config: cfg, Inputs: Inputs{Model: "fixture-model", Features: "fixture.parquet"},
		Dataset: writeFixtureDataset(t, f.customers)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGoldenReport checks report.json and report.md of the fixture against
// the golden files (go test ./eval -run Golden -update rewrites them), and
// that a second run gives the same bytes.
func TestGoldenReport(t *testing.T) {
	r := runFixture(t, goldenConfig())
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := runFixture(t, goldenConfig()).JSON()
	if !bytes.Equal(js, again) {
		t.Fatal("two runs with the same inputs and seed gave different report.json")
	}
	for name, got := range map[string][]byte{"report.golden.json": js, "report.golden.md": r.Markdown()} {
		checkGolden(t, name, got, "Golden")
	}
	// The report must make sense, not only match.
	if r.SchemaVersion != SchemaVersion || r.Data.Selection != RowsHoldout || r.Data.CensoredRows == 0 || r.Data.InSample {
		t.Errorf("data = %+v", r.Data)
	}
	if a := r.Metrics.ROCAUC; a.Value < 0.7 || a.Lo > a.Value || a.Hi < a.Value {
		t.Errorf("AUC %+v", a)
	}
	if r.Backtest.Skipped || len(r.Backtest.Origins) != 4 {
		t.Errorf("backtest = %+v", r.Backtest)
	}
	if len(r.Retention.Periods) != 8 || !r.Retention.Revenue || len(r.Retention.Cohorts) == 0 {
		t.Errorf("retention = %+v", r.Retention)
	}
	if len(r.TopAccounts.Accounts) != 5 || r.TopAccounts.AsOf != "2024-11-01" {
		t.Errorf("top accounts = %+v", r.TopAccounts)
	}
	if len(r.Baselines) != 2 || !r.Baselines[1].Available || len(r.Baselines[1].Rules) != 6 {
		t.Errorf("baselines = %+v", r.Baselines)
	}
}

// checkGolden compares got with testdata/name, or rewrites the file
// under -update; run is the -run pattern that regenerates it.
func checkGolden(t *testing.T, name string, got []byte, run string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./eval -run %s -update)", err, run)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, run go test ./eval -run %s -update and review the diff\n%s", name, run, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < min(len(al), len(bl)); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n- " + al[i] + "\n+ " + bl[i]
		}
	}
	return "lengths differ"
}

// TestDocumentedKeys checks that every key of report.json appears in
// docs/eval.md as `key`.
func TestDocumentedKeys(t *testing.T) {
	doc, err := os.ReadFile("../docs/eval.md")
	if err != nil {
		t.Fatal(err)
	}
	js, err := runFixtureCached(t).JSON()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, y := range x {
				keys[k] = true
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	var missing []string
	for k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/eval.md does not document these report.json keys: %v", missing)
	}
}

var cachedReport *Report

func runFixtureCached(t *testing.T) *Report {
	if cachedReport == nil {
		cachedReport = runFixture(t, goldenConfig())
	}
	return cachedReport
}

// TestBadInput checks the errors a caller can tell apart.
func TestBadInput(t *testing.T) {
	f := loadFixture(t)
	unlabelled := *f.table
	unlabelled.Label = make([]float64, f.table.Len())
	for i := range unlabelled.Label {
		unlabelled.Label[i] = math.NaN()
	}
	oneClass := *f.table
	oneClass.Label = make([]float64, f.table.Len())
	for i, y := range f.table.Label {
		oneClass.Label[i] = y
		if y == 1 {
			oneClass.Label[i] = 0
		}
	}
	otherSpec := *f.table.Spec
	otherSpec.Features = append([]features.Def(nil), f.table.Spec.Features...)
	otherSpec.Features[1].Name = "seats_used"
	renamed := *f.table
	renamed.Spec = &otherSpec
	badCfg := DefaultConfig()
	badCfg.Cost.SuccessRate = 2
	for _, tt := range []struct {
		name  string
		opt   Options
		is    error
		match string
	}{
		{"no labels", Options{Model: f.model, Table: &unlabelled}, ErrNoLabels, "null label"},
		{"one class", Options{Model: f.model, Table: &oneClass}, ErrOneClass, "labelled 0"},
		{"spec differs", Options{Model: f.model, Table: &renamed}, ErrSpecMismatch, "missing: utilisation; unexpected: seats_used"},
		{"bad config", Options{Model: f.model, Table: f.table, Config: badCfg}, nil, "cost.success_rate 2"},
		{"no model", Options{Table: f.table}, nil, "model and a feature table are required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.opt)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.match) {
				t.Errorf("error %q does not say %q", err, tt.match)
			}
		})
	}
}

// TestChampion compares with a champion on the same rows, and reports a
// champion with another feature spec as unavailable instead of failing.
func TestChampion(t *testing.T) {
	f := loadFixture(t)
	cfg := goldenConfig()
	cfg.Backtest.Disabled = true
	p := fixtureParams
	p.Algo = train.AlgoLogReg
	champ, err := train.Fit(context.Background(), f.table, p, train.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer champ.Close()
	r, err := Run(context.Background(), Options{Model: f.model, Table: f.table, Baseline: champ, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c := r.Baselines[2]
	if c.Name != "champion" || !c.Available || c.Model.Algo != train.AlgoLogReg || !c.ROCAUC.Valid() {
		t.Fatalf("champion = %+v", c)
	}
	if got := r.Metrics.ROCAUC.Value - c.ROCAUC; math.Abs(float64(got-c.AUCGain.Value)) > 1e-12 {
		t.Errorf("AUC gain %v, want %v", c.AUCGain.Value, got)
	}

	// A champion trained on other features.
	all := make([]int, f.table.Len())
	for i := range all {
		all[i] = i
	}
	other := f.table.Rows(all)
	spec := *f.table.Spec
	spec.Features = spec.Features[:len(spec.Features)-1]
	other.Spec, other.Num, other.Cat = &spec, other.Num[:len(spec.Features)], other.Cat[:len(spec.Features)]
	champ2, err := train.Fit(context.Background(), other, fixtureParams, train.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer champ2.Close()
	r, err = Run(context.Background(), Options{Model: f.model, Table: f.table, Baseline: champ2, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	c = r.Baselines[2]
	if c.Available || !strings.Contains(c.Note, "unexpected: segment") || r.Verdict.Level == LevelTrust {
		t.Errorf("champion = %+v, verdict %s", c, r.Verdict.Level)
	}
	found := false
	for _, f := range r.Verdict.Findings {
		found = found || f.Code == "champion" && f.Severity == "warning" && strings.Contains(f.Message, "champion was not scored")
	}
	if !found {
		t.Errorf("no finding about the champion: %v", findingMessages(r))
	}
}

func findingMessages(r *Report) []string {
	var out []string
	for _, f := range r.Verdict.Findings {
		out = append(out, f.Message)
	}
	return out
}

// TestDriftWarning checks that a shifted population is flagged.
func TestDriftWarning(t *testing.T) {
	f := loadFixture(t)
	shifted := fixtureTable(600, 7, -0.3)
	cfg := goldenConfig()
	cfg.Backtest.Disabled = true
	r, err := Run(context.Background(), Options{Model: f.model, Table: shifted, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Drift.Drifting) == 0 || r.Drift.Drifting[0] != "utilisation" {
		t.Fatalf("drifting = %v", r.Drift.Drifting)
	}
	if r.Verdict.Level == LevelTrust || !strings.Contains(r.Verdict.Headline, "drifting") {
		t.Errorf("verdict = %+v", r.Verdict)
	}
}

// TestSnapshotTable checks a table without as-of dates: no backtest, no
// retention periods, and an in-sample warning when it is the training
// table.
func TestSnapshotTable(t *testing.T) {
	f := loadFixture(t)
	var rows []int
	for i, d := range f.table.AsOf {
		if d == day("2024-06-01") {
			rows = append(rows, i)
		}
	}
	snap := f.table.Rows(rows)
	spec := *f.table.Spec
	spec.AsOf, spec.Label.Mode = nil, features.LabelSnapshot
	snap.Spec = &spec
	for i := range snap.AsOf {
		snap.AsOf[i] = data.NoDate
	}
	p := fixtureParams
	p.Folds = 3
	m, err := train.Fit(context.Background(), snap, p, train.FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	r, err := Run(context.Background(), Options{Model: m, Table: snap, Config: goldenConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Backtest.Skipped || !strings.Contains(r.Backtest.Note, "single as-of date") {
		t.Errorf("backtest = %+v", r.Backtest)
	}
	if len(r.Retention.Periods) != 0 || !r.Data.InSample || r.Data.Selection != RowsAll {
		t.Errorf("retention periods %d, data %+v", len(r.Retention.Periods), r.Data)
	}
	if r.Verdict.Level == LevelTrust {
		t.Errorf("an in-sample evaluation is trusted: %+v", r.Verdict)
	}
	if _, err := r.JSON(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.HTML(); err != nil {
		t.Fatal(err)
	}
}

// TestWrite checks the three files, and that a folder holding other files
// is not replaced.
func TestWrite(t *testing.T) {
	r := runFixtureCached(t)
	dir := filepath.Join(t.TempDir(), "rep")
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{HTMLFile, JSONFile, MarkdownFile} {
		if st, err := os.Stat(filepath.Join(dir, n)); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", n, err)
		}
	}
	js, _ := os.ReadFile(filepath.Join(dir, JSONFile))
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatalf("report.json does not read back: %v", err)
	}
	if back.Metrics.ROCAUC.Value != Num(math.Round(r.Metrics.ROCAUC.Value.F()*1e6)/1e6) {
		t.Errorf("AUC read back %v", back.Metrics.ROCAUC.Value)
	}
	if err := r.Write(dir); err != nil {
		t.Fatalf("replacing a report: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("keep"), 0o644)
	if err := r.Write(other); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "notes.txt")); err != nil {
		t.Error("notes.txt was removed")
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	for _, bad := range []string{"http://", "https://", "<script", "<link"} {
		if bytes.Contains(bytes.ReplaceAll(html, []byte(`xmlns="http://www.w3.org/2000/svg"`), nil), []byte(bad)) {
			t.Errorf("report.html contains %q: it must be self-contained", bad)
		}
	}
}
