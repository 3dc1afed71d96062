package eval

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig feeds arbitrary YAML to LoadConfig: it must never panic,
// and a config it accepts must be valid and complete (defaults applied).
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"", "capacity: 50\n", "cost:\n  missed_churner: 2400\n  intervention: 80\n  success_rate: 0.3\n",
		"bootstrap: {resamples: 1000, level: 0.9}\n", "segments:\n  features: [plan, region]\n",
		"rows: all\nthreshold: 0.5\n", "calibration: {binning: uniform, bins: 20}\n", "capacty: 5\n", "- a\n- b\n", "threshold: .nan\n",
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		if c.Bootstrap.Resamples == 0 || c.Capacity == 0 || c.Workers == 0 {
			t.Fatalf("defaults not applied: %+v", c)
		}
	})
}
