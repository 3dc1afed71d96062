//go:build !cgo

package train

import (
	"context"
	"errors"
)

// ErrNoXGBoost is returned for fitting a booster in a binary built without
// cgo (CGO_ENABLED=0): XGBoost's C API is not linked in. Such binaries
// score with the trees of a saved model (D13) but cannot train one.
var ErrNoXGBoost = errors.New("train: this churn was built without cgo (CGO_ENABLED=0), so it cannot fit XGBoost models; it can only score them")

// XGBoostVersion is the version of the XGBoost library churn is linked
// with: none in a binary built without cgo, so "".
func XGBoostVersion() string { return "" }

func fitXGBoost(context.Context, *fitData, *Params, func(string, ...any)) (fitted, error) {
	return nil, ErrNoXGBoost
}
