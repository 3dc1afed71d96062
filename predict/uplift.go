package predict

import (
	"fmt"

	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// UpliftInfo records the uplift model given to a run and whether it was
// used: predictions' _manifest.json carries it.
type UpliftInfo struct {
	// Used is true when expected_uplift and expected_mrr_saved were
	// computed: the model is trusted and matches the churn model's
	// features.
	Used    bool `json:"used"`
	Trusted bool `json:"trusted"`
	// The model's out-of-time validation (train.UpliftValidation): its
	// Qini coefficient, risk ranking's, the first validation date and the
	// verdict.
	Qini      float64 `json:"qini"`
	QiniRisk  float64 `json:"qini_risk"`
	ValidFrom string  `json:"valid_from"`
	Verdict   string  `json:"verdict"`
	// Note says why an uplift model was not used ("" when it was).
	Note string `json:"note,omitempty"`
}

// upliftFor describes m for a run whose churn model has feature spec spec
// and returns it when it is to be used: trusted, and built on the same
// features. A nil m gives nil, nil.
func upliftFor(m *train.UpliftModel, spec *features.Spec) (*UpliftInfo, *train.UpliftModel) {
	if m == nil {
		return nil, nil
	}
	v := &m.Card.Validation
	info := &UpliftInfo{Trusted: v.Trusted, Qini: v.Qini, QiniRisk: v.QiniRisk, ValidFrom: v.ValidFrom, Verdict: v.Verdict}
	switch err := m.Card.Spec.Compatible(spec); {
	case !v.Trusted:
		info.Note = "the uplift model is not trusted (" + v.Verdict + ")"
	case err != nil:
		info.Note = fmt.Sprintf("the uplift model was trained on other features than the churn model (%v); retrain it with churn train --uplift", err)
	default:
		info.Used = true
		return info, m
	}
	return info, nil
}
