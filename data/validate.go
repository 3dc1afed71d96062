package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Severity ranks a validation problem.
type Severity uint8

// Severities, from least to most serious. Only errors make a dataset
// unusable; warnings and notes (info) are things a user should know.
const (
	SevInfo Severity = iota
	SevWarning
	SevError
)

var severityNames = [...]string{"info", "warning", "error"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", s)
}

// MarshalText encodes s as "info", "warning" or "error".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses "info", "warning" or "error".
func (s *Severity) UnmarshalText(b []byte) error {
	i := slices.Index(severityNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown severity %q", b)
	}
	*s = Severity(i)
	return nil
}

// Check is one kind of validation problem. Its ID is stable and appears in
// the JSON report; docs/validate.md describes every check. Severity is the
// usual one: empty_table is an error for the customers table.
type Check struct {
	ID       string
	Severity Severity
	// PerFile checks report each file separately; the others gather every
	// file of a table into one problem per column, with examples.
	PerFile bool
}

// The checks Validate runs, in report order.
var (
	checkMissingTable      = Check{"missing_table", SevError, false}
	checkUnknownTable      = Check{"unknown_table", SevError, true}
	checkDuplicateTable    = Check{"duplicate_table", SevError, true}
	checkNoFiles           = Check{"no_files", SevError, true}
	checkUnreadable        = Check{"unreadable", SevError, true}
	checkWrongType         = Check{"wrong_type", SevError, true}
	checkMissingColumn     = Check{"missing_column", SevError, false}
	checkBadPartition      = Check{"bad_partition", SevError, true}
	checkAttrsDiffer       = Check{"attributes_differ", SevError, true}
	checkEmptyTable        = Check{"empty_table", SevWarning, false} // an error for customers (see report)
	checkNullRequired      = Check{"null_required", SevError, false}
	checkUnsortedKey       = Check{"unsorted_key", SevError, true}
	checkDuplicateKey      = Check{"duplicate_key", SevError, false}
	checkInvalidUTF8       = Check{"invalid_utf8", SevError, false}
	checkInvalidKey        = Check{"invalid_key", SevError, false}
	checkUnknownValue      = Check{"unknown_value", SevError, false}
	checkEmptyValue        = Check{"empty_value", SevError, false}
	checkOutOfRange        = Check{"out_of_range", SevError, false}
	checkNotFinite         = Check{"not_finite", SevError, false}
	checkNaN               = Check{"nan_value", SevWarning, false}
	checkImplausible       = Check{"implausible_value", SevWarning, false}
	checkOrphan            = Check{"orphan", SevWarning, false}
	checkUnsortedTime      = Check{"unsorted_time", SevWarning, true}
	checkMissingSignup     = Check{"missing_signup", SevWarning, false}
	checkChurnBeforeSignup = Check{"churn_before_signup", SevWarning, false}
	checkAfterAsOf         = Check{"after_as_of", SevWarning, false}
	checkFutureDate        = Check{"future_date", SevWarning, false}
	checkOldDate           = Check{"old_date", SevWarning, false}
	checkNegativeAmount    = Check{"negative_amount", SevWarning, false}
	checkControlContacted  = Check{"control_contacted", SevWarning, false}
	checkOtherValue        = Check{"other_value", SevInfo, false}
	checkIgnoredColumn     = Check{"ignored_column", SevInfo, false}
	checkIgnoredFile       = Check{"ignored_file", SevInfo, true}
	checkJoinSkipped       = Check{"join_skipped", SevInfo, true}
)

// Checks returns every check Validate runs, in report order. The slice is
// the caller's.
func Checks() []Check { return slices.Clone(allChecks) }

