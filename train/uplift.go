package train

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
)

// The uplift model: a T-learner (Künzel et al. 2019, "Metalearners for
// estimating heterogeneous treatment effects using machine learning",
// PNAS 116(10)) of two XGBoost classifiers, one fitted on the units of a
// retention experiment that were treated and one on those held out as
// control, each predicting churn within the label horizon from the
// features at the unit's date and the unit's play. A customer's expected
// uplift is the churn probability without the play minus the probability
// with it. docs/playbook.md#ranking-by-who-can-be-saved says how predict
// uses it.

// LearnerT names the T-learner in the uplift card.
const LearnerT = "t"

// ErrTooFewUnits marks an experiment with too few units in one arm (treat
// or control) to fit or validate an uplift model.
var ErrTooFewUnits = errors.New("too few experiment units")

// UpliftParams are the uplift model's settings. Zero values mean defaults
// (EnsureDefaults).
type UpliftParams struct {
	// Boost holds the two boosters' hyperparameters (XGBoost only). The
	// uplift fit always validates out of time (Boost.ValidShare sets the
	// validation share), never searches, and fits unweighted,
	// uncalibrated probabilities: their difference is the uplift, and a
	// class weight or a calibrator fitted per arm would shift one arm's
	// probabilities against the other's. Boost.Validation must therefore
	// be auto or oot, Boost.SearchBudget 0, Boost.PositiveWeight 1 and
	// Boost.Calibration auto or none.
	Boost Params `json:"boost"`
	// MinArmUnits is the least number of units each arm (treat, control)
	// needs among the training units and among the validation units
	// (default 50).
	MinArmUnits int `json:"min_arm_units"`
	// Bootstrap is the number of resamples of the validation units behind
	// the verdict's 95% intervals (default 500; at least 100).
	Bootstrap int `json:"bootstrap"`
}

// EnsureDefaults fills zero fields with defaults.
func (p *UpliftParams) EnsureDefaults() {
	p.Boost.EnsureDefaults()
	if p.MinArmUnits == 0 {
		p.MinArmUnits = 50
	}
	if p.Bootstrap == 0 {
		p.Bootstrap = 500
	}
}

// Validate reports settings that cannot work.
func (p *UpliftParams) Validate() error {
	errs := []error{p.Boost.Validate()}
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	b := &p.Boost
	if b.Algo != AlgoXGBoost {
		bad("algo %q: the uplift model is XGBoost only", b.Algo)
	}
	if b.Validation != ValidationAuto && b.Validation != ValidationOOT {
		bad("validation %q: the uplift model validates out of time (want auto or oot)", b.Validation)
	}
	if b.SearchBudget != 0 {
		bad("search_budget %d: the uplift model does not search (want 0)", b.SearchBudget)
	}
	if b.PositiveWeight != 1 {
		bad("positive_weight %v: the uplift model fits unweighted probabilities (want 1)", b.PositiveWeight)
	}
	if b.Calibration != "auto" && b.Calibration != CalibrationNone {
		bad("calibration %q: the uplift model is not calibrated (want auto or none)", b.Calibration)
	}
	if p.MinArmUnits < 1 {
		bad("min_arm_units %d: want at least 1", p.MinArmUnits)
	}
	if p.Bootstrap < 100 || p.Bootstrap > 100000 {
		bad("bootstrap %d: want 100..100000", p.Bootstrap)
	}
	return errors.Join(errs...)
}

// UpliftUnits are the units an uplift model learns from, one row of Table
// per unit: the features as of the unit's date (Table.AsOf), and
// Table.Label the outcome, 1 when the customer churned within the label
// horizon from that date, 0 when not, NaN while the window is open (such
// units are counted and left out). The slices below are indexed like the
// table's rows; the fit reads them and never modifies or keeps them.
type UpliftUnits struct {
	Table *features.Table
	// Treated tells the unit's group: true for treat, false for control.
	Treated []bool
	// Play is the play that targeted the unit ("" is a play of its own).
	Play []string
	// Risk optionally holds each unit's churn probability from the churn
	// model: the risk ranking that the uplift model must beat. Nil ranks
	// by the uplift model's own probability without treatment, p_control.
	Risk []float64
}

