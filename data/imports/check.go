package imports

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/churnlab/churn/data"
)

// errorf returns a MappingError at line of the mapping.
func (m *Mapping) errorf(line int, format string, args ...any) error {
	return &MappingError{File: m.File, Line: line, Err: fmt.Errorf(format, args...)}
}

// validate checks everything that does not need the source files.
func (m *Mapping) validate() error {
	if m.Version != 0 && m.Version != 1 {
		return m.errorf(m.versionLine, "version %d is not supported (this churn reads version 1)", m.Version)
	}
	if len(m.Tables) == 0 {
		return m.errorf(m.tablesLine, "the mapping has no tables: section (or it is empty)")
	}
	for _, name := range sortedKeys(m.Tables) {
		t := m.Tables[name]
		if t == nil {
			return m.errorf(m.tableLines[name], "table %s is empty", name)
		}
		ct, ok := data.LookupTable(name)
		if !ok {
			return m.errorf(t.Line, "unknown table %q%s (contract tables: %s)", name, suggest(name, data.TableNames()), strings.Join(data.TableNames(), ", "))
		}
		t.name, t.table = name, ct
		if err := m.validateTable(t); err != nil {
			return err
		}
	}
	cust := m.Tables[data.Customers]
	if cust == nil {
		return m.errorf(0, "the mapping has no customers table; give it a source, or derive it from an event table with derive: {from: TABLE}")
	}
	return nil
}