var allChecks = []Check{
	checkMissingTable, checkUnknownTable, checkDuplicateTable, checkNoFiles, checkUnreadable, checkWrongType,
	checkMissingColumn, checkBadPartition, checkAttrsDiffer, checkEmptyTable, checkNullRequired, checkUnsortedKey,
	checkDuplicateKey, checkInvalidUTF8, checkInvalidKey, checkUnknownValue, checkEmptyValue, checkOutOfRange, checkNotFinite, checkNaN, checkImplausible,
	checkOrphan, checkUnsortedTime, checkMissingSignup, checkChurnBeforeSignup, checkAfterAsOf, checkFutureDate, checkOldDate, checkNegativeAmount, checkControlContacted, checkOtherValue,
	checkIgnoredColumn, checkIgnoredFile, checkJoinSkipped,
}

// ValidateOptions configures Validate. The zero value checks without an
// as-of date, measures "future" from the current day, keeps 5 examples per
// problem and reads as many files at once as there are CPUs.
type ValidateOptions struct {
	// AsOf is the as-of date of point-in-time work (its UTC day); the zero
	// time skips the as-of checks.
	AsOf time.Time
	// Now is the instant future dates are measured from; zero means
	// time.Now().
	Now time.Time
	// Examples is the number of example rows kept per problem; 0 means 5.
	Examples int
	// Workers is the number of files checked at once; 0 means GOMAXPROCS.
	Workers int
}

// Report is the result of Validate. Its JSON form is documented in
// docs/validate.md.
type Report struct {
	// Version is the version of the report format (1).
	Version int    `json:"version"`
	Dir     string `json:"dir"`
	// AsOf is the as-of date checked against, YYYY-MM-DD, or "".
	AsOf string `json:"as_of,omitempty"`
	// Today is the day future dates are measured from, YYYY-MM-DD.
	Today string `json:"today"`
	// OK is true when the dataset has no errors (warnings allowed).
	OK       bool          `json:"ok"`
	Errors   int           `json:"errors"`
	Warnings int           `json:"warnings"`
	Infos    int           `json:"infos"`
	Files    int           `json:"files"`
	Rows     int64         `json:"rows"`
	Tables   []TableReport `json:"tables"`
	// Problems are ordered by severity (errors first), then table (contract
	// order), check, column and file.
	Problems []Problem `json:"problems"`
}

// TableReport summarises one contract table.
type TableReport struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Present  bool   `json:"present"`
	// Path is the file or folder the table was found at ("" when absent).
	Path  string `json:"path,omitempty"`
	Files int    `json:"files"`
	// Rows counts the rows of the files that could be opened.
	Rows int64 `json:"rows"`
	// Orphans counts rows whose customer_id is not in customers;
	// OrphansChecked is false when the check could not run (an unsorted or
	// unreadable file) and Orphans is then a lower bound.
	Orphans        int64 `json:"orphans"`
	OrphansChecked bool  `json:"orphans_checked"`
	// Status is "ok", "warning", "error" (the worst problem of the table)
	// or "absent".
	Status  string         `json:"status"`
	Columns []ColumnReport `json:"columns"`
}

// ColumnReport summarises one column of a table: the contract's columns in
// contract order, then customer attributes, then ignored columns.
type ColumnReport struct {
	Name string `json:"name"`
	// Type is the contract type (STRING, INT64, DOUBLE, BOOLEAN, DATE,
	// TIMESTAMP); for ignored columns, the Parquet type.
	Type string `json:"type"`
	// FileType is the Parquet type found in the first file that has the
	// column, e.g. "INT32 (DATE)"; "" when absent.
	FileType string `json:"file_type,omitempty"`
	Required bool   `json:"required"`
	// Kind is "contract", "attribute" or "ignored".
	Kind string `json:"kind"`
	// Present reports whether at least one file provides the column.
	Present bool `json:"present"`
	// Nulls counts missing values, including the rows of files that lack
	// the column; NullPct is Nulls as a percentage of the rows read.
	Nulls   int64   `json:"nulls"`
	NullPct float64 `json:"null_pct"`
	// Min and Max are the smallest and largest values of numeric, date and
	// timestamp columns, formatted as in the text report ("" otherwise).
	Min string `json:"min,omitempty"`
	Max string `json:"max,omitempty"`
	// Status is "ok", "warning" or "error" (the worst problem of the
	// column); "absent" (an optional column no file has), "missing" (a
	// required column a file lacks), "wrong type", "bad partition",
	// "unread" (no file of the table could be read); or "attribute" or
	// "ignored" for columns outside the contract.
	Status string `json:"status"`
}

