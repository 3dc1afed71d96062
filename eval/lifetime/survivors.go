package lifetime

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/churnlab/churn/data"
)

// SurvivorsHeader is the header a survivors CSV must have, exactly.
const SurvivorsHeader = "cohort,period,alive"

// MaxAlive bounds a survivor count: integers beyond 2^53 are not exact as
// float64.
const MaxAlive = 1 << 53

// Errors of ReadSurvivors, wrapped in a *data.InputError naming the file,
// row (the line; the header is row 1) and column.
var (
	ErrSurvivorsHeader = errors.New(`header must be exactly "` + SurvivorsHeader + `"`)
	ErrNotInteger      = errors.New("not an integer ≥ 0")
	ErrPeriodOrder     = errors.New("periods of a cohort must be 0, 1, 2, … on consecutive rows")
	ErrAliveIncreases  = errors.New("alive must not increase from one period to the next")
	ErrEmptyCohort     = errors.New("period 0 is the cohort's size and must be > 0")
	ErrCohortName      = errors.New("cohort must be a non-empty UTF-8 name")
	ErrCohortAgain     = errors.New("cohort appears again after other cohorts (keep its rows together)")
	ErrTooFewPeriods   = errors.New("a cohort needs at least periods 0, 1 and 2 to fit its two parameters")
)

// Cohort is one cohort's survivor counts: Alive[t] customers alive at the
// start of period t, Alive[0] the cohort's size.
type Cohort struct {
	Name  string
	Alive []float64
}

// ReadSurvivors reads a survivors CSV: the header cohort,period,alive, then
// one row per cohort and period, each cohort's rows together with periods
// 0, 1, 2, … in order, alive a non-increasing integer count with period 0
// (the cohort's size) > 0. Every problem is a *data.InputError naming file
// (the name used in messages), row and column. Cohorts keep the file's
// order.
func ReadSurvivors(r io.Reader, file string) ([]Cohort, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	fail := func(row int64, col, val string, err error) error {
		return &data.InputError{File: file, Row: row, Column: col, Value: val, Err: err}
	}
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, fail(0, "", "", fmt.Errorf("%w: the file is empty", data.ErrEmpty))
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	if got := strings.Join(rec, ","); got != SurvivorsHeader {
		return nil, fail(1, "", got, ErrSurvivorsHeader)
	}
	var out []Cohort
	seen := map[string]bool{}
	var firstRow int64
	finish := func() error {
		if n := len(out); n > 0 && len(out[n-1].Alive) < 3 {
			return fail(firstRow, "period", "", fmt.Errorf("cohort %q: %w", out[n-1].Name, ErrTooFewPeriods))
		}
		return nil
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(file, err)
		}
		line, _ := cr.FieldPos(0)
		row := int64(line)
		name := rec[0]
		if name == "" || !utf8.ValidString(name) {
			return nil, fail(row, "cohort", name, ErrCohortName)
		}
		period, err := parseCount(rec[1], 1<<31)
		if err != nil {
			return nil, fail(row, "period", rec[1], err)
		}
		alive, err := parseCount(rec[2], MaxAlive)
		if err != nil {
			return nil, fail(row, "alive", rec[2], err)
		}
		if n := len(out); n == 0 || out[n-1].Name != name {
			if err := finish(); err != nil {
				return nil, err
			}
			if seen[name] {
				return nil, fail(row, "cohort", name, ErrCohortAgain)
			}
			seen[name] = true
			if period != 0 {
				return nil, fail(row, "period", rec[1], fmt.Errorf("cohort %q starts at period %d: %w", name, period, ErrPeriodOrder))
			}
			if alive == 0 {
				return nil, fail(row, "alive", rec[2], ErrEmptyCohort)
			}
			out = append(out, Cohort{Name: strings.Clone(name)})
			firstRow = row
		}
		c := &out[len(out)-1]
		if want := int64(len(c.Alive)); period != want {
			return nil, fail(row, "period", rec[1], fmt.Errorf("cohort %q: period %d after %d: %w", name, period, want-1, ErrPeriodOrder))
		}
		if n := len(c.Alive); n > 0 && float64(alive) > c.Alive[n-1] {
			return nil, fail(row, "alive", rec[2], fmt.Errorf("cohort %q: %d after %.0f: %w", name, alive, c.Alive[n-1], ErrAliveIncreases))
		}
		c.Alive = append(c.Alive, float64(alive))
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fail(0, "", "", fmt.Errorf("%w: no cohort rows after the header", data.ErrEmpty))
	}
	return out, nil
}

