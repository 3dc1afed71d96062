package features

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// TestLoopStagesMatchLifecycle checks that the generator's retention loop
// computes the lifecycle stage on each targeting day as lifecycle_stage
// does on the generated data. The generator decides from the subscriptions
// as they stood on the day; a later save can drop a monthly contract's
// end date (see docs/generator.md), so saved customers are compared only
// where that cannot matter (annual contracts).
func TestLoopStagesMatchLifecycle(t *testing.T) {
	p := synth.Params{Customers: 3000, Months: 24, Seed: 5, Interventions: &synth.Interventions{ControlShare: 0.2, Compliance: 0.85}}
	dir := filepath.Join(t.TempDir(), "loop")
	if _, err := synth.Generate(context.Background(), dir, p, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	p.EnsureDefaults()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	var cfg Config
	cfg.EnsureDefaults()
	cfg.Groups = []string{"lifecycle"}
	var vals Values
	i, compared, stages := 0, 0, map[string]int{}
	_, err = ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{}, func(h *data.History) error {
		tr := synth.TruthOf(p, i)
		i++
		if tr.ID != h.Customer.ID {
			t.Fatalf("customer %s, truth %s", h.Customer.ID, tr.ID)
		}
		if tr.Saved.Valid() && tr.TermMonths == 1 {
			return nil
		}
		for _, a := range tr.Assignments {
			if err := Compute(h, a.Day, &cfg, &vals); err != nil {
				return err
			}
			if got := vals.Cat[fStage]; got != a.Stage {
				t.Errorf("%s on %s: generator stage %s, lifecycle_stage %s", tr.ID, a.Day, a.Stage, got)
			}
			compared++
			stages[a.Stage]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if compared < 500 || len(stages) < 3 {
		t.Fatalf("compared %d targeting days, stages %v", compared, stages)
	}
}