// UpliftOptions are the inputs of FitUplift that are not settings.
type UpliftOptions struct {
	// Logger receives progress (nil: discarded).
	Logger *slog.Logger
	// ChurnVersion is recorded in the card; "" records "dev".
	ChurnVersion string
}

// UpliftCard is everything about an uplift model except its trees: it is
// uplift.json in the artifact directory. It holds data only.
type UpliftCard struct {
	FormatVersion  int          `json:"format_version"`
	Learner        string       `json:"learner"` // "t"
	ChurnVersion   string       `json:"churn_version"`
	XGBoostVersion string       `json:"xgboost_version"`
	Params         UpliftParams `json:"params"`
	// PlayFeature names the encoded play column (the encoder's last
	// feature), "play" unless the feature spec has a feature of that name.
	PlayFeature string            `json:"play_feature"`
	Spec        *features.Spec    `json:"feature_spec"`
	Encoder     *features.Encoder `json:"encoder"`
	// TreatRounds and ControlRounds are the boosting rounds of the two
	// final boosters (chosen per arm on the early-stopping customers).
	TreatRounds   int `json:"treat_rounds"`
	ControlRounds int `json:"control_rounds"`
	// Units counts the units the final boosters were fitted on: every
	// unit whose window is closed.
	Units UnitCounts `json:"units"`
	// OpenUnits counts the units left out because their outcome window is
	// still open.
	OpenUnits int `json:"open_units"`
	// Plays counts the closed units by play, in name order.
	Plays      []PlayUnits      `json:"plays"`
	Validation UpliftValidation `json:"validation"`
}

// UnitCounts counts experiment units by group and outcome.
type UnitCounts struct {
	Treated        int `json:"treated"`
	Control        int `json:"control"`
	ChurnedTreated int `json:"churned_treated"`
	ChurnedControl int `json:"churned_control"`
}

func (c *UnitCounts) add(treated bool, churned float64) {
	n, ch := &c.Control, &c.ChurnedControl
	if treated {
		n, ch = &c.Treated, &c.ChurnedTreated
	}
	*n++
	if churned == 1 {
		*ch++
	}
}

// PlayUnits counts one play's closed units.
type PlayUnits struct {
	Play string `json:"play"`
	UnitCounts
}

// UpliftValidation is the out-of-time validation of an uplift model: two
// boosters fitted on the units whose outcome window closed before
// ValidFrom score the units from ValidFrom on, and their expected uplift
// ranks them. Qini coefficients and AUUC are metrics.Qini and metrics.AUUC
// with retention as the favourable outcome (so random targeting scores 0,
// the perfect ranking 1); intervals are 95% percentile intervals over
// Bootstrap resamples of the validation units.
//
// The uplift ranking judged is the one predict uses: risk × RRR, the
// unit's churn probability from the churn model (RiskScore; p_control
// without one) times the boosters' relative risk reduction 1 − p_treat /
// p_control (UpliftScores.RRR). The boosters are fitted on the customers
// plays targeted, so their absolute probabilities speak for those; the
// relative reduction, applied to the churn model's calibrated
// probability, carries to the other customers predict ranks.
type UpliftValidation struct {
	ValidFrom  string     `json:"valid_from"`
	TrainUnits UnitCounts `json:"train_units"`
	ValidUnits UnitCounts `json:"valid_units"`
	// PurgedUnits are earlier units left out of the validated fit
	// because their outcome window reaches ValidFrom.
	PurgedUnits int `json:"purged_units"`
	// RiskScore names the risk ranking compared against:
	// "churn_probability" (the churn model's) or "p_control".
	RiskScore string `json:"risk_score"`
	// Qini is the coefficient of the uplift ranking (risk × RRR), QiniCI
	// its interval, QiniRisk that of ranking by risk alone.
	Qini     float64    `json:"qini"`
	QiniCI   [2]float64 `json:"qini_ci"`
	QiniRisk float64    `json:"qini_risk"`
	// QiniGain is Qini − QiniRisk, with its interval from the same
	// resamples.
	QiniGain   float64    `json:"qini_gain"`
	QiniGainCI [2]float64 `json:"qini_gain_ci"`
	AUUC       float64    `json:"auuc"`
	AUUCRisk   float64    `json:"auuc_risk"`
	// QiniDifference is the Qini coefficient of ranking by p_control −
	// p_treat alone (the boosters' absolute uplift), for comparison.
	QiniDifference float64 `json:"qini_difference"`
	// Trusted is true when both intervals lie above 0: the model ranks
	// the validation units better than random targeting and better than
	// risk ranking. Predict ignores an untrusted model.
	Trusted bool `json:"trusted"`
	// Verdict says why, in words.
	Verdict string `json:"verdict"`
}

