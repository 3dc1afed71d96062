package features

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/clv"
)

// The lifetime features (p_alive, expected_purchases_<H>d, clv) apply the
// probability models of non-contractual buying (BG/NBD for purchase days,
// Gamma-Gamma for spend; internal/clv, docs/lifetime.md) to one customer's
// calibration summary (RFM). The models' parameters describe the whole
// population, so they are fitted once per as-of date T on every customer's
// summary at T — orders strictly before T only — and recorded in the spec
// (Spec.Lifetime), which a model stores. A feature row stays a pure
// function of the customer's rows, T and the spec.
//
// Which parameters a row as of T uses: those of the latest fit dated on or
// before T (Spec.LifetimeAt). A spec built fresh (Build, BuildTable) is
// fitted at exactly its as-of dates; a spec read from a model (predict, the
// nightly scoring step, BuildAt for evaluations and backtests) is frozen:
// nothing refits on the scored population, so one customer's score never
// depends on the other customers scored with it. At a date earlier than
// every fit the lifetime features are missing (NaN): a later fit would
// carry information from on or after T.

// LifetimeFit holds the population parameters of the probability models as
// of one date, fitted on the RFM summaries of every customer with an order
// before it.
type LifetimeFit struct {
	AsOf string `json:"as_of"` // YYYY-MM-DD
	// Customers counts the customers with an order before AsOf: the
	// population fitted.
	Customers int `json:"customers"`
	// BGNBD is nil when it could not be fitted, GammaGamma when too few
	// repeat buyers with a positive spend allow it; Note says why.
	BGNBD      *BGNBDParams      `json:"bgnbd"`
	GammaGamma *GammaGammaParams `json:"gamma_gamma"`
	Note       string            `json:"note,omitempty"`
}

// BGNBDParams are fitted BG/NBD parameters with their log-likelihood and
// the customers fitted.
type BGNBDParams struct {
	clv.BGNBD
	LogLikelihood float64 `json:"log_likelihood"`
	Customers     int     `json:"customers"`
	Converged     bool    `json:"converged"`
}

// GammaGammaParams are fitted Gamma-Gamma parameters with their
// log-likelihood and the repeat customers fitted.
type GammaGammaParams struct {
	clv.GammaGamma
	LogLikelihood float64 `json:"log_likelihood"`
	Customers     int     `json:"customers"`
	Converged     bool    `json:"converged"`
}

// hasLifetime reports whether the spec holds a lifetime feature.
func (s *Spec) hasLifetime() bool {
	lt := defs(&s.Config)
	for _, d := range s.Features {
		if d.Group == "purchases" && (d.Name == lt[fPAlive].Name || d.Name == lt[fExpectedPurchases].Name || d.Name == lt[fCLV].Name) {
			return true
		}
	}
	return false
}

// LifetimeAt returns the fit a row as of T uses: the latest dated on or
// before T, or nil when there is none (the lifetime features are then
// missing). The spec's fits must be in date order, as FitLifetime leaves
// them.
func (s *Spec) LifetimeAt(T data.Date) (*LifetimeFit, error) {
	dates, err := s.lifetimeDates()
	if err != nil {
		return nil, err
	}
	return s.lifetimeAt(dates, T), nil
}

func (s *Spec) lifetimeAt(dates []data.Date, T data.Date) *LifetimeFit {
	i := sort.Search(len(dates), func(i int) bool { return dates[i] > T })
	if i == 0 {
		return nil
	}
	return &s.Lifetime[i-1]
}

// lifetimeDates parses the dates of the spec's fits and checks their order.
func (s *Spec) lifetimeDates() ([]data.Date, error) {
	dates := make([]data.Date, len(s.Lifetime))
	for i, f := range s.Lifetime {
		d, err := data.ParseDate(f.AsOf)
		if err != nil {
			return nil, fmt.Errorf("feature spec: lifetime fit %d: %w", i, err)
		}
		if i > 0 && d <= dates[i-1] {
			return nil, fmt.Errorf("feature spec: lifetime fits out of date order at %s", f.AsOf)
		}
		dates[i] = d
	}
	return dates, nil
}

