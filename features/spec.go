package features

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/churnlab/churn/data"
)

// SpecVersion is the version of the Spec format. Readers reject other
// versions.
const SpecVersion = 1

// MetadataKey is the Parquet key-value metadata key holding the Spec (JSON)
// in a feature table.
const MetadataKey = "churn.features.spec"

// Spec describes a feature table: its columns in order and how they were
// made. It is stored as JSON in the table's footer and, by train, in model
// artifacts, so that a model refuses a table built differently.
type Spec struct {
	Version int `json:"version"`
	// Features lists the feature columns in output order.
	Features []Def      `json:"features"`
	Config   Config     `json:"config"`
	Label    LabelSpec  `json:"label"`
	AsOf     []string   `json:"as_of,omitempty"` // snapshot dates, YYYY-MM-DD
	Tables   []string   `json:"tables"`          // tables the dataset holds
	Input    InputStamp `json:"input"`
	// ChurnVersion is the churn version that built the table.
	ChurnVersion string `json:"churn_version"`
	// Lifetime holds the population parameters of the probability models
	// behind the lifetime features (p_alive, expected_purchases_<H>d, clv),
	// one fit per as-of date in date order, each from orders before its
	// date only (FitLifetime); empty when the spec has no lifetime feature.
	// A row as of T uses the latest fit dated on or before T (LifetimeAt):
	// a model's spec is frozen, scoring never refits.
	Lifetime []LifetimeFit `json:"lifetime,omitempty"`
}

// LabelSpec records how labels were made.
type LabelSpec struct {
	Mode       LabelMode `json:"mode"`
	HorizonDay int       `json:"horizon_days"`
	GapDays    int       `json:"gap_days"`
	DataEnd    string    `json:"data_end,omitempty"`
}

// InputStamp identifies the input dataset.
type InputStamp struct {
	Fingerprint string           `json:"fingerprint"`
	Rows        map[string]int64 `json:"rows"` // rows per table
}

// Column names of a feature table besides the features.
const (
	ColCustomerID = "customer_id"
	ColAsOf       = "as_of"
	ColLabel      = "label"
)

// NewSpec decides which features a dataset supports under cfg and how labels
// are made. cfg and lc are defaulted and validated. It fits nothing: Build
// and BuildTable add the lifetime fits of their dates (FitLifetime), and a
// spec without fits gives missing lifetime features.
func NewSpec(ds *data.Dataset, cfg Config, lc LabelConfig) (*Spec, LabelConfig, error) {
	cfg.EnsureDefaults()
	lc.EnsureDefaults()
	if err := errors.Join(cfg.Validate(), lc.Validate()); err != nil {
		return nil, lc, err
	}
	lc, err := ResolveLabel(ds, lc)
	if err != nil {
		return nil, lc, err
	}
	has := datasetHas(ds)
	spec := &Spec{
		Version: SpecVersion,
		Config:  cfg,
		Label:   LabelSpec{Mode: lc.Mode, HorizonDay: lc.Horizon, GapDays: lc.Gap, DataEnd: lc.DataEnd.String()},
		Input:   InputStamp{Rows: map[string]int64{}},
	}
	for _, tf := range ds.Tables() {
		spec.Tables = append(spec.Tables, tf.Table.Name)
		spec.Input.Rows[tf.Table.Name] = tf.NumRows()
	}
	if spec.Input.Fingerprint, err = ds.Fingerprint(); err != nil {
		return nil, lc, err
	}
	m := maskOf(cfg.Groups)
	subs := has(data.Subscriptions, "")
	for _, d := range defs(&cfg) {
		if !m.has(slices.Index(groupOrder, d.Group)) || !available(d.Needs, has) {
			continue
		}
		switch d.id {
		case fSeats, fMRR, fPlan, fDaysToRenewal, fStage:
			// Without a subscription history these come from today's
			// customers row.
			d.Static = !subs
		}
		spec.Features = append(spec.Features, d)
	}
	if m.has(gAttributes) {
		taken := map[string]bool{ColCustomerID: true, ColAsOf: true, ColLabel: true, SampleWeightColumn: true}
		for _, d := range spec.Features {
			taken[d.Name] = true
		}
		for _, a := range ds.Table(data.Customers).Attrs {
			name := a.Name
			if taken[name] {
				name = "attr_" + name
			}
			taken[name] = true
			kind := Numeric
			switch a.Type {
			case data.TypeString:
				kind = Categorical
			case data.TypeBool:
				kind = Flag
			}
			spec.Features = append(spec.Features, Def{
				Name: name, Group: "attributes", Kind: kind, Unit: "attribute", Static: true,
				Description: fmt.Sprintf("customer attribute %q (today's value)", a.Name),
				Needs:       [][]string{{"customers." + a.Name}}, Missing: "not recorded for the customer",
				id: -1,
			})
		}
	}
	if len(spec.Features) == 0 {
		return nil, lc, errors.New("no feature can be computed from this dataset with these groups")
	}
	return spec, lc, nil
}

