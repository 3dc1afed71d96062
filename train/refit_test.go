package train

import (
	"context"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/metrics"
)

// TestValidationNoneParams checks what validation none allows: nothing is
// held out, so neither a search nor a calibration can be fitted.
func TestValidationNoneParams(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		err  string
	}{
		{"plain", Params{Validation: ValidationNone}, ""},
		{"calibration none", Params{Validation: ValidationNone, Calibration: CalibrationNone}, ""},
		{"platt", Params{Validation: ValidationNone, Calibration: CalibrationPlatt}, "calibration"},
		{"isotonic", Params{Validation: ValidationNone, Calibration: CalibrationIsotonic}, "calibration"},
		{"search", Params{Validation: ValidationNone, SearchBudget: 3}, "search_budget"},
		{"unknown mode", Params{Validation: "holdout"}, "want auto, oot, kfold or none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.EnsureDefaults()
			err := p.Validate()
			switch {
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("err = %v, want one naming %q", err, tt.err)
			}
		})
	}
}

// TestFitValidationNone checks the refit eval's backtest makes: one fit on
// every labelled row with exactly the rounds given (early stopping set but
// unused), no calibration, and no score reference (no held-out scores).
func TestFitValidationNone(t *testing.T) {
	dates := []data.Date{data.MakeDate(2024, 1, 1), data.MakeDate(2024, 2, 1), data.MakeDate(2024, 3, 1)}
	tab := synthTable(400, dates)
	for _, algo := range []string{AlgoXGBoost, AlgoLogReg} {
		t.Run(algo, func(t *testing.T) {
			m, err := Fit(context.Background(), tab, Params{Algo: algo, Seed: 1, Threads: 1, Rounds: 37, EarlyStopping: 5, Validation: ValidationNone}, FitOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			mf := m.Manifest
			wantRounds := 37
			if algo == AlgoLogReg {
				wantRounds = 0
			}
			if mf.Rounds != wantRounds {
				t.Errorf("rounds = %d, want %d", mf.Rounds, wantRounds)
			}
			if v := mf.Validation; v.Method != ValidationNone || v.TrainRows != tab.Len() || v.ValidRows != 0 {
				t.Errorf("validation = %+v, want none over all %d rows", v, tab.Len())
			}
			if mf.Calibrator.Method != CalibrationNone || mf.Params.Calibration != CalibrationNone {
				t.Errorf("calibrator %q, params.calibration %q: want none", mf.Calibrator.Method, mf.Params.Calibration)
			}
			if mf.Training.Rows != tab.Len() {
				t.Errorf("training rows = %d, want %d", mf.Training.Rows, tab.Len())
			}
			for _, d := range mf.Reference {
				if d.Name == ScoreName {
					t.Errorf("reference has %s without held-out scores", ScoreName)
				}
			}
			sc, err := m.Score(context.Background(), tab, []int{0, 1, 2}, false)
			if err != nil {
				t.Fatal(err)
			}
			for k, mg := range sc.Margin {
				if sc.Prob[k] != metrics.Sigmoid(mg) {
					t.Errorf("row %d: probability %v, want the uncalibrated sigmoid(%v)", k, sc.Prob[k], mg)
				}
			}
			if err := m.Save(t.TempDir()); err != nil {
				t.Errorf("save: %v", err)
			}
		})
	}
}

// TestFitRows checks that FitOptions.Rows fits the same model as a copy of
// those rows: same model digest.
func TestFitRows(t *testing.T) {
	dates := []data.Date{data.MakeDate(2024, 1, 1), data.MakeDate(2024, 2, 1), data.MakeDate(2024, 3, 1), data.MakeDate(2024, 4, 1)}
	tab := synthTable(300, dates)
	var rows []int
	for i := range tab.Len() {
		if i%3 != 0 {
			rows = append(rows, i)
		}
	}
	p := Params{Seed: 1, Threads: 1, Rounds: 20}
	a, err := Fit(context.Background(), tab, p, FitOptions{Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Fit(context.Background(), tab.Rows(rows), p, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Errorf("digest with Rows %s, of the copied rows %s", da, db)
	}
	if a.Manifest.Training.Rows != len(rows) {
		t.Errorf("training rows = %d, want %d", a.Manifest.Training.Rows, len(rows))
	}
}