func (m *Mapping) validateTable(t *TableSpec) error {
	ct := t.table
	switch {
	case t.Source == nil && t.Derive == nil:
		return m.errorf(t.Line, "table %s needs a source (or, for customers, derive)", t.name)
	case t.Source != nil && t.Derive != nil:
		return m.errorf(t.Derive.Line, "table %s has both source and derive; give one", t.name)
	}
	if t.Source != nil {
		if err := m.validateSource(t.Source); err != nil {
			return err
		}
	}
	if t.name != data.Customers {
		for _, k := range []struct {
			key  string
			line int
		}{{"attributes", lineOfAttr(t.Attributes)}, {"label", lineOfLabel(t.Label)}, {"derive", lineOfDerive(t.Derive)}} {
			if k.line > 0 {
				return m.errorf(k.line, "%s is only for the customers table (table %s)", k.key, t.name)
			}
		}
	}
	if t.Derive != nil {
		if len(t.Columns) > 0 || t.Attributes != nil {
			return m.errorf(t.Derive.Line, "a derived customers table takes no columns or attributes")
		}
		src, ok := m.Tables[t.Derive.From]
		switch {
		case t.Derive.From == "":
			return m.errorf(t.Derive.Line, "derive needs from: the output table to derive customers from")
		case !ok || t.Derive.From == data.Customers:
			return m.errorf(t.Derive.Line, "derive from %q: not another table of this mapping", t.Derive.From)
		case src.Derive != nil:
			return m.errorf(t.Derive.Line, "derive from %q: that table is derived itself", t.Derive.From)
		}
		if t.Derive.SignupDate != "" && t.Derive.SignupDate != "first" && t.Derive.SignupDate != "none" {
			return m.errorf(t.Derive.Line, "derive signup_date %q: want first or none", t.Derive.SignupDate)
		}
	}
	for _, name := range sortedKeys(t.Columns) {
		c := t.Columns[name]
		i := ct.ColumnIndex(name)
		if i < 0 {
			var names []string
			for _, col := range ct.Columns {
				names = append(names, col.Name)
			}
			line := t.Line
			if c != nil {
				line = c.Line
			}
			hint := ""
			if t.name == data.Customers {
				hint = "; keep other columns under attributes:"
			}
			return m.errorf(line, "table %s has no column %q%s (its columns: %s%s)", t.name, name, suggest(name, names), strings.Join(names, ", "), hint)
		}
		if c == nil {
			if ct.Columns[i].Required {
				return m.errorf(t.Line, "column %s.%s is required and cannot be left out", t.name, name)
			}
			continue
		}
		if err := m.validateColumn(t, name, c, &ct.Columns[i]); err != nil {
			return err
		}
	}
	if a := t.Attributes; a != nil {
		switch a.Keep.Mode {
		case "", "rest", "none", "list":
		default:
			return m.errorf(a.Keep.Line, "attributes keep %q: want rest, none or a list of source columns", a.Keep.Mode)
		}
		if a.Names != "" && a.Names != "as_is" && a.Names != "snake_case" {
			return m.errorf(a.Line, "attributes names %q: want as_is or snake_case", a.Names)
		}
		for _, name := range sortedKeys(a.Columns) {
			c := a.Columns[name]
			if c == nil {
				return m.errorf(a.Line, "attribute %s is empty; give a source column or a spec", name)
			}
			if ct.ColumnIndex(name) >= 0 {
				return m.errorf(c.Line, "attribute %s has the name of a contract column; map it under columns:", name)
			}
			if name == "" {
				return m.errorf(c.Line, "an attribute needs a name")
			}
			if err := m.validateColumn(t, name, c, nil); err != nil {
				return err
			}
		}
	}
	if len(t.Aggregate) > 0 {
		if ct.Time == "" {
			return m.errorf(t.Line, "aggregate: table %s has no time column; only event tables can be aggregated", t.name)
		}
		for _, name := range sortedKeys(t.Aggregate) {
			fn := t.Aggregate[name]
			i := ct.ColumnIndex(name)
			if i < 0 {
				return m.errorf(t.Line, "aggregate: table %s has no column %q", t.name, name)
			}
			if name == data.KeyColumn || name == ct.Time {
				return m.errorf(t.Line, "aggregate: %s is the grouping key (customer_id and %s) and cannot be aggregated", name, ct.Time)
			}
			typ := ct.Columns[i].Type
			numeric := typ == data.TypeInt64 || typ == data.TypeFloat64
			switch fn {
			case "first", "last":
			case "sum":
				if !numeric {
					return m.errorf(t.Line, "aggregate: %s.%s is %s; sum needs a number column", t.name, name, typ)
				}
			case "min", "max":
				if typ == data.TypeString || typ == data.TypeBool {
					return m.errorf(t.Line, "aggregate: %s.%s is %s; %s needs a number, date or timestamp column", t.name, name, typ, fn)
				}
			case "count":
				if typ != data.TypeInt64 {
					return m.errorf(t.Line, "aggregate: %s.%s is %s; count needs an INT64 column", t.name, name, typ)
				}
			default:
				return m.errorf(t.Line, "aggregate: %s: unknown function %q (want sum, min, max, first, last or count)", name, fn)
			}
		}
	}
	if l := t.Label; l != nil {
		if l.From != data.ChurnEvents {
			return m.errorf(l.Line, "label from %q: want churn_events (the table with churn dates)", l.From)
		}
		if _, ok := m.Tables[data.ChurnEvents]; !ok {
			return m.errorf(l.Line, "label from churn_events: the mapping has no churn_events table")
		}
		if l.Pick != "" && l.Pick != "first" && l.Pick != "last" {
			return m.errorf(l.Line, "label pick %q: want first or last", l.Pick)
		}
		if l.Prefer != "" && l.Prefer != "churned" && l.Prefer != "events" {
			return m.errorf(l.Line, "label prefer %q: want churned or events", l.Prefer)
		}
		if c, ok := t.Columns["churn_date"]; ok && c != nil {
			return m.errorf(c.Line, "churn_date is both mapped and derived by label:; give one")
		}
	}
	return nil
}

func lineOfAttr(a *AttrSpec) int {
	if a == nil {
		return 0
	}
	return max(a.Line, 1)
}

func lineOfLabel(l *LabelSpec) int {
	if l == nil {
		return 0
	}
	return max(l.Line, 1)
}

func lineOfDerive(d *DeriveSpec) int {
	if d == nil {
		return 0
	}
	return max(d.Line, 1)
}