// inferDataEnd returns the latest day found in any time column.
func inferDataEnd(ds *data.Dataset) data.Date {
	_, last := DataRange(ds)
	return last
}

// DataRange returns the earliest and latest days found in the dataset's
// time columns (each table's time column, and the customers' signup and
// churn dates), from the files' statistics; NoDate when unknown.
func DataRange(ds *data.Dataset) (first, last data.Date) {
	first, last = data.NoDate, data.NoDate
	for _, tf := range ds.Tables() {
		t := tf.Table
		cols := []string{t.Time}
		if t.Name == data.Customers {
			cols = []string{"signup_date", "churn_date"}
		}
		for _, c := range cols {
			if c == "" {
				continue
			}
			if d, ok := ds.MaxDate(t.Name, c); ok && (last == data.NoDate || d > last) {
				last = d
			}
			if d, ok := ds.MinDate(t.Name, c); ok && (first == data.NoDate || d < first) {
				first = d
			}
		}
	}
	return first, last
}

// ErrAsOfOutsideData marks an as-of date outside the data: on or before
// its first day (no customer has a history yet) or later than the day
// after the data end (the days in between would read as inactivity).
var ErrAsOfOutsideData = errors.New("as-of date outside the data")

// checkAsOf reports the as-of dates outside (first, dataEnd+1].
func checkAsOf(dates []data.Date, first, dataEnd data.Date) error {
	var bad []string
	for _, d := range dates {
		if (first != data.NoDate && d <= first) || (dataEnd != data.NoDate && d > dataEnd.AddDays(1)) {
			bad = append(bad, d.String())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	if len(bad) > 5 {
		bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
	}
	return fmt.Errorf("%w: %s; the data runs from %s to %s, so as-of dates go from %s (features need a day of history) to %s (the day after the data end, for scoring)",
		ErrAsOfOutsideData, strings.Join(bad, ", "), first, dataEnd, first.AddDays(1), dataEnd.AddDays(1))
}

// Names returns the feature names in order.
func (s *Spec) Names() []string {
	out := make([]string, len(s.Features))
	for i, d := range s.Features {
		out[i] = d.Name
	}
	return out
}

// Lookup returns the named feature.
func (s *Spec) Lookup(name string) (*Def, bool) {
	for i := range s.Features {
		if s.Features[i].Name == name {
			return &s.Features[i], true
		}
	}
	return nil, false
}

// StaticNames lists the features whose values are known only today.
func (s *Spec) StaticNames() []string {
	var out []string
	for _, d := range s.Features {
		if d.Static {
			out = append(out, d.Name)
		}
	}
	return out
}

// Columns returns the Parquet columns of the feature table.
func (s *Spec) Columns() []data.ColumnSpec {
	cols := []data.ColumnSpec{
		{Name: ColCustomerID, Type: data.TypeString},
		{Name: ColAsOf, Type: data.TypeDate, Optional: true},
	}
	for _, d := range s.Features {
		t := data.TypeFloat64
		if d.Kind == Categorical {
			t = data.TypeString
		}
		cols = append(cols, data.ColumnSpec{Name: d.Name, Type: t, Optional: true, Dict: d.Kind == Categorical})
	}
	return append(cols, data.ColumnSpec{Name: ColLabel, Type: data.TypeInt64, Optional: true})
}

// table returns a data.Table describing the feature table, so the data
// package's columnar reader can read it.
func (s *Spec) table() *data.Table {
	t := &data.Table{Name: "features"}
	for i, c := range s.Columns() {
		t.Columns = append(t.Columns, data.Column{Name: c.Name, Type: c.Type, Required: i == 0})
	}
	return t
}

// MarshalJSON-friendly encoding of the spec for the footer.
func (s *Spec) encode() (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// DecodeSpec parses a Spec from JSON and checks its version.
func DecodeSpec(b []byte) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("feature spec: %w", err)
	}
	if s.Version != SpecVersion {
		return nil, fmt.Errorf("feature spec version %d is not supported (this churn reads version %d)", s.Version, SpecVersion)
	}
	return &s, nil
}

// Compatible reports why a table built with spec t cannot be used where
// spec s is expected (same features, in the same order, with the same kinds
// and windows), or nil.
func (s *Spec) Compatible(t *Spec) error {
	want, got := s.Names(), t.Names()
	if !slices.Equal(want, got) {
		var missing, extra []string
		for _, n := range want {
			if !slices.Contains(got, n) {
				missing = append(missing, n)
			}
		}
		for _, n := range got {
			if !slices.Contains(want, n) {
				extra = append(extra, n)
			}
		}
		msg := "feature columns differ"
		if len(missing) > 0 {
			msg += "; missing: " + strings.Join(missing, ", ")
		}
		if len(extra) > 0 {
			msg += "; unexpected: " + strings.Join(extra, ", ")
		}
		if len(missing) == 0 && len(extra) == 0 {
			msg += " in order"
		}
		return errors.New(msg)
	}
	for i := range s.Features {
		if s.Features[i].Kind != t.Features[i].Kind {
			return fmt.Errorf("feature %s is %s here but %s in the model", s.Features[i].Name, t.Features[i].Kind, s.Features[i].Kind)
		}
	}
	if s.Config.Short != t.Config.Short || s.Config.Medium != t.Config.Medium || s.Config.Long != t.Config.Long || s.Config.TrendWeeks != t.Config.TrendWeeks {
		return errors.New("feature windows differ")
	}
	if s.hasLifetime() {
		a, b := &s.Config.Lifetime, &t.Config.Lifetime
		if a.CLVMonths != b.CLVMonths || a.Discount() != b.Discount() {
			return fmt.Errorf("lifetime value settings differ: clv over %d months at %g a year here, %d months at %g in the model", b.CLVMonths, b.Discount(), a.CLVMonths, a.Discount())
		}
	}
	return nil
}

// LastDay is the last day the label of a row as of T looks at: a churn
// date in (T+gap, T+gap+horizon] for churn_date and churn_events, an order
// on the days [T+gap, T+gap+horizon) for inactivity, so one day earlier.
// The label is observed (known) when LastDay(T) is on or before the data
// end. Snapshot labels (and none) have no window: LastDay returns T.
func (s LabelSpec) LastDay(T data.Date) data.Date {
	switch s.Mode {
	case LabelSnapshot, LabelNone:
		return T
	case LabelInactivity:
		return T.AddDays(s.GapDays + s.HorizonDay - 1)
	}
	// churn_date, churn_events, and (conservatively) an unresolved mode.
	return T.AddDays(s.GapDays + s.HorizonDay)
}

// LastLabelledAsOf is the latest as-of date whose label window is observed
// by dataEnd: the inverse of LastDay.
func (s LabelSpec) LastLabelledAsOf(dataEnd data.Date) data.Date {
	return dataEnd - (s.LastDay(dataEnd) - dataEnd)
}

// Observed reports whether the label window of a row as of T ends on or
// before dataEnd, so that both outcomes could be seen. Snapshot labels are
// always observed; an unknown data end (NoDate) observes nothing.
func (s LabelSpec) Observed(T, dataEnd data.Date) bool {
	switch s.Mode {
	case LabelSnapshot, LabelNone:
		return true
	}
	return dataEnd != data.NoDate && s.LastDay(T) <= dataEnd
}

// ClosedBefore reports whether the label of a row as of T looks only at
// days before cutoff, so that a model validated at cutoff may train on it
// (nothing at or after an as-of date may reach a label input).
func (s LabelSpec) ClosedBefore(T, cutoff data.Date) bool {
	return s.LastDay(T) < cutoff
}
