package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
)

// upliftSynth describes synthetic experiment units.
type upliftSynth struct {
	perDate int     // units per monthly date
	dates   int     // monthly dates from 2023-01-01
	control float64 // share of control units
	// effect is the relative churn reduction of the "usage" play for
	// customers in the adoption stage (every other unit: none).
	effect float64
}

// upliftUnits makes experiment units where the treatment effect differs by
// segment: churn risk grows with x1 and is highest in the renewal stage,
// but only the "usage" play in the adoption stage works. Ranking by risk
// therefore puts sure things and lost causes (renewal, high x1) first; the
// persuadables are moderate-risk adoption customers. It also returns each
// unit's true churn probability without treatment, the risk ranking.
func upliftUnits(s upliftSynth, seed uint64) (UpliftUnits, []float64) {
	r := rand.New(rand.NewPCG(seed, 11))
	spec := &features.Spec{Features: []features.Def{{Name: "x1", Kind: features.Numeric}, {Name: "x2", Kind: features.Numeric},
		{Name: "stage", Kind: features.Categorical}}, Label: features.LabelSpec{HorizonDay: 30}}
	t := &features.Table{Spec: spec, Num: [][]float64{nil, nil, nil}, Cat: [][]string{nil, nil, nil}}
	u := UpliftUnits{Table: t}
	var risk []float64
	stages := []string{"onboarding", "adoption", "renewal"}
	for d := range s.dates {
		date := data.MakeDate(2023, 1, 1).AddDays(30 * d)
		for range s.perDate {
			x1, x2 := r.NormFloat64(), r.NormFloat64()
			stage := stages[r.IntN(3)]
			play := []string{"usage", "support"}[r.IntN(2)]
			logit := 1.2*x1 - 1
			if stage == "renewal" {
				logit += 1.5
			}
			p0 := metrics.Sigmoid(logit)
			treated := r.Float64() >= s.control
			p := p0
			if treated && play == "usage" && stage == "adoption" {
				p *= 1 - s.effect
			}
			y := 0.0
			if r.Float64() < p {
				y = 1
			}
			t.IDs = append(t.IDs, fmt.Sprintf("c%06d", len(t.IDs)))
			t.AsOf = append(t.AsOf, date)
			t.Num[0] = append(t.Num[0], x1)
			t.Num[1] = append(t.Num[1], x2)
			t.Cat[2] = append(t.Cat[2], stage)
			t.Label = append(t.Label, y)
			u.Treated = append(u.Treated, treated)
			u.Play = append(u.Play, play)
			risk = append(risk, p0)
		}
	}
	return u, risk
}

// fastUplift are small boosters for tests.
func fastUplift() UpliftParams {
	return UpliftParams{Boost: Params{Seed: 5, Rounds: 150, Eta: 0.1, MaxDepth: 3}, Bootstrap: 200}
}

// TestUpliftBeatsRiskRanking is the proof on synthetic units: when
// the effect differs by segment, the T-learner's Qini coefficient on the
// later units beats ranking by the true churn risk, and its verdict is
// trusted; with no effect at all it is not.
func TestUpliftBeatsRiskRanking(t *testing.T) {
	tests := []struct {
		name    string
		effect  float64
		trusted bool
	}{
		{"effect in one segment", 0.7, true},
		{"no effect", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, risk := upliftUnits(upliftSynth{perDate: 800, dates: 10, control: 0.3, effect: tt.effect}, 1)
			u.Risk = risk
			m, err := FitUplift(context.Background(), u, fastUplift(), UpliftOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			v := m.Card.Validation
			t.Logf("valid from %s, %d+%d units: Qini %.4f %v, risk %.4f, gain %.4f %v, AUUC %.4f (risk %.4f): %s",
				v.ValidFrom, v.ValidUnits.Treated, v.ValidUnits.Control, v.Qini, v.QiniCI, v.QiniRisk, v.QiniGain, v.QiniGainCI, v.AUUC, v.AUUCRisk, v.Verdict)
			if v.Trusted != tt.trusted {
				t.Errorf("trusted = %v, want %v: %s", v.Trusted, tt.trusted, v.Verdict)
			}
			if v.RiskScore != ScoreName || v.ValidFrom != "2023-08-29" || v.PurgedUnits != 800 {
				t.Errorf("validation = %+v", v)
			}
			if !tt.trusted {
				return
			}
			if v.Qini <= v.QiniRisk || v.QiniGainCI[0] <= 0 {
				t.Errorf("Qini %.4f does not beat risk ranking's %.4f", v.Qini, v.QiniRisk)
			}
			// The persuadables get the highest expected uplift.
			s, err := m.Score(context.Background(), u.Table, u.Play, nil)
			if err != nil {
				t.Fatal(err)
			}
			var in, out []float64
			for i, x := range s.Uplift {
				if s.PControl[i]-s.PTreat[i] != x {
					t.Fatalf("row %d: uplift %v is not p_control %v − p_treat %v", i, x, s.PControl[i], s.PTreat[i])
				}
				if u.Play[i] == "usage" && u.Table.Cat[2][i] == "adoption" {
					in = append(in, x)
				} else {
					out = append(out, x)
				}
			}
			if a, b := metrics.Mean(in), metrics.Mean(out); a < b+0.05 {
				t.Errorf("mean expected uplift %.4f for usage × adoption, %.4f for the others", a, b)
			}
		})
	}
}