func (m *Mapping) validateSource(s *SourceSpec) error {
	switch s.format() {
	case "csv", "whitespace", "parquet":
	default:
		return m.errorf(s.Line, "source format %q: want csv, whitespace or parquet", s.Format)
	}
	if s.Delimiter != "" {
		if _, err := s.delimiter(); err != nil {
			return m.errorf(s.Line, "%v", err)
		}
	}
	if err := checkUTF8Mode(s.InvalidUTF8); err != nil {
		return m.errorf(s.Line, "%v", err)
	}
	s.maxLine, s.maxField = DefaultMaxLineBytes, DefaultMaxFieldBytes
	for _, lim := range []struct {
		key, val string
		dst      *int64
	}{{"max_line_bytes", s.MaxLineBytes, &s.maxLine}, {"max_field_bytes", s.MaxFieldBytes, &s.maxField}} {
		if lim.val == "" {
			continue
		}
		n, err := parseByteSize(lim.val)
		if err != nil {
			return m.errorf(s.Line, "%s: %v", lim.key, err)
		}
		*lim.dst = n
	}
	if len([]rune(s.Comment)) > 1 {
		return m.errorf(s.Line, "comment %q: want one character", s.Comment)
	}
	if d, _ := s.delimiter(); s.Comment != "" && []rune(s.Comment)[0] == d {
		return m.errorf(s.Line, "comment %q is also the delimiter", s.Comment)
	}
	if s.Header != nil && !*s.Header && len(s.Columns) == 0 && s.format() != "parquet" {
		return m.errorf(s.Line, "header: false needs columns: (the names of the file's columns)")
	}
	seen := map[string]bool{}
	for _, c := range s.Columns {
		if seen[c] {
			return m.errorf(s.Line, "column %q is named twice in columns", c)
		}
		seen[c] = true
	}
	return nil
}

func (s *SourceSpec) format() string {
	if s.Format != "" {
		return s.Format
	}
	if strings.HasSuffix(strings.ToLower(s.File), ".parquet") {
		return "parquet"
	}
	return "csv"
}

func (s *SourceSpec) delimiter() (rune, error) {
	d := s.Delimiter
	switch d {
	case "":
		return ',', nil
	case `\t`, "\t", "tab":
		return '\t', nil
	}
	r := []rune(d)
	if len(r) != 1 || r[0] == '"' || r[0] == '\r' || r[0] == '\n' {
		return 0, fmt.Errorf("delimiter %q: want one character other than a quote or line break", d)
	}
	return r[0], nil
}

func (s *SourceSpec) trim() bool { return s.Trim == nil || *s.Trim }

// lineLimit and fieldLimit return the source's limits (defaults until
// validateSource has parsed them).
func (s *SourceSpec) lineLimit() int64 {
	if s.maxLine > 0 {
		return s.maxLine
	}
	return DefaultMaxLineBytes
}

func (s *SourceSpec) fieldLimit() int64 {
	if s.maxField > 0 {
		return s.maxField
	}
	return DefaultMaxFieldBytes
}

// checkUTF8Mode checks an invalid_utf8 setting.
func checkUTF8Mode(mode string) error {
	switch mode {
	case "", "error", "replace":
		return nil
	}
	return fmt.Errorf("invalid_utf8 %q: want error or replace", mode)
}

// replaceUTF8 reports whether text of the source that is not valid UTF-8
// is replaced rather than refused.
func (s *SourceSpec) replaceUTF8() bool { return s != nil && s.InvalidUTF8 == "replace" }

func (s *SourceSpec) header() bool {
	if s.Header != nil {
		return *s.Header
	}
	return len(s.Columns) == 0
}