// parseCount parses a decimal integer in [0, limit].
func parseCount(s string, limit int64) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > limit || s != strconv.FormatInt(v, 10) {
		return 0, ErrNotInteger
	}
	return v, nil
}

// csvError turns a CSV syntax error into an InputError at its line.
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &data.InputError{File: file, Row: int64(pe.Line), Err: fmt.Errorf("%w (want 3: %s)", pe.Err, SurvivorsHeader)}
		}
		// A syntax error has no column name: say where in the line.
		return &data.InputError{File: file, Row: int64(pe.Line), Err: fmt.Errorf("character %d: %w", pe.Column, pe.Err)}
	}
	return &data.InputError{File: file, Err: err}
}

// Cohort groupings of SurvivorsFromData.
const (
	ByMonth   = "month"
	ByQuarter = "quarter"
	ByPlan    = "plan"
	BySegment = "segment"
)

// SurvivorsOptions are the inputs of SurvivorsFromData.
type SurvivorsOptions struct {
	// CohortBy is ByMonth (also when ""), ByQuarter, ByPlan or BySegment.
	CohortBy string
	// AsOf ends the observation: churn on or after it is unknown (the
	// customer is alive at every period that started before it).
	// data.NoDate means the day after the data's latest date (signup or
	// churn).
	AsOf data.Date
	// SignupsFrom, when valid, keeps only customers who signed up on or
	// after it: for data that holds only the customers still there when
	// its history starts (earlier signups are left-truncated survivors,
	// who never churn before that day and bias the fit). data.NoDate
	// keeps every customer.
	SignupsFrom data.Date
	// MinPeriods is the fewest whole months a plan or segment cohort's
	// customer must have been observed to be counted (signup cohorts keep
	// every customer). Must be ≥ 2.
	MinPeriods int
}

// Derived describes how SurvivorsFromData built the cohorts.
type Derived struct {
	AsOf      string `json:"as_of"`
	CohortBy  string `json:"cohort_by"`
	Customers int64  `json:"customers"`
	// NoSignup customers have no signup_date and are in no cohort;
	// TooRecent plan or segment customers were observed for fewer than
	// MinPeriods months; Skipped lists cohorts observed for fewer than 2
	// whole months.
	NoSignup  int64    `json:"no_signup_date"`
	TooRecent int64    `json:"too_recent"`
	Skipped   []string `json:"skipped_cohorts"`
	// SignupsFrom is SurvivorsOptions.SignupsFrom ("" when unset) and
	// BeforeSignupsFrom the customers it left out. FirstChurn is the
	// earliest churn date in the data: cohorts that signed up long before
	// it may hold only the customers who survived to the data's start.
	SignupsFrom       string `json:"signups_from"`
	BeforeSignupsFrom int64  `json:"before_signups_from"`
	FirstChurn        string `json:"first_churn"`
}

type lifeSpan struct {
	signup, churn data.Date
	key           string
}

