package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadUplift: uplift.json is read from disk like model.json, so any
// bytes in it give a model or an error, never a panic. The boosters beside
// it stay those of a real fit; the seeds are that fit's card and cuts of
// it.
func FuzzLoadUplift(f *testing.F) {
	u, _ := upliftUnits(upliftSynth{perDate: 200, dates: 6, control: 0.3, effect: 0.7}, 5)
	m, err := FitUplift(context.Background(), u, fastUplift(), UpliftOptions{ChurnVersion: "test"})
	if err != nil {
		f.Fatal(err)
	}
	src := filepath.Join(f.TempDir(), UpliftDir)
	if err := m.Save(src); err != nil {
		f.Fatal(err)
	}
	m.Close()
	card, err := os.ReadFile(filepath.Join(src, UpliftCardFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(card)
	f.Add(card[:len(card)/2])
	f.Add([]byte(`{"format_version": 1, "learner": "t"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := filepath.Join(t.TempDir(), UpliftDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{UpliftTreatFile, UpliftControlFile} {
			raw, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, UpliftCardFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := LoadUplift(dir); err == nil {
			m.Close()
		}
	})
}
