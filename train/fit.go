package train

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
)

// Errors from Fit about its input.
var (
	ErrNoLabels = errors.New("no labelled rows")
	ErrOneClass = errors.New("labels have one class only")
)

// ScoreName names the score's distribution in Manifest.Reference.
const ScoreName = "churn_probability"

// SearchTrial is one hyperparameter setting tried by the search.
type SearchTrial struct {
	Trial   int     `json:"trial"`
	Params  Params  `json:"params"`
	Rounds  int     `json:"rounds,omitempty"`
	LogLoss float64 `json:"valid_log_loss"` // uncalibrated
	AUC     float64 `json:"valid_auc"`
	Chosen  bool    `json:"chosen,omitempty"`
}

// plan is how rows are split for validation.
type plan struct {
	method    string
	train     []int // oot: training rows
	valid     []int // oot: validation rows
	validAsOf []string
	folds     [][]int // kfold: the rows of each fold
	all       []int   // every labelled row
	purged    int     // oot: rows before the cutoff whose label window reaches it
}

// FitOptions are the inputs of Fit that are not hyperparameters.
type FitOptions struct {
	// Logger receives progress (nil: discarded).
	Logger *slog.Logger
	// ChurnVersion is recorded in the model's manifest (and so in its
	// digest); "" records "dev".
	ChurnVersion string
	// Holdout, when set, keeps its held-out customers out of the fit (and
	// of the training keys), for an evaluation on customers no model with
	// the same holdout has seen. Nil fits every labelled row.
	Holdout *features.Holdout
	// Rows, when not nil, restricts the fit to these rows of t (indexes,
	// ascending): the others are ignored as if absent, so a caller fits a
	// subset without copying the table. The training summary counts the
	// rows given.
	Rows []int
}

