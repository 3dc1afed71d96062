package features

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

// TestPlantedSignsSeparate builds features on generated data and checks
// that churners (label 1) and stayers (label 0) differ in the direction the
// generator planted (docs/generator.md): a test, not a hope.
func TestPlantedSignsSeparate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gen")
	if _, err := synth.Generate(context.Background(), dir, synth.Params{Customers: 4000, Months: 24, Seed: 3}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	var dates []data.Date
	for m := 3; m <= 9; m++ {
		dates = append(dates, data.MakeDate(2024, timeMonth(m), 1))
	}
	out := filepath.Join(t.TempDir(), "f.parquet")
	spec, st, err := BuildFile(context.Background(), ds, BuildOptions{AsOf: dates}, out)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Label.Mode != LabelChurnEvents || st.Positives < 200 {
		t.Fatalf("label mode %s, %d positives of %d labelled", spec.Label.Mode, st.Positives, st.Labelled)
	}
	tab, err := ReadTable(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	// Static features must not be needed: the dataset has a subscription
	// history, so plan, seats, MRR and renewal are point-in-time.
	for _, d := range spec.Features {
		if d.Static && d.Group != "attributes" && d.Name != "segment" && d.Name != "region" {
			t.Errorf("feature %s is static although subscriptions are present", d.Name)
		}
	}
	tests := []struct {
		feature string
		dir     int // +1: churners higher; -1: churners lower
		sign    string
	}{
		{"active_users_ratio_30d", -1, "usage_decline"},
		{"active_users_trend_12w", -1, "usage_decline"},
		{"sessions_trend_12w", -1, "usage_decline"},
		{"tickets_90d", +1, "ticket_surge"},
		{"escalations_90d", +1, "ticket_surge"},
		{"tickets_trend", +1, "ticket_surge"},
		{"stakeholder_changes_180d", +1, "champion_loss"},
		{"late_payments_90d", +1, "payment_trouble"},
		{"failed_payments_90d", +1, "payment_trouble"},
		{"downgrades_180d", +1, "downgrade"},
		{"mrr_change_90d_pct", -1, "downgrade"},
		{"nps_last", -1, "nps_drop"},
		{"nps_detractor", +1, "nps_drop"},
		{"interactions_30d_vs_prior", -1, "going_silent"},
		{"data_exports_30d", +1, "data_export"},
		{"billing_questions_30d", +1, "billing_question"},
		{"cancel_page_views_30d", +1, "cancel_page_view"},
		{"training_views_90d", -1, "no training views (driver)"},
		{"days_to_renewal", -1, "churn at renewal (driver)"},
	}
	names := spec.Names()
	for _, tt := range tests {
		t.Run(tt.feature, func(t *testing.T) {
			i := indexOf(names, tt.feature)
			if i < 0 {
				t.Fatalf("no feature %s", tt.feature)
			}
			var sum, n [2]float64
			for r, y := range tab.Label {
				x := tab.Num[i][r]
				if math.IsNaN(y) || math.IsNaN(x) {
					continue
				}
				sum[int(y)] += x
				n[int(y)]++
			}
			if n[0] < 100 || n[1] < 100 {
				t.Fatalf("too few rows to compare: %v stayers, %v churners", n[0], n[1])
			}
			stay, churn := sum[0]/n[0], sum[1]/n[1]
			t.Logf("%s: churners %.3f, stayers %.3f (%s)", tt.feature, churn, stay, tt.sign)
			if d := churn - stay; d*float64(tt.dir) <= 0 {
				t.Errorf("%s: churners %.3f vs stayers %.3f, want churners %s (planted: %s)", tt.feature, churn, stay, map[int]string{1: "higher", -1: "lower"}[tt.dir], tt.sign)
			}
		})
	}
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

func timeMonth(m int) time.Month { return time.Month(m) }
