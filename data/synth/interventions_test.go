package synth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// loopParams is the dataset the tests of the retention loop share: 20,000
// customers, enough for the planted effects to show against chance. The
// estimates are unbiased (their z-scores over seeds 1–10 centre on 0); at
// seed 5, as at seeds 3 and 8, every play's 95% interval holds its planted
// effect, so a review of this dataset can be checked against the truth.
var loopParams = synth.Params{Customers: 20000, Months: 24, Seed: 5, Interventions: ptr(synth.DefaultInterventions())}

func ptr[T any](x T) *T { return &x }

var loopShared struct {
	once sync.Once
	dir  string
	sum  *synth.Summary
	err  error
	took time.Duration
}

// loopDataset generates the dataset of loopParams once per test binary.
func loopDataset(t *testing.T) (string, *synth.Summary) {
	t.Helper()
	loopShared.once.Do(func() {
		loopShared.dir = filepath.Join(scratch, "loop")
		start := time.Now()
		loopShared.sum, loopShared.err = synth.Generate(context.Background(), loopShared.dir, loopParams, synth.WriteOptions{})
		loopShared.took = time.Since(start)
	})
	if loopShared.err != nil {
		t.Fatal(loopShared.err)
	}
	return loopShared.dir, loopShared.sum
}

// unit is one interventions row with its outcome.
type unit struct {
	id      string
	day     data.Date
	play    string
	group   string
	reached bool
	closed  bool // day + horizon <= the data end
	churned bool // churn_date in (day, day + horizon]
}