// UpliftModel is a fitted uplift model: immutable, safe for concurrent
// use. Close releases its XGBoost memory.
type UpliftModel struct {
	Card    UpliftCard
	treat   *xgbModel
	control *xgbModel
	// The boosters' JSON, for SaveFiles.
	treatJSON, controlJSON []byte
}

// Close frees the model's native resources.
func (m *UpliftModel) Close() {
	for _, b := range []*xgbModel{m.treat, m.control} {
		if b != nil {
			b.close()
		}
	}
}

// playFeature returns the name of the play column: "play", or "play" with
// underscores before it until no feature of spec has the name.
func playFeature(spec *features.Spec) string {
	name := "play"
	for {
		if _, taken := spec.Lookup(name); !taken {
			return name
		}
		name = "_" + name
	}
}

// withPlay returns t with the play column appended as a categorical
// feature named name: a view sharing t's columns (neither is modified).
func withPlay(t *features.Table, play []string, name string) *features.Table {
	spec := *t.Spec
	spec.Features = append(slices.Clip(t.Spec.Features), features.Def{Name: name, Group: "experiment", Kind: features.Categorical,
		Description: "the play that targeted the customer"})
	v := *t
	v.Spec = &spec
	v.Num = append(slices.Clip(t.Num), nil)
	v.Cat = append(slices.Clip(t.Cat), play)
	return &v
}

