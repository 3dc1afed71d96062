package predict

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

func TestControlConfig(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		want      data.Experiment
	}{
		{"absent: the defaults", "", data.Experiment{Seed: 0, Cohort: "", Share: DefaultControlShare}},
		{"empty mapping: the defaults", "control: {}\n", data.Experiment{Share: DefaultControlShare}},
		{"share 0 turns it off", "control: {share: 0}\n", data.Experiment{Share: 0}},
		{"share 1 holds everyone out", "control: {share: 1}\n", data.Experiment{Share: 1}},
		{"every key", "control:\n  share: 0.25\n  seed: -7\n  cohort: 2025q1\n", data.Experiment{Seed: -7, Cohort: "2025q1", Share: 0.25}},
		{"seed alone keeps the default share", "control: {seed: 42}\n", data.Experiment{Seed: 42, Share: DefaultControlShare}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig("predict.yaml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Control.Experiment(); got != tt.want {
				t.Errorf("experiment %+v, want %+v", got, tt.want)
			}
			if c.Control.Share == nil || *c.Control.Share != tt.want.Share {
				t.Errorf("control.share after defaults: %v", c.Control.Share)
			}
		})
	}
	for _, tt := range []struct{ name, src, want string }{
		{"share above 1", "control: {share: 1.5}\n", "predict.yaml: control.share must be between 0 and 1 (got 1.5"},
		{"negative share", "control: {share: -0.1}\n", "control.share must be between 0 and 1 (got -0.1"},
		{"NaN share", "control: {share: .nan}\n", "control.share must be between 0 and 1 (got NaN"},
		{"share not a number", "control: {share: tenth}\n", "predict.yaml:1: invalid YAML"},
		{"cohort with a control character", "control: {cohort: \"a\\tb\"}\n", `control.cohort "a\tb" must not hold control characters`},
		{"unknown key", "control:\n  shares: 0.2\n", "predict.yaml:2: invalid YAML: field shares not found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig("predict.yaml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want %q", err, tt.want)
			}
		})
	}
	// The zero Config is valid once defaulted; an explicit share 0 stays 0.
	var c Config
	zero := 0.0
	c.Control.Share = &zero
	c.EnsureDefaults()
	if err := c.Validate(); err != nil || *c.Control.Share != 0 {
		t.Errorf("share 0 after EnsureDefaults: %v, %v", *c.Control.Share, err)
	}
}

// controlOptions are Run options over the fixture with wide tiers (most
// customers targeted, so shares are measured on many) and rules that fire
// for every targeted customer and for risk changes.
func controlOptions(f *fixture, out string, asOf data.Date, share float64, cohort string) Options {
	opt := f.options(out, asOf)
	opt.Config.Tiers = Tiers{High: TierRule{MaxShare: 0.3}, Medium: TierRule{MaxShare: 0.4}}
	opt.Config.Control = ControlConfig{Share: &share, Seed: 5, Cohort: cohort}
	opt.Config.Alerts = []AlertRule{
		{Name: "targeted", When: `tier != "low"`},
		{Name: "moved", When: `probability_change >= 0.02 or probability_change <= -0.02`},
	}
	return opt
}

