//go:build cgo

package train

// Fitting boosters calls XGBoost's C API (internal/xgb), so it needs cgo;
// scoring does not (D13): binaries built with CGO_ENABLED=0 get
// xgboost_nocgo.go instead, which refuses to fit.

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"strconv"

	"github.com/churnlab/churn/internal/xgb"
)

// XGBoostVersion is the version of the XGBoost library churn is linked
// with, as major.minor.patch.
func XGBoostVersion() string {
	a, b, c := xgb.Version()
	return fmt.Sprintf("%d.%d.%d", a, b, c)
}

func xgbParams(p *Params) [][2]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return [][2]string{
		{"objective", "binary:logistic"},
		{"eval_metric", "logloss"},
		{"tree_method", "hist"},
		{"max_depth", strconv.Itoa(p.MaxDepth)},
		{"eta", f(p.Eta)},
		{"min_child_weight", f(*p.MinChildWeight)},
		{"subsample", f(p.Subsample)},
		{"colsample_bytree", f(p.ColsampleByTree)},
		{"lambda", f(*p.Lambda)},
		{"alpha", f(p.Alpha)},
		{"nthread", strconv.Itoa(p.Threads)},
		{"seed", strconv.FormatUint(p.Seed%(1<<31), 10)},
		{"verbosity", "0"},
	}
}

// releaseFloats is the size of a training matrix (in values) from which
// fitXGBoost returns its memory to the operating system once XGBoost has
// copied it: 16M float32s, 64 MB. Below it the forced collection is not
// worth its time.
const releaseFloats = 16 << 20

// fitXGBoost fits a booster on d. It consumes d.train.X: the matrix is
// dropped (set to nil) once XGBoost holds its own copy.
func fitXGBoost(ctx context.Context, d *fitData, p *Params, log func(string, ...any)) (_ fitted, err error) {
	dtrain, err := xgb.NewDMatrix(d.train.X, d.train.N, d.train.P)
	if err != nil {
		return nil, err
	}
	defer dtrain.Close()
	// XGBoost copied the rows into its own pages: let the dense matrix go
	// and hand its memory back now, before boosting allocates XGBoost's
	// buffers. Otherwise Go keeps the pages for reuse and the process holds
	// the rows three times (table, matrix, DMatrix) at its peak.
	d.train.X = nil
	if d.train.N*d.train.P >= releaseFloats {
		debug.FreeOSMemory()
	}
	if err := dtrain.SetLabels(d.y); err != nil {
		return nil, err
	}
	if d.w != nil {
		if err := dtrain.SetWeights(d.w); err != nil {
			return nil, err
		}
	}
	cache := []*xgb.DMatrix{dtrain}
	var dvalid *xgb.DMatrix
	if d.valid != nil {
		if dvalid, err = xgb.NewDMatrix(d.valid.X, d.valid.N, d.valid.P); err != nil {
			return nil, err
		}
		defer dvalid.Close()
		if err := dvalid.SetLabels(d.vy); err != nil {
			return nil, err
		}
		if d.vw != nil {
			if err := dvalid.SetWeights(d.vw); err != nil {
				return nil, err
			}
		}
		cache = append(cache, dvalid)
	}
	b, err := xgb.NewBooster(cache...)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	for _, kv := range xgbParams(p) {
		if err := b.SetParam(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if err := b.SetFeatureNames(d.names); err != nil {
		return nil, err
	}
	best, bestLoss, since := p.Rounds, math.Inf(1), 0
	var curve []float64
	for it := 0; it < p.Rounds; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := b.UpdateOneIter(it, dtrain); err != nil {
			return nil, err
		}
		if dvalid == nil {
			continue
		}
		res, err := b.Eval(it, []*xgb.DMatrix{dvalid}, []string{"valid"})
		if err != nil {
			return nil, err
		}
		loss := res["valid"]["logloss"]
		curve = append(curve, loss)
		if p.EarlyStopping <= 0 {
			continue
		}
		if loss < bestLoss-1e-9 {
			best, bestLoss, since = it+1, loss, 0
		} else if since++; since >= p.EarlyStopping {
			log("early stopping", "round", it+1, "best_round", best, "valid_logloss", bestLoss)
			break
		}
	}
	if err := b.SetAttr("best_iteration", strconv.Itoa(best-1)); err != nil {
		return nil, err
	}
	raw, err := b.SaveJSON()
	if err != nil {
		return nil, err
	}
	b.Close()
	return newXGBModel(raw, best, curve)
}
