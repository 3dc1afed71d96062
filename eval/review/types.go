package review

import (
	"time"

	"github.com/churnlab/churn/eval"
)

// SchemaVersion is the version of review.json's layout and of the Parquet
// tables' columns. It changes when a key is renamed or removed or its
// meaning changes; new keys may appear without a change.
const SchemaVersion = 1

// Num is a number of review.json: rounded to 6 decimals, null when
// undefined (NaN). It is eval's, so both reports write numbers alike.
type Num = eval.Num

// CI is an interval [lo, hi] of review.json (null ends when undefined).
type CI = [2]Num

// Review is the periodic review: did past predictions come true, did each
// play work, and which customers were saved. Every number of review.json
// is a field here; docs/review.md documents each key.
type Review struct {
	SchemaVersion int `json:"schema_version"`
	// AsOf is the review date: outcomes are read as if today were AsOf
	// (only data before it counts).
	AsOf string `json:"as_of"`
	// DataEnd is the last day of outcomes used: the day before AsOf, or
	// the data's last day when earlier.
	DataEnd  string    `json:"data_end"`
	Headline string    `json:"headline"`
	Label    LabelInfo `json:"label"`
	Config   Config    `json:"config"`
	Inputs   Inputs    `json:"inputs"`
	// Runs are the predictions partitions, oldest first.
	Runs []PastRun `json:"runs"`
	// Calibration is predicted against actual churn per risk tier over
	// every closed run's measured rows.
	Calibration []Tier `json:"calibration"`
	// EstimateCheck says how often the estimate made before the labels
	// arrived held, over the closed runs.
	EstimateCheck EstimateCheck `json:"estimate_check"`
	// Plays are the intent-to-treat comparisons, one per play, by name.
	Plays []Play `json:"plays"`
	// Overall pools every play: each customer's first unit of any play.
	Overall Play `json:"overall"`
	// UpliftByDecile is the treatment effect by decile of predicted risk
	// (1 = riskiest), over every play's closed units with a probability.
	UpliftByDecile []Decile `json:"uplift_by_decile"`
	Qini           Qini     `json:"qini"`
	Saved          Saved    `json:"saved"`
	Notes          []string `json:"notes"`

	// Generated is when the review was made (Options.Now), shown in
	// review.html's footer only.
	Generated time.Time `json:"-"`
	// playRuns are the rows of the run × play Parquet table.
	playRuns []PlayRun
	// saved lists every saved customer (Saved.Listed holds the first).
	saved []SavedCustomer
}

// LabelInfo is the outcome definition: churn within HorizonDays after a
// unit's date (after GapDays), by Mode, as in training.
type LabelInfo struct {
	Mode        string `json:"mode"`
	HorizonDays int    `json:"horizon_days"`
	GapDays     int    `json:"gap_days"`
}

// Inputs describes what was read.
type Inputs struct {
	Out  string `json:"out"`
	Data string `json:"data"`
	// Partitions is the number of predictions partitions reviewed;
	// LaterPartitions those dated after the review date, left out.
	Partitions      int   `json:"partitions"`
	LaterPartitions int   `json:"later_partitions"`
	PredictionRows  int64 `json:"prediction_rows"`
	// TargetedRows are prediction rows with a treatment group.
	TargetedRows int64 `json:"targeted_rows"`
	// InterventionRows are the interventions table's rows; those with a
	// group are units (InterventionUnits before deduplication).
	InterventionRows  int64 `json:"intervention_rows"`
	InterventionUnits int64 `json:"intervention_units"`
	// Customers is the number of customers in the data.
	Customers int `json:"customers"`
	// UnknownCustomers counts prediction and intervention rows whose
	// customer is not in the data (left out).
	UnknownCustomers int64 `json:"unknown_customers"`
	// Units are the review units after keeping each customer's first
	// unit per play; NotActive those whose customer was not a customer on
	// the unit's date (left out).
	Units     int `json:"units"`
	NotActive int `json:"not_active"`
}

