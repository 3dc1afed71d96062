package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/logreg"
	"github.com/churnlab/churn/internal/metrics"
)

// FormatVersion is the version of the model artifact format. Load rejects
// other versions.
const FormatVersion = 1

// Artifact file names.
const (
	ManifestFile = "model.json"
	BoosterFile  = "booster.json"
)

// Manifest is everything about a model except the XGBoost trees: it is
// model.json in the artifact directory. It holds data only.
type Manifest struct {
	FormatVersion  int               `json:"format_version"`
	Algo           string            `json:"algo"`
	ChurnVersion   string            `json:"churn_version"`
	XGBoostVersion string            `json:"xgboost_version,omitempty"`
	GoVersion      string            `json:"go_version"`
	Seed           uint64            `json:"seed"`
	Params         Params            `json:"params"`
	Rounds         int               `json:"rounds,omitempty"` // boosting rounds used
	Spec           *features.Spec    `json:"feature_spec"`
	Encoder        *features.Encoder `json:"encoder"`
	Calibrator     Calibrator        `json:"calibrator"`
	Calibration    CalibrationChoice `json:"calibration"`
	LogReg         *logreg.Model     `json:"logreg,omitempty"`
	Validation     Validation        `json:"validation"`
	Search         []SearchTrial     `json:"search,omitempty"`
	Importance     []Importance      `json:"importance"`
	Training       TrainingSummary   `json:"training"`
	// TrainingKeys sketches the (customer_id, as_of) keys of the rows the
	// final model was fitted on, so that eval can tell its rows that were
	// training rows (nil in models from before it was recorded).
	TrainingKeys *KeySketch          `json:"training_keys,omitempty"`
	InputStamp   features.InputStamp `json:"input"`
	// Reference holds each feature's distribution on the training rows and,
	// last, that of the calibrated score on the held-out rows (named
	// "churn_probability"), for drift checks.
	Reference []Distribution `json:"reference"`
}

// TrainingSummary describes the rows the final model was fitted on: every
// labelled row of the table (the validation fits are described in
// Validation).
type TrainingSummary struct {
	Rows      int      `json:"rows"`
	Positives int      `json:"positives"`
	AsOf      []string `json:"as_of,omitempty"` // distinct as-of dates of the training rows
	// LeftOut lists the table's rows the final model was not fitted on,
	// by reason.
	LeftOut []LeftOut `json:"left_out,omitempty"`
}

// LeftOut is a number of rows left out of a fit and why.
type LeftOut struct {
	Rows   int    `json:"rows"`
	Reason string `json:"reason"`
}

// Validation holds held-out metrics of the model.
type Validation struct {
	Method string `json:"method"` // oot or kfold
	// For oot: the as-of dates validated on and the rows of each part:
	// TrainRows fitted the validated model, PurgedRows are earlier rows
	// left out of that fit because their label window reaches the first
	// validation date. For kfold TrainRows is every labelled row.
	ValidAsOf  []string `json:"valid_as_of,omitempty"`
	TrainRows  int      `json:"train_rows"`
	ValidRows  int      `json:"valid_rows"`
	PurgedRows int      `json:"purged_rows,omitempty"`
	Folds      int      `json:"folds,omitempty"`
	// Metrics on held-out rows (out-of-fold for kfold), with calibrated
	// probabilities.
	AUC      float64 `json:"auc"`
	PRAUC    float64 `json:"pr_auc"`
	LogLoss  float64 `json:"log_loss"`
	Brier    float64 `json:"brier"`
	BaseRate float64 `json:"base_rate"`
	// FoldAUC lists each fold's AUC (kfold); AUCStd is their standard
	// deviation.
	FoldAUC []float64 `json:"fold_auc,omitempty"`
	AUCStd  float64   `json:"auc_std,omitempty"`
}

// Importance is a feature's importance: gain (summed over its encoded
// columns) as a share of the total.
type Importance struct {
	Feature     string  `json:"feature"`
	Gain        float64 `json:"gain"`
	Share       float64 `json:"share"`
	Description string  `json:"description"`
}

