package xgb

/*
#include <stdlib.h>
#include <xgboost/c_api.h>
*/
import "C"

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// DMatrix is XGBoost's in-memory data matrix: features plus labels and
// weights. It owns a C handle; Close frees it.
//
// A DMatrix is safe for concurrent use. Calls that use it, a Booster's
// included, take turns: XGBoost builds some of a matrix's indexes (such as the
// histogram index of tree_method "hist") lazily on first use, without locking.
// Close waits for the call under way.
type DMatrix struct {
	mu         sync.Mutex
	id         uint64          // orders locking of several matrices
	h          C.DMatrixHandle // nil after Close
	rows, cols int
	cleanup    runtime.Cleanup
}

var lastMatrixID atomic.Uint64

// NewDMatrix copies a dense row-major matrix of rows×cols values into a new
// DMatrix. NaN marks a missing value; ±Inf is rejected (XGBoost would reject
// it too, without saying where). data is only read, and not retained.
func NewDMatrix(data []float32, rows, cols int) (*DMatrix, error) {
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("xgb: NewDMatrix: need rows > 0 and cols > 0, got %d×%d", rows, cols)
	}
	if rows > math.MaxInt/cols || len(data) != rows*cols {
		return nil, fmt.Errorf("xgb: NewDMatrix: len(data) = %d, want rows×cols = %d×%d", len(data), rows, cols)
	}
	for i, v := range data {
		if math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("xgb: NewDMatrix: value at row %d, column %d is %v; use NaN for missing", i/cols, i%cols, v)
		}
	}
	var h C.DMatrixHandle
	// XGDMatrixCreateFromMat reads data during the call and copies it into
	// XGBoost's own sparse pages; a Go pointer to pointer-free memory may be
	// passed for the duration of a call. (XGDMatrixCreateFromDense would need
	// the address hidden in a JSON string and makes the same single copy.)
	err := call("XGDMatrixCreateFromMat", func() C.int {
		return C.XGDMatrixCreateFromMat((*C.float)(unsafe.Pointer(&data[0])),
			C.bst_ulong(rows), C.bst_ulong(cols), C.float(math.NaN()), &h)
	})
	if err != nil {
		return nil, err
	}
	m := &DMatrix{id: lastMatrixID.Add(1), h: h, rows: rows, cols: cols}
	m.cleanup = runtime.AddCleanup(m, func(h C.DMatrixHandle) { C.XGDMatrixFree(h) }, h)
	return m, nil
}

// NumRows is the number of rows. It stays valid after Close.
func (m *DMatrix) NumRows() int { return m.rows }

// NumCols is the number of columns (features). It stays valid after Close.
func (m *DMatrix) NumCols() int { return m.cols }

// SetLabels sets one label per row; y is copied. Labels must be finite
// (XGBoost itself would train on NaN labels with some objectives); the
// objective checks its own range, e.g. [0, 1] for binary:logistic, when
// training starts.
func (m *DMatrix) SetLabels(y []float32) error {
	if err := m.checkInfo("SetLabels", y, false); err != nil {
		return err
	}
	return m.setFloatInfo("label", y)
}

// SetWeights sets one weight per row; w is copied. Weights must be finite and
// non-negative.
func (m *DMatrix) SetWeights(w []float32) error {
	if err := m.checkInfo("SetWeights", w, true); err != nil {
		return err
	}
	return m.setFloatInfo("weight", w)
}

func (m *DMatrix) checkInfo(op string, v []float32, nonNegative bool) error {
	if len(v) != m.rows {
		return fmt.Errorf("xgb: %s: got %d values for %d rows", op, len(v), m.rows)
	}
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("xgb: %s: value at row %d is %v, want a finite number", op, i, x)
		}
		if nonNegative && f < 0 {
			return fmt.Errorf("xgb: %s: value at row %d is %v, want ≥ 0", op, i, x)
		}
	}
	return nil
}

func (m *DMatrix) setFloatInfo(field string, v []float32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return closedErr("xgb: DMatrix.Set " + field)
	}
	cf := C.CString(field)
	defer C.free(unsafe.Pointer(cf))
	return call("XGDMatrixSetFloatInfo", func() C.int {
		return C.XGDMatrixSetFloatInfo(m.h, cf, (*C.float)(unsafe.Pointer(&v[0])), C.bst_ulong(len(v)))
	})
}

// Close frees the C matrix. It is idempotent. Boosters that were trained on
// the matrix stay valid.
func (m *DMatrix) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil
	}
	m.cleanup.Stop()
	h := m.h
	m.h = nil
	return call("XGDMatrixFree", func() C.int { return C.XGDMatrixFree(h) })
}

// lockMatrices locks each distinct matrix of ms, in id order so that
// concurrent callers cannot deadlock, and returns their handles in the order
// of ms. unlock must be called when the handles are no longer used.
func lockMatrices(op string, ms []*DMatrix) (hs []C.DMatrixHandle, unlock func(), err error) {
	distinct := make([]*DMatrix, 0, len(ms))
	for i, m := range ms {
		if m == nil {
			return nil, nil, fmt.Errorf("%s: matrix %d is nil", op, i)
		}
		if !slices.Contains(distinct, m) {
			distinct = append(distinct, m)
		}
	}
	slices.SortFunc(distinct, func(a, b *DMatrix) int { return cmp.Compare(a.id, b.id) })
	for _, m := range distinct {
		m.mu.Lock()
	}
	unlock = func() {
		for _, m := range distinct {
			m.mu.Unlock()
		}
	}
	hs = make([]C.DMatrixHandle, len(ms))
	for i, m := range ms {
		if m.h == nil {
			unlock()
			return nil, nil, closedErr(fmt.Sprintf("%s: matrix %d", op, i))
		}
		hs[i] = m.h
	}
	return hs, unlock, nil
}
