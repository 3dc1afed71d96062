package predict

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// Treatment groups as kept per customer (customerScore.group).
const (
	groupNone    int8 = iota // not targeted: the low tier
	groupTreat               // data.GroupTreat
	groupControl             // data.GroupControl
)

var groupNames = [...]string{"", data.GroupTreat, data.GroupControl}

// ExperimentInfo records the control groups of a run: the experiment
// (data.Experiment) and how many customers each play targeted and held
// out. Predictions' _manifest.json and the nightly run manifest carry it.
type ExperimentInfo struct {
	Seed   int64   `json:"seed"`
	Cohort string  `json:"cohort"`
	Share  float64 `json:"share"`
	// Targeted counts the customers a play targets (high and medium
	// tiers); Control those of them held out.
	Targeted int64 `json:"targeted"`
	Control  int64 `json:"control"`
	// Plays breaks both down by play, in play-name order.
	Plays []PlayGroups `json:"plays"`
}

// PlayGroups counts the customers of one play.
type PlayGroups struct {
	Play     string `json:"play"`
	Targeted int64  `json:"targeted"`
	Control  int64  `json:"control"`
}

// experimentMetadata is the Parquet footer's record of the experiment
// (keys churn.experiment.seed, .cohort and .share), so a file names the
// experiment its treatment_group belongs to.
func experimentMetadata(e data.Experiment) map[string]string {
	return map[string]string{
		"churn.experiment.seed":   strconv.FormatInt(e.Seed, 10),
		"churn.experiment.cohort": e.Cohort,
		"churn.experiment.share":  strconv.FormatFloat(e.Share, 'g', -1, 64),
	}
}

// playOf returns the play of a scored customer: the playbook category that
// chooses its recommended action (the top reason's category; profile when
// reasons are not computed; none when no feature raises the risk), or ""
// for a customer of the low tier, whom no play targets. cat maps features
// to categories; method is the run's reason method.
func playOf(cs *customerScore, cat []string, method string) string {
	if cs.tier == tierLow {
		return ""
	}
	return categoryOf(cs, cat, method)
}

// categoryOf returns the playbook category that chooses a customer's
// action outside the low tier (see playOf).
func categoryOf(cs *customerScore, cat []string, method string) string {
	switch {
	case cs.reasons[0].feat >= 0:
		return cat[cs.reasons[0].feat]
	case method == ReasonsNone:
		// Reasons not computed: the general play, not the one for
		// customers whose features all lower their risk.
		return CategoryProfile
	}
	return noReasonCategory
}

// assignGroups puts every targeted customer in treat or control by e and
// counts them, per play in name order. Customers of the low tier stay
// untargeted. It needs the tiers and reasons, and runs before the alert
// rules, which skip control customers.
func (s *scoring) assignGroups(e data.Experiment, method string) ExperimentInfo {
	info := ExperimentInfo{Seed: e.Seed, Cohort: e.Cohort, Share: e.Share, Plays: []PlayGroups{}}
	byPlay := map[string]*PlayGroups{}
	for i := range s.recs {
		cs := &s.recs[i]
		play := playOf(cs, s.rend.cat, method)
		if play == "" {
			cs.group = groupNone
			continue
		}
		pg := byPlay[play]
		if pg == nil {
			pg = &PlayGroups{Play: play}
			byPlay[play] = pg
		}
		cs.group = groupTreat
		if e.Group(play, cs.id) == data.GroupControl {
			cs.group = groupControl
			pg.Control++
			info.Control++
		}
		pg.Targeted++
		info.Targeted++
	}
	for _, pg := range byPlay {
		info.Plays = append(info.Plays, *pg)
	}
	slices.SortFunc(info.Plays, func(a, b PlayGroups) int { return cmp.Compare(a.Play, b.Play) })
	return info
}

// AccountGroup returns the control-group assignment of c's experiment for
// the accounts an evaluation report lists from a model of spec (eval's
// Options.Group): given a customer id and the spec index of the feature
// with its largest positive contribution (-1 when none), it returns the
// account's play (that feature's playbook category, or none) and group,
// data.GroupTreat or data.GroupControl, as predict assigns them to a
// targeted customer with reasons. c must have its defaults
// (EnsureDefaults). The function is safe for concurrent use.
func (c *Config) AccountGroup(spec *features.Spec) func(customerID string, topFeature int) (play, group string) {
	pb := c.Playbook
	if pb == nil {
		pb = DefaultPlaybook()
	}
	cat := make([]string, len(spec.Features))
	for i := range spec.Features {
		cat[i] = pb.CategoryOf(&spec.Features[i])
	}
	e := c.Control.Experiment()
	return func(customerID string, topFeature int) (string, string) {
		play := noReasonCategory
		if topFeature >= 0 && topFeature < len(cat) {
			play = cat[topFeature]
		}
		return play, e.Group(play, customerID)
	}
}
