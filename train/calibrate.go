package train

import (
	"fmt"
	"math"
	"sort"

	"github.com/churnlab/churn/internal/metrics"
)

// Calibration methods.
const (
	CalibrationNone     = "none"
	CalibrationPlatt    = "platt"
	CalibrationIsotonic = "isotonic"
)

// Calibrator maps a model's margin (logit) to a calibrated probability. It
// is fitted on held-out rows and stored in the model artifact.
type Calibrator struct {
	Method string `json:"method"`
	// Platt scaling: p = sigmoid(A·margin + B).
	A float64 `json:"a,omitempty"`
	B float64 `json:"b,omitempty"`
	// Isotonic regression: a non-decreasing step function of the margin,
	// interpolated linearly between the ends of its steps and flat outside
	// them. X is increasing; Y holds the probabilities at X.
	X []float64 `json:"x,omitempty"`
	Y []float64 `json:"y,omitempty"`
}

// Apply returns the calibrated probability for a margin.
func (c *Calibrator) Apply(margin float64) float64 {
	switch c.Method {
	case CalibrationPlatt:
		return metrics.Sigmoid(c.A*margin + c.B)
	case CalibrationIsotonic:
		n := len(c.X)
		if n == 0 {
			return metrics.Sigmoid(margin)
		}
		if margin <= c.X[0] {
			return c.Y[0]
		}
		if margin >= c.X[n-1] {
			return c.Y[n-1]
		}
		i := sort.SearchFloat64s(c.X, margin) // c.X[i-1] < margin <= c.X[i]
		x0, x1, y0, y1 := c.X[i-1], c.X[i], c.Y[i-1], c.Y[i]
		if x1 == x0 {
			return y1
		}
		return y0 + (y1-y0)*(margin-x0)/(x1-x0)
	}
	return metrics.Sigmoid(margin)
}

// Validate checks a loaded calibrator.
func (c *Calibrator) Validate() error {
	switch c.Method {
	case CalibrationNone, CalibrationPlatt:
		if math.IsNaN(c.A) || math.IsNaN(c.B) || math.IsInf(c.A, 0) || math.IsInf(c.B, 0) {
			return fmt.Errorf("calibrator: invalid Platt parameters")
		}
	case CalibrationIsotonic:
		if len(c.X) == 0 || len(c.X) != len(c.Y) {
			return fmt.Errorf("calibrator: isotonic table has %d thresholds and %d values", len(c.X), len(c.Y))
		}
		for i := range c.X {
			if i > 0 && (c.X[i] < c.X[i-1] || c.Y[i] < c.Y[i-1]) {
				return fmt.Errorf("calibrator: isotonic table is not increasing at %d", i)
			}
			if c.Y[i] < 0 || c.Y[i] > 1 {
				return fmt.Errorf("calibrator: probability %v out of [0, 1]", c.Y[i])
			}
		}
	default:
		return fmt.Errorf("calibrator: unknown method %q", c.Method)
	}
	return nil
}

// FitPlatt fits Platt scaling by Newton's method on the log loss, using
// Platt's smoothed targets to avoid overconfidence on small samples.
func FitPlatt(margins, y, w []float64) Calibrator {
	var pos, neg float64
	for i := range y {
		if y[i] == 1 {
			pos += wt(w, i)
		} else {
			neg += wt(w, i)
		}
	}
	hi, lo := (pos+1)/(pos+2), 1/(neg+2)
	a, b := 1.0, 0.0
	for iter := 0; iter < 100; iter++ {
		var g0, g1, h00, h01, h11 float64
		for i, m := range margins {
			t := lo
			if y[i] == 1 {
				t = hi
			}
			p := metrics.Sigmoid(a*m + b)
			d := (p - t) * wt(w, i)
			s := p * (1 - p) * wt(w, i)
			g0 += d * m
			g1 += d
			h00 += s * m * m
			h01 += s * m
			h11 += s
		}
		h00 += 1e-12
		h11 += 1e-12
		det := h00*h11 - h01*h01
		if det == 0 {
			break
		}
		da := (h11*g0 - h01*g1) / det
		db := (h00*g1 - h01*g0) / det
		a -= da
		b -= db
		if math.Abs(da) < 1e-10 && math.Abs(db) < 1e-10 {
			break
		}
	}
	return Calibrator{Method: CalibrationPlatt, A: a, B: b}
}

