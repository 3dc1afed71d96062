package train

import (
	"math"
	"slices"
	"sort"

	"github.com/churnlab/churn/features"
)

// Distribution summarises one variable on the training rows, so later data
// can be compared with it (population stability). Numeric variables have
// Edges: the inner boundaries of up to 10 quantile bins, a value v falling
// in bin i when Edges[i-1] <= v < Edges[i]; categorical ones have Levels.
// Shares holds each bin's (or level's) share of rows, then — last — the
// share of missing values.
type Distribution struct {
	Name   string    `json:"name"`
	Edges  []float64 `json:"edges,omitempty"`
	Levels []string  `json:"levels,omitempty"` // the last level is features.OtherLevel
	Shares []float64 `json:"shares"`
}

// Bin returns the bin index of a numeric value (len(Shares)-1 for missing).
func (d *Distribution) Bin(v float64) int {
	if math.IsNaN(v) {
		return len(d.Shares) - 1
	}
	return sort.Search(len(d.Edges), func(i int) bool { return v < d.Edges[i] })
}

// Level returns the bin index of a categorical value.
func (d *Distribution) Level(s string) int {
	if s == "" {
		return len(d.Shares) - 1
	}
	if i := slices.Index(d.Levels, s); i >= 0 {
		return i
	}
	return len(d.Levels) - 1 // other
}

// numericDistribution bins xs at their deciles.
func numericDistribution(name string, xs []float64) Distribution {
	var vals []float64
	missing := 0
	for _, x := range xs {
		if math.IsNaN(x) {
			missing++
		} else {
			vals = append(vals, x)
		}
	}
	slices.Sort(vals)
	d := Distribution{Name: name}
	for q := 1; q < 10 && len(vals) > 0; q++ {
		e := vals[q*len(vals)/10]
		if len(d.Edges) == 0 || e > d.Edges[len(d.Edges)-1] {
			d.Edges = append(d.Edges, e)
		}
	}
	d.Shares = make([]float64, len(d.Edges)+2)
	for _, v := range vals {
		d.Shares[d.Bin(v)]++
	}
	d.Shares[len(d.Shares)-1] = float64(missing)
	normalise(d.Shares, len(xs))
	return d
}

func categoricalDistribution(name string, xs []string) Distribution {
	counts := map[string]int{}
	missing := 0
	for _, s := range xs {
		if s == "" {
			missing++
		} else {
			counts[s]++
		}
	}
	d := Distribution{Name: name}
	for s := range counts {
		d.Levels = append(d.Levels, s)
	}
	slices.SortFunc(d.Levels, func(a, b string) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		if a < b {
			return -1
		}
		return 1
	})
	if len(d.Levels) > 20 {
		d.Levels = d.Levels[:20]
	}
	d.Levels = append(d.Levels, features.OtherLevel)
	d.Shares = make([]float64, len(d.Levels)+1)
	for _, s := range xs {
		d.Shares[d.Level(s)]++
	}
	normalise(d.Shares, len(xs))
	return d
}

func normalise(s []float64, n int) {
	if n == 0 {
		return
	}
	for i := range s {
		s[i] = round6(s[i] / float64(n))
	}
}

// reference summarises every feature over rows of t.
func reference(t *features.Table, rows []int) []Distribution {
	var out []Distribution
	for i, d := range t.Spec.Features {
		if d.Kind == features.Categorical {
			xs := make([]string, len(rows))
			for k, r := range rows {
				xs[k] = t.Cat[i][r]
			}
			out = append(out, categoricalDistribution(d.Name, xs))
			continue
		}
		xs := make([]float64, len(rows))
		for k, r := range rows {
			xs[k] = t.Num[i][r]
		}
		out = append(out, numericDistribution(d.Name, xs))
	}
	return out
}
