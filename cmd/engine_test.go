package cmd

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
)

// TestEngineCommands checks that an engine's binary has churn's features and
// predict flags, hands the parsed options to the engine, and refuses the
// flags an engine cannot honour with exit 2.
func TestEngineCommands(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	if _, err := synth.Generate(context.Background(), dataDir, synth.Params{Customers: 40, Months: 6, Seed: 1}, synth.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	var gotOpt features.BuildOptions
	var gotOut string
	e := &Engine{
		Name: "churn-test",
		Features: func(ctx context.Context, ds *data.Dataset, opt features.BuildOptions, o *FeaturesOptions) (*EngineTable, error) {
			gotOpt, gotOut = opt, o.Out
			spec, _, err := features.NewBuild(ctx, ds, opt)
			return &EngineTable{Spec: spec, Stats: features.Stats{Customers: 40}}, err
		},
		Predict: func(ctx context.Context, opt predict.Options, o *PredictOptions) (*predict.Result, error) {
			t.Fatal("predict called")
			return nil, nil
		},
	}
	run := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := RunEngine(args, IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, e)
		return out.String(), errOut.String(), code
	}
	out, stderr, code := run("features", "--data", dataDir, "--snapshots", "2024-03-01:2024-05-01:1m", "--horizon", "30d", "--out", filepath.Join(dir, "f"), "--customers", writeIDs(t, dir, "C00000001", "C00000002"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if gotOut != filepath.Join(dir, "f") || len(gotOpt.AsOf) != 3 || gotOpt.Keep == nil || !gotOpt.Keep("C00000001") || gotOpt.Keep("C00000003") {
		t.Errorf("engine got out %q, opt %+v", gotOut, gotOpt)
	}
	if !strings.Contains(out, "customers scanned        40") {
		t.Errorf("summary:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"features", "--data", dataDir, "--as-of", "2024-03-01", "--out", "f.parquet"}, "writes a folder"},
		{[]string{"features", "--data", dataDir, "--as-of", "2024-03-01", "--out", "f", "--shard", "0/2"}, "--shard"},
		{[]string{"features", "--data", dataDir, "--as-of", "2024-03-01", "--out", "f", "--holdout", "0.2", "--holdout-out", "h.parquet"}, "--holdout"},
		{[]string{"predict", "--data", dataDir, "--model", "m", "--as-of", "2024-03-01", "--out", "o", "--shard", "0/2"}, "--shard"},
		{[]string{"features", "merge", "a"}, "unknown"},
		{[]string{"train"}, "unknown command"},
	} {
		_, stderr, code := run(c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.want) || !strings.HasPrefix(stderr, "churn-test: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

func writeIDs(t *testing.T, dir string, ids ...string) string {
	t.Helper()
	p := filepath.Join(dir, "ids.txt")
	if err := data.WriteFileAtomic(p, []byte(strings.Join(ids, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	return p
}