// ComputeLifetime sets the lifetime features of out (p_alive,
// expected_purchases_<H>d, clv) for the customer in h as of T under fit
// (nil: none, so they are missing) and cfg.Lifetime; it leaves out's other
// features alone. Only orders strictly before T are read. It is a pure
// function, safe for concurrent use with distinct outputs; a value beyond
// the model's range is an *OverflowError.
//
// The values equal the clv package's PAlive, ExpectedPurchases and CLV on
// the customer's RFM summary to within rounding (1e-12 relative): BG/NBD's
// conditional expectation is P(alive | x, tₓ, T) times a factor of the
// repeat purchase days x and the age T alone (Fader, Hardie and Lee 2005,
// eq. 10), and the CLV is that expectation's discounted increments times
// the expected spend. The factors, a dozen hypergeometric series, are
// computed once per (x, T) from a canonical summary and kept in out, keyed
// by the fit's pointer: a fit must not be changed while a Values that has
// seen it is in use.
func ComputeLifetime(h *data.History, T data.Date, fit *LifetimeFit, cfg *Config, out *Values) error {
	x := &out.Num
	x[fPAlive], x[fExpectedPurchases], x[fCLV] = nan, nan, nan
	s, ok := RFM(h.Orders, T)
	if !ok || fit == nil || fit.BGNBD == nil {
		return nil
	}
	lt := &cfg.Lifetime
	bg := fit.BGNBD.BGNBD
	c := &out.life
	if set := (lifeSettings{lt.HorizonDays, lt.CLVMonths, lt.Discount()}); c.m == nil || c.set != set || len(c.m) >= maxLife {
		c.set, c.m = set, make(map[lifeKey]lifeFactors, 1024)
	}
	// x is a count of days and T a number of days over 7: both exact as
	// integers, a small key.
	key := lifeKey{fit: fit, x: int32(s.Frequency), days: int32(math.Round(s.T * 7))}
	f, ok := c.m[key]
	if !ok {
		f = lifeFactorsOf(fit, s.Frequency, s.T, lt)
		c.m[key] = f
	}
	pa := bg.PAlive(s)
	x[fPAlive] = pa
	x[fExpectedPurchases] = f.purchases * pa
	if fit.GammaGamma != nil {
		// A spend model without a finite mean (p·x + q ≤ 1) says nothing
		// of the value: missing, not an overflow of the data.
		gg := fit.GammaGamma.GammaGamma
		switch sp := gg.ExpectedSpend(s); {
		case math.IsInf(sp, 0) || math.IsNaN(sp):
		case f.clvOK:
			x[fCLV] = f.clv * pa * sp
		default:
			x[fCLV] = clv.CLV(bg, gg, s, lt.clvOptions())
		}
	}
	for _, id := range []int{fPAlive, fExpectedPurchases, fCLV} {
		if overflows(x[id]) {
			return &OverflowError{Customer: h.Customer.ID, AsOf: T, Feature: defs(cfg)[id].Name, Value: x[id], Columns: []string{"orders.ts", "orders.amount"}}
		}
	}
	return nil
}

// lifeCache holds the factors of one set of lifetime settings.
type lifeCache struct {
	set lifeSettings
	m   map[lifeKey]lifeFactors
}

type lifeSettings struct {
	horizon, months int
	discount        float64
}

// lifeKey identifies the factors shared by the customers with x repeat
// purchase days and an age of days days under one fit.
type lifeKey struct {
	fit     *LifetimeFit
	x, days int32
}

// lifeFactors are E[Y(horizon)] and CLV / E[M] per unit of P(alive).
type lifeFactors struct {
	purchases, clv float64
	clvOK          bool // clv is usable (else CLV is computed directly)
}

// maxLife bounds the entries of Values.life: (repeat purchase days, age)
// pairs per fit, some 15,000 per date for a million customers over two
// years, so a nightly table's dates fit.
const maxLife = 1 << 18

// lifeFactorsOf computes the factors from the canonical summary of
// (x, T): the last purchase on T's eve, so that P(alive) is (b+x−1)/(a+b+x−1)
// for x > 0 (1 for x = 0), never vanishing, and a mean spend of 1.
func lifeFactorsOf(fit *LifetimeFit, x, T float64, lt *LifetimeConfig) lifeFactors {
	bg := fit.BGNBD.BGNBD
	s0 := clv.Summary{Frequency: x, Recency: T, T: T, Monetary: 1}
	if x == 0 {
		s0.Recency, s0.Monetary = 0, 0
	}
	pa := bg.PAlive(s0)
	f := lifeFactors{purchases: bg.ExpectedPurchases(lt.horizonWeeks(), s0) / pa}
	if fit.GammaGamma != nil {
		gg := fit.GammaGamma.GammaGamma
		if sp := gg.ExpectedSpend(s0); sp > 0 && !math.IsInf(sp, 0) && pa > 0 {
			f.clv = clv.CLV(bg, gg, s0, lt.clvOptions()) / (sp * pa)
			f.clvOK = finite(f.clv)
		}
	}
	return f
}