// TestRunControlGroups checks the control groups predict assigns: the share
// among targeted customers is near the configured one for every play; a
// customer keeps its group across as-of dates for the same play; another
// cohort reshuffles; the low tier is never targeted; every group is what
// data.Experiment computes from the data alone; and the files and manifest
// record the experiment.
func TestRunControlGroups(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	const share = 0.3
	out := t.TempDir()
	resA, err := Run(ctx, controlOptions(f, out, asOfA, share, "2024q4"))
	if err != nil {
		t.Fatal(err)
	}
	resB, err := Run(ctx, controlOptions(f, out, asOfB, share, "2024q4"))
	if err != nil {
		t.Fatal(err)
	}
	exp := data.Experiment{Seed: 5, Cohort: "2024q4", Share: share}
	rowsA, rowsB := readPredictions(t, resA.PredictionsDir), readPredictions(t, resB.PredictionsDir)

	for _, run := range []struct {
		res  *Result
		rows []predRow
	}{{resA, rowsA}, {resB, rowsB}} {
		var targeted, control int64
		plays := map[string][2]int64{}
		for _, r := range run.rows {
			if r.Tier == "low" {
				if r.Play != "" || r.Group != "" {
					t.Fatalf("%s: low-tier customer %s has play %q, group %q; the low tier is not targeted", r.AsOf, r.ID, r.Play, r.Group)
				}
				continue
			}
			want := noReasonCategory
			if len(r.Reasons) > 0 {
				want = r.Reasons[0].Category
			}
			if r.Play != want {
				t.Fatalf("%s: customer %s play %q, want its top reason's category %q", r.AsOf, r.ID, r.Play, want)
			}
			if g := exp.Group(r.Play, r.ID); r.Group != g {
				t.Fatalf("%s: customer %s group %q; the hash of the data says %q", r.AsOf, r.ID, r.Group, g)
			}
			if r.Group == data.GroupControl && r.Alerted {
				t.Fatalf("%s: control customer %s is alerted", r.AsOf, r.ID)
			}
			targeted++
			pc := plays[r.Play]
			pc[0]++
			if r.Group == data.GroupControl {
				control++
				pc[1]++
			}
			plays[r.Play] = pc
		}
		if targeted != run.res.Tiers.High+run.res.Tiers.Medium {
			t.Errorf("%s: %d targeted, tiers %+v", run.res.AsOf, targeted, run.res.Tiers)
		}
		// The split is a fixed hash, so the bound is not about flakiness:
		// four binomial standard deviations say the share is the one asked for.
		sd := math.Sqrt(share * (1 - share) / float64(targeted))
		if got := float64(control) / float64(targeted); math.Abs(got-share) > 4*sd {
			t.Errorf("%s: control share %.3f of %d targeted, want %.2f ± %.3f", run.res.AsOf, got, targeted, share, 4*sd)
		}
		ei := run.res.Experiment
		t.Logf("%s: %d targeted, %d control, plays %v", run.res.AsOf, targeted, control, plays)
		if ei.Seed != 5 || ei.Cohort != "2024q4" || ei.Share != share || ei.Targeted != targeted || ei.Control != control || len(ei.Plays) != len(plays) {
			t.Errorf("%s: result experiment %+v; the file has %d targeted, %d control, %d plays", run.res.AsOf, ei, targeted, control, len(plays))
		}
		for i, p := range ei.Plays {
			if i > 0 && ei.Plays[i-1].Play >= p.Play {
				t.Errorf("plays not in name order: %+v", ei.Plays)
			}
			if c := plays[p.Play]; c != [2]int64{p.Targeted, p.Control} {
				t.Errorf("play %s: result %+v, file %v", p.Play, p, c)
			}
		}
		if len(plays) < 3 {
			t.Errorf("%s: only plays %v: the fixture should exercise several", run.res.AsOf, plays)
		}

		// The manifest and every file's footer name the experiment.
		var man Manifest
		raw, err := os.ReadFile(filepath.Join(run.res.PredictionsDir, ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &man); err != nil {
			t.Fatal(err)
		}
		if man.Experiment.Seed != 5 || man.Experiment.Cohort != "2024q4" || man.Experiment.Share != share || man.Experiment.Control != control ||
			man.AlertsSkippedControl != run.res.AlertsSkippedControl {
			t.Errorf("manifest experiment %+v, skipped %d", man.Experiment, man.AlertsSkippedControl)
		}
		for _, path := range append(run.res.Files, filepath.Join(run.res.AlertsDir, AlertsParquet)) {
			pf, err := data.OpenFile(path, outputTable(PredictionColumns[:1]), nil)
			if err != nil {
				t.Fatal(err)
			}
			for key, want := range map[string]string{"churn.experiment.seed": "5", "churn.experiment.cohort": "2024q4", "churn.experiment.share": "0.3"} {
				if v, ok := pf.Metadata(key); !ok || v != want {
					t.Errorf("%s: footer %s = %q (%v), want %q", filepath.Base(path), key, v, ok, want)
				}
			}
			pf.Close()
		}
	}

	// Stable across nightly runs: a customer targeted by the same play on
	// both dates is in the same group on both.
	byID := map[string]predRow{}
	for _, r := range rowsA {
		byID[r.ID] = r
	}
	same := 0
	for _, r := range rowsB {
		a, ok := byID[r.ID]
		if !ok || r.Play == "" || a.Play != r.Play {
			continue
		}
		same++
		if a.Group != r.Group {
			t.Fatalf("customer %s, play %s: %s on %s, %s on %s", r.ID, r.Play, a.Group, a.AsOf, r.Group, r.AsOf)
		}
	}
	if same < 200 {
		t.Errorf("only %d customers targeted by the same play on both dates", same)
	}

	// Another cohort rotates the groups: the same customers and plays, a
	// different split with the same share.
	resC, err := Run(ctx, controlOptions(f, t.TempDir(), asOfB, share, "2025q1"))
	if err != nil {
		t.Fatal(err)
	}
	rowsC := readPredictions(t, resC.PredictionsDir)
	moved, controlC := 0, 0
	for i, r := range rowsC {
		b := rowsB[i]
		if r.ID != b.ID || r.Play != b.Play {
			t.Fatalf("rank %d: %s/%s vs %s/%s: the cohort must change nothing but the groups", r.Rank, r.ID, r.Play, b.ID, b.Play)
		}
		if r.Group != b.Group {
			moved++
		}
		if r.Group == data.GroupControl {
			controlC++
		}
	}
	t.Logf("same play on both dates: %d customers; cohort 2025q1 moved %d", same, moved)
	// Independent splits of share s disagree on 2s(1−s) of the customers.
	targeted := resB.Experiment.Targeted
	if want := 2 * share * (1 - share) * float64(targeted); math.Abs(float64(moved)-want) > 4*math.Sqrt(want) {
		t.Errorf("cohort 2025q1 moved %d of %d targeted customers; independent splits move about %.0f", moved, targeted, want)
	}
	if int64(controlC) != resC.Experiment.Control || resC.Experiment.Targeted != targeted {
		t.Errorf("cohort 2025q1: experiment %+v, %d control in the file", resC.Experiment, controlC)
	}
}

// TestRunControlNeverAlerted is the regression test for alerts reaching
// control customers: the alerts (Parquet, JSON Lines) and the webhook
// payloads hold exactly the alerts of a run without control groups minus
// those of the control customers, and the withheld ones are counted.
func TestRunControlNeverAlerted(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	// A previous partition in each folder, so risk changes fire too.
	run := func(share float64, hook string) (*Result, []predRow) {
		t.Helper()
		out := t.TempDir()
		if _, err := Run(ctx, controlOptions(f, out, asOfA, share, "")); err != nil {
			t.Fatal(err)
		}
		opt := controlOptions(f, out, asOfB, share, "")
		if hook != "" {
			opt.Config.Webhook = WebhookConfig{URL: hook, BatchSize: 50}
		}
		res, err := Run(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		return res, readPredictions(t, res.PredictionsDir)
	}
	srv, payloads := recordingHook(t, nil)
	all, _ := run(0, "")
	res, rows := run(0.25, srv.URL)

	group := map[string]string{}
	for _, r := range rows {
		group[r.ID] = r.Group
	}
	want := map[string]bool{}
	withheld := 0
	for _, a := range readAlertsJSONL(t, all.AlertsDir) {
		if group[a.CustomerID] == data.GroupControl {
			withheld++
			continue
		}
		want[a.Rule+"/"+a.CustomerID] = true
	}
	if withheld < 20 {
		t.Fatalf("only %d alerts of control customers to withhold: the test needs more", withheld)
	}
	got := readAlertsJSONL(t, res.AlertsDir)
	t.Logf("%d alerts without control groups, %d with, %d withheld", all.Alerts, len(got), withheld)
	if len(got) != len(want) || res.Alerts != len(want) || res.AlertsSkippedControl != withheld {
		t.Errorf("%d alerts (result %d, %d skipped); want %d and %d skipped", len(got), res.Alerts, res.AlertsSkippedControl, len(want), withheld)
	}
	for _, a := range got {
		if !want[a.Rule+"/"+a.CustomerID] {
			t.Errorf("alert %s of %s should not be there (group %q)", a.Rule, a.CustomerID, group[a.CustomerID])
		}
	}
	var delivered int
	for _, p := range *payloads {
		for _, a := range p.Alerts {
			delivered++
			if group[a.CustomerID] == data.GroupControl {
				t.Errorf("the webhook got an alert of control customer %s (rule %s)", a.CustomerID, a.Rule)
			}
		}
	}
	if delivered != res.Alerts || res.Webhook.Alerts != res.Alerts {
		t.Errorf("webhook delivered %d alerts (result %+v), want %d", delivered, res.Webhook, res.Alerts)
	}
	pq := readAlertsParquet(t, res.AlertsDir)
	if len(pq) != len(got) {
		t.Errorf("alerts.parquet has %d alerts, alerts.jsonl %d", len(pq), len(got))
	}
	for _, id := range pq {
		if group[id] == data.GroupControl {
			t.Errorf("alerts.parquet holds control customer %s", id)
		}
	}
	raw, err := os.ReadFile(filepath.Join(res.AlertsDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var man struct {
		SkippedControl int `json:"skipped_control"`
	}
	if err := json.Unmarshal(raw, &man); err != nil || man.SkippedControl != withheld {
		t.Errorf("alerts manifest skipped_control %d (%v), want %d", man.SkippedControl, err, withheld)
	}
}

// readAlertsJSONL returns the alerts of a partition.
func readAlertsJSONL(t *testing.T, dir string) []alertJSON {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, AlertsJSONL))
	if err != nil {
		t.Fatal(err)
	}
	var out []alertJSON
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var a alertJSON
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// readAlertsParquet returns the customer of every row of alerts.parquet.
func readAlertsParquet(t *testing.T, dir string) []string {
	t.Helper()
	tab := outputTable(AlertColumns)
	pf, err := data.OpenFile(filepath.Join(dir, AlertsParquet), tab, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	col := tab.ColumnIndex("customer_id")
	var out []string
	var b data.Batch
	for rg := 0; rg < pf.NumRowGroups(); rg++ {
		if err := pf.ReadRowGroup(rg, nil, false, &b); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < b.N; r++ {
			out = append(out, b.Cols[col].Str(r))
		}
	}
	return out
}