// validateColumn checks one column or attribute spec; col is nil for
// attributes.
func (m *Mapping) validateColumn(t *TableSpec, name string, c *ColumnSpec, col *data.Column) error {
	what := t.name + "." + name
	sources := 0
	if c.Const != nil {
		sources++
	}
	if c.RowNumber != "" {
		sources++
	}
	if c.From != "" {
		sources++
	}
	if sources > 1 {
		return m.errorf(c.Line, "%s: give only one of from, const and row_number", what)
	}
	if c.Lookup != nil && (c.Const != nil || c.RowNumber != "") {
		return m.errorf(c.Line, "%s: lookup needs a source column (from), not const or row_number", what)
	}
	if c.Lookup != nil && (c.Lookup.Key == "" || c.Lookup.Value == "") {
		return m.errorf(c.Lookup.Line, "%s: lookup needs key (the lookup file's column to match) and value (the column to take)", what)
	}
	if c.Lookup != nil && c.Lookup.Source != nil {
		if err := m.validateSource(c.Lookup.Source); err != nil {
			return err
		}
	}
	if c.RowNumber != "" {
		if err := checkRowTemplate(c.RowNumber); err != nil {
			return m.errorf(c.Line, "%s: row_number: %v", what, err)
		}
	}
	var typ data.Type
	typeKnown := true
	if col != nil {
		typ = col.Type
		if c.Type != "" {
			dt, err := data.ParseType(c.Type)
			if err != nil {
				return m.errorf(c.Line, "%s: %v", what, err)
			}
			if dt != col.Type {
				return m.errorf(c.Line, "%s: the contract type is %s, not %s (leave type out for contract columns)", what, col.Type, dt)
			}
		}
	} else if c.Type != "" {
		dt, err := attrTypeOf(c.Type)
		if err != nil {
			return m.errorf(c.Line, "%s: %v", what, err)
		}
		typ = dt
	} else {
		typeKnown = false
	}
	switch c.OnError {
	case "", "fail", "skip":
	case "null":
		if col != nil && col.Required {
			return m.errorf(c.Line, "%s: on_error: null cannot apply to a required column; use skip to drop the row", what)
		}
	default:
		return m.errorf(c.Line, "%s: on_error %q: want fail, null or skip", what, c.OnError)
	}
	if err := checkUTF8Mode(c.InvalidUTF8); err != nil {
		return m.errorf(c.Line, "%s: %v", what, err)
	}
	if c.InvalidUTF8 == "replace" {
		if col != nil && col.Name == data.KeyColumn {
			return m.errorf(c.Line, "%s: invalid_utf8: replace: customer ids are never replaced (two different ids could become the same); convert the file to UTF-8", what)
		}
		if typeKnown && typ != data.TypeString {
			return m.errorf(c.Line, "%s: invalid_utf8 is for string columns, not %s", what, typ)
		}
	}
	switch c.Unmapped {
	case "", "error", "keep", "null":
	default:
		return m.errorf(c.Line, "%s: unmapped %q: want error, keep or null", what, c.Unmapped)
	}
	if c.Unmapped != "" && c.Values == nil {
		return m.errorf(c.Line, "%s: unmapped needs values:", what)
	}
	if c.Format != "" && len(c.Formats) > 0 {
		return m.errorf(c.Line, "%s: give format or formats, not both", what)
	}
	if c.Format != "" || len(c.Formats) > 0 || c.Timezone != "" {
		if typeKnown && typ != data.TypeDate && typ != data.TypeTimestamp {
			return m.errorf(c.Line, "%s: format and timezone are for DATE and TIMESTAMP columns, not %s", what, typ)
		}
		if !typeKnown {
			return m.errorf(c.Line, "%s: attributes cannot be dates; the contract keeps attributes as numbers, booleans or strings", what)
		}
		for _, f := range c.layouts() {
			if strings.TrimSpace(f) == "" {
				return m.errorf(c.Line, "%s: empty date format", what)
			}
			if err := checkLayout(f); err != nil {
				return m.errorf(c.Line, "%s: %v", what, err)
			}
		}
		if _, err := c.location(); err != nil {
			return m.errorf(c.Line, "%s: %v", what, err)
		}
	}
	if c.Multiply != nil || c.Divide != nil {
		if typeKnown && typ != data.TypeInt64 && typ != data.TypeFloat64 {
			return m.errorf(c.Line, "%s: multiply and divide are for number columns, not %s", what, typ)
		}
		if c.Divide != nil && *c.Divide == 0 {
			return m.errorf(c.Line, "%s: divide by zero", what)
		}
	}
	if c.CaseInsensitive && c.Values != nil {
		seen := map[string]string{}
		for _, k := range sortedKeys(c.Values) {
			f := strings.ToLower(k)
			if prev, dup := seen[f]; dup {
				return m.errorf(c.Line, "%s: values %q and %q are the same ignoring case", what, prev, k)
			}
			seen[f] = k
		}
	}
	if typeKnown {
		cv := &converter{typ: typ, col: col, loc: time.UTC}
		for _, k := range sortedKeys(c.Values) {
			if v := c.Values[k]; v != nil {
				if _, err := cv.parseCanonical(*v); err != nil {
					return m.errorf(c.Line, "%s: values: %q maps to %q: %v", what, k, *v, err)
				}
			}
		}
		if c.Const != nil && *c.Const != "" {
			if _, err := cv.parseCanonical(*c.Const); err != nil {
				return m.errorf(c.Line, "%s: const %q: %v", what, *c.Const, err)
			}
		}
	}
	return nil
}

