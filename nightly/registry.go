package nightly

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// Registry is a local model registry: a folder of model versions, a
// champion pointer and a history of events.
//
//	registry/
//	  versions/<version>/   model artifact (model.json, booster.json) and
//	                         model card (card.json, card.md)
//	  CHAMPION               the champion's version, one line
//	  history.jsonl          one JSON event per line: added, promoted
//
// Every file is replaced atomically (written aside and renamed), so readers
// see the old champion or the new one, never a mix.
type Registry struct {
	Dir string
}

// Card describes a model version for people: where it came from, how good
// it is, what drives it.
type Card struct {
	Version      string                `json:"version"`
	AsOf         string                `json:"as_of"` // the run's as-of date
	RunID        string                `json:"run_id"`
	Algo         string                `json:"algo"`
	ChurnVersion string                `json:"churn_version"`
	XGBoost      string                `json:"xgboost_version,omitempty"`
	Input        string                `json:"input_fingerprint"`
	Training     train.TrainingSummary `json:"training"`
	Validation   train.Validation      `json:"validation"`
	Calibration  string                `json:"calibration"`
	TopFeatures  []train.Importance    `json:"top_features"`
	Verdict      string                `json:"verdict"`
	Headline     string                `json:"headline"`
	Static       []string              `json:"static_features,omitempty"`
	Label        string                `json:"label"`
	// Sample says which snapshot rows the model was trained and evaluated
	// on, and their weights.
	Sample features.SampleStats `json:"sample"`
}

// Event is one line of history.jsonl.
type Event struct {
	Event    string   `json:"event"` // added, promoted, kept
	Version  string   `json:"version"`
	AsOf     string   `json:"as_of"`
	RunID    string   `json:"run_id"`
	Previous string   `json:"previous,omitempty"`
	Metric   string   `json:"metric,omitempty"`
	Value    eval.Num `json:"value,omitempty"`
	Baseline eval.Num `json:"baseline,omitempty"`
	Reason   string   `json:"reason,omitempty"`
}

// VersionOf names a model by content: its run's as-of date and a hash of its
// artifact, so the same inputs give the same version.
func VersionOf(asOf data.Date, m *train.Model) (string, error) {
	d, err := m.Digest()
	if err != nil {
		return "", err
	}
	return asOf.String() + "-" + d[:10], nil
}

func (r *Registry) versionDir(v string) string { return filepath.Join(r.Dir, "versions", v) }

// Has reports whether the version exists.
func (r *Registry) Has(v string) bool {
	_, err := os.Stat(filepath.Join(r.versionDir(v), train.ManifestFile))
	return err == nil
}

// Add stores a model and its card as a version and reports whether it was
// new (a version that exists is left as it is: same content, same name).
// The version folder appears whole: model and card are staged together.
func (r *Registry) Add(v string, m *train.Model, card *Card) (bool, error) {
	if r.Has(v) {
		return false, nil
	}
	cj, err := json.MarshalIndent(card, "", "  ")
	if err != nil {
		return false, err
	}
	ad, err := data.CreateAtomicDir(r.versionDir(v))
	if err != nil {
		return false, err
	}
	defer ad.Abort()
	if err := m.SaveFiles(ad.Path); err != nil {
		return false, err
	}
	if err := data.WriteFileSync(filepath.Join(ad.Path, "card.json"), append(cj, '\n')); err != nil {
		return false, err
	}
	if err := data.WriteFileSync(filepath.Join(ad.Path, "card.md"), cardMarkdown(card)); err != nil {
		return false, err
	}
	return true, ad.Commit()
}

// Champion returns the champion's version, or "" when there is none.
func (r *Registry) Champion() (string, error) {
	b, err := os.ReadFile(filepath.Join(r.Dir, "CHAMPION"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" || !r.Has(v) {
		return "", fmt.Errorf("registry %s: CHAMPION names %q, which is not a stored version", r.Dir, v)
	}
	return v, nil
}

// Load loads a version's model.
func (r *Registry) Load(v string) (*train.Model, error) { return train.Load(r.versionDir(v)) }

// Promote makes v the champion.
func (r *Registry) Promote(v string) error {
	if !r.Has(v) {
		return fmt.Errorf("registry: no version %s", v)
	}
	return data.WriteFileAtomic(filepath.Join(r.Dir, "CHAMPION"), []byte(v+"\n"))
}

// Record appends an event to the history.
func (r *Registry) Record(e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(r.Dir, "history.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Versions lists the stored versions, oldest first.
func (r *Registry) Versions() ([]string, error) {
	es, err := os.ReadDir(filepath.Join(r.Dir, "versions"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range es {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func cardMarkdown(c *Card) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Model %s\n\n", c.Version)
	fmt.Fprintf(&b, "**%s** — %s\n\n", c.Verdict, c.Headline)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| trained in run | %s (as of %s) |\n", c.RunID, c.AsOf)
	fmt.Fprintf(&b, "| learner | %s (churn %s", c.Algo, c.ChurnVersion)
	if c.XGBoost != "" {
		fmt.Fprintf(&b, ", XGBoost %s", c.XGBoost)
	}
	fmt.Fprintf(&b, ") |\n")
	fmt.Fprintf(&b, "| label | %s |\n", c.Label)
	fmt.Fprintf(&b, "| training rows | %d (%d churned) at %d as-of dates |\n", c.Training.Rows, c.Training.Positives, len(c.Training.AsOf))
	for _, s := range c.Sample.Strata {
		fmt.Fprintf(&b, "| sample | %s |\n", s)
	}
	for _, lo := range c.Training.LeftOut {
		fmt.Fprintf(&b, "| left out | %d rows: %s |\n", lo.Rows, lo.Reason)
	}
	v := c.Validation
	fmt.Fprintf(&b, "| validation | %s, %d rows: ROC AUC %.4f, PR AUC %.4f, log loss %.4f, Brier %.4f |\n", v.Method, v.ValidRows, v.AUC, v.PRAUC, v.LogLoss, v.Brier)
	fmt.Fprintf(&b, "| calibration | %s |\n", c.Calibration)
	fmt.Fprintf(&b, "| input fingerprint | `%s` |\n", c.Input)
	if len(c.Static) > 0 {
		fmt.Fprintf(&b, "| static features (today's values) | %s |\n", strings.Join(c.Static, ", "))
	}
	b.WriteString("\n## Top features\n\n| feature | share of gain | meaning |\n|---|---|---|\n")
	for _, f := range c.TopFeatures {
		fmt.Fprintf(&b, "| %s | %.1f%% | %s |\n", f.Feature, f.Share*100, f.Description)
	}
	return []byte(b.String())
}