// Problem is one finding of Validate: a check that failed for a table
// column (over all its files), or for one file.
type Problem struct {
	Severity Severity `json:"severity"`
	Check    string   `json:"check"`
	// Table is the contract table, or "" for files that belong to none.
	Table  string `json:"table,omitempty"`
	Column string `json:"column,omitempty"`
	// File, Row and Value locate the first occurrence; Row is 1-based
	// within the file and 0 when the problem is not about a row.
	File  string `json:"file,omitempty"`
	Row   int64  `json:"row,omitempty"`
	Value string `json:"value,omitempty"`
	// Customer is the customer_id of the row, when the problem is about a
	// row of a file that has one.
	Customer string `json:"customer_id,omitempty"`
	// Message says what is wrong and what it means.
	Message string `json:"message"`
	// Count is the number of rows (or values) affected; for problems not
	// about rows, the number of files.
	Count int64 `json:"count"`
	// Files is the number of files affected.
	Files int `json:"files"`
	// Examples holds up to ValidateOptions.Examples occurrences, the first
	// of which is File/Row/Value.
	Examples []Example `json:"examples,omitempty"`
}

// Example is one occurrence of a problem.
type Example struct {
	File     string `json:"file"`
	Row      int64  `json:"row,omitempty"`
	Value    string `json:"value,omitempty"`
	Customer string `json:"customer_id,omitempty"`
}

// ValidationError reports that a dataset has errors. Report.Err returns it.
type ValidationError struct {
	Dir              string
	Errors, Warnings int
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("dataset %s is not valid: %s", e.Dir, plural(e.Errors, "error"))
}

// Err returns a *ValidationError when the report holds errors, else nil.
func (r *Report) Err() error {
	if r.Errors == 0 {
		return nil
	}
	return &ValidationError{Dir: r.Dir, Errors: r.Errors, Warnings: r.Warnings}
}

// Validate checks the dataset at dir against the contract and reports every
// problem it finds rather than stopping at the first: unreadable files,
// schemas and types, required tables and columns, nulls, vocabularies and
// ranges, sort order, duplicate customers, orphan rows, and dates that lie
// after the as-of date, in the future or in the distant past. Checks lists
// the checks; docs/validate.md describes them.
//
// Validate streams: it holds one row group per file being read (Workers of
// them at once) plus one row group per file for the customer_id join, so
// its memory does not grow with the number of rows. It returns an error
// only when it cannot run (dir unreadable, ctx done); problems with the
// data are in the report, and Report.Err says whether they are fatal.
func Validate(ctx context.Context, dir string, opt ValidateOptions) (*Report, error) {
	v, err := newValidator(dir, opt)
	if err != nil {
		return nil, err
	}
	defer v.close()
	if err := v.discover(); err != nil {
		return nil, err
	}
	if err := v.run(ctx); err != nil {
		return nil, err
	}
	return v.report(), nil
}

// validator holds the state of one Validate call.
type validator struct {
	dir      string
	lim      limits
	tables   map[string]*tableState // contract tables found
	unknown  *collector             // problems not tied to a readable table file
	join     *joinResult
	workers  int
	examples int
}

// limits are the thresholds of the date checks, in days and microseconds.
type limits struct {
	asOf         Date // NoDate: no as-of checks
	today        Date
	eventDay     Date // latest day an event may have (today + 1 for time zones)
	plannedDay   Date // latest plausible planned day (today + 10 years)
	oldDay       Date // days on or before it are placeholders
	asOfTS       Timestamp
	eventAfterTS Timestamp // first instant after eventDay
	plannedTS    Timestamp
	oldBeforeTS  Timestamp // first instant after oldDay
	hasAsOf      bool
}