// Fit trains a model on the labelled rows of t (rows whose label is null
// are skipped: their outcome is not yet known).
func Fit(ctx context.Context, t *features.Table, p Params, opt FitOptions) (*Model, error) {
	log, churnVersion := orDefaults(opt.Logger, opt.ChurnVersion)
	p.EnsureDefaults()
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("invalid parameters: %w", err)
	}
	var labelled []int
	pos, heldOut, considered := 0, 0, t.Len()
	if opt.Rows != nil {
		considered = len(opt.Rows)
	}
	for k := range considered {
		i := k
		if opt.Rows != nil {
			i = opt.Rows[k]
		}
		y := t.Label[i]
		if opt.Holdout != nil && opt.Holdout.HeldOut(t.IDs[i]) {
			heldOut++
			continue
		}
		if math.IsNaN(y) {
			continue
		}
		labelled = append(labelled, i)
		if y == 1 {
			pos++
		}
	}
	switch {
	case len(labelled) == 0:
		return nil, fmt.Errorf("%w: every label is null (the label windows are not yet observed; use earlier as-of dates or a shorter horizon)", ErrNoLabels)
	case pos == 0 || pos == len(labelled):
		return nil, fmt.Errorf("%w: all %d labelled rows are %v", ErrOneClass, len(labelled), t.Label[labelled[0]])
	}
	if p.PositiveWeight.Auto() {
		// The learner sees the rows as they are (see labelsWeights): the
		// classes it balances are those of the rows.
		p.PositiveWeight = ClassWeight(float64(len(labelled)-pos) / float64(pos))
	}
	pl, err := makePlan(t, labelled, &p)
	if err != nil {
		return nil, err
	}
	if pl.method == ValidationNone {
		p.Calibration = CalibrationNone // Validate allows auto or none
	}
	enc := features.FitEncoder(t, pl.trainRows(), features.EncoderOptions{})
	finalEnc := enc
	if pl.method == ValidationOOT {
		// The final model is fitted on every labelled row: its encoder
		// knows the levels of the latest snapshots too.
		finalEnc = features.FitEncoder(t, pl.all, features.EncoderOptions{})
	}
	log.Info("training", "algo", p.Algo, "rows", len(labelled), "positives", pos, "columns", len(enc.Columns), "validation", pl.method)

	// Search: the given setting first, then random ones around it.
	trials := []Params{p}
	r := rand.New(rand.NewPCG(p.Seed, 0x5eed))
	for k := 0; k < p.SearchBudget; k++ {
		trials = append(trials, perturb(p, r))
	}
	var log1 []SearchTrial
	best := -1
	var bestEval *evaluation
	for k, tp := range trials {
		ev, err := evaluate(ctx, t, enc, pl, &tp, log)
		if err != nil {
			return nil, err
		}
		trial := SearchTrial{Trial: k, Params: tp, Rounds: ev.rounds, LogLoss: round6(ev.rawLogLoss), AUC: round6(ev.auc)}
		log1 = append(log1, trial)
		if best < 0 || ev.rawLogLoss < bestEval.rawLogLoss-1e-12 {
			if bestEval != nil {
				bestEval.release()
			}
			best, bestEval = k, ev
		} else {
			ev.release()
		}
		if len(trials) > 1 {
			log.Info("search trial", "trial", k, "valid_log_loss", trial.LogLoss, "valid_auc", trial.AUC)
		}
	}
	p = trials[best]
	if len(trials) > 1 {
		log1[best].Chosen = true
	}
	ev := bestEval

	// Calibrate on held-out margins.
	cal, choice := calibrate(p.Calibration, ev.margins, ev.labels, ev.weights)
	probs := make([]float64, len(ev.margins))
	for i, m := range ev.margins {
		probs[i] = cal.Apply(m)
	}
	val := Validation{
		Method: pl.method, ValidAsOf: pl.validAsOf, TrainRows: len(pl.trainRows()), ValidRows: len(ev.margins), PurgedRows: pl.purged, Folds: len(pl.folds),
		AUC: round6(metrics.AUC(probs, ev.labels, ev.weights)), PRAUC: round6(metrics.AveragePrecision(probs, ev.labels, ev.weights)),
		LogLoss: round6(metrics.LogLoss(probs, ev.labels, ev.weights)), Brier: round6(metrics.Brier(probs, ev.labels, ev.weights)),
		BaseRate: round6(metrics.BaseRate(ev.labels, ev.weights)),
	}
	if len(ev.foldAUC) > 0 {
		for _, a := range ev.foldAUC {
			val.FoldAUC = append(val.FoldAUC, round6(a))
		}
		val.AUC = round6(metrics.Mean(ev.foldAUC))
		val.AUCStd = round6(metrics.StdDev(ev.foldAUC))
	}

	// The final learner is refitted on every labelled row with the
	// validated number of rounds (as k-fold always did): out-of-time
	// validation leaves the latest snapshots and the rows whose label
	// window reaches them out of the validated model, and a model fitted
	// without its most recent rows would be the wrong one to deploy. The
	// calibrator, fitted on the validated model's held-out margins, is
	// kept.
	ev.release()
	q := p
	if ev.rounds > 0 {
		q.Rounds = ev.rounds
	}
	q.EarlyStopping = -1
	d := buildFit(t, finalEnc, pl.all, nil, &q)
	final, err := fitLearner(ctx, d, &q, logf(log))
	if err != nil {
		return nil, err
	}
	enc = finalEnc
	mf := newManifest(p, churnVersion)
	mf.Spec, mf.Encoder, mf.Calibrator, mf.Calibration = t.Spec, enc, cal, choice
	mf.Validation, mf.Search = val, log1
	mf.Rounds = final.rounds()
	mf.InputStamp = t.Spec.Input
	mf.Importance = importance(t.Spec, enc, final.gain(len(enc.Columns)))
	mf.Training = summary(t, pl.all)
	mf.TrainingKeys = NewKeySketch(len(pl.all), KeySketchFPRate)
	for _, i := range pl.all {
		mf.TrainingKeys.Add(t.IDs[i], t.AsOf[i])
	}
	if heldOut > 0 {
		mf.Training.LeftOut = append(mf.Training.LeftOut, LeftOut{Rows: heldOut,
			Reason: fmt.Sprintf("held out for evaluation: %.0f%% of customers by a hash of customer_id with seed %d", 100*opt.Holdout.Share, opt.Holdout.Seed)})
	}
	if n := considered - heldOut - len(pl.all); n > 0 {
		mf.Training.LeftOut = append(mf.Training.LeftOut, LeftOut{Rows: n,
			Reason: "label unknown: the label window is not observed by the data end (censored), or the customer churned during the gap"})
	}
	mf.Reference = reference(t, pl.all)
	if len(probs) > 0 { // validation none has no held-out scores
		mf.Reference = append(mf.Reference, numericDistribution(ScoreName, probs, ev.weights))
	}
	m := &Model{Manifest: mf, learner: final}
	switch fm := final.(type) {
	case *xgbModel:
		m.booster = fm.raw
	case *logregModel:
		mf := fm.m
		m.Manifest.LogReg = mf
	}
	return m, nil
}