// loopUnits reads the interventions and churn dates of the dataset at dir.
func loopUnits(t *testing.T, dir string, end data.Date) []unit {
	t.Helper()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	var out []unit
	_, err = ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{Tables: []string{data.Interventions}}, func(h *data.History) error {
		for _, iv := range h.Interventions {
			d := iv.TS.Date()
			cd := h.Customer.ChurnDate
			out = append(out, unit{id: h.Customer.ID, day: d, play: iv.Play, group: iv.Group, reached: iv.Reached(),
				closed: d+synth.HorizonDays <= end, churned: cd.Valid() && cd > d && cd <= d+synth.HorizonDays})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// itt is an intent-to-treat comparison of churn in closed windows.
type itt struct {
	nt, nc, xt, xc int // units and churners, treat and control
}

func (e *itt) add(u unit) {
	if !u.closed {
		return
	}
	if u.group == data.GroupControl {
		e.nc++
		if u.churned {
			e.xc++
		}
		return
	}
	e.nt++
	if u.churned {
		e.xt++
	}
}

// rrr returns the estimated relative risk reduction and the standard error
// of log(1 − RRR), the log relative risk.
func (e *itt) rrr() (rrr, se float64) {
	pt, pc := float64(e.xt)/float64(e.nt), float64(e.xc)/float64(e.nc)
	se = math.Sqrt((1-pt)/float64(max(e.xt, 1)) + (1-pc)/float64(max(e.xc, 1)))
	return 1 - pt/pc, se
}

// interval returns the RRR interval at z standard errors.
func (e *itt) interval(z float64) (lo, hi float64) {
	r, se := e.rrr()
	lrr := math.Log(1 - r)
	return 1 - math.Exp(lrr+z*se), 1 - math.Exp(lrr-z*se)
}

// TestLoopDeterministic generates the loop twice with different numbers
// of workers: every file, _generator.json included, is byte-identical.
func TestLoopDeterministic(t *testing.T) {
	p := synth.Params{Customers: 2100, Months: 12, Seed: 42, Interventions: ptr(synth.DefaultInterventions())}
	a, b := filepath.Join(scratch, "loop-det-a"), filepath.Join(scratch, "loop-det-b")
	generate(t, a, p, synth.WriteOptions{Workers: 1})
	generate(t, b, p, synth.WriteOptions{Workers: 3})
	for _, table := range append(slices.Clone(synth.Tables), data.Interventions) {
		if x, y := readFile(t, a, table), readFile(t, b, table); !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs (%d and %d bytes)", table, len(x), len(y))
		}
	}
	x, errA := os.ReadFile(filepath.Join(a, synth.TruthFile))
	y, errB := os.ReadFile(filepath.Join(b, synth.TruthFile))
	if errA != nil || errB != nil || !bytes.Equal(x, y) {
		t.Errorf("%s differs between runs (%v, %v)", synth.TruthFile, errA, errB)
	}
	// Generating again into the folder replaces it, _generator.json and all.
	generate(t, a, p, synth.WriteOptions{})
}

// TestLoopChangesOnlySavedCustomers checks that the loop leaves the latent
// model alone: every customer has the profile, signs and planned churn it
// has without the loop, except that a saved customer's churn is cancelled.
func TestLoopChangesOnlySavedCustomers(t *testing.T) {
	with := synth.Params{Customers: 3000, Months: 24, Seed: 5, Interventions: ptr(synth.DefaultInterventions())}
	without := with
	without.Interventions = nil
	saved := 0
	for i := 0; i < with.Customers; i++ {
		a, b := synth.TruthOf(with, i), synth.TruthOf(without, i)
		if len(b.Assignments) != 0 || b.Saved.Valid() {
			t.Fatalf("%s: assignments without the loop", b.ID)
		}
		if a.Risk != b.Risk || a.Signs != b.Signs || a.ScareSigns != b.ScareSigns || a.EpisodeStart != b.EpisodeStart ||
			a.ScareStart != b.ScareStart || a.Signup != b.Signup || a.TermMonths != b.TermMonths || a.Trained != b.Trained {
			t.Fatalf("%s: the loop changed the profile: %+v vs %+v", a.ID, a, b)
		}
		if a.Saved.Valid() {
			saved++
			if a.PlannedChurn.Valid() || !b.PlannedChurn.Valid() || a.Churned || b.PlannedChurn <= a.Saved || b.PlannedChurn > a.Saved+synth.HorizonDays {
				t.Fatalf("%s: saved on %s, planned churn %s (without the loop %s)", a.ID, a.Saved, a.PlannedChurn, b.PlannedChurn)
			}
			continue
		}
		if a.PlannedChurn != b.PlannedChurn || a.Churned != b.Churned {
			t.Fatalf("%s: planned churn %s, without the loop %s", a.ID, a.PlannedChurn, b.PlannedChurn)
		}
	}
	if saved == 0 {
		t.Fatal("no customer was saved")
	}
}

// TestLoopValid checks the generated loop against the contract (churn
// validate finds no problem at all), the histories for coherence (saved
// customers included), and the rows against the truth: sorted, one per
// customer and play, only while the customer is a customer, with the group
// the experiment of _generator.json recomputes.
func TestLoopValid(t *testing.T) {
	dir, sum := loopDataset(t)
	p := loopParams
	p.EnsureDefaults()
	rep, err := data.Validate(context.Background(), dir, data.ValidateOptions{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range rep.Problems {
		t.Errorf("validate: %s %s: %s", pr.Severity, pr.Check, pr.String())
	}
	truth, err := synth.ReadTruth(dir)
	if err != nil {
		t.Fatal(err)
	}
	if truth.Interventions == nil || truth.Params.End != p.End.String() || truth.Params.Seed != p.Seed {
		t.Fatalf("truth %+v", truth)
	}
	exp := truth.Interventions.Experiment.Experiment()
	if exp != p.Experiment() || exp.Cohort != "generated" || exp.Seed != int64(p.Seed) || exp.Share != 0.2 {
		t.Fatalf("experiment %+v, want %+v", exp, p.Experiment())
	}
	var rows, control int64
	for i, h := range histories(t, dir) {
		if err := checkHistory(h, p.Start(), p.End); err != nil {
			t.Fatalf("%s: %v", h.Customer.ID, err)
		}
		tr := synth.TruthOf(p, i)
		if len(tr.Assignments) != len(h.Interventions) {
			t.Fatalf("%s: %d rows, truth %d assignments", h.Customer.ID, len(h.Interventions), len(tr.Assignments))
		}
		seen := map[string]bool{}
		for k, iv := range h.Interventions {
			a, d := tr.Assignments[k], iv.TS.Date()
			switch {
			case k > 0 && iv.TS <= h.Interventions[k-1].TS:
				t.Fatalf("%s: rows not in time order", h.Customer.ID)
			case seen[iv.Play]:
				t.Fatalf("%s: play %s twice", h.Customer.ID, iv.Play)
			case d != a.Day || iv.Play != a.Play || iv.Group != a.Group || iv.Reached() != a.Reached:
				t.Fatalf("%s: row %+v, truth %+v", h.Customer.ID, iv, a)
			case d <= h.Customer.SignupDate || (h.Customer.ChurnDate.Valid() && h.Customer.ChurnDate <= d):
				t.Fatalf("%s: targeted on %s, not a customer then", h.Customer.ID, d)
			case iv.Group != exp.Group(iv.Play, h.Customer.ID):
				t.Fatalf("%s: group %s, the experiment says %s", h.Customer.ID, iv.Group, exp.Group(iv.Play, h.Customer.ID))
			case iv.Group == data.GroupControl && (iv.Contacted != 0 || iv.Owner != "" || iv.Channel != "" || iv.Note != ""):
				t.Fatalf("%s: control row %+v", h.Customer.ID, iv)
			case iv.Group == data.GroupTreat && iv.Contacted == 1 && (iv.Owner != h.Customer.Owner || iv.Channel == "" || iv.Note == ""):
				t.Fatalf("%s: contacted row %+v", h.Customer.ID, iv)
			case a.Saved && (!a.Reached || !a.AtRisk || tr.Saved != d):
				t.Fatalf("%s: saved by %+v, truth saved on %s", h.Customer.ID, a, tr.Saved)
			}
			seen[iv.Play] = true
			rows++
			if iv.Group == data.GroupControl {
				control++
			}
		}
	}
	var targeted, inTruth int64
	for _, pl := range truth.Interventions.Plays {
		targeted += pl.Targeted
		inTruth += pl.Control
	}
	if rows != targeted || control != inTruth || sum.Rows(data.Interventions) != rows {
		t.Errorf("%d rows (%d control); _generator.json says %d (%d); summary %d", rows, control, targeted, inTruth, sum.Rows(data.Interventions))
	}
}

// TestLoopControlShare checks that the control share of the targeted
// customers is the configured one, within binomial noise, overall and for
// every play with enough customers.
func TestLoopControlShare(t *testing.T) {
	_, sum := loopDataset(t)
	share := loopParams.Interventions.ControlShare
	near := func(what string, control, n int64) {
		sd := math.Sqrt(share * (1 - share) / float64(n))
		if got := float64(control) / float64(n); math.Abs(got-share) > 4*sd {
			t.Errorf("%s: control share %.3f of %d, want %.2f ± %.3f", what, got, n, share, 4*sd)
		}
	}
	var all, control int64
	for _, pl := range sum.Truth.Interventions.Plays {
		all += pl.Targeted
		control += pl.Control
		if pl.Targeted >= 200 {
			near(pl.Name, pl.Control, pl.Targeted)
		}
	}
	if all < 5000 {
		t.Fatalf("only %d customers targeted", all)
	}
	near("all plays", control, all)
}

// TestLoopPlantedEffects estimates each play's intent-to-treat relative
// risk reduction directly from the generated data (churn_date within 90
// days of the row's day, treat against control, windows closed by the
// end) and checks that the planted value of _generator.json lies within
// three standard errors; the strong play must be told from no effect and
// the play without effect from the strong one.
func TestLoopPlantedEffects(t *testing.T) {
	dir, sum := loopDataset(t)
	if loopShared.took > 30*time.Second {
		t.Errorf("generating %d customers took %s", loopParams.Customers, loopShared.took)
	}
	p := loopParams
	p.EnsureDefaults()
	by := map[string]*itt{}
	for _, u := range loopUnits(t, dir, p.End) {
		if by[u.play] == nil {
			by[u.play] = &itt{}
		}
		by[u.play].add(u)
	}
	for _, pl := range sum.Truth.Interventions.Plays {
		e := by[pl.Name]
		if e == nil || e.xc < 5 || e.xt < 5 {
			t.Logf("%s: too few churners to estimate (%+v)", pl.Name, e)
			continue
		}
		r, se := e.rrr()
		lo, hi := e.interval(3)
		t.Logf("%-13s planted %.3f, estimated %.3f [%.3f, %.3f] (treat %d/%d, control %d/%d)", pl.Name, pl.RelativeRiskReduction, r, lo, hi, e.xt, e.nt, e.xc, e.nc)
		if pl.RelativeRiskReduction < lo || pl.RelativeRiskReduction > hi {
			t.Errorf("%s: planted RRR %.3f outside the estimate's interval [%.3f, %.3f] (se of log RR %.3f)", pl.Name, pl.RelativeRiskReduction, lo, hi, se)
		}
	}
	for name, want := range map[string]float64{"support": 0.5, "intent": 0} {
		lo, hi := by[name].interval(1.96)
		switch {
		case want > 0 && lo <= 0:
			t.Errorf("%s: the strong effect is not told from none: 95%% interval [%.3f, %.3f]", name, lo, hi)
		case want == 0 && (lo > 0 || hi >= 0.5):
			t.Errorf("%s: the null play's 95%% interval [%.3f, %.3f] excludes 0 or includes the strong effect", name, lo, hi)
		}
	}
}

// TestLoopStageEffect checks the play that works in one lifecycle stage
// only: its effect shows in that stage and not in the others. Stages come
// from the truth (the stage on the targeting day, as features compute it).
func TestLoopStageEffect(t *testing.T) {
	dir, sum := loopDataset(t)
	p := loopParams
	p.EnsureDefaults()
	var play synth.Play
	for _, pl := range synth.Plays {
		if len(pl.ByStage) > 0 {
			play = pl
		}
	}
	if play.Name == "" {
		t.Fatal("no play works in one stage only")
	}
	stageOf := map[string]string{} // customer id → stage of its row of the play
	for i := 0; i < p.Customers; i++ {
		for _, a := range synth.TruthOf(p, i).Assignments {
			if a.Play == play.Name {
				stageOf[synth.CustomerID(i)] = a.Stage
			}
		}
	}
	in, out := &itt{}, &itt{}
	var stage string
	for st := range play.ByStage {
		stage = st
	}
	for _, u := range loopUnits(t, dir, p.End) {
		if u.play != play.Name {
			continue
		}
		if stageOf[u.id] == stage {
			in.add(u)
		} else {
			out.add(u)
		}
	}
	var tp synth.TruthPlay
	for _, x := range sum.Truth.Interventions.Plays {
		if x.Name == play.Name {
			tp = x
		}
	}
	if tp.ByStage[stage] != play.ByStage[stage] || tp.RelativeRiskReduction <= play.RRR || tp.RelativeRiskReduction >= play.ByStage[stage] {
		t.Errorf("_generator.json for %s: %+v", play.Name, tp)
	}
	ilo, ihi := in.interval(1.96)
	olo, ohi := out.interval(1.96)
	t.Logf("%s in %s: [%.3f, %.3f] (%+v); elsewhere: [%.3f, %.3f] (%+v)", play.Name, stage, ilo, ihi, *in, olo, ohi, *out)
	if ilo <= 0 || ilo > play.ByStage[stage] || ihi < play.ByStage[stage] {
		t.Errorf("%s in the %s stage: 95%% interval [%.3f, %.3f], want it above 0 and around %.2f", play.Name, stage, ilo, ihi, play.ByStage[stage])
	}
	if olo > play.RRR || ohi < play.RRR || ohi >= play.ByStage[stage] {
		t.Errorf("%s outside the %s stage: 95%% interval [%.3f, %.3f], want it around %.2f and below %.2f", play.Name, stage, olo, ohi, play.RRR, play.ByStage[stage])
	}
}

// TestLoopTruthFile checks the documented keys of _generator.json.
func TestLoopTruthFile(t *testing.T) {
	dir, _ := loopDataset(t)
	b, err := os.ReadFile(filepath.Join(dir, synth.TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Interventions struct {
			Experiment  map[string]any `json:"experiment"`
			Compliance  float64        `json:"compliance"`
			HorizonDays int            `json:"horizon_days"`
			Plays       []map[string]any
		} `json:"interventions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	iv := doc.Interventions
	if iv.Experiment["seed"] != float64(loopParams.Seed) || iv.Experiment["cohort"] != "generated" || iv.Experiment["share"] != 0.2 ||
		iv.Compliance != 0.85 || iv.HorizonDays != 90 || len(iv.Plays) != len(synth.Plays) {
		t.Fatalf("interventions: %s", b)
	}
	for _, pl := range iv.Plays {
		for _, k := range []string{"name", "relative_risk_reduction", "by_stage", "targeted", "control"} {
			if _, ok := pl[k]; !ok {
				t.Errorf("play %v lacks %s", pl["name"], k)
			}
		}
		if st, _ := pl["by_stage"].(map[string]any); len(st) != len(synth.Stages) {
			t.Errorf("play %v: by_stage %v", pl["name"], st)
		}
	}
}

func TestInterventionsValidate(t *testing.T) {
	tests := []struct {
		name string
		iv   synth.Interventions
		ok   bool
	}{
		{"defaults", synth.DefaultInterventions(), true},
		{"no control group", synth.Interventions{ControlShare: 0, Compliance: 1}, true},
		{"negative share", synth.Interventions{ControlShare: -0.1, Compliance: 0.85}, false},
		{"everyone in control", synth.Interventions{ControlShare: 1, Compliance: 0.85}, false},
		{"NaN share", synth.Interventions{ControlShare: math.NaN(), Compliance: 0.85}, false},
		{"compliance below the strongest effect", synth.Interventions{ControlShare: 0.2, Compliance: 0.4}, false},
		{"compliance above 1", synth.Interventions{ControlShare: 0.2, Compliance: 1.1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := synth.Params{Customers: 10, Months: 12, Interventions: &tt.iv}
			p.EnsureDefaults()
			if err := p.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
