package imports

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/textutil"
)

// MappingError is a problem with the mapping file: bad YAML, an unknown key,
// table or column, a value of the wrong kind, or a reference to a source
// column or file that does not exist. Line is 1-based; 0 means the problem is
// not tied to a line.
type MappingError struct {
	File string
	Line int
	Err  error
}

func (e *MappingError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *MappingError) Unwrap() error { return e.Err }

// Mapping says how to build each table of a dataset from outside files. It
// is the parsed form of a mapping file; docs/import.md documents every key.
// A Mapping is read-only once loaded and may be imported several times.
type Mapping struct {
	// Version of the mapping format; 0 or 1.
	Version int `yaml:"version"`
	// SourceDir is the directory relative source paths resolve against,
	// itself relative to the mapping file's directory; "" means the mapping
	// file's directory. ${VAR} and ${VAR:-default} are expanded.
	SourceDir string `yaml:"source_dir"`
	// Tables maps contract table names to how they are built.
	Tables map[string]*TableSpec `yaml:"tables"`

	// File is the path the mapping was read from (for messages).
	File string `yaml:"-"`
	// baseDir is the resolved directory for relative source paths.
	baseDir string
	// lines of top-level keys and of table names, for messages.
	sourceDirLine, versionLine, tablesLine int
	tableLines                             map[string]int
}

// TableSpec builds one output table, from a source file or (customers only)
// derived from another output table.
type TableSpec struct {
	Source *SourceSpec `yaml:"source"`
	// Derive builds the customers table from another output table.
	Derive *DeriveSpec `yaml:"derive"`
	// Columns maps contract column names to their source. A column set to
	// null is left out even if the source has a column of that name.
	Columns map[string]*ColumnSpec `yaml:"columns"`
	// Attributes says which other source columns the customers table keeps.
	Attributes *AttrSpec `yaml:"attributes"`
	// Aggregate merges rows with the same customer_id and time: output
	// column → sum, min, max, first, last or count. Unlisted columns take
	// the first row's value.
	Aggregate map[string]string `yaml:"aggregate"`
	// Label derives customers.churn_date (and possibly churned) from the
	// churn_events table.
	Label *LabelSpec `yaml:"label"`

	Line  int         `yaml:"-"`
	name  string      // contract table name
	table *data.Table // contract table
}

// SourceSpec is a file to read. A plain string is short for {file: ...}.
type SourceSpec struct {
	// File is the path, relative to the source directory, or absolute.
	File string `yaml:"file"`
	// Format is csv, whitespace or parquet; "" means parquet for *.parquet
	// files and csv otherwise.
	Format string `yaml:"format"`
	// Delimiter separates CSV fields (one character; default ",", "\t" for tab).
	Delimiter string `yaml:"delimiter"`
	// Header says whether the first line names the columns. Default: true,
	// unless Columns is given.
	Header *bool `yaml:"header"`
	// Columns names the columns of a file without a header (or replaces the
	// header's names when Header is true).
	Columns []string `yaml:"columns"`
	// Comment starts comment lines in CSV files (one character).
	Comment string `yaml:"comment"`
	// LazyQuotes accepts quotes inside unquoted CSV fields.
	LazyQuotes bool `yaml:"lazy_quotes"`
	// Trim removes spaces, tabs and carriage returns around values; default true.
	Trim *bool `yaml:"trim"`
	// Nulls lists values read as null in every column, besides blanks.
	Nulls []string `yaml:"nulls"`
	// InvalidUTF8 says what happens to text that is not valid UTF-8:
	// error (default) or replace (each bad byte sequence becomes U+FFFD,
	// counted in the summary; customer ids are never replaced).
	InvalidUTF8 string `yaml:"invalid_utf8"`
	// MaxLineBytes bounds a line of a text file (and a CSV record that
	// spans lines inside quotes), MaxFieldBytes one value: a number of
	// bytes or a size such as "64MiB". Defaults: DefaultMaxLineBytes,
	// DefaultMaxFieldBytes.
	MaxLineBytes  string `yaml:"max_line_bytes"`
	MaxFieldBytes string `yaml:"max_field_bytes"`

	Line     int    `yaml:"-"`
	path     string // resolved path
	maxLine  int64  // parsed MaxLineBytes (set by validateSource)
	maxField int64  // parsed MaxFieldBytes
}