// Without a churn model's risk the baseline is the model's own p_control.
func TestUpliftRiskFromPControl(t *testing.T) {
	u, _ := upliftUnits(upliftSynth{perDate: 300, dates: 6, control: 0.3, effect: 0.7}, 2)
	m, err := FitUplift(context.Background(), u, fastUplift(), UpliftOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if v := m.Card.Validation; v.RiskScore != "p_control" || math.IsNaN(v.QiniRisk) {
		t.Errorf("validation = %+v", v)
	}
}

// The same units and seed give the same artifact bytes, and a loaded model
// scores bit for bit like the fitted one.
func TestUpliftDeterministicBytes(t *testing.T) {
	u, _ := upliftUnits(upliftSynth{perDate: 300, dates: 6, control: 0.3, effect: 0.7}, 3)
	root := t.TempDir()
	var fitted *UpliftModel
	for _, name := range []string{"a", "b"} {
		m, err := FitUplift(context.Background(), u, fastUplift(), UpliftOptions{ChurnVersion: "test"})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Save(filepath.Join(root, name, UpliftDir)); err != nil {
			t.Fatal(err)
		}
		fitted = m
	}
	for _, f := range []string{UpliftCardFile, UpliftTreatFile, UpliftControlFile} {
		a, errA := os.ReadFile(filepath.Join(root, "a", UpliftDir, f))
		b, errB := os.ReadFile(filepath.Join(root, "b", UpliftDir, f))
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two fits", f)
		}
	}
	loaded, err := LoadUplift(filepath.Join(root, "a", UpliftDir))
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	rows := []int{0, 5, 17, 400, 1799}
	want, err := fitted.Score(context.Background(), u.Table, u.Play, rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.Score(context.Background(), u.Table, u.Play, rows)
	if err != nil {
		t.Fatal(err)
	}
	for k := range rows {
		if got.Uplift[k] != want.Uplift[k] || got.PTreat[k] != want.PTreat[k] {
			t.Errorf("row %d: loaded %v/%v, fitted %v/%v", rows[k], got.Uplift[k], got.PTreat[k], want.Uplift[k], want.PTreat[k])
		}
	}
	c := loaded.Card
	if c.Units.Treated+c.Units.Control != 1800 || len(c.Plays) != 2 || c.Plays[0].Play != "support" || c.TreatRounds < 1 || c.PlayFeature != "play" {
		t.Errorf("card = %+v", c)
	}
	if _, err := LoadUplift(filepath.Join(root, "none")); !errors.Is(err, ErrNoUplift) {
		t.Errorf("LoadUplift of a missing folder: %v, want ErrNoUplift", err)
	}
}

func TestUpliftErrors(t *testing.T) {
	few := func(s upliftSynth) func() UpliftUnits {
		return func() UpliftUnits { u, _ := upliftUnits(s, 4); return u }
	}
	tests := []struct {
		name  string
		units func() UpliftUnits
		p     UpliftParams
		is    error
		want  string
	}{
		{name: "few control units", units: few(upliftSynth{perDate: 100, dates: 6, control: 0.05}), is: ErrTooFewUnits,
			want: "the closed units have"},
		{name: "few control units to validate", units: func() UpliftUnits {
			u, _ := upliftUnits(upliftSynth{perDate: 200, dates: 6, control: 0.3}, 4)
			for i, d := range u.Table.AsOf {
				if d >= data.MakeDate(2023, 5, 1) {
					u.Treated[i] = true
				}
			}
			return u
		}, is: ErrTooFewUnits, want: "the validation (from 2023-05-01) units have 0 in control"},
		{name: "one date", units: few(upliftSynth{perDate: 500, dates: 1, control: 0.3}), is: ErrTooFewUnits, want: "one date only"},
		{name: "open windows only", units: func() UpliftUnits {
			u, _ := upliftUnits(upliftSynth{perDate: 200, dates: 3, control: 0.3}, 4)
			for i := range u.Table.Label {
				u.Table.Label[i] = math.NaN()
			}
			return u
		}, is: ErrTooFewUnits, want: "have 0 in treat"},
		{name: "logreg", units: few(upliftSynth{perDate: 200, dates: 3, control: 0.3}), p: UpliftParams{Boost: Params{Algo: AlgoLogReg}},
			want: "XGBoost only"},
		{name: "search", units: few(upliftSynth{perDate: 200, dates: 3, control: 0.3}), p: UpliftParams{Boost: Params{SearchBudget: 3}},
			want: "does not search"},
		{name: "lengths", units: func() UpliftUnits {
			u, _ := upliftUnits(upliftSynth{perDate: 20, dates: 3, control: 0.3}, 4)
			u.Play = u.Play[1:]
			return u
		}, want: "60 rows but 60 groups, 59 plays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FitUplift(context.Background(), tt.units(), tt.p, UpliftOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}