// Model is a fitted churn model: immutable, safe for concurrent use. Close
// releases its XGBoost memory.
type Model struct {
	Manifest Manifest
	learner  fitted
	booster  []byte // XGBoost JSON, for Save
}

// Close frees the model's native resources.
func (m *Model) Close() {
	if m.learner != nil {
		m.learner.close()
	}
}

// Scores are a model's outputs for rows of a feature table.
type Scores struct {
	Margin []float64 // logit before calibration
	Prob   []float64 // calibrated probability of churn
	// Contrib holds, when requested, len(Spec.Features)+1 values per row:
	// each feature's contribution to the margin (one-hot columns summed per
	// feature) and the bias last. A row's contributions sum to its margin.
	// The rows are slices of one array, each capped at its own length.
	Contrib [][]float64
}

// CheckTable reports why t cannot be scored by the model, or nil.
func (m *Model) CheckTable(t *features.Table) error {
	if err := m.Manifest.Spec.Compatible(t.Spec); err != nil {
		return fmt.Errorf("the feature table does not match the model's feature spec: %w (build the features with the same churn settings the model was trained with)", err)
	}
	return nil
}

// ContribMethod says how Score computes per-feature contributions.
type ContribMethod int

// Contribution methods. For logistic regression both exact and approx give
// the exact linear contributions (coefficient × standardised value). For
// trees both are computed in Go from the booster's trees (xgbtree.Explainer)
// and equal XGBoost's own pred_contribs and approx_contribs bit for bit.
const (
	// ContribNone computes no contributions.
	ContribNone ContribMethod = iota
	// ContribExact computes SHAP values (path-dependent TreeSHAP for
	// trees). In churn's explainer they cost about twice the approximate
	// ones and a thirtieth of XGBoost's own TreeSHAP (bench/README.md).
	ContribExact
	// ContribApprox computes Saabas contributions for trees: the change of
	// the expected value along each row's decision path. They also sum to
	// the margin, but credit features by their depth in the trees rather
	// than fairly.
	ContribApprox
)

// String returns "none", "exact" or "approx".
func (c ContribMethod) String() string {
	switch c {
	case ContribExact:
		return "exact"
	case ContribApprox:
		return "approx"
	}
	return "none"
}

// ScoreOptions configures ScoreWith. The zero value computes probabilities
// only.
type ScoreOptions struct {
	Contrib ContribMethod
	// Workers bounds the goroutines that compute contributions (default
	// GOMAXPROCS). Results do not depend on it.
	Workers int
}

// Score computes probabilities (and exact contributions when contrib is
// true) for the rows of t selected by rows (nil = all).
func (m *Model) Score(ctx context.Context, t *features.Table, rows []int, contrib bool) (*Scores, error) {
	opt := ScoreOptions{}
	if contrib {
		opt.Contrib = ContribExact
	}
	return m.ScoreWith(ctx, t, rows, opt)
}