// FitUplift fits the T-learner on the experiment units u, validates it out
// of time and returns it with its verdict. Units whose window is open are
// left out. It fails with ErrTooFewUnits when an arm has fewer than
// p.MinArmUnits closed units among the training or the validation units,
// and when an arm's training units have one outcome only.
func FitUplift(ctx context.Context, u UpliftUnits, p UpliftParams, opt UpliftOptions) (*UpliftModel, error) {
	log, churnVersion := orDefaults(opt.Logger, opt.ChurnVersion)
	p.EnsureDefaults()
	if p.Boost.Calibration == "auto" {
		p.Boost.Calibration = CalibrationNone
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("invalid uplift parameters: %w", err)
	}
	t := u.Table
	n := t.Len()
	if len(u.Treated) != n || len(u.Play) != n || (u.Risk != nil && len(u.Risk) != n) {
		return nil, fmt.Errorf("uplift units: %d rows but %d groups, %d plays and %d risks", n, len(u.Treated), len(u.Play), len(u.Risk))
	}
	card := UpliftCard{FormatVersion: UpliftFormatVersion, Learner: LearnerT, ChurnVersion: churnVersion, XGBoostVersion: XGBoostVersion(),
		Params: p, PlayFeature: playFeature(t.Spec), Spec: t.Spec}
	var closed []int
	dates := map[data.Date]bool{}
	plays := map[string]*UnitCounts{}
	for i := range n {
		if math.IsNaN(t.Label[i]) {
			card.OpenUnits++
			continue
		}
		closed = append(closed, i)
		dates[t.AsOf[i]] = true
		card.Units.add(u.Treated[i], t.Label[i])
		if plays[u.Play[i]] == nil {
			plays[u.Play[i]] = &UnitCounts{}
		}
		plays[u.Play[i]].add(u.Treated[i], t.Label[i])
	}
	for name, c := range plays {
		card.Plays = append(card.Plays, PlayUnits{Play: name, UnitCounts: *c})
	}
	slices.SortFunc(card.Plays, func(a, b PlayUnits) int { return strings.Compare(a.Play, b.Play) })
	if err := enoughArms("closed", card.Units, p.MinArmUnits); err != nil {
		return nil, err
	}
	if len(dates) < 2 {
		return nil, fmt.Errorf("%w: the closed units have one date only; out-of-time validation needs units from two or more dates", ErrTooFewUnits)
	}
	if _, ok := dates[data.NoDate]; ok {
		return nil, errors.New("uplift units need their dates (as_of): a unit without one cannot be validated out of time")
	}
	q := p.Boost
	q.Validation = ValidationOOT
	pl, err := makePlan(t, closed, &q)
	if err != nil {
		return nil, fmt.Errorf("uplift validation: %w", err)
	}
	v := &card.Validation
	v.ValidFrom, v.PurgedUnits = pl.validAsOf[0], pl.purged
	for _, i := range pl.train {
		v.TrainUnits.add(u.Treated[i], t.Label[i])
	}
	for _, i := range pl.valid {
		v.ValidUnits.add(u.Treated[i], t.Label[i])
	}
	if err := enoughArms("training (before "+v.ValidFrom+")", v.TrainUnits, p.MinArmUnits); err != nil {
		return nil, err
	}
	if err := enoughArms("validation (from "+v.ValidFrom+")", v.ValidUnits, p.MinArmUnits); err != nil {
		return nil, err
	}
	tp := withPlay(t, u.Play, card.PlayFeature)
	log.Info("training uplift model", "units", len(closed), "treated", card.Units.Treated, "control", card.Units.Control,
		"open", card.OpenUnits, "valid_from", v.ValidFrom)

	// Validate: fit both arms on the training units, score the later ones.
	enc := features.FitEncoder(tp, pl.train, features.EncoderOptions{})
	vt, err := fitArm(ctx, tp, enc, arm(pl.train, u.Treated, true), &q, log)
	if err != nil {
		return nil, fmt.Errorf("uplift, treated units: %w", err)
	}
	defer vt.close()
	vc, err := fitArm(ctx, tp, enc, arm(pl.train, u.Treated, false), &q, log)
	if err != nil {
		return nil, fmt.Errorf("uplift, control units: %w", err)
	}
	defer vc.close()
	X, nv := enc.Matrix(tp, pl.valid)
	pt, pc, err := armProbs(vt, vc, matrix{X: X, N: nv, P: len(enc.Columns)})
	if err != nil {
		return nil, err
	}
	risk, riskName := pc, "p_control"
	if u.Risk != nil {
		risk, riskName = make([]float64, len(pl.valid)), ScoreName
		for k, i := range pl.valid {
			risk[k] = u.Risk[i]
		}
	}
	upl, diff := make([]float64, len(pl.valid)), make([]float64, len(pl.valid))
	kept := make([]float64, len(pl.valid)) // 1 = retained, the favourable outcome
	treated := make([]float64, len(pl.valid))
	for k, i := range pl.valid {
		upl[k], diff[k] = risk[k]*rrr(pt[k], pc[k]), pc[k]-pt[k]
		kept[k] = 1 - t.Label[i]
		if u.Treated[i] {
			treated[k] = 1
		}
	}
	judge(v, upl, risk, kept, treated, t.Weights(pl.valid), p.Bootstrap, p.Boost.Seed)
	v.QiniDifference = round6(metrics.Qini(diff, kept, treated, t.Weights(pl.valid)))
	v.RiskScore = riskName
	log.Info("uplift validation", "qini", v.Qini, "qini_risk", v.QiniRisk, "trusted", v.Trusted)

	// The final boosters: every closed unit of each arm, with the rounds
	// chosen in validation.
	finalEnc := features.FitEncoder(tp, closed, features.EncoderOptions{})
	m := &UpliftModel{}
	for _, a := range []struct {
		treated bool
		rounds  int
		dst     **xgbModel
	}{{true, vt.rounds(), &m.treat}, {false, vc.rounds(), &m.control}} {
		f := q
		f.Rounds, f.EarlyStopping = a.rounds, -1
		b, err := fitArm(ctx, tp, finalEnc, arm(closed, u.Treated, a.treated), &f, log)
		if err != nil {
			m.Close()
			return nil, err
		}
		*a.dst = b
	}
	m.treatJSON, m.controlJSON = m.treat.raw, m.control.raw
	card.Encoder = finalEnc
	card.TreatRounds, card.ControlRounds = m.treat.rounds(), m.control.rounds()
	m.Card = card
	return m, nil
}