// ColumnSpec says where one output column comes from and how its text is
// converted. A plain string is short for {from: ...}.
type ColumnSpec struct {
	// From is the source column; "" means the output column's own name
	// (or, for attributes, the attribute's name).
	From string `yaml:"from"`
	// Const gives every row the same value.
	Const *string `yaml:"const"`
	// RowNumber generates the value from the 1-based data row number with a
	// printf template holding one %d verb, e.g. "orange-%05d".
	RowNumber string `yaml:"row_number"`
	// Lookup replaces the source value by the value of another file's
	// column on the row whose key column equals it.
	Lookup *LookupSpec `yaml:"lookup"`
	// Type declares an attribute's type (string, int64, double, bool);
	// for contract columns it may only repeat the contract type.
	Type string `yaml:"type"`
	// Format and Formats are date/time layouts, tried in order: Go layouts
	// (2006-01-02 15:04) or strftime patterns (%Y-%m-%d %H:%M).
	Format  string   `yaml:"format"`
	Formats []string `yaml:"formats"`
	// Timezone is the IANA zone of times without an offset (default UTC).
	Timezone string `yaml:"timezone"`
	// Values maps source values to output values; null maps to null.
	Values map[string]*string `yaml:"values"`
	// CaseInsensitive matches Values keys ignoring case.
	CaseInsensitive bool `yaml:"case_insensitive"`
	// Unmapped says what happens to a value Values does not list: error
	// (default), keep (convert it as it is) or null.
	Unmapped string `yaml:"unmapped"`
	// Nulls lists values read as null in this column, besides blanks.
	Nulls []string `yaml:"nulls"`
	// Multiply and Divide scale numbers (e.g. divide: 60 for seconds → minutes).
	Multiply *float64 `yaml:"multiply"`
	Divide   *float64 `yaml:"divide"`
	// OnError says what happens to a value that cannot be converted:
	// fail (default), null (counted in the summary) or skip (drop the row,
	// counted in the summary).
	OnError string `yaml:"on_error"`
	// InvalidUTF8 overrides the source's invalid_utf8 for this column:
	// error or replace.
	InvalidUTF8 string `yaml:"invalid_utf8"`

	Line int `yaml:"-"`
}

// LookupSpec maps a value to another through a second file, like a join.
type LookupSpec struct {
	Source *SourceSpec `yaml:"source"`
	// Key is the lookup file's column matched against the value.
	Key string `yaml:"key"`
	// Value is the lookup file's column whose value replaces it.
	Value string `yaml:"value"`

	Line int `yaml:"-"`
}

// AttrSpec says which extra source columns the customers table keeps as
// customer attributes.
type AttrSpec struct {
	// Keep is "rest" (default: every source column no other column uses),
	// "none", or a list of source columns.
	Keep Keep `yaml:"keep"`
	// Drop lists source columns not to keep.
	Drop []string `yaml:"drop"`
	// Names is as_is (default) or snake_case: how attribute names are
	// made from source column names.
	Names string `yaml:"names"`
	// Columns declares attributes: attribute name → column spec, with an
	// optional type. Undeclared attributes get an inferred type.
	Columns map[string]*ColumnSpec `yaml:"columns"`

	Line int `yaml:"-"`
}

// Keep is the attributes' keep setting: a mode (rest, none) or a list.
type Keep struct {
	Mode string
	List []string
	Line int
}

// DeriveSpec builds the customers table from another output table: one row
// per distinct customer_id.
type DeriveSpec struct {
	// From is the output table to derive from.
	From string `yaml:"from"`
	// SignupDate is "first" (default: the day of the customer's first row)
	// or "none".
	SignupDate string `yaml:"signup_date"`

	Line int `yaml:"-"`
}

// LabelSpec derives customers.churn_date from churn_events.
type LabelSpec struct {
	// From is the table holding the churn dates: churn_events.
	From string `yaml:"from"`
	// Pick is last (default) or first: which event's date a customer
	// with several events gets.
	Pick string `yaml:"pick"`
	// Prefer says which label wins when customers.churned and the events
	// disagree: churned (default when churned is mapped) or events.
	Prefer string `yaml:"prefer"`

	Line int `yaml:"-"`
}

