package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/imports"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
)

// TestOrangeCV reports 5-fold cross-validated AUC on the Orange 80% file
// (published yardstick: gradient boosting ≈ 0.92 on the matching 20% split).
func TestOrangeCV(t *testing.T) {
	if _, err := os.Stat("../../shared/data/orange"); err != nil {
		t.Skip("shared data not found")
	}
	dir := t.TempDir()
	mp, err := imports.Load("../examples/orange.yaml", imports.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imports.Import(context.Background(), mp, imports.Options{Out: filepath.Join(dir, "d")}); err != nil {
		t.Fatal(err)
	}
	tab := buildTable(t, filepath.Join(dir, "d"), features.BuildOptions{})
	m, err := Fit(context.Background(), tab, Params{Folds: 5, Seed: 1}, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v := m.Manifest.Validation
	t.Logf("Orange 80%%: 5-fold AUC %.4f ± %.4f (xgboost, defaults)", v.AUC, v.AUCStd)
	if v.AUC < 0.90 {
		t.Errorf("5-fold AUC %.4f < 0.90", v.AUC)
	}
}

func buildTable(t *testing.T, dir string, opt features.BuildOptions) *features.Table {
	t.Helper()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	out := filepath.Join(t.TempDir(), "f.parquet")
	if _, _, err := features.BuildFile(context.Background(), ds, opt, out); err != nil {
		t.Fatal(err)
	}
	tab, err := features.ReadTable(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestPlantedSignsRankHigh trains on generated data and checks that the
// warning signs the generator planted (docs/generator.md) are among the
// model's most important features.
func TestPlantedSignsRankHigh(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gen")
	if _, err := synth.Generate(context.Background(), dir, synth.Params{Customers: 4000, Months: 24, Seed: 11}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var dates []data.Date
	for m := time.Month(1); m <= 9; m++ {
		dates = append(dates, data.MakeDate(2024, m, 1))
	}
	tab := buildTable(t, dir, features.BuildOptions{AsOf: dates})
	m, err := Fit(context.Background(), tab, Params{Seed: 1}, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	planted := map[string]string{
		"active_users_ratio_30d": "usage_decline", "active_users_trend_12w": "usage_decline", "sessions_trend_12w": "usage_decline", "utilisation": "usage_decline",
		"tickets_30d": "ticket_surge", "tickets_90d": "ticket_surge", "escalations_90d": "ticket_surge", "tickets_trend": "ticket_surge",
		"stakeholder_changes_90d": "champion_loss", "stakeholder_changes_180d": "champion_loss",
		"late_payments_90d": "payment_trouble", "failed_payments_90d": "payment_trouble", "days_past_due": "payment_trouble",
		"downgrades_180d": "downgrade", "mrr_change_90d_pct": "downgrade",
		"nps_last": "nps_drop", "nps_detractor": "nps_drop", "nps_change": "nps_drop",
		"interactions_30d_vs_prior": "going_silent", "days_since_interaction": "going_silent",
		"data_exports_30d": "data_export", "billing_questions_30d": "billing_question", "cancel_page_views_30d": "cancel_page_view",
		"training_views_90d": "no training (driver)", "days_to_renewal": "renewal (driver)", "lifecycle_stage": "renewal (driver)", "auto_renew": "no auto-renew (driver)",
		"tenure_days": "first renewal (driver)", "segment": "segment (driver)", "employees": "segment (driver)",
	}
	const top = 12
	signs := map[string]bool{}
	inTop := 0
	for i, imp := range m.Manifest.Importance[:top] {
		s, ok := planted[imp.Feature]
		t.Logf("%2d. %-28s %5.1f%%  %s", i+1, imp.Feature, imp.Share*100, s)
		if ok {
			inTop++
			signs[s] = true
		}
	}
	t.Logf("validation AUC %.4f; %d of the top %d features are planted signs, covering %d signs", m.Manifest.Validation.AUC, inTop, top, len(signs))
	if inTop < 9 || len(signs) < 6 {
		t.Errorf("only %d of the top %d features are planted signs (%d distinct signs)", inTop, top, len(signs))
	}
	if m.Manifest.Validation.AUC < 0.8 {
		t.Errorf("validation AUC %.4f on generated data", m.Manifest.Validation.AUC)
	}
}