// enoughArms checks that both arms of a part of the units have min units.
func enoughArms(part string, c UnitCounts, min int) error {
	for _, a := range []struct {
		name string
		n    int
	}{{data.GroupTreat, c.Treated}, {data.GroupControl, c.Control}} {
		if a.n < min {
			return fmt.Errorf("%w: the %s units have %d in %s, fewer than the %d each arm needs (%d treat, %d control); wait for more outcome windows to close, or raise predict.control.share",
				ErrTooFewUnits, part, a.n, a.name, min, c.Treated, c.Control)
		}
	}
	return nil
}

// arm returns the rows of one group.
func arm(rows []int, treated []bool, treat bool) []int {
	var out []int
	for _, i := range rows {
		if treated[i] == treat {
			out = append(out, i)
		}
	}
	return out
}

// earlyStoppingFold is the fold of customers (of foldOf's 5) whose units
// choose an arm's number of rounds.
const earlyStoppingFold = 0

// fitArm fits one arm's booster on rows. Unless p.EarlyStopping is -1,
// the customers of one fold in five stop the boosting (the validation
// units are never used for it); when that leaves a part with one outcome
// only, the booster fits every row with p.Rounds rounds.
func fitArm(ctx context.Context, t *features.Table, enc *features.Encoder, rows []int, p *Params, log *slog.Logger) (*xgbModel, error) {
	if err := twoClasses(t, rows, "training"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooFewUnits, err)
	}
	fit, stop := rows, []int(nil)
	if p.EarlyStopping > 0 {
		var f, s []int
		for _, i := range rows {
			if foldOf(t.IDs[i], p.Seed, 5) == earlyStoppingFold {
				s = append(s, i)
			} else {
				f = append(f, i)
			}
		}
		if twoClasses(t, f, "") == nil && twoClasses(t, s, "") == nil {
			fit, stop = f, s
		} else {
			log.Debug("uplift arm without early stopping: a part has one outcome only", "rows", len(rows))
		}
	}
	m, err := fitLearner(ctx, buildFit(t, enc, fit, stop, p), p, logf(log))
	if err != nil {
		return nil, err
	}
	return m.(*xgbModel), nil
}

// armProbs returns the treated and control boosters' churn probabilities
// for the rows of x.
func armProbs(treat, control *xgbModel, x matrix) (pt, pc []float64, err error) {
	if pt, err = treat.margins(x); err != nil {
		return nil, nil, err
	}
	if pc, err = control.margins(x); err != nil {
		return nil, nil, err
	}
	for k := range pt {
		pt[k], pc[k] = metrics.Sigmoid(pt[k]), metrics.Sigmoid(pc[k])
	}
	return pt, pc, nil
}

// rrr is the relative risk reduction 1 − pt/pc, clipped to [−1, 1] (a
// play is not taken to more than double a risk).
func rrr(pt, pc float64) float64 {
	return min(1, max(-1, 1-pt/pc))
}