const (
	plannedYears  = 10
	eventDaySlack = 1
)

func newLimits(opt ValidateOptions) limits {
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	l := limits{asOf: NoDate, today: DateOf(now)}
	if !opt.AsOf.IsZero() {
		l.asOf, l.hasAsOf = DateOf(opt.AsOf), true
		l.asOfTS = l.asOf.Start()
	}
	l.eventDay = l.today.AddDays(eventDaySlack)
	l.plannedDay = DateOf(l.today.Time().AddDate(plannedYears, 0, 0))
	l.oldDay = MakeDate(1900, time.January, 1)
	l.eventAfterTS = l.eventDay.AddDays(1).Start()
	l.plannedTS = l.plannedDay.AddDays(1).Start()
	l.oldBeforeTS = l.oldDay.AddDays(1).Start()
	return l
}

func newValidator(dir string, opt ValidateOptions) (*validator, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("validate: %s is not a directory (a dataset is a folder of tables)", dir)
	}
	v := &validator{dir: dir, lim: newLimits(opt), tables: map[string]*tableState{}}
	v.examples = opt.Examples
	if v.examples <= 0 {
		v.examples = 5
	}
	v.workers = opt.Workers
	if v.workers <= 0 {
		v.workers = runtime.GOMAXPROCS(0)
	}
	v.unknown = newCollector(v.examples)
	return v, nil
}

// tableState is one contract table found in the dataset.
type tableState struct {
	t     *Table
	path  string
	files []*fileState
	// attrs are the attribute columns of the first readable customers file.
	attrs     []AttrColumn
	attrsFrom string // the file attrs come from
	ignored   []ignoredColumn
	fileType  map[string]string // column -> Parquet type of the first file having it
}

type ignoredColumn struct{ name, typ string }

// fileState is one file of a table.
type fileState struct {
	path      string
	partition map[string]string
	f         *File      // nil when the file cannot be opened
	open      *collector // problems found while opening
	res       *fileResult
}

func (v *validator) close() {
	for _, ts := range v.tables {
		for _, fs := range ts.files {
			if fs.f != nil {
				fs.f.Close()
			}
		}
	}
}

// discover finds the tables and files of the dataset, as Open does, and
// opens every file; problems are recorded, never returned.
func (v *validator) discover() error {
	entries, err := os.ReadDir(v.dir)
	if err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if skipName(name) {
			continue
		}
		path := filepath.Join(v.dir, name)
		var tname string
		switch {
		case e.IsDir():
			tname = name
		case strings.HasSuffix(name, ".parquet"):
			tname = strings.TrimSuffix(name, ".parquet")
		default:
			v.unknown.add(checkIgnoredFile, "", "", path, 0, "", func() string {
				return "not a .parquet file or a table folder; skipped"
			})
			continue
		}
		t, ok := LookupTable(tname)
		if !ok {
			v.unknown.add(checkUnknownTable, "", "", path, 0, "", func() string {
				return unknownTableError(tname).Error() + "; rename it or move it out of the dataset"
			})
			continue
		}
		if prev := v.tables[tname]; prev != nil {
			v.unknown.add(checkDuplicateTable, tname, "", path, 0, "", func() string {
				return fmt.Sprintf("table %s is given twice (also %s); only the first is checked", tname, prev.path)
			})
			continue
		}
		ts := &tableState{t: t, path: path, fileType: map[string]string{}}
		v.tables[tname] = ts
		if !e.IsDir() {
			ts.files = append(ts.files, &fileState{path: path})
			continue
		}
		if err := v.walkTable(ts); err != nil {
			return err
		}
	}
	if v.tables[Customers] == nil {
		v.unknown.add(checkMissingTable, Customers, "", v.dir, 0, "", func() string {
			return "a dataset needs customers.parquet or a customers/ folder; orphan and duplicate checks are skipped"
		})
	}
	v.eachFile(v.openFile)
	return nil
}

