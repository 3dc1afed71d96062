package eval

import (
	"context"
	"strings"
	"testing"
)

// TestInSampleFromTrainingKeys checks that eval decides in-sample from the
// customers and as-of dates the model was fitted on (the model's training
// key sketch), not from the as-of dates or the input's fingerprint (issue
// 9, item 17: a held-out table of customers the model never saw was called
// "in-sample; possible leak").
func TestInSampleFromTrainingKeys(t *testing.T) {
	f := loadFixture(t)
	full, m := f.table, f.model
	trainRows, testRows := fixtureSplit(full)
	cfg := goldenConfig()
	cfg.Backtest.Disabled = true
	tests := []struct {
		name      string
		rows      []int // nil: the whole table
		selection string
		inSample  bool
		share     [2]float64 // range of Data.TrainingShare
		finding   string     // in a finding's message
	}{
		{"held-out customers", testRows, RowsHoldout, false, [2]float64{0, 0.03}, "did not train on"},
		{"training rows", trainRows, RowsAll, true, [2]float64{0.97, 1}, "100% of the evaluated rows"},
		{"both: the held-out customers are evaluated", nil, RowsHoldout, false, [2]float64{0.6, 0.85}, "left out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := full
			if tt.rows != nil {
				tab = full.Rows(tt.rows)
			}
			r, err := Run(context.Background(), Options{Model: m, Table: tab, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			d := r.Data
			if d.Selection != tt.selection || d.InSample != tt.inSample || d.TrainingShare.F() < tt.share[0] || d.TrainingShare.F() > tt.share[1] {
				t.Errorf("selection %s, in-sample %v, training share %.3f; want %s, %v, %v", d.Selection, d.InSample, d.TrainingShare.F(), tt.selection, tt.inSample, tt.share)
			}
			msgs := strings.Join(findingMessages(r), "\n")
			if !strings.Contains(msgs, tt.finding) {
				t.Errorf("findings do not say %q:\n%s", tt.finding, msgs)
			}
			if tt.selection == RowsHoldout {
				for _, f := range r.Verdict.Findings {
					if f.Code == "in_sample" {
						t.Errorf("in-sample finding on held-out rows: %s", f.Message)
					}
				}
			}
		})
	}
}