// PastRun is one predictions partition: how its predictions came out (closed
// window) or are expected to (open window).
type PastRun struct {
	AsOf string `json:"as_of"`
	// Status is closed when the outcome window of every row has passed by
	// the data end (WindowEnd ≤ data end), else open.
	Status    string `json:"status"`
	WindowEnd string `json:"window_end"`
	// ModelVersion is the version that scored the run (its _manifest.json).
	ModelVersion string `json:"model_version"`
	Rows         int    `json:"rows"`
	// Targeted are rows with a treatment group (a play targets them).
	Targeted int `json:"targeted"`
	// MeasuredRows are the rows the realised metrics are measured on: the
	// rows of a seeded hash sample of the customers (every row up to
	// max_rows), with a known outcome. Churned are churners among them.
	MeasuredRows int `json:"measured_rows"`
	Churned      int `json:"churned"`
	// Realised metrics (closed runs; null when open) with bootstrap
	// intervals.
	BaseRate        Num `json:"base_rate"`
	ROCAUC          Num `json:"roc_auc"`
	ROCAUCCI        CI  `json:"roc_auc_ci"`
	PRAUC           Num `json:"pr_auc"`
	PRAUCCI         CI  `json:"pr_auc_ci"`
	TopDecileLift   Num `json:"top_decile_lift"`
	TopDecileLiftCI CI  `json:"top_decile_lift_ci"`
	// PrecisionAtCapacity is the churners' share of the top Capacity rows
	// (by rank, every one of them labelled).
	PrecisionAtCapacity Num `json:"precision_at_capacity"`
	Capacity            int `json:"capacity"`
	// Estimated metrics from the calibrated probabilities (every run;
	// what an open run shows until its labels arrive).
	EstimatedChurnRate             Num `json:"estimated_churn_rate"`
	EstimatedROCAUC                Num `json:"estimated_roc_auc"`
	EstimatedROCAUCCI              CI  `json:"estimated_roc_auc_ci"`
	EstimatedPrecisionAtCapacity   Num `json:"estimated_precision_at_capacity"`
	EstimatedPrecisionAtCapacityCI CI  `json:"estimated_precision_at_capacity_ci"`
	// Confusion is the realised confusion matrix at the tier cut (high and
	// medium flagged) on the measured rows; null when open.
	Confusion *Confusion `json:"confusion"`
	// EstimatedConfusion is the expected one on every row.
	EstimatedConfusion Confusion `json:"estimated_confusion"`
	// Tiers: predicted against actual churn per tier (actual null when
	// open).
	Tiers []Tier `json:"tiers"`
}

// Confusion is a confusion matrix at the tier cut: flagged = high or
// medium risk tier; expected counts are fractional.
type Confusion struct {
	Rows      Num `json:"rows"`
	Flagged   Num `json:"flagged"`
	TP        Num `json:"tp"`
	FP        Num `json:"fp"`
	FN        Num `json:"fn"`
	TN        Num `json:"tn"`
	Precision Num `json:"precision"`
	Recall    Num `json:"recall"`
}

// Tier is predicted against actual churn in one risk tier.
type Tier struct {
	Tier            string `json:"tier"`
	Rows            int    `json:"rows"`
	MeanProbability Num    `json:"mean_probability"`
	// Measured rows (known outcome) and their churn rate, with its Wilson
	// interval.
	Measured    int `json:"measured"`
	Churned     int `json:"churned"`
	ChurnRate   Num `json:"churn_rate"`
	ChurnRateCI CI  `json:"churn_rate_ci"`
}

// EstimateCheck compares, over the closed runs, the estimated ROC AUC
// (made from the probabilities alone) with the realised one.
type EstimateCheck struct {
	ClosedRuns int `json:"closed_runs"`
	// Within counts the closed runs whose realised AUC lies inside the
	// estimate's interval; Share = Within / ClosedRuns (expected near the
	// level when the probabilities are calibrated).
	Within        int `json:"within"`
	Share         Num `json:"share"`
	MeanAbsError  Num `json:"mean_abs_error"`
	MeanSignedErr Num `json:"mean_signed_error"`
}

// Play is one play's intent-to-treat comparison over its closed units
// (each customer's first unit of the play).
type Play struct {
	Name string `json:"name"`
	// Treated and Control are closed units by group; TreatedOpen and
	// ControlOpen units whose window is still open (not counted yet).
	Treated     int `json:"treated"`
	Control     int `json:"control"`
	TreatedOpen int `json:"treated_open"`
	ControlOpen int `json:"control_open"`
	// Churned counts per arm and the churn rates with Wilson intervals.
	ChurnedTreated     int `json:"churned_treated"`
	ChurnedControl     int `json:"churned_control"`
	ChurnRateTreated   Num `json:"churn_rate_treated"`
	ChurnRateTreatedCI CI  `json:"churn_rate_treated_ci"`
	ChurnRateControl   Num `json:"churn_rate_control"`
	ChurnRateControlCI CI  `json:"churn_rate_control_ci"`
	// Uplift is churn_rate_control − churn_rate_treated (churn prevented
	// per treated customer; > 0 helps), Newcombe's interval.
	Uplift   Num `json:"uplift"`
	UpliftCI CI  `json:"uplift_ci"`
	// RelativeRisk is churn_rate_treated / churn_rate_control (Katz log
	// interval); RelativeRiskReduction = 1 − RelativeRisk.
	RelativeRisk          Num `json:"relative_risk"`
	RelativeRiskCI        CI  `json:"relative_risk_ci"`
	RelativeRiskReduction Num `json:"relative_risk_reduction"`
	RRRCI                 CI  `json:"rrr_ci"`
	// CustomersSaved = uplift × treated, with the uplift's interval.
	CustomersSaved   Num `json:"customers_saved"`
	CustomersSavedCI CI  `json:"customers_saved_ci"`
	// MRRTreated sums the monthly revenue (annual_revenue / 12) of the
	// treated closed units where known (MRRKnown of them); MRRSaved =
	// uplift × MRRTreated, with the uplift's interval.
	MRRTreated Num `json:"mrr_treated"`
	MRRKnown   int `json:"mrr_known"`
	MRRSaved   Num `json:"mrr_saved"`
	MRRSavedCI CI  `json:"mrr_saved_ci"`
	// Verdict is works (uplift interval above 0), no_evidence (relative
	// risk reduction interval below useful_rrr), inconclusive, too_few
	// (an arm below min_per_arm closed units) or no_control.
	Verdict string `json:"verdict"`
	// NoEvidence is true when the interval excludes a useful effect:
	// rrr_ci's upper end below config.useful_rrr.
	NoEvidence bool `json:"no_evidence"`
	// Survival holds Kaplan-Meier curves of the days from each unit's
	// date to churn, treated then control (an arm without units is left
	// out): every unit, open windows too, those still there censored at
	// the data end, so it follows the arms beyond the label horizon. Churn
	// is defined as in the evaluation report's curves (docs/eval.md).
	Survival []eval.SurvivalGroup `json:"survival"`
	// PerProtocol compares the treated who were actually contacted with
	// control: biased (null without interventions data).
	PerProtocol *PerProtocol `json:"per_protocol"`
	// Segments break the play down by reason category × lifecycle stage
	// where both arms have min_per_arm closed units; SegmentsLeftOut
	// counts the smaller ones.
	Segments        []Segment `json:"segments"`
	SegmentsLeftOut int       `json:"segments_left_out"`
}

