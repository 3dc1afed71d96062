package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/churnlab/churn/data"
)

// UpliftFormatVersion is the version of the uplift artifact format.
// LoadUplift rejects other versions.
const UpliftFormatVersion = 1

// The uplift artifact: a folder UpliftDir inside the churn model's
// directory holding the card and the two boosters (XGBoost's own JSON,
// which Python/R/JVM XGBoost can open).
const (
	UpliftDir         = "uplift"
	UpliftCardFile    = "uplift.json"
	UpliftTreatFile   = "booster_treat.json"
	UpliftControlFile = "booster_control.json"
)

// Save writes the uplift artifact into dir atomically: dir (usually
// filepath.Join(modelDir, UpliftDir)) is replaced as a whole or not at
// all.
func (m *UpliftModel) Save(dir string) error { return saveAtomic(dir, m.SaveFiles) }

// SaveFiles writes the artifact's three files into dir, an existing
// folder that the caller publishes, and flushes them.
func (m *UpliftModel) SaveFiles(dir string) error {
	b, err := json.MarshalIndent(&m.Card, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{UpliftCardFile, append(b, '\n')}, {UpliftTreatFile, m.treatJSON}, {UpliftControlFile, m.controlJSON}} {
		if err := data.WriteFileSync(filepath.Join(dir, f.name), f.b); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoUplift marks a model directory without an uplift model.
var ErrNoUplift = errors.New("no uplift model")

// LoadUplift reads the uplift artifact in dir. A missing dir or card is
// ErrNoUplift; anything else wrong is ErrArtifact.
func LoadUplift(dir string) (*UpliftModel, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrArtifact, dir, fmt.Sprintf(format, args...))
	}
	raw, err := os.ReadFile(filepath.Join(dir, UpliftCardFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (churn train --uplift makes one)", ErrNoUplift, filepath.Dir(dir))
	}
	if err != nil {
		return nil, err
	}
	m := &UpliftModel{}
	if err := json.Unmarshal(raw, &m.Card); err != nil {
		return nil, bad("%s: %v", UpliftCardFile, err)
	}
	c := &m.Card
	if c.FormatVersion != UpliftFormatVersion {
		return nil, bad("uplift format version %d is not supported (this churn reads version %d)", c.FormatVersion, UpliftFormatVersion)
	}
	if c.Learner != LearnerT {
		return nil, bad("unknown uplift learner %q", c.Learner)
	}
	if c.Spec == nil || c.Encoder == nil || len(c.Encoder.Columns) == 0 {
		return nil, bad("missing feature spec or encoder")
	}
	want := append(c.Spec.Names(), c.PlayFeature)
	if len(c.Encoder.Features) != len(want) {
		return nil, bad("the encoder has %d features, the spec and the play %d", len(c.Encoder.Features), len(want))
	}
	for i, name := range want {
		if c.Encoder.Features[i] != name {
			return nil, bad("encoder feature %d is %s, want %s", i, c.Encoder.Features[i], name)
		}
	}
	for _, col := range c.Encoder.Columns {
		if col.Feature < 0 || col.Feature >= len(want) {
			return nil, bad("encoder column %s refers to feature %d", col.Name, col.Feature)
		}
	}
	for _, a := range []struct {
		file   string
		rounds int
		raw    *[]byte
		dst    **xgbModel
	}{{UpliftTreatFile, c.TreatRounds, &m.treatJSON, &m.treat}, {UpliftControlFile, c.ControlRounds, &m.controlJSON, &m.control}} {
		b, err := os.ReadFile(filepath.Join(dir, a.file))
		if err != nil {
			m.Close()
			return nil, bad("%v", err)
		}
		xm, err := newXGBModel(b, a.rounds, nil)
		if err != nil {
			m.Close()
			return nil, bad("%s: %v", a.file, err)
		}
		*a.dst = xm
		*a.raw = b
		if nf := xm.trees.NumFeatures(); nf != len(c.Encoder.Columns) {
			m.Close()
			return nil, bad("%s has %d features, the encoder %d", a.file, nf, len(c.Encoder.Columns))
		}
	}
	return m, nil
}
