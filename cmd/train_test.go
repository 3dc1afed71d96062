package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/train"
)

// TestTrainFlags checks that churn train's parameters have one definition:
// with no flag given they equal train.DefaultParams (issue 9, item 20: the
// flags defaulted the seed to 1, Params to 0), and that auto weights and
// zero penalties come through flags and --params files.
func TestTrainFlags(t *testing.T) {
	dir := t.TempDir()
	n := 0
	file := func(body string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("p%d.yaml", n))
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	defaults := train.DefaultParams()
	tests := []struct {
		name string
		args []string
		want func(p *train.Params)
	}{
		{"defaults", nil, func(p *train.Params) {}},
		{"auto weight flag", []string{"--positive-weight", "auto"}, func(p *train.Params) { p.PositiveWeight = train.WeightAuto }},
		{"auto weight file", []string{"--params", file("positive_weight: auto\nlambda: 0\n")}, func(p *train.Params) {
			zero := 0.0
			p.PositiveWeight, p.Lambda = train.WeightAuto, &zero
		}},
		{"zero penalties", []string{"--lambda", "0", "--min-child-weight", "0", "--seed", "0"}, func(p *train.Params) {
			zero := 0.0
			p.Lambda, p.MinChildWeight = &zero, &zero
		}},
		{"flag wins over file", []string{"--seed", "9", "--params", file("seed: 3\nrounds: 40\n")}, func(p *train.Params) { p.Seed, p.Rounds = 9, 40 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *TrainOptions
			c := newTrainCmdWith(IO{}, func(_ context.Context, o *TrainOptions) error {
				got = o
				return nil
			})
			c.SetArgs(append([]string{"--features", "f.parquet", "--model", "m"}, tt.args...))
			if err := c.Execute(); err != nil {
				t.Fatal(err)
			}
			want := defaults
			tt.want(&want)
			g, _ := json.Marshal(got.Params)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("params\n got %s\nwant %s", g, w)
			}
		})
	}
}

// TestTrainUpliftFlags checks which flags --uplift needs and refuses, and
// that the booster flags reach its options.
func TestTrainUpliftFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		err  string // "" when the command runs
	}{
		{"uplift", []string{"--uplift", "--data", "d", "--model", "m", "--rounds", "40", "--min-arm-units", "20"}, ""},
		{"uplift without data", []string{"--uplift", "--model", "m"}, "--uplift needs --data"},
		{"uplift with features", []string{"--uplift", "--data", "d", "--model", "m", "--features", "f.parquet"}, "--features does not apply to --uplift"},
		{"uplift with holdout", []string{"--uplift", "--data", "d", "--model", "m", "--holdout", "0.2"}, "--holdout does not apply"},
		{"data without uplift", []string{"--features", "f.parquet", "--model", "m", "--data", "d"}, "--data applies to --uplift only"},
		{"neither features nor uplift", []string{"--model", "m"}, "--features is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *TrainOptions
			c := newTrainCmdWith(IO{}, func(_ context.Context, o *TrainOptions) error {
				got = o
				return nil
			})
			c.SetArgs(tt.args)
			c.SilenceUsage, c.SilenceErrors = true, true
			err := c.Execute()
			if tt.err != "" {
				var ue *UsageError
				if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a usage error saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Uplift || got.Data != "d" || got.Params.Rounds != 40 || got.MinArmUnits != 20 || got.Params.Eta != train.DefaultParams().Eta {
				t.Errorf("options %+v", got)
			}
		})
	}
}