// UnmarshalYAML records the line of the table.
func (t *TableSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain TableSpec
	if err := n.Decode((*plain)(t)); err != nil {
		return err
	}
	t.Line = n.Line
	return nil
}

// UnmarshalYAML accepts a plain file name or a mapping.
func (s *SourceSpec) UnmarshalYAML(n *yaml.Node) error {
	s.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		s.File = n.Value
		return nil
	}
	type plain SourceSpec
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	s.Line = n.Line
	return nil
}

// UnmarshalYAML accepts a plain source column name or a mapping.
func (c *ColumnSpec) UnmarshalYAML(n *yaml.Node) error {
	c.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		c.From = n.Value
		return nil
	}
	type plain ColumnSpec
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	c.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the lookup.
func (l *LookupSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain LookupSpec
	if err := n.Decode((*plain)(l)); err != nil {
		return err
	}
	l.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the attributes.
func (a *AttrSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain AttrSpec
	if err := n.Decode((*plain)(a)); err != nil {
		return err
	}
	a.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the derivation.
func (d *DeriveSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain DeriveSpec
	if err := n.Decode((*plain)(d)); err != nil {
		return err
	}
	d.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the label.
func (l *LabelSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain LabelSpec
	if err := n.Decode((*plain)(l)); err != nil {
		return err
	}
	l.Line = n.Line
	return nil
}

// UnmarshalYAML accepts "rest", "none" or a list of source columns.
func (k *Keep) UnmarshalYAML(n *yaml.Node) error {
	k.Line = n.Line
	switch n.Kind {
	case yaml.ScalarNode:
		k.Mode = n.Value
		return nil
	case yaml.SequenceNode:
		k.Mode = "list"
		return n.Decode(&k.List)
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: keep must be rest, none or a list of source columns", n.Line)}}
}

// LoadOptions adjusts how a mapping is loaded.
type LoadOptions struct {
	// SourceDir, when set, replaces the mapping's source_dir: relative
	// source paths resolve against it (it is itself relative to the
	// working directory).
	SourceDir string
	// LookupEnv expands ${VAR} in paths; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load reads and checks the mapping file at path.
func Load(path string, opt LoadOptions) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &MappingError{File: path, Err: err}
	}
	return Parse(path, b, opt)
}

// Parse parses and checks a mapping read from name (used in messages and to
// resolve relative source paths).
func Parse(name string, src []byte, opt LoadOptions) (*Mapping, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return nil, &MappingError{File: name, Err: errors.New("the mapping is empty; it needs a tables: section")}
	}
	if err := checkKeys(name, root.Content[0], reflect.TypeFor[Mapping](), "the mapping"); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var m Mapping
	if err := dec.Decode(&m); err != nil {
		return nil, yamlError(name, err)
	}
	m.File = name
	m.recordLines(root.Content[0])
	if err := m.resolvePaths(opt); err != nil {
		return nil, err
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// recordLines notes the lines of top-level keys and table names, which
// the decoded structs do not carry.
func (m *Mapping) recordLines(doc *yaml.Node) {
	m.tableLines = map[string]int{}
	if doc.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "source_dir":
			m.sourceDirLine = k.Line
		case "version":
			m.versionLine = k.Line
		case "tables":
			m.tablesLine = k.Line
			if v.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name := v.Content[j].Value
				m.tableLines[name] = v.Content[j].Line
				if t := m.Tables[name]; t != nil {
					t.Line = v.Content[j].Line
				}
			}
		}
	}
}

// yamlError turns a yaml.v3 error into a MappingError with the line.
func yamlError(file string, err error) error {
	line, msg := textutil.YAMLError(err)
	return &MappingError{File: file, Line: line, Err: msg}
}

// checkKeys reports the first mapping key that t has no field for, with its
// line. yaml.v3's KnownFields does not reach through custom unmarshalers,
// so the mapping checks its keys itself, and gives nicer messages.
func checkKeys(file string, n *yaml.Node, t reflect.Type, what string) error {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode || t == reflect.TypeFor[Keep]() {
			return nil
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				return &MappingError{File: file, Line: k.Line, Err: fmt.Errorf("unknown key %q in %s%s (known keys: %s)", k.Value, what, suggest(k.Value, names), strings.Join(names, ", "))}
			}
			if err := checkKeys(file, n.Content[i+1], ft, describe(k.Value, what)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(file, n.Content[i+1], t.Elem(), describe(n.Content[i].Value, what)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for _, c := range n.Content {
			if err := checkKeys(file, c, t.Elem(), what); err != nil {
				return err
			}
		}
	}
	return nil
}

// describe names the YAML location of key under parent for messages.
func describe(key, parent string) string {
	switch key {
	case "tables", "columns", "source", "lookup", "attributes", "derive", "label", "aggregate", "values":
		return key + " of " + parent
	}
	if parent == "tables of the mapping" {
		return "table " + key
	}
	if strings.HasPrefix(parent, "columns of ") {
		return "column " + key + " (" + strings.TrimPrefix(parent, "columns of ") + ")"
	}
	return key + " in " + parent
}

// suggest returns ` (did you mean "x"?)` for a near-miss, else "".
func suggest(got string, known []string) string {
	lower := make([]string, len(known))
	for i, k := range known {
		if strings.EqualFold(k, got) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
		lower[i] = strings.ToLower(k)
	}
	best := textutil.Closest(strings.ToLower(got), lower, 3)
	if i := slices.Index(lower, best); i >= 0 {
		best = known[i]
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expand replaces ${VAR} and ${VAR:-default}; an unset VAR without a
// default is an error.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var err error
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := lookup(m[1]); ok && v != "" {
			return v
		}
		if strings.Contains(ref, ":-") {
			return m[2]
		}
		if err == nil {
			err = fmt.Errorf("environment variable %s is not set (write ${%s:-default} to give a default)", m[1], m[1])
		}
		return ""
	})
	return out, err
}

// resolvePaths expands variables and resolves every source path.
func (m *Mapping) resolvePaths(opt LoadOptions) error {
	lookup := opt.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if opt.SourceDir != "" {
		m.baseDir = opt.SourceDir
	} else {
		dir, err := expand(m.SourceDir, lookup)
		if err != nil {
			return &MappingError{File: m.File, Line: m.sourceDirLine, Err: fmt.Errorf("source_dir: %w", err)}
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(m.File), dir)
		}
		m.baseDir = dir
	}
	resolve := func(s *SourceSpec) error {
		if s == nil {
			return nil
		}
		f, err := expand(s.File, lookup)
		if err != nil {
			return &MappingError{File: m.File, Line: s.Line, Err: fmt.Errorf("source file: %w", err)}
		}
		if f == "" {
			return &MappingError{File: m.File, Line: s.Line, Err: errors.New("source needs a file")}
		}
		if !filepath.IsAbs(f) {
			f = filepath.Join(m.baseDir, f)
		}
		s.path = filepath.Clean(f)
		return nil
	}
	for _, t := range m.Tables {
		if t == nil {
			continue
		}
		if err := resolve(t.Source); err != nil {
			return err
		}
		for _, c := range t.allColumns() {
			if c.Lookup != nil {
				if c.Lookup.Source == nil {
					return &MappingError{File: m.File, Line: c.Lookup.Line, Err: errors.New("lookup needs a source")}
				}
				if err := resolve(c.Lookup.Source); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// allColumns returns the table's column and attribute specs (non-nil).
func (t *TableSpec) allColumns() []*ColumnSpec {
	var out []*ColumnSpec
	for _, k := range sortedKeys(t.Columns) {
		if c := t.Columns[k]; c != nil {
			out = append(out, c)
		}
	}
	if t.Attributes != nil {
		for _, k := range sortedKeys(t.Attributes.Columns) {
			if c := t.Attributes.Columns[k]; c != nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// snakeCase turns "Account length" into "account_length".
func snakeCase(s string) string {
	var b strings.Builder
	prevLower := false
	under := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if prevLower && !under {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
			prevLower, under = false, false
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
			prevLower, under = true, false
		default:
			if b.Len() > 0 && !under {
				b.WriteByte('_')
				under = true
			}
			prevLower = false
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// tablesInOrder returns the mapping's tables in contract order.
func (m *Mapping) tablesInOrder() []*TableSpec {
	var out []*TableSpec
	for _, name := range data.TableNames() {
		if t := m.Tables[name]; t != nil {
			out = append(out, t)
		}
	}
	return out
}
