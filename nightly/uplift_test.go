package nightly

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// stepNote returns the note of the manifest's step name.
func stepNote(t *testing.T, mf *Manifest, name string) string {
	t.Helper()
	for _, s := range mf.Steps {
		if s.Name == name {
			return s.Note
		}
	}
	t.Fatalf("no step %q in %+v", name, mf.Steps)
	return ""
}

// TestRunUplift: with training.uplift on, the nightly refits the uplift
// model on the experiment units before scoring and reports its validation
// in the step's note; without units the step is skipped with a reason and
// the run goes on. (TestRunTwice checks the step is skipped when off.)
func TestRunUplift(t *testing.T) {
	asOf := data.MakeDate(2024, 12, 1)
	loop := filepath.Join(t.TempDir(), "loop")
	p := synth.Params{Customers: 6000, Months: 24, Seed: 1, Interventions: &synth.Interventions{ControlShare: 0.2, Compliance: 0.85}}
	if _, err := synth.Generate(context.Background(), loop, p, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		data   string
		uplift bool
		want   string
	}{
		{"no units", demo(t), true, "skipped: "},
		{"fitted", loop, true, "Qini "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t, tc.data, t.TempDir())
			c.Training.Uplift = tc.uplift
			mf, err := Run(context.Background(), Options{Config: c, AsOf: asOf, Now: clock, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			note := stepNote(t, mf, "train uplift")
			if !strings.HasPrefix(note, tc.want) {
				t.Errorf("train uplift: %q, want it to start with %q", note, tc.want)
			}
			if tc.name == "no units" && !strings.Contains(note, "no experiment units") {
				t.Errorf("train uplift: %q does not say why", note)
			}
			if mf.Outcome != "ok" || mf.Scored == 0 {
				t.Errorf("outcome %s, scored %d", mf.Outcome, mf.Scored)
			}
			if tc.name == "fitted" && !strings.Contains(note, "trusted") {
				t.Errorf("train uplift: %q has no verdict", note)
			}
		})
	}
}