// eachFile calls fn for every file of every table found, in contract and
// path order.
func (v *validator) eachFile(fn func(*tableState, *fileState)) {
	for _, t := range Contract {
		if ts := v.tables[t.Name]; ts != nil {
			for _, fs := range ts.files {
				fn(ts, fs)
			}
		}
	}
}

// walkTable lists the .parquet files of a table folder.
func (v *validator) walkTable(ts *tableState) error {
	err := filepath.WalkDir(ts.path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != ts.path && skipName(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
		case strings.HasSuffix(d.Name(), ".parquet"):
			part, _ := hivePartition(ts.path, p)
			ts.files = append(ts.files, &fileState{path: p, partition: part})
		default:
			v.unknown.add(checkIgnoredFile, ts.t.Name, "", p, 0, "", func() string {
				return "not a .parquet file; skipped"
			})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("validate: table %s: %w", ts.t.Name, err)
	}
	sort.Slice(ts.files, func(i, j int) bool { return ts.files[i].path < ts.files[j].path })
	if len(ts.files) == 0 {
		v.unknown.add(checkNoFiles, ts.t.Name, "", ts.path, 0, "", func() string {
			return fmt.Sprintf("the folder of table %s holds no .parquet files", ts.t.Name)
		})
	}
	return nil
}

// run checks every opened file and joins the tables by customer_id, using
// up to v.workers goroutines. The first error cancels the other jobs and is
// returned; a cancelled ctx stops handing out jobs and returns ctx.Err().
func (v *validator) run(ctx context.Context) error {
	var jobs []func(context.Context) error
	// The join reads the key column of every file: the longest job, so it
	// starts first.
	if cust := v.tables[Customers]; cust != nil && cust.readable() > 0 {
		jobs = append(jobs, func(ctx context.Context) error {
			r, err := v.joinKeys(ctx)
			v.join = r
			return err
		})
	}
	v.eachFile(func(ts *tableState, fs *fileState) {
		if fs.f == nil {
			return
		}
		jobs = append(jobs, func(ctx context.Context) error {
			r, err := v.checkFile(ctx, ts, fs)
			fs.res = r
			return err
		})
	})
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.workers)
	for _, job := range jobs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return job(gctx) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

func (ts *tableState) readable() int {
	n := 0
	for _, fs := range ts.files {
		if fs.f != nil {
			n++
		}
	}
	return n
}

// report assembles the Report from the per-file results, in a
// deterministic order whatever order the workers finished in.
func (v *validator) report() *Report {
	all := newCollector(v.examples)
	all.merge(v.unknown)
	r := &Report{Version: 1, Dir: v.dir, Today: v.lim.today.String()}
	if v.lim.hasAsOf {
		r.AsOf = v.lim.asOf.String()
	}
	for _, t := range Contract {
		ts := v.tables[t.Name]
		tr := TableReport{Name: t.Name, Required: t.Required, Status: "absent"}
		if ts == nil {
			r.Tables = append(r.Tables, tr)
			continue
		}
		tr.Present, tr.Path, tr.Files = true, ts.path, len(ts.files)
		stats := make(map[string]*colStats)
		var rowsRead int64
		for _, fs := range ts.files {
			all.merge(fs.open)
			if fs.f != nil {
				tr.Rows += fs.f.NumRows
			}
			if fs.res == nil {
				continue
			}
			all.merge(fs.res.probs)
			rowsRead += fs.res.rows
			for name, s := range fs.res.cols {
				if stats[name] == nil {
					stats[name] = &colStats{}
				}
				stats[name].merge(s)
			}
		}
		if j := v.join; j != nil {
			tr.Orphans = j.orphans[t.Name]
			tr.OrphansChecked = j.checked && !j.skipped[t.Name]
		}
		if tr.Rows == 0 && ts.readable() > 0 {
			chk := checkEmptyTable
			if t.Name == Customers {
				chk.Severity = SevError
			}
			all.add(chk, t.Name, "", ts.path, 0, "", func() string {
				if t.Name == Customers {
					return "the customers table has no rows: there is no one to score"
				}
				return fmt.Sprintf("table %s has no rows", t.Name)
			})
		}
		tr.Columns = v.columnReports(ts, stats, rowsRead)
		r.Tables = append(r.Tables, tr)
		r.Files += len(ts.files)
		r.Rows += tr.Rows
	}
	if v.join != nil {
		all.merge(v.join.probs)
	}
	r.Problems = all.sorted()
	worst := map[string]Severity{}
	worstCol := map[[2]string]Severity{}
	colChecks := map[[2]string]map[string]bool{}
	for _, p := range r.Problems {
		switch p.Severity {
		case SevError:
			r.Errors++
		case SevWarning:
			r.Warnings++
		default:
			r.Infos++
		}
		worst[p.Table] = max(worst[p.Table], p.Severity)
		k := [2]string{p.Table, p.Column}
		worstCol[k] = max(worstCol[k], p.Severity)
		if colChecks[k] == nil {
			colChecks[k] = map[string]bool{}
		}
		colChecks[k][p.Check] = true
	}
	r.OK = r.Errors == 0
	for i := range r.Tables {
		tr := &r.Tables[i]
		switch {
		case !tr.Present && tr.Required:
			tr.Status = "error"
			continue
		case !tr.Present:
			continue
		default:
			tr.Status = statusOf(worst[tr.Name])
		}
		readable := v.tables[tr.Name].readable() > 0
		for c := range tr.Columns {
			cr := &tr.Columns[c]
			if cr.Kind != "contract" {
				continue
			}
			k := [2]string{tr.Name, cr.Name}
			checks := colChecks[k]
			switch {
			case checks[checkWrongType.ID]:
				cr.Status = "wrong type"
			case checks[checkMissingColumn.ID]:
				cr.Status = "missing"
			case checks[checkBadPartition.ID]:
				cr.Status = "bad partition"
			case !readable:
				cr.Status = "unread"
			case !cr.Present:
				cr.Status = "absent"
			default:
				cr.Status = statusOf(worstCol[k])
			}
		}
	}
	return r
}

func statusOf(s Severity) string {
	switch s {
	case SevError:
		return "error"
	case SevWarning:
		return "warning"
	}
	return "ok"
}

func (v *validator) columnReports(ts *tableState, stats map[string]*colStats, rows int64) []ColumnReport {
	var out []ColumnReport
	pct := func(n int64) float64 {
		if rows == 0 {
			return 0
		}
		return math.Round(float64(n)/float64(rows)*1000) / 10
	}
	add := func(cr ColumnReport, t Type) {
		cr.Type, cr.FileType = t.String(), ts.fileType[cr.Name]
		if s := stats[cr.Name]; s != nil {
			cr.Present = s.present
			cr.Nulls, cr.NullPct = s.nulls, pct(s.nulls)
			cr.Min, cr.Max = s.bounds(t)
		}
		out = append(out, cr)
	}
	for i := range ts.t.Columns {
		c := &ts.t.Columns[i]
		add(ColumnReport{Name: c.Name, Required: c.Required, Kind: "contract"}, c.Type)
	}
	for _, a := range ts.attrs {
		add(ColumnReport{Name: a.Name, Kind: "attribute", Status: "attribute"}, a.Type)
	}
	for _, ic := range ts.ignored {
		out = append(out, ColumnReport{Name: ic.name, Type: ic.typ, FileType: ic.typ, Kind: "ignored", Present: true, Status: "ignored"})
	}
	return out
}

// collector gathers problems, merging repeated hits of the same check on
// the same column (and file, for per-file checks) into one Problem.
type collector struct {
	max  int
	m    map[probKey]*problemAcc
	keys []probKey
}

type probKey struct {
	check, table, column, file string
}

type problemAcc struct {
	Problem
	files map[string]bool
}

func newCollector(max int) *collector {
	return &collector{max: max, m: map[probKey]*problemAcc{}}
}

// get returns the problem for check c on table/column (and file, for
// per-file checks), creating it with the message msg() on first use.
func (c *collector) get(chk Check, table, column, file string, msg func() string) *problemAcc {
	k := probKey{chk.ID, table, column, ""}
	if chk.PerFile {
		k.file = file
	}
	p := c.m[k]
	if p == nil {
		p = &problemAcc{Problem: Problem{Severity: chk.Severity, Check: chk.ID, Table: table, Column: column, File: file, Message: msg()}}
		c.m[k] = p
		c.keys = append(c.keys, k)
	}
	return p
}

// add records one occurrence.
func (c *collector) add(chk Check, table, column, file string, row int64, value string, msg func() string) {
	c.get(chk, table, column, file, msg).hit(c.max, Example{File: file, Row: row, Value: value})
}

// hit counts one occurrence and keeps it as an example while there is room.
func (p *problemAcc) hit(max int, e Example) {
	p.count(e.File)
	if len(p.Examples) < max {
		p.Examples = append(p.Examples, e)
	}
}

// count counts one occurrence in file without keeping an example.
func (p *problemAcc) count(file string) {
	p.Count++
	if !p.files[file] {
		if p.files == nil {
			p.files = map[string]bool{}
		}
		p.files[file] = true
		p.Files = len(p.files)
	}
}

// wants reports whether another example would be kept (so that callers
// format values only when they are needed).
func (p *problemAcc) wants(max int) bool { return len(p.Examples) < max }

// merge adds o's problems to c; merging in file order keeps the examples of
// the first files.
func (c *collector) merge(o *collector) {
	if o == nil {
		return
	}
	for _, k := range o.keys {
		src := o.m[k]
		dst := c.m[k]
		if dst == nil {
			dst = &problemAcc{Problem: src.Problem, files: map[string]bool{}}
			dst.Examples = nil
			dst.Count = 0
			c.m[k] = dst
			c.keys = append(c.keys, k)
		}
		dst.Count += src.Count
		for f := range src.files {
			dst.files[f] = true
		}
		dst.Files = len(dst.files)
		for _, e := range src.Examples {
			if len(dst.Examples) < c.max {
				dst.Examples = append(dst.Examples, e)
			}
		}
		if dst.Severity < src.Severity {
			dst.Severity = src.Severity
		}
	}
}

// sorted returns the problems in report order.
func (c *collector) sorted() []Problem {
	out := make([]Problem, 0, len(c.keys))
	for _, k := range c.keys {
		p := c.m[k].Problem
		if len(p.Examples) > 0 {
			e := p.Examples[0]
			p.File, p.Row, p.Value, p.Customer = e.File, e.Row, e.Value, e.Customer
		}
		out = append(out, p)
	}
	checkOrder := map[string]int{}
	for i, c := range allChecks {
		checkOrder[c.ID] = i
	}
	colOrder := func(p *Problem) int {
		if t, ok := LookupTable(p.Table); ok {
			if i := t.ColumnIndex(p.Column); i >= 0 || p.Column == "" {
				return i
			}
		}
		return len(Contract) + 100
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if ta, tb := tableIndex(a.Table), tableIndex(b.Table); ta != tb {
			return ta < tb
		}
		if ca, cb := checkOrder[a.Check], checkOrder[b.Check]; ca != cb {
			return ca < cb
		}
		if ca, cb := colOrder(a), colOrder(b); ca != cb {
			return ca < cb
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.File < b.File
	})
	return out
}

// errorText returns the message of err without the file prefix an
// *InputError adds, and the column it names.
func errorText(err error) (msg, column string) {
	var ie *InputError
	if errors.As(err, &ie) {
		msg = ie.Err.Error()
		if ie.Row > 0 {
			msg = fmt.Sprintf("row %d: %s", ie.Row, msg)
		}
		return msg, ie.Column
	}
	return err.Error(), ""
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