func wt(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// FitIsotonic fits isotonic regression of y on the margin by pooling
// adjacent violators.
func FitIsotonic(margins, y, w []float64) Calibrator {
	idx := make([]int, len(margins))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return margins[idx[a]] < margins[idx[b]] })
	type block struct{ lo, hi, sum, w float64 }
	var bs []block
	for k := 0; k < len(idx); {
		// Equal margins form one block from the start.
		j := k
		b := block{lo: margins[idx[k]], hi: margins[idx[k]]}
		for j < len(idx) && margins[idx[j]] == margins[idx[k]] {
			i := idx[j]
			b.sum += wt(w, i) * y[i]
			b.w += wt(w, i)
			j++
		}
		k = j
		bs = append(bs, b)
		for len(bs) > 1 {
			p, q := bs[len(bs)-2], bs[len(bs)-1]
			if p.sum/p.w <= q.sum/q.w {
				break
			}
			bs = bs[:len(bs)-2]
			bs = append(bs, block{lo: p.lo, hi: q.hi, sum: p.sum + q.sum, w: p.w + q.w})
		}
	}
	c := Calibrator{Method: CalibrationIsotonic}
	for _, b := range bs {
		v := b.sum / b.w
		c.X = append(c.X, b.lo)
		c.Y = append(c.Y, v)
		if b.hi > b.lo {
			c.X = append(c.X, b.hi)
			c.Y = append(c.Y, v)
		}
	}
	return c
}

// CalibrationChoice records how a calibrator was chosen: the cross-fitted
// validation log loss of each candidate.
type CalibrationChoice struct {
	Method  string             `json:"method"`
	LogLoss map[string]float64 `json:"log_loss"`
}

// ChooseCalibrator picks the calibration (none, Platt or isotonic) with the
// lowest log loss on held-out rows and refits it on all of them. To keep
// the choice honest, each candidate is scored by two-fold cross-fitting on
// the held-out rows (fit on even rows, score odd rows, and the reverse).
func ChooseCalibrator(margins, y, w []float64) (Calibrator, CalibrationChoice) {
	fits := map[string]func(m, y, w []float64) Calibrator{
		CalibrationNone:     func(_, _, _ []float64) Calibrator { return Calibrator{Method: CalibrationNone} },
		CalibrationPlatt:    FitPlatt,
		CalibrationIsotonic: FitIsotonic,
	}
	split := func(k int) (m, yy, ww []float64) {
		for i := range margins {
			if i%2 == k {
				m = append(m, margins[i])
				yy = append(yy, y[i])
				if w != nil {
					ww = append(ww, w[i])
				}
			}
		}
		return
	}
	choice := CalibrationChoice{LogLoss: map[string]float64{}}
	best := ""
	for _, name := range []string{CalibrationNone, CalibrationPlatt, CalibrationIsotonic} {
		var loss, n float64
		for k := 0; k < 2; k++ {
			fm, fy, fw := split(k)
			em, ey, ew := split(1 - k)
			if len(em) == 0 || len(fm) == 0 {
				continue
			}
			c := fits[name](fm, fy, fw)
			p := make([]float64, len(em))
			for i, m := range em {
				p[i] = c.Apply(m)
			}
			loss += metrics.LogLoss(p, ey, ew) * float64(len(em))
			n += float64(len(em))
		}
		if n == 0 {
			continue
		}
		choice.LogLoss[name] = loss / n
		if best == "" || choice.LogLoss[name] < choice.LogLoss[best]-1e-12 {
			best = name
		}
	}
	if best == "" {
		best = CalibrationNone
	}
	choice.Method = best
	return fits[best](margins, y, w), choice
}
