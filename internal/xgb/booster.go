package xgb

/*
#include <stdlib.h>
#include <xgboost/c_api.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/churnlab/churn/internal/xgbtree"
)

// Booster is a gradient-boosted model. It owns a C handle and an OS thread on
// which all of its C calls run (see the package doc); Close frees both.
//
// A Booster is safe for concurrent use: a mutex serialises its calls, so an
// UpdateOneIter and a Predict never overlap on the same booster.
type Booster struct {
	mu      sync.Mutex
	s       *boosterState // nil after Close
	cleanup runtime.Cleanup
}

// boosterState is what the GC cleanup needs to free a booster; it must not
// refer to the Booster.
type boosterState struct {
	h C.BoosterHandle
	t *thread
}

func (s *boosterState) free() error {
	var err error
	s.t.run(func() {
		err = call("XGBoosterFree", func() C.int { return C.XGBoosterFree(s.h) })
	})
	s.t.stop()
	s.h = nil
	return err
}

// NewBooster creates an untrained booster. cache names the matrices it will
// train and evaluate on; it must include the training matrix, from which
// XGBoost learns the number of features. The booster keeps no reference to
// the matrices: they may be closed before it.
func NewBooster(cache ...*DMatrix) (*Booster, error) {
	hs, unlock, err := lockMatrices("xgb: NewBooster", cache)
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := newBooster(func(out *C.BoosterHandle) error {
		var p *C.DMatrixHandle
		if len(hs) > 0 {
			p = &hs[0]
		}
		return call("XGBoosterCreate", func() C.int { return C.XGBoosterCreate(p, C.bst_ulong(len(hs)), out) })
	})
	if err != nil {
		return nil, err
	}
	// Warn (through slog) about parameter names XGBoost does not use, as its
	// Python package does; the C library's default is silence.
	if err := b.SetParam("validate_parameters", "1"); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// LoadBoosterJSON loads a tree model saved by SaveJSON (or by XGBoost ≥ 1.0
// as JSON). data is not retained.
//
// Before XGBoost sees the bytes, their structure is checked in Go (see
// xgbtree.CheckModel): XGBoost 1.7 trusts the counts and node indices in a model
// and crashes the process on inconsistent ones, and its legacy binary reader
// trusts length fields. Only JSON "gbtree" models with numerical splits and a
// single target are accepted.
func LoadBoosterJSON(data []byte) (*Booster, error) {
	if err := xgbtree.CheckModel(data); err != nil {
		return nil, fmt.Errorf("xgb: LoadBoosterJSON: %w", err)
	}
	b, err := newBooster(func(out *C.BoosterHandle) error {
		return call("XGBoosterCreate", func() C.int { return C.XGBoosterCreate(nil, 0, out) })
	})
	if err != nil {
		return nil, err
	}
	err = b.do("LoadBoosterJSON", func(h C.BoosterHandle) error {
		return call("XGBoosterLoadModelFromBuffer", func() C.int {
			return C.XGBoosterLoadModelFromBuffer(h, unsafe.Pointer(&data[0]), C.bst_ulong(len(data)))
		})
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func newBooster(create func(out *C.BoosterHandle) error) (*Booster, error) {
	t := newThread()
	var h C.BoosterHandle
	var err error
	t.run(func() { err = create(&h) })
	if err != nil {
		t.stop()
		return nil, err
	}
	s := &boosterState{h: h, t: t}
	b := &Booster{s: s}
	b.cleanup = runtime.AddCleanup(b, func(s *boosterState) { s.free() }, s)
	return b, nil
}

// do runs f with the handle on the booster's thread, under the booster's mutex.
func (b *Booster) do(op string, f func(h C.BoosterHandle) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s == nil {
		return closedErr("xgb: Booster." + op)
	}
	var err error
	h := b.s.h
	b.s.t.run(func() { err = f(h) })
	return err
}

// Close frees the booster and ends its thread. It is idempotent.
func (b *Booster) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.s == nil {
		return nil
	}
	b.cleanup.Stop()
	err := b.s.free()
	b.s = nil
	return err
}

// SetParam sets one training parameter, e.g. ("max_depth", "6"),
// ("objective", "binary:logistic"), ("nthread", "2"), ("seed", "7").
// Setting "eval_metric" adds a metric rather than replacing one.
//
// XGBoost checks parameter values lazily: a bad value is reported by the next
// UpdateOneIter, EvalOneIter, Predict or SaveJSON. A parameter name XGBoost
// does not use is only a warning, logged when training starts (NewBooster
// sets "validate_parameters" to 1 for that).
func (b *Booster) SetParam(name, value string) error {
	cn, cv := C.CString(name), C.CString(value)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(cv))
	return b.do("SetParam", func(h C.BoosterHandle) error {
		return call("XGBoosterSetParam", func() C.int { return C.XGBoosterSetParam(h, cn, cv) })
	})
}

// UpdateOneIter runs boosting round iter (0, 1, 2, …) on train, which must
// carry labels.
func (b *Booster) UpdateOneIter(iter int, train *DMatrix) error {
	hs, unlock, err := lockMatrices("xgb: Booster.UpdateOneIter", []*DMatrix{train})
	if err != nil {
		return err
	}
	defer unlock()
	return b.do("UpdateOneIter", func(h C.BoosterHandle) error {
		return call("XGBoosterUpdateOneIter", func() C.int { return C.XGBoosterUpdateOneIter(h, C.int(iter), hs[0]) })
	})
}

// EvalOneIter evaluates the model's metrics ("eval_metric" parameters, or the
// objective's default) on each matrix and returns XGBoost's line, e.g.
// "[3]\ttrain-logloss:0.402\tvalid-logloss:0.411". names label the matrices
// in the line and must not contain tabs. Use Eval or ParseEval for values.
func (b *Booster) EvalOneIter(iter int, mats []*DMatrix, names []string) (string, error) {
	if len(mats) == 0 || len(mats) != len(names) {
		return "", fmt.Errorf("xgb: Booster.EvalOneIter: need one name per matrix and at least one matrix, got %d matrices and %d names", len(mats), len(names))
	}
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, "\t:") {
			return "", fmt.Errorf("xgb: Booster.EvalOneIter: bad matrix name %q (empty, or contains a tab or colon)", n)
		}
	}
	hs, unlock, err := lockMatrices("xgb: Booster.EvalOneIter", mats)
	if err != nil {
		return "", err
	}
	defer unlock()
	cn, free := cStrings(names)
	defer free()
	var out string
	err = b.do("EvalOneIter", func(h C.BoosterHandle) error {
		var res *C.char
		err := call("XGBoosterEvalOneIter", func() C.int {
			return C.XGBoosterEvalOneIter(h, C.int(iter), &hs[0], cn, C.bst_ulong(len(hs)), &res)
		})
		if err == nil {
			out = C.GoString(res)
		}
		return err
	})
	return out, err
}

// Eval is EvalOneIter parsed: the result maps each name to metric → value,
// e.g. r["valid"]["logloss"].
func (b *Booster) Eval(iter int, mats []*DMatrix, names []string) (map[string]map[string]float64, error) {
	line, err := b.EvalOneIter(iter, mats, names)
	if err != nil {
		return nil, err
	}
	_, r, err := ParseEval(line, names)
	return r, err
}

// PredictOptions selects what Predict computes.
type PredictOptions struct {
	// Margin returns untransformed scores (log-odds for binary:logistic)
	// instead of probabilities.
	Margin bool
	// Contribs returns SHAP feature contributions (XGBoost's pred_contribs),
	// shape rows×(cols+1), the bias last; a row sums to its margin. Contribs
	// are always on the margin scale, whatever Margin says.
	Contribs bool
	// ApproxContribs, with Contribs, returns Saabas contributions (XGBoost's
	// approx_contribs): the change of the expected value along each row's
	// decision path. They also sum to the margin and cost O(trees × depth)
	// per row instead of TreeSHAP's O(trees × leaves × depth²).
	ApproxContribs bool
	// IterationBegin and IterationEnd restrict prediction to the trees of
	// rounds [IterationBegin, IterationEnd); IterationEnd 0 means all rounds.
	IterationBegin, IterationEnd int
}

// Predict scores m. out is row-major with the given shape: [rows] for plain or
// margin predictions of a single-output model, [rows, cols+1] for Contribs.
// Both are copies owned by the caller.
func (b *Booster) Predict(m *DMatrix, opt PredictOptions) (out []float32, shape []uint64, err error) {
	if opt.IterationBegin < 0 || opt.IterationEnd < 0 || (opt.IterationEnd != 0 && opt.IterationEnd <= opt.IterationBegin) {
		return nil, nil, fmt.Errorf("xgb: Booster.Predict: bad iteration range [%d, %d)", opt.IterationBegin, opt.IterationEnd)
	}
	typ := 0
	switch {
	case opt.Contribs && opt.ApproxContribs:
		typ = 3
	case opt.Contribs:
		typ = 2
	case opt.Margin:
		typ = 1
	}
	cfg := C.CString(fmt.Sprintf(`{"type":%d,"training":false,"iteration_begin":%d,"iteration_end":%d,"strict_shape":false}`,
		typ, opt.IterationBegin, opt.IterationEnd))
	defer C.free(unsafe.Pointer(cfg))
	hs, unlock, err := lockMatrices("xgb: Booster.Predict", []*DMatrix{m})
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	err = b.do("Predict", func(h C.BoosterHandle) error {
		var cshape *C.bst_ulong
		var dim C.bst_ulong
		var res *C.float
		err := call("XGBoosterPredictFromDMatrix", func() C.int {
			return C.XGBoosterPredictFromDMatrix(h, hs[0], cfg, &cshape, &dim, &res)
		})
		if err != nil {
			return err
		}
		n := uint64(1)
		shape = make([]uint64, int(dim))
		for i, v := range unsafe.Slice(cshape, int(dim)) {
			shape[i] = uint64(v)
			n *= uint64(v)
		}
		out = make([]float32, n)
		if n > 0 {
			copy(out, unsafe.Slice((*float32)(unsafe.Pointer(res)), n))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, shape, nil
}

// SaveJSON returns the model in XGBoost's JSON format: trees, objective,
// attributes and feature names, but no training-only parameters such as
// nthread. The bytes are a copy owned by the caller.
func (b *Booster) SaveJSON() ([]byte, error) {
	cfg := C.CString(`{"format":"json"}`)
	defer C.free(unsafe.Pointer(cfg))
	var out []byte
	err := b.do("SaveJSON", func(h C.BoosterHandle) error {
		var n C.bst_ulong
		var p *C.char
		err := call("XGBoosterSaveModelToBuffer", func() C.int { return C.XGBoosterSaveModelToBuffer(h, cfg, &n, &p) })
		if err == nil {
			out = make([]byte, int(n))
			copy(out, unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
		}
		return err
	})
	return out, err
}

// NumFeatures is the number of features the model expects (0 before the
// first round of a new booster).
func (b *Booster) NumFeatures() (int, error) {
	var n C.bst_ulong
	err := b.do("NumFeatures", func(h C.BoosterHandle) error {
		return call("XGBoosterGetNumFeature", func() C.int { return C.XGBoosterGetNumFeature(h, &n) })
	})
	return int(n), err
}

// BoostedRounds is the number of boosting rounds in the model.
func (b *Booster) BoostedRounds() (int, error) {
	var n C.int
	err := b.do("BoostedRounds", func(h C.BoosterHandle) error {
		return call("XGBoosterBoostedRounds", func() C.int { return C.XGBoosterBoostedRounds(h, &n) })
	})
	return int(n), err
}

// Attr returns the string attribute key, saved with the model; ok is false if
// it is not set.
func (b *Booster) Attr(key string) (value string, ok bool, err error) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	err = b.do("Attr", func(h C.BoosterHandle) error {
		var out *C.char
		var success C.int
		err := call("XGBoosterGetAttr", func() C.int { return C.XGBoosterGetAttr(h, ck, &out, &success) })
		if err == nil && success != 0 && out != nil {
			value, ok = C.GoString(out), true
		}
		return err
	})
	return value, ok, err
}

// SetAttr sets the string attribute key, which SaveJSON stores with the model.
func (b *Booster) SetAttr(key, value string) error {
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	return b.do("SetAttr", func(h C.BoosterHandle) error {
		return call("XGBoosterSetAttr", func() C.int { return C.XGBoosterSetAttr(h, ck, cv) })
	})
}

// SetFeatureNames names the model's features, in column order, so that the
// saved JSON carries them. Names must be non-empty and distinct; once the
// model knows its number of features, there must be one name per feature.
func (b *Booster) SetFeatureNames(names []string) error {
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" || seen[n] {
			return fmt.Errorf("xgb: Booster.SetFeatureNames: name %d (%q) is empty or repeated", i, n)
		}
		seen[n] = true
	}
	nf, err := b.NumFeatures()
	if err != nil {
		return err
	}
	if nf != 0 && nf != len(names) {
		return fmt.Errorf("xgb: Booster.SetFeatureNames: got %d names for %d features", len(names), nf)
	}
	cf := C.CString("feature_name")
	defer C.free(unsafe.Pointer(cf))
	arr, free := cStrings(names)
	defer free()
	return b.do("SetFeatureNames", func(h C.BoosterHandle) error {
		return call("XGBoosterSetStrFeatureInfo", func() C.int {
			return C.XGBoosterSetStrFeatureInfo(h, cf, arr, C.bst_ulong(len(names)))
		})
	})
}

// FeatureNames returns the names set by SetFeatureNames or loaded with the
// model; nil if there are none.
func (b *Booster) FeatureNames() ([]string, error) {
	cf := C.CString("feature_name")
	defer C.free(unsafe.Pointer(cf))
	var names []string
	err := b.do("FeatureNames", func(h C.BoosterHandle) error {
		var n C.bst_ulong
		var arr **C.char
		err := call("XGBoosterGetStrFeatureInfo", func() C.int { return C.XGBoosterGetStrFeatureInfo(h, cf, &n, &arr) })
		if err == nil {
			names = goStrings(arr, n)
		}
		return err
	})
	return names, err
}