// FitLifetime fits the probability models at each date (duplicates count
// once) on the RFM summaries of every customer of ds with an order before
// it, in one scan of the orders table (its ts and amount columns), and
// returns the fits in date order. A model that cannot be fitted at a date
// (no orders yet, too few repeat buyers, no convergence) is nil there with
// a note; only I/O errors and cancellation fail. workers bounds the
// parallel scans and fits (0 means GOMAXPROCS); the fits do not depend on
// it.
func FitLifetime(ctx context.Context, ds *data.Dataset, dates []data.Date, workers int) ([]LifetimeFit, error) {
	dates = slices.Clone(dates)
	slices.Sort(dates)
	dates = slices.Compact(dates)
	if len(dates) == 0 || ds.Table(data.Orders) == nil {
		return nil, nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// The summaries of every date at once take 32 bytes per customer and
	// date; the dates are scanned in groups that fit lifetimeScanBytes
	// (one scan of the orders table per group: one for most datasets).
	return fitLifetimeGroups(ctx, ds, dates, workers, max(1, int(lifetimeScanBytes/(32*max(1, ds.Table(data.Customers).NumRows())))))
}

// lifetimeScanBytes bounds the memory of the summaries FitLifetime holds.
const lifetimeScanBytes = 256 << 20

// fitLifetimeGroups is FitLifetime scanning perScan dates at a time.
func fitLifetimeGroups(ctx context.Context, ds *data.Dataset, dates []data.Date, workers, perScan int) ([]LifetimeFit, error) {
	fits := make([]LifetimeFit, len(dates))
	for lo := 0; lo < len(dates); lo += perScan {
		group := dates[lo:min(lo+perScan, len(dates))]
		sums, err := lifetimeSummaries(ctx, ds, group, workers)
		if err != nil {
			return nil, err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(workers)
		for k, T := range group {
			g.Go(func() error {
				f, err := fitLifetime(gctx, T, sums[k])
				fits[lo+k] = f
				sums[k] = nil
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	return fits, nil
}

// lifetimeSummaries returns, per date, the RFM summaries of the dataset's
// customers with an order before it, in customer_id order.
func lifetimeSummaries(ctx context.Context, ds *data.Dataset, dates []data.Date, workers int) ([][]clv.Summary, error) {
	shards := ds.Shards(workers * 4)
	per := make([][][]clv.Summary, len(shards))
	opt := data.ScanOptions{
		Tables:  []string{data.Orders},
		Columns: map[string][]string{data.Customers: {}, data.Orders: {"ts", "amount"}},
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, r := range shards {
		g.Go(func() error {
			out := make([][]clv.Summary, len(dates))
			_, err := ds.Scan(gctx, r, opt, func(h *data.History) error {
				for k, T := range dates {
					if s, ok := RFM(h.Orders, T); ok {
						out[k] = append(out[k], s)
					}
				}
				return nil
			})
			per[i] = out
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sums := make([][]clv.Summary, len(dates))
	for k := range dates {
		n := 0
		for _, p := range per {
			n += len(p[k])
		}
		sums[k] = make([]clv.Summary, 0, n)
		for _, p := range per {
			sums[k] = append(sums[k], p[k]...)
			p[k] = nil // held once, not twice
		}
	}
	return sums, nil
}

// fitLifetime fits BG/NBD and Gamma-Gamma to the summaries as of T. A
// model that cannot be fitted is left nil with a note; only cancellation
// is an error.
func fitLifetime(ctx context.Context, T data.Date, s []clv.Summary) (LifetimeFit, error) {
	f := LifetimeFit{AsOf: T.String(), Customers: len(s)}
	if len(s) == 0 {
		f.Note = "no customer has an order before the as-of date"
		return f, nil
	}
	var notes []string
	bg, err := clv.FitBGNBD(ctx, s, nil)
	switch {
	case ctx.Err() != nil:
		return f, ctx.Err()
	case err != nil:
		notes = append(notes, "BG/NBD: "+err.Error())
	case !finite(bg.R, bg.Alpha, bg.A, bg.B, bg.LogLikelihood):
		notes = append(notes, "BG/NBD: the fit gave non-finite parameters")
	default:
		f.BGNBD = &BGNBDParams{BGNBD: bg.BGNBD, LogLikelihood: bg.LogLikelihood, Customers: bg.Customers, Converged: bg.Converged}
		if !bg.Converged {
			notes = append(notes, "BG/NBD: the optimizer stopped before converging")
		}
	}
	gg, err := clv.FitGammaGamma(ctx, s, nil)
	switch {
	case ctx.Err() != nil:
		return f, ctx.Err()
	case err != nil:
		notes = append(notes, "Gamma-Gamma: "+err.Error())
	case !finite(gg.P, gg.Q, gg.Gamma, gg.LogLikelihood):
		notes = append(notes, "Gamma-Gamma: the fit gave non-finite parameters")
	default:
		f.GammaGamma = &GammaGammaParams{GammaGamma: gg.GammaGamma, LogLikelihood: gg.LogLikelihood, Customers: gg.Customers, Converged: gg.Converged}
		if !gg.Converged {
			notes = append(notes, "Gamma-Gamma: the optimizer stopped before converging")
		}
	}
	if len(notes) > 0 {
		f.Note = strings.Join(notes, "; ")
	}
	return f, nil
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