// SurvivorsFromData counts each cohort's survivors per month from the
// customers' signup dates and churn dates (customers.churn_date, else the
// first churn event; a reactivation does not undo the churn, sBG models
// one lifetime). Period t starts t months after signup (time.AddDate's
// months); a customer is alive at the start of period t when it has not
// churned before then. Censoring at the data's end: a customer is observed
// for the periods that started before AsOf, and each cohort is cut at the
// period its latest customer reached, so every count covers the whole
// cohort; cohorts with fewer than 2 whole months are skipped. Cohorts come
// in name order (signup cohorts in time).
func SurvivorsFromData(ctx context.Context, ds *data.Dataset, opt SurvivorsOptions) ([]Cohort, Derived, error) {
	by := opt.CohortBy
	switch by {
	case "":
		by = ByMonth
	case ByMonth, ByQuarter, ByPlan, BySegment:
	default:
		return nil, Derived{}, fmt.Errorf("cohort by %q: want %s, %s, %s or %s", by, ByMonth, ByQuarter, ByPlan, BySegment)
	}
	if opt.MinPeriods < 2 {
		return nil, Derived{}, fmt.Errorf("min periods %d: want at least 2", opt.MinPeriods)
	}
	cols := []string{"signup_date", "churn_date"}
	if by == ByPlan || by == BySegment {
		cols = append(cols, by)
	}
	sopt := data.ScanOptions{Tables: []string{}, Columns: map[string][]string{data.Customers: cols}}
	if ds.Has(data.ChurnEvents) {
		sopt.Tables = []string{data.ChurnEvents}
		sopt.Columns[data.ChurnEvents] = []string{"churn_date"}
	}
	der := Derived{CohortBy: by}
	if opt.SignupsFrom.Valid() {
		der.SignupsFrom = opt.SignupsFrom.String()
	}
	var spans []lifeSpan
	latest, firstChurn := data.NoDate, data.NoDate
	_, err := ds.Scan(ctx, data.KeyRange{}, sopt, func(h *data.History) error {
		der.Customers++
		c := &h.Customer
		if !c.SignupDate.Valid() {
			der.NoSignup++
			return nil
		}
		s := lifeSpan{signup: c.SignupDate, churn: churnDate(h)}
		latest = max(latest, s.signup, s.churn)
		if s.churn.Valid() && (!firstChurn.Valid() || s.churn < firstChurn) {
			firstChurn = s.churn
		}
		if opt.SignupsFrom.Valid() && s.signup < opt.SignupsFrom {
			der.BeforeSignupsFrom++
			return nil
		}
		switch by {
		case ByMonth:
			s.key = cohortName(cohortKey(s.signup, "month"), "month")
		case ByQuarter:
			s.key = cohortName(cohortKey(s.signup, "quarter"), "quarter")
		case ByPlan:
			s.key = strings.Clone(c.Plan)
		case BySegment:
			s.key = strings.Clone(c.Segment)
		}
		if s.key == "" {
			s.key = "(none)"
		}
		spans = append(spans, s)
		return nil
	})
	if err != nil {
		return nil, der, err
	}
	if len(spans) == 0 {
		return nil, der, fmt.Errorf("no customer with a signup_date (on or after %s when set): churn lifetime sbg --data needs customers.signup_date", opt.SignupsFrom)
	}
	asOf := opt.AsOf
	if !asOf.Valid() {
		asOf = latest + 1
	}
	der.AsOf = asOf.String()
	if firstChurn.Valid() {
		der.FirstChurn = firstChurn.String()
	}
	// Whole months observed: the periods that started before asOf.
	observed := func(signup data.Date) int {
		if signup >= asOf {
			return -1
		}
		st := signup.Time()
		k := max(int(asOf-signup)/31-1, 0)
		for data.DateOf(st.AddDate(0, k+1, 0)) < asOf {
			k++
		}
		return k
	}
	groups := map[string][]lifeSpan{}
	for _, s := range spans {
		if s.signup >= asOf {
			continue // not yet a customer
		}
		if (by == ByPlan || by == BySegment) && observed(s.signup) < opt.MinPeriods {
			der.TooRecent++
			continue
		}
		groups[s.key] = append(groups[s.key], s)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []Cohort
	for _, k := range keys {
		g := groups[k]
		n := -1
		for _, s := range g {
			if m := observed(s.signup); n < 0 || m < n {
				n = m
			}
		}
		if n < 2 {
			der.Skipped = append(der.Skipped, k)
			continue
		}
		alive := make([]float64, n+1)
		for _, s := range g {
			st := s.signup.Time()
			for t := 0; t <= n; t++ {
				start := data.DateOf(st.AddDate(0, t, 0))
				if t > 0 && s.churn.Valid() && s.churn < asOf && s.churn < start {
					break
				}
				alive[t]++
			}
		}
		out = append(out, Cohort{Name: k, Alive: alive})
	}
	if len(out) == 0 {
		return nil, der, fmt.Errorf("no cohort was observed for 2 whole months before %s (skipped: %s)", asOf, strings.Join(der.Skipped, ", "))
	}
	return out, der, nil
}
