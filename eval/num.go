package eval

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/churnlab/churn/internal/metrics"
)

// Num is a float64 that marshals to JSON rounded to 6 decimals, with NaN
// and ±Inf (an undefined metric) as null, so reports are stable and valid
// JSON.
type Num float64

// MarshalJSON implements json.Marshaler.
func (x Num) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, metrics.Round(f, 6), 'f', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler: null is NaN.
func (x *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*x = Num(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*x = Num(f)
	return nil
}

// F returns the value as a float64.
func (x Num) F() float64 { return float64(x) }

// Valid reports whether the value is defined (not NaN or infinite).
func (x Num) Valid() bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }

// Interval is a point estimate with its bootstrap confidence interval
// (Lo, Hi: percentiles of the resampled values).
type Interval struct {
	Value Num `json:"value"`
	Lo    Num `json:"lo"`
	Hi    Num `json:"hi"`
}

func nan() Num { return Num(math.NaN()) }