// layoutProbe is the instant a layout must write and read back: its year,
// month and day differ from each other and from the layout's defaults.
var layoutProbe = time.Date(2001, time.February, 3, 16, 5, 6, 0, time.UTC)

// checkLayout checks a format of the mapping (a Go layout or a strftime
// pattern): it must use known strftime directives and hold the year, month
// and day, so that a format that cannot match any date is blamed on the
// mapping, not on every value of the data.
func checkLayout(f string) error {
	for i := 0; i+1 < len(f); i++ {
		if f[i] != '%' {
			continue
		}
		d := f[i+1]
		if d == '-' && i+2 < len(f) {
			if !strings.ContainsRune("dmHIMS", rune(f[i+2])) {
				return fmt.Errorf("format %q: unknown directive %%-%c (known: %%-d %%-m %%-H %%-I %%-M %%-S)", f, f[i+2])
			}
			i += 2
			continue
		}
		if _, ok := strftime[d]; !ok {
			return fmt.Errorf("format %q: unknown directive %%%c (known: %s)", f, d, strftimeList())
		}
		i++
	}
	l := goLayout(f)
	t, err := time.Parse(l, layoutProbe.Format(l))
	if err != nil || t.Year() != layoutProbe.Year() || t.Month() != layoutProbe.Month() || t.Day() != layoutProbe.Day() {
		return fmt.Errorf("format %q has no year, month or day: a Go layout writes them 2006, 01 and 02 (e.g. 02/01/2006), a strftime pattern %%Y, %%m and %%d (e.g. %%d/%%m/%%Y)", f)
	}
	return nil
}

// strftimeList lists the strftime directives a format may use.
func strftimeList() string {
	var ds []string
	for d := range strftime {
		ds = append(ds, "%"+string(d))
	}
	sort.Strings(ds)
	return strings.Join(ds, " ")
}

func (c *ColumnSpec) layouts() []string {
	if c.Format != "" {
		return []string{c.Format}
	}
	return c.Formats
}

// attrTypeOf parses the type of an attribute: numbers, booleans, strings.
func attrTypeOf(s string) (data.Type, error) {
	t, err := data.ParseType(s)
	if err != nil {
		return 0, err
	}
	if t == data.TypeDate || t == data.TypeTimestamp {
		return 0, fmt.Errorf("type %s: attributes are numbers, booleans or strings (the contract ignores date attributes)", t)
	}
	return t, nil
}

var rowVerb = regexp.MustCompile(`%[-+ 0#]*[0-9]*d`)

func checkRowTemplate(s string) error {
	rest := strings.ReplaceAll(s, "%%", "")
	if n := len(rowVerb.FindAllString(rest, -1)); n != 1 || strings.Count(rest, "%") != 1 {
		return fmt.Errorf("%q: want a template with one %%d verb, e.g. \"c%%05d\"", s)
	}
	return nil
}