// orDefaults returns the logger and churn version of a fit: log, or one
// that discards; version, or "dev".
func orDefaults(log *slog.Logger, version string) (*slog.Logger, string) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if version == "" {
		version = "dev"
	}
	return log, version
}

func logf(log *slog.Logger) func(string, ...any) { return log.Debug }

func summary(t *features.Table, rows []int) TrainingSummary {
	s := TrainingSummary{Rows: len(rows)}
	seen := map[data.Date]bool{}
	for _, i := range rows {
		if t.Label[i] == 1 {
			s.Positives++
		}
		if d := t.AsOf[i]; d != data.NoDate && !seen[d] {
			seen[d] = true
		}
	}
	var ds []data.Date
	for d := range seen {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	for _, d := range ds {
		s.AsOf = append(s.AsOf, d.String())
	}
	return s
}

func (pl *plan) trainRows() []int {
	if pl.method == ValidationOOT {
		return pl.train
	}
	return pl.all
}

// makePlan decides the validation split. Out of time: the latest as-of
// dates holding at least ValidShare of the labelled rows validate; training
// rows are those whose label window ended before the first validation date
// (features.LabelSpec.ClosedBefore), so no training label looks at it or
// past it. K-fold: customers are assigned to folds
// by a seeded hash of their id, so a customer's snapshots stay together.
func makePlan(t *features.Table, labelled []int, p *Params) (*plan, error) {
	pl := &plan{all: labelled}
	dates := map[data.Date]int{}
	for _, i := range labelled {
		dates[t.AsOf[i]]++
	}
	method := p.Validation
	if method == ValidationAuto {
		method = ValidationKFold
		if len(dates) >= 2 {
			if _, ok := dates[data.NoDate]; !ok {
				method = ValidationOOT
			}
		}
	}
	pl.method = method
	if method == ValidationNone {
		return pl, nil
	}
	if method == ValidationOOT {
		if len(dates) < 2 {
			return nil, errors.New("out-of-time validation needs labelled rows at two or more as-of dates (build the table with --snapshots)")
		}
		var ds []data.Date
		for d := range dates {
			ds = append(ds, d)
		}
		slices.Sort(ds)
		need := int(math.Ceil(p.ValidShare * float64(len(labelled))))
		k, got := len(ds)-1, 0
		for ; k > 0; k-- {
			got += dates[ds[k]]
			if got >= need {
				break
			}
		}
		cutoff := ds[k]
		ls := t.Spec.Label
		for _, d := range ds[k:] {
			pl.validAsOf = append(pl.validAsOf, d.String())
		}
		for _, i := range labelled {
			switch d := t.AsOf[i]; {
			case d >= cutoff:
				pl.valid = append(pl.valid, i)
			case ls.ClosedBefore(d, cutoff):
				pl.train = append(pl.train, i)
			default:
				pl.purged++
			}
		}
		if len(pl.train) == 0 {
			return nil, fmt.Errorf("out-of-time validation from %s leaves no training rows whose %d-day label window ends before then; add earlier snapshots", cutoff, ls.GapDays+ls.HorizonDay)
		}
		if err := twoClasses(t, pl.train, "training"); err != nil {
			return nil, err
		}
		if err := twoClasses(t, pl.valid, "validation"); err != nil {
			return nil, err
		}
		return pl, nil
	}
	k := p.Folds
	if len(labelled) < 2*k {
		return nil, fmt.Errorf("%d labelled rows are too few for %d-fold validation", len(labelled), k)
	}
	pl.folds = make([][]int, k)
	for _, i := range labelled {
		f := foldOf(t.IDs[i], p.Seed, k)
		pl.folds[f] = append(pl.folds[f], i)
	}
	for f := range pl.folds {
		if err := twoClasses(t, pl.folds[f], fmt.Sprintf("fold %d", f+1)); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

func twoClasses(t *features.Table, rows []int, what string) error {
	pos := 0
	for _, i := range rows {
		if t.Label[i] == 1 {
			pos++
		}
	}
	if pos == 0 || pos == len(rows) {
		return fmt.Errorf("%w in the %s rows (%d rows, %d churned)", ErrOneClass, what, len(rows), pos)
	}
	return nil
}

func foldOf(id string, seed uint64, k int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64() ^ (seed * 0x9e3779b97f4a7c15)
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return int(x % uint64(k))
}

// buildFit makes a learner's input from rows of t; valid rows are optional.
func buildFit(t *features.Table, enc *features.Encoder, rows, valid []int, p *Params) *fitData {
	X, n := enc.Matrix(t, rows)
	d := &fitData{train: matrix{X: X, N: n, P: len(enc.Columns)}, names: enc.Names()}
	d.y, d.w = labelsWeights(t, rows, float64(p.PositiveWeight))
	if valid != nil {
		vX, vn := enc.Matrix(t, valid)
		d.valid = &matrix{X: vX, N: vn, P: len(enc.Columns)}
		d.vy, d.vw = labelsWeights(t, valid, float64(p.PositiveWeight))
	}
	return d
}

// labelsWeights returns the labels of rows and their weights for the
// learner: posWeight for churned rows, nil when it is 1.
//
// A sampled table's weights (Table.Weight) do not reach the learner: it
// learns to rank from the stratified sample as it is (richer in churners),
// which bench/samplebench measured to rank as well as the full data (within
// 0.0005 ROC AUC at 200,000 customers), where weighting the rows back lost
// up to 0.007: weights of 5–25 make the learner's gradients and its early
// stopping noisy. The weights restore the population where probabilities
// and shares are made: the calibrator's fit, the validation metrics and
// the drift reference.
func labelsWeights(t *features.Table, rows []int, posWeight float64) (y, w []float32) {
	y = make([]float32, len(rows))
	for k, i := range rows {
		y[k] = float32(t.Label[i])
	}
	if posWeight != 1 {
		w = make([]float32, len(rows))
		for k := range rows {
			w[k] = 1
			if y[k] == 1 {
				w[k] = float32(posWeight)
			}
		}
	}
	return y, w
}

// evaluation is a setting's held-out result.
type evaluation struct {
	margins, labels, weights []float64
	rawLogLoss, auc          float64
	foldAUC                  []float64
	rounds                   int
	model                    fitted // oot: the validated model
}

func (e *evaluation) release() {
	if e.model != nil {
		e.model.close()
	}
}

func evaluate(ctx context.Context, t *features.Table, enc *features.Encoder, pl *plan, p *Params, log *slog.Logger) (*evaluation, error) {
	ev := &evaluation{}
	if pl.method == ValidationNone {
		// Nothing held out: no margins, and the final fit uses p.Rounds.
		ev.rawLogLoss, ev.auc = math.NaN(), math.NaN()
		return ev, nil
	}
	if pl.method == ValidationOOT {
		d := buildFit(t, enc, pl.train, pl.valid, p)
		m, err := fitLearner(ctx, d, p, logf(log))
		if err != nil {
			return nil, err
		}
		mg, err := m.margins(*d.valid)
		if err != nil {
			m.close()
			return nil, err
		}
		ev.model, ev.rounds = m, m.rounds()
		ev.margins = mg
		for _, i := range pl.valid {
			ev.labels = append(ev.labels, t.Label[i])
		}
		ev.weights = t.Weights(pl.valid)
	} else {
		if err := evaluateFolds(ctx, t, enc, pl, p, ev, log); err != nil {
			return nil, err
		}
	}
	raw := make([]float64, len(ev.margins))
	for i, m := range ev.margins {
		raw[i] = metrics.Sigmoid(m)
	}
	ev.rawLogLoss = metrics.LogLoss(raw, ev.labels, ev.weights)
	ev.auc = metrics.AUC(ev.margins, ev.labels, ev.weights)
	if len(ev.foldAUC) > 0 {
		ev.auc = metrics.Mean(ev.foldAUC)
	}
	return ev, nil
}

// evaluateFolds runs k-fold validation. For XGBoost the folds train in
// step, each evaluated on its held-out fold after every round; the number
// of rounds with the lowest mean held-out log loss is used for the
// out-of-fold predictions and the final model (as xgb.cv does), so rounds
// adapt to the data without a separate early-stopping split.
func evaluateFolds(ctx context.Context, t *features.Table, enc *features.Encoder, pl *plan, p *Params, ev *evaluation, log *slog.Logger) error {
	q := *p
	q.EarlyStopping = -1
	type foldFit struct {
		m  fitted
		x  matrix
		ys []float64
	}
	fits := make([]foldFit, len(pl.folds))
	defer func() {
		for _, f := range fits {
			if f.m != nil {
				f.m.close()
			}
		}
	}()
	var curve []float64
	for f := range pl.folds {
		var tr []int
		for g := range pl.folds {
			if g != f {
				tr = append(tr, pl.folds[g]...)
			}
		}
		slices.Sort(tr)
		d := buildFit(t, enc, tr, pl.folds[f], &q)
		m, err := fitLearner(ctx, d, &q, logf(log))
		if err != nil {
			return err
		}
		fits[f] = foldFit{m: m, x: *d.valid}
		for _, i := range pl.folds[f] {
			fits[f].ys = append(fits[f].ys, t.Label[i])
		}
		if xm, ok := m.(*xgbModel); ok {
			if curve == nil {
				curve = make([]float64, len(xm.curve))
			}
			for r, l := range xm.curve {
				curve[r] += l * float64(len(pl.folds[f]))
			}
		}
	}
	if len(curve) > 0 {
		best := 0
		for r := range curve {
			if curve[r] < curve[best]-1e-12 {
				best = r
			}
		}
		for _, f := range fits {
			if err := f.m.(*xgbModel).setRounds(best + 1); err != nil {
				return err
			}
		}
	}
	for k, f := range fits {
		mg, err := f.m.margins(f.x)
		if err != nil {
			return err
		}
		ev.rounds = f.m.rounds()
		fw := t.Weights(pl.folds[k])
		ev.foldAUC = append(ev.foldAUC, metrics.AUC(mg, f.ys, fw))
		ev.margins = append(ev.margins, mg...)
		ev.labels = append(ev.labels, f.ys...)
		if fw != nil {
			ev.weights = append(ev.weights, fw...)
		}
	}
	return nil
}

func calibrate(method string, margins, y, w []float64) (Calibrator, CalibrationChoice) {
	switch method {
	case CalibrationNone:
		return Calibrator{Method: CalibrationNone}, CalibrationChoice{Method: CalibrationNone}
	case CalibrationPlatt:
		return FitPlatt(margins, y, w), CalibrationChoice{Method: CalibrationPlatt}
	case CalibrationIsotonic:
		return FitIsotonic(margins, y, w), CalibrationChoice{Method: CalibrationIsotonic}
	}
	return ChooseCalibrator(margins, y, w)
}

// perturb draws a setting near p for the search.
func perturb(p Params, r *rand.Rand) Params {
	q := p
	pick := func(xs ...float64) float64 { return xs[r.IntN(len(xs))] }
	if p.Algo == AlgoLogReg {
		q.L2 = math.Pow(10, -3+5*r.Float64())
		return q
	}
	q.MaxDepth = int(pick(3, 4, 5, 6, 8))
	q.Eta = pick(0.03, 0.05, 0.1, 0.2)
	q.MinChildWeight = ptr(pick(1, 3, 5, 10))
	q.Subsample = pick(0.7, 0.85, 1)
	q.ColsampleByTree = pick(0.6, 0.8, 1)
	q.Lambda = ptr(pick(0.5, 1, 2, 5))
	return q
}
