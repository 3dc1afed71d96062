package nightly

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

// TestRunOrderBased runs the job on a shop (orders, no subscriptions): the
// lifetime settings of the config name the features, the model carries one
// lifetime fit per training date, and the predictions carry p_alive and
// clv, with revenue at risk from the clv (no MRR).
func TestRunOrderBased(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	if _, err := synth.Generate(ctx, dir, synth.Params{Customers: 800, Months: 24, Seed: 4, Business: synth.BusinessEcommerce}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	c := testConfig(t, dir, root)
	c.Label.Mode = string(features.LabelInactivity)
	c.Features.Lifetime.HorizonDays = 60
	c.Eval.Backtest.Origins = 0
	mf, err := Run(ctx, Options{Config: c, AsOf: data.MakeDate(2024, 12, 1), Now: clock, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if mf.Outcome != "ok" || mf.Scored == 0 {
		t.Fatalf("manifest: %+v", mf)
	}
	reg := &Registry{Dir: c.Registry}
	champ, err := reg.Champion()
	if err != nil || champ == "" {
		t.Fatalf("champion %q: %v", champ, err)
	}
	m, err := train.Load(filepath.Join(reg.Dir, "versions", champ))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	spec := m.Manifest.Spec
	if _, ok := spec.Lookup("expected_purchases_60d"); !ok {
		t.Errorf("features.lifetime.horizon_days 60 did not name the feature: %v", spec.Names())
	}
	if len(spec.Lifetime) != c.Training.Snapshots {
		t.Fatalf("the model carries %d lifetime fits, want one per training date (%d)", len(spec.Lifetime), c.Training.Snapshots)
	}
	for i, f := range spec.Lifetime {
		if f.AsOf != spec.AsOf[i] || f.BGNBD == nil || f.GammaGamma == nil {
			t.Errorf("fit %d: %+v (training dates %v)", i, f, spec.AsOf)
		}
	}

	files, _ := filepath.Glob(filepath.Join(mf.Outputs.Predictions, "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no prediction files")
	}
	tab := &data.Table{Name: "predictions"}
	for _, col := range predict.PredictionColumns {
		tab.Columns = append(tab.Columns, data.Column{Name: col.Name, Type: col.Type, Required: !col.Nullable})
	}
	idx := func(name string) int { return tab.ColumnIndex(name) }
	rows, withCLV := 0, 0
	for _, path := range files {
		f, err := data.OpenFile(path, tab, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b data.Batch
		for rg := 0; rg < f.NumRowGroups(); rg++ {
			if err := f.ReadRowGroup(rg, nil, false, &b); err != nil {
				t.Fatal(err)
			}
			for r := 0; r < b.N; r++ {
				rows++
				prob, clv, risk := b.Cols[idx("churn_probability")].Float(r), b.Cols[idx("clv")].Float(r), b.Cols[idx("revenue_at_risk")].Float(r)
				pa := b.Cols[idx("p_alive")].Float(r)
				if math.IsNaN(clv) || math.IsNaN(pa) {
					continue
				}
				withCLV++
				if risk != prob*clv {
					t.Fatalf("row %d: revenue_at_risk %v, want %v × %v", r, risk, prob, clv)
				}
			}
		}
		f.Close()
	}
	if rows == 0 || withCLV < rows*9/10 {
		t.Fatalf("%d of %d predictions carry p_alive and clv", withCLV, rows)
	}
}
