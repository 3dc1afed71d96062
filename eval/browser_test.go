package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// nodeModules finds the node_modules holding playwright-core: the
// Makefile installs it into .cache/node (exported as CHURN_DUCKDB_DIR by
// make test).
func nodeModules() string {
	for _, dir := range []string{os.Getenv("CHURN_DUCKDB_DIR"), "../.cache/node"} {
		if dir == "" {
			continue
		}
		nm, _ := filepath.Abs(filepath.Join(dir, "node_modules"))
		if _, err := os.Stat(filepath.Join(nm, "playwright-core", "package.json")); err == nil {
			return nm
		}
	}
	return ""
}

// TestReportRendersInChromium loads report.html in headless Chromium with
// the network blocked and checks that it loads without console errors or
// requests and that every chart is drawn with its title. It saves a
// full-page screenshot to $CHURN_SCREENSHOT when set. make test installs
// Chromium and playwright-core (target browser); without them the test
// skips, except under CI where it fails.
func TestReportRendersInChromium(t *testing.T) {
	chromium := "/usr/bin/chromium"
	nm := nodeModules()
	_, errC := os.Stat(chromium)
	node, errN := exec.LookPath("node")
	if errC != nil || errN != nil || nm == "" {
		msg := "needs /usr/bin/chromium, node and playwright-core in .cache/node (make browser)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	r := runFixtureCached(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	html, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	script, _ := filepath.Abs("testdata/browser.js")
	profile := filepath.Join(dir, "profile") // empty user data dir
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, page, shot, profile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nm, "CHURN_CHROMIUM="+chromium)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser: %v\n%s", err, stderr.String())
	}
	t.Logf("rendered in %.1f s", time.Since(start).Seconds())
	var got struct {
		Errors, Requests []string
		Charts, Drawn    int
		Titles           []string
		Verdict          string
		Width            int
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("browser output %q: %v", stdout.String(), err)
	}
	if len(got.Errors) > 0 {
		t.Errorf("console errors: %v", got.Errors)
	}
	if len(got.Requests) > 0 {
		t.Errorf("the page tried to fetch: %v", got.Requests)
	}
	want := []string{"ROC curve", "Precision–recall curve", "Lift by decile", "Cumulative gains", "Reliability diagram", "Score distribution per class",
		"Backtest: ROC AUC at each origin", "Backtest: PR AUC and base rate", "Feature importance: share of gain", "Permutation importance: AUC drop",
		"Drift: population stability index", "Retention per period", "Churn rate by signup cohort",
		"Time to churn by signup cohort", "Time to churn by plan", "Time to churn by segment", "Time to churn by risk tier"}
	if got.Charts != len(want) || got.Drawn != len(want) || !slices.Equal(got.Titles, want) {
		t.Errorf("charts %d (%d drawn), titles %q; want %q", got.Charts, got.Drawn, got.Titles, want)
	}
	if got.Verdict != r.Verdict.Headline {
		t.Errorf("verdict shown %q, want %q", got.Verdict, r.Verdict.Headline)
	}
	if got.Width > 1280 {
		t.Errorf("the page is %d px wide in a 1280 px window: something overflows", got.Width)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Errorf("screenshot: %v", err)
	}
	if out := os.Getenv("CHURN_SCREENSHOT"); out != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(out, b, 0o644)
	}
}
