package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