// judge fills the validation's metrics and verdict: the Qini coefficient
// and AUUC of the uplift ranking upl and of the risk ranking, and 95%
// percentile intervals of the uplift ranking's Qini and of its gain over
// risk ranking from resamples (with replacement) of the units, drawn from
// seed.
func judge(v *UpliftValidation, upl, risk, kept, treated, w []float64, resamples int, seed uint64) {
	v.Qini, v.QiniRisk = metrics.Qini(upl, kept, treated, w), metrics.Qini(risk, kept, treated, w)
	v.QiniGain = v.Qini - v.QiniRisk
	v.AUUC, v.AUUCRisk = metrics.AUUC(upl, kept, treated, w), metrics.AUUC(risk, kept, treated, w)
	r := rand.New(rand.NewPCG(seed, 0x0b0075))
	n := len(upl)
	bu, br, by, bt := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	var bw []float64
	if w != nil {
		bw = make([]float64, n)
	}
	var qs, gains []float64
	for range resamples {
		for k := range n {
			i := r.IntN(n)
			bu[k], br[k], by[k], bt[k] = upl[i], risk[i], kept[i], treated[i]
			if w != nil {
				bw[k] = w[i]
			}
		}
		q, qr := metrics.Qini(bu, by, bt, bw), metrics.Qini(br, by, bt, bw)
		if math.IsNaN(q) || math.IsNaN(qr) {
			continue // a resample without one arm
		}
		qs, gains = append(qs, q), append(gains, q-qr)
	}
	v.QiniCI = [2]float64{metrics.Quantile(qs, 0.025), metrics.Quantile(qs, 0.975)}
	v.QiniGainCI = [2]float64{metrics.Quantile(gains, 0.025), metrics.Quantile(gains, 0.975)}
	for _, x := range []*float64{&v.Qini, &v.QiniRisk, &v.QiniGain, &v.AUUC, &v.AUUCRisk, &v.QiniCI[0], &v.QiniCI[1], &v.QiniGainCI[0], &v.QiniGainCI[1]} {
		*x = round6(*x)
	}
	units := fmt.Sprintf("on %d validation units from %s", n, v.ValidFrom)
	switch {
	case !(v.QiniCI[0] > 0):
		v.Verdict = fmt.Sprintf("not trusted: %s its Qini coefficient %.4f (95%% interval %.4f to %.4f) is not above random targeting (0)", units, v.Qini, v.QiniCI[0], v.QiniCI[1])
	case !(v.QiniGainCI[0] > 0):
		v.Verdict = fmt.Sprintf("not trusted: %s its Qini coefficient %.4f is above random but not above risk ranking's %.4f (gain %.4f, 95%% interval %.4f to %.4f)", units, v.Qini, v.QiniRisk, v.QiniGain, v.QiniGainCI[0], v.QiniGainCI[1])
	default:
		v.Trusted = true
		v.Verdict = fmt.Sprintf("trusted: %s its Qini coefficient %.4f (95%% interval %.4f to %.4f) is above random targeting (0) and above risk ranking's %.4f by %.4f (95%% interval %.4f to %.4f)", units, v.Qini, v.QiniCI[0], v.QiniCI[1], v.QiniRisk, v.QiniGain, v.QiniGainCI[0], v.QiniGainCI[1])
	}
}

// UpliftScores are an uplift model's outputs for rows of a feature table.
type UpliftScores struct {
	// PControl is the probability of churn within the horizon without the
	// play (the control booster's), PTreat with it (the treated booster's).
	PControl, PTreat []float64
	// Uplift is PControl − PTreat: the reduction of the churn probability
	// the play is expected to bring (negative when it is expected to
	// harm), for customers like the experiment's.
	Uplift []float64
	// RRR is the relative risk reduction 1 − PTreat/PControl, clipped to
	// [−1, 1]: the share of the churn risk the play is expected to take
	// away, which predict applies to the churn model's probability
	// (UpliftValidation says why).
	RRR []float64
}

// Score returns the uplift of the rows of t selected by rows (nil = all):
// play[i] is row i's play (indexed like t's rows, not like rows). t must
// be built with the feature spec the model was trained with.
func (m *UpliftModel) Score(ctx context.Context, t *features.Table, play []string, rows []int) (*UpliftScores, error) {
	if err := m.Card.Spec.Compatible(t.Spec); err != nil {
		return nil, fmt.Errorf("the feature table does not match the uplift model's feature spec: %w", err)
	}
	if len(play) != t.Len() {
		return nil, fmt.Errorf("uplift: %d plays for %d rows", len(play), t.Len())
	}
	tp := withPlay(t, play, m.Card.PlayFeature)
	enc := m.Card.Encoder
	n := t.Len()
	if rows != nil {
		n = len(rows)
	}
	s := &UpliftScores{PControl: make([]float64, 0, n), PTreat: make([]float64, 0, n), Uplift: make([]float64, 0, n), RRR: make([]float64, 0, n)}
	err := eachChunk(ctx, rows, n, func(_ int, sel []int) error {
		X, k := enc.Matrix(tp, sel)
		pt, pc, err := armProbs(m.treat, m.control, matrix{X: X, N: k, P: len(enc.Columns)})
		if err != nil {
			return err
		}
		for j := range pt {
			s.PTreat = append(s.PTreat, pt[j])
			s.PControl = append(s.PControl, pc[j])
			s.Uplift = append(s.Uplift, pc[j]-pt[j])
			s.RRR = append(s.RRR, rrr(pt[j], pc[j]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