// ScoreWith is Score with options: it computes probabilities and, unless
// opt.Contrib is ContribNone, contributions by the chosen method.
func (m *Model) ScoreWith(ctx context.Context, t *features.Table, rows []int, opt ScoreOptions) (*Scores, error) {
	contrib := opt.Contrib != ContribNone
	if err := m.CheckTable(t); err != nil {
		return nil, err
	}
	// Rows are encoded, predicted and explained a chunk at a time, so the
	// dense matrix never holds more than a chunk: at a million rows the
	// whole matrix would be as large as the contributions themselves.
	enc := m.Manifest.Encoder
	n := t.Len()
	if rows != nil {
		n = len(rows)
	}
	p := len(enc.Columns)
	s := &Scores{Margin: make([]float64, 0, n), Prob: make([]float64, 0, n)}
	featOf := enc.FeatureOf()
	nf := len(m.Manifest.Spec.Features)
	var contribs []float64 // every row's contributions, back to back
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if contrib {
		contribs = make([]float64, n*(nf+1))
		s.Contrib = make([][]float64, 0, n)
	}
	err := eachChunk(ctx, rows, n, func(lo int, sel []int) error {
		hi := lo + len(sel)
		X, k := enc.Matrix(t, sel)
		part := matrix{X: X, N: k, P: p}
		mg, err := m.learner.margins(part)
		if err != nil {
			return err
		}
		for _, v := range mg {
			s.Margin = append(s.Margin, v)
			s.Prob = append(s.Prob, m.Manifest.Calibrator.Apply(v))
		}
		if !contrib {
			return nil
		}
		dst := contribs[lo*(nf+1) : hi*(nf+1)]
		if err := m.learner.contributions(ctx, part, opt.Contrib == ContribApprox, workers, featOf, dst); err != nil {
			return err
		}
		for r := lo; r < hi; r++ {
			at := r * (nf + 1)
			s.Contrib = append(s.Contrib, contribs[at:at+nf+1:at+nf+1])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// scoreChunk is how many rows a scoring call encodes at a time.
const scoreChunk = 1 << 16

// eachChunk calls fn with the rows of a selection of n rows (rows, or every
// row of the table when rows is nil) scoreChunk at a time, with the
// position in the selection of the chunk's first row. sel is only valid
// during the call. It stops at the first error, or when ctx is done.
func eachChunk(ctx context.Context, rows []int, n int, fn func(lo int, sel []int) error) error {
	var idx []int
	for lo := 0; lo < n; lo += scoreChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(n, lo+scoreChunk)
		var sel []int
		if rows == nil {
			idx = idx[:0]
			for i := lo; i < hi; i++ {
				idx = append(idx, i)
			}
			sel = idx
		} else {
			sel = rows[lo:hi]
		}
		if err := fn(lo, sel); err != nil {
			return err
		}
	}
	return nil
}

// addPerFeature adds a row's column contributions c (the bias last) to
// its feature contributions dst (len(dst)-1 features, the bias last):
// featOf[j] is column j's feature. The columns are added in order, in
// float64.
func addPerFeature[F float32 | float64](dst []float64, c []F, featOf []int) {
	p := len(c) - 1
	for j, f := range featOf {
		dst[f] += float64(c[j])
	}
	dst[len(dst)-1] = float64(c[p])
}

// Save writes the model artifact directory atomically: dir is replaced as a
// whole or not at all.
func (m *Model) Save(dir string) error { return saveAtomic(dir, m.SaveFiles) }

// saveAtomic writes an artifact directory with files (which writes into the
// folder it is given) and publishes it as a whole, replacing dir, or not
// at all.
func saveAtomic(dir string, files func(string) error) error {
	ad, err := data.CreateAtomicDir(dir)
	if err != nil {
		return err
	}
	defer ad.Abort()
	if err := files(ad.Path); err != nil {
		return err
	}
	return ad.Commit()
}

// SaveFiles writes the artifact's files (model.json, and booster.json for
// XGBoost) into dir, an existing folder that the caller publishes (the
// model registry stages them with the model card), and flushes them.
func (m *Model) SaveFiles(dir string) error {
	b, err := json.MarshalIndent(&m.Manifest, "", "  ")
	if err != nil {
		return err
	}
	if err := data.WriteFileSync(filepath.Join(dir, ManifestFile), append(b, '\n')); err != nil {
		return err
	}
	if m.Manifest.Algo == AlgoXGBoost {
		return data.WriteFileSync(filepath.Join(dir, BoosterFile), m.booster)
	}
	return nil
}

// Digest returns the SHA-256 (hex) of the model's artifact content: the
// manifest as Save writes it and the XGBoost model. Equal models have equal
// digests.
func (m *Model) Digest() (string, error) {
	b, err := json.MarshalIndent(&m.Manifest, "", "  ")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(b)
	h.Write(m.booster)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ErrArtifact marks a model directory that cannot be loaded.
var ErrArtifact = errors.New("invalid model artifact")

// Load reads a model artifact directory.
func Load(dir string) (*Model, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrArtifact, dir, fmt.Sprintf(format, args...))
	}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, bad("no %s (is this a model directory made by churn train?)", ManifestFile)
		}
		return nil, err
	}
	m := &Model{}
	if err := json.Unmarshal(raw, &m.Manifest); err != nil {
		return nil, bad("%s: %v", ManifestFile, err)
	}
	mf := &m.Manifest
	if mf.FormatVersion != FormatVersion {
		return nil, bad("format version %d is not supported (this churn reads version %d)", mf.FormatVersion, FormatVersion)
	}
	if mf.Spec == nil || mf.Encoder == nil || len(mf.Encoder.Columns) == 0 {
		return nil, bad("missing feature spec or encoder")
	}
	if got, want := len(mf.Encoder.Features), len(mf.Spec.Features); got != want {
		return nil, bad("encoder has %d features, spec %d", got, want)
	}
	for _, c := range mf.Encoder.Columns {
		if c.Feature < 0 || c.Feature >= len(mf.Spec.Features) {
			return nil, bad("encoder column %s refers to feature %d", c.Name, c.Feature)
		}
	}
	if err := mf.Calibrator.Validate(); err != nil {
		return nil, bad("%v", err)
	}
	if mf.TrainingKeys != nil {
		if err := mf.TrainingKeys.Validate(); err != nil {
			return nil, bad("%v", err)
		}
	}
	p := len(mf.Encoder.Columns)
	switch mf.Algo {
	case AlgoXGBoost:
		b, err := os.ReadFile(filepath.Join(dir, BoosterFile))
		if err != nil {
			return nil, bad("%v", err)
		}
		xm, err := newXGBModel(b, mf.Rounds, nil)
		if err != nil {
			return nil, bad("%s: %v", BoosterFile, err)
		}
		if nf := xm.trees.NumFeatures(); nf != p {
			return nil, bad("%s has %d features, the encoder %d", BoosterFile, nf, p)
		}
		m.learner = xm
		m.booster = b
	case AlgoLogReg:
		if mf.LogReg == nil || len(mf.LogReg.Coef) != p || len(mf.LogReg.Mean) != p || len(mf.LogReg.Scale) != p {
			return nil, bad("logistic regression coefficients do not match the %d encoded columns", p)
		}
		m.learner = &logregModel{m: mf.LogReg}
	default:
		return nil, bad("unknown algo %q", mf.Algo)
	}
	return m, nil
}

