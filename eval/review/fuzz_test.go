package review

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

// FuzzParseConfig: any config file is refused with an error or accepted as
// a valid config that round-trips through YAML.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"", "seed: 3\nlevel: 0.9\n", "useful_rrr: 0\nmin_per_arm: 5\n", "min_per_armm: 1\n", "resamples: [1]\n", "level: .nan\n", "useful_rrr: 1e400\n", "workers: 9999\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := parseConfig("review.yaml", raw)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseConfig("again.yaml", out)
		if err != nil {
			t.Fatalf("the config does not round-trip: %v\n%s", err, out)
		}
		again.Workers = c.Workers
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip: %+v, then %+v", c, again)
		}
	})
}

// FuzzPartitionManifest: a partition's _manifest.json is outside input;
// whatever it holds, listing the partitions returns them or an error
// naming the file, never panics.
func FuzzPartitionManifest(f *testing.F) {
	for _, s := range []string{`{"model_version":"v1","model":{"label_mode":"churn_events","horizon_days":90}}`, `{}`, `[]`, `{"model":{"horizon_days":"x"}}`, "\x00", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := t.TempDir()
		dir := predict.PartitionDir(out, predict.PredictionsDir, data.MakeDate(2024, 3, 1))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{predict.ManifestFile: raw, predict.SuccessFile: nil} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		parts, _, err := listPartitions(out, data.NoDate, nil)
		var ie *data.InputError
		switch {
		case err == nil && len(parts) != 1:
			t.Fatalf("%d partitions", len(parts))
		case err != nil && (!errors.As(err, &ie) || ie.File != filepath.Join(dir, predict.ManifestFile)):
			t.Fatalf("err = %v, want an InputError naming the manifest", err)
		}
	})
}