// PerProtocol is the per-protocol comparison: treated units contacted
// within their window (interventions with contacted not false) against
// every control unit. Biased: who gets reached is not random.
type PerProtocol struct {
	Biased bool `json:"biased"`
	// Contacted and NotContacted split the closed treated units;
	// ControlContacted counts control units contacted anyway.
	Contacted          int `json:"contacted"`
	NotContacted       int `json:"not_contacted"`
	ControlContacted   int `json:"control_contacted"`
	ChurnRateContacted Num `json:"churn_rate_contacted"`
	ChurnRateControl   Num `json:"churn_rate_control"`
	Uplift             Num `json:"uplift"`
	UpliftCI           CI  `json:"uplift_ci"`
	RRR                Num `json:"relative_risk_reduction"`
	RRRCI              CI  `json:"rrr_ci"`
}

// Segment is a play's comparison within one reason category × lifecycle
// stage ("unknown" when the unit has none, e.g. interventions units).
type Segment struct {
	ReasonCategory   string `json:"reason_category"`
	LifecycleStage   string `json:"lifecycle_stage"`
	Treated          int    `json:"treated"`
	Control          int    `json:"control"`
	ChurnRateTreated Num    `json:"churn_rate_treated"`
	ChurnRateControl Num    `json:"churn_rate_control"`
	Uplift           Num    `json:"uplift"`
	UpliftCI         CI     `json:"uplift_ci"`
	RRR              Num    `json:"relative_risk_reduction"`
	RRRCI            CI     `json:"rrr_ci"`
}

// Decile is the treatment effect in one decile of predicted risk.
type Decile struct {
	Decile           int `json:"decile"`
	MinProbability   Num `json:"min_probability"`
	MaxProbability   Num `json:"max_probability"`
	Treated          int `json:"treated"`
	Control          int `json:"control"`
	ChurnRateTreated Num `json:"churn_rate_treated"`
	ChurnRateControl Num `json:"churn_rate_control"`
	Uplift           Num `json:"uplift"`
	UpliftCI         CI  `json:"uplift_ci"`
}

// Qini is the Qini curve of targeting by predicted risk: at each share of
// the units (riskiest first), the customers kept among the treated there
// beyond what control's churn rate there predicts.
type Qini struct {
	Points []QiniPoint `json:"points"`
	// Coefficient is the area between the curve and the straight line to
	// its end (random targeting), per unit: > 0 when the riskiest gain
	// most from the plays.
	Coefficient Num `json:"coefficient"`
}

// QiniPoint is the Qini curve at a share of the units.
type QiniPoint struct {
	Share Num `json:"share"`
	// Incremental = churned control × treated ÷ control − churned treated,
	// among the units up to Share.
	Incremental Num `json:"incremental"`
	Random      Num `json:"random"`
}

// Saved lists treated customers who were high risk and stayed through
// their window: the practice's "saves" (not all caused by the play: the
// plays' customers_saved estimates that).
type Saved struct {
	Customers int             `json:"customers"`
	MRR       Num             `json:"mrr"`
	Listed    []SavedCustomer `json:"listed"`
}

// SavedCustomer is one saved customer.
type SavedCustomer struct {
	CustomerID       string `json:"customer_id"`
	Play             string `json:"play"`
	AsOf             string `json:"as_of"`
	ChurnProbability Num    `json:"churn_probability"`
	MRR              Num    `json:"mrr"`
	Owner            string `json:"owner"`
	LifecycleStage   string `json:"lifecycle_stage"`
}

// PlayRun is one row of the run × play Parquet table: the units first
// assigned at one date (a run, or an intervention date) to one play.
type PlayRun struct {
	AsOf                                       string
	Source                                     string // predictions or interventions
	Play                                       string
	Window                                     string // closed or open
	Treated, Control, TreatedOpen, ControlOpen int
	ChurnedTreated, ChurnedControl             int
	e                                          effect
	MRRTreated, MRRSaved                       float64
}