func newManifest(p Params, churnVersion string) Manifest {
	mf := Manifest{FormatVersion: FormatVersion, Algo: p.Algo, ChurnVersion: churnVersion, GoVersion: runtime.Version(), Seed: p.Seed, Params: p}
	if p.Algo == AlgoXGBoost {
		mf.XGBoostVersion = XGBoostVersion()
	}
	return mf
}

func importance(spec *features.Spec, enc *features.Encoder, gain []float64) []Importance {
	per := make([]float64, len(spec.Features))
	var total float64
	for j, g := range gain {
		per[enc.Columns[j].Feature] += g
		total += g
	}
	out := make([]Importance, len(spec.Features))
	for i, d := range spec.Features {
		share := 0.0
		if total > 0 {
			share = per[i] / total
		}
		out[i] = Importance{Feature: d.Name, Gain: round6(per[i]), Share: round6(share), Description: d.Description}
	}
	sortImportance(out)
	return out
}

// round6 rounds an importance for the manifest: an undefined one (no
// gain at all) is 0.
func round6(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return metrics.Round(x, 6)
}

func sortImportance(xs []Importance) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && (xs[j].Gain > xs[j-1].Gain || xs[j].Gain == xs[j-1].Gain && strings.Compare(xs[j].Feature, xs[j-1].Feature) < 0); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}
