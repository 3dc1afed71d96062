package imports

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/churnlab/churn/data"
)

// Options configures Import.
type Options struct {
	// Out is the dataset directory to write. An existing directory is
	// replaced only if it holds nothing but a dataset (see CheckReplaceable).
	Out string
	// DryRun reads and converts everything but writes nothing.
	DryRun bool
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
	// ChurnVersion is recorded in the written files ("" records "dev").
	ChurnVersion string
}

// colPlan says how one output column is made.
type colPlan struct {
	name     string
	typ      data.Type
	required bool
	attr     bool
	how      string // "mapped", "auto" (same name), "const", "row_number", "attribute", "inferred attribute"
	spec     *ColumnSpec
	src      int // source column; -1 for const and row_number
	conv     *converter
	konst    cell
	isConst  bool
	rowTmpl  string
	lookup   *lookupMap
	onError  string
}

// lookupMap is a loaded lookup: key → value of another file.
type lookupMap struct {
	sd     *sourceData
	spec   *LookupSpec
	values map[string]string
	native nativeKind
}

// tableData is one output table being built.
type tableData struct {
	spec  *TableSpec
	table *data.Table
	sd    *sourceData
	plans []*colPlan
	cols  map[string]*data.Vec // output columns by name
	attrs []string             // attribute names, in output order
	lines []int64              // source position of each row
	n     int
	sum   *TableSummary
}

func (td *tableData) vec(name string) *data.Vec { return td.cols[name] }

// Import runs the mapping: it reads every source, builds the tables and
// writes them as a contract dataset at opt.Out (unless opt.DryRun). The
// dataset is built in a temporary directory and moved into place at the
// end; on error nothing is written.
func Import(ctx context.Context, m *Mapping, opt Options) (*Summary, error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	if opt.Out == "" && !opt.DryRun {
		return nil, errors.New("import: no output directory")
	}
	if !opt.DryRun {
		if err := CheckReplaceable(opt.Out); err != nil {
			return nil, err
		}
	}
	im := &importer{m: m, opt: opt, log: log, cache: sourceCache{}, tables: map[string]*tableData{}}
	sum := &Summary{Mapping: m.File, Out: opt.Out, DryRun: opt.DryRun}
	start := time.Now()
	// Tables read from files first, then the derived customers table.
	for _, t := range m.tablesInOrder() {
		if t.Derive != nil {
			continue
		}
		td, err := im.buildFromSource(ctx, t)
		if err != nil {
			return nil, err
		}
		im.tables[t.name] = td
	}
	for _, t := range m.tablesInOrder() {
		if t.name == data.Customers {
			continue
		}
		if err := im.finish(im.tables[t.name]); err != nil {
			return nil, err
		}
	}
	cust := m.Tables[data.Customers]
	if cust.Derive != nil {
		im.tables[data.Customers] = im.derive(cust)
	} else if err := im.finish(im.tables[data.Customers]); err != nil {
		return nil, err
	}
	if cust.Label != nil {
		sum.Label = im.label(cust)
	}
	im.countOrphans()
	if err := im.checkEmpty(sum); err != nil {
		return nil, err
	}
	for _, name := range data.TableNames() {
		if td := im.tables[name]; td != nil {
			td.sum.Rows = int64(td.n)
			if v := td.vec("churned"); v != nil && td.table.Name == data.Customers {
				var c int64
				for i := 0; i < td.n; i++ {
					if v.Bools[i] == 1 {
						c++
					}
				}
				td.sum.Churned = &c
			}
			td.sum.Columns = td.columnSummaries()
			sum.Tables = append(sum.Tables, *td.sum)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opt.DryRun {
		log.Info("dry run: nothing written", "tables", len(sum.Tables), "elapsed", time.Since(start).Round(time.Millisecond))
		return sum, nil
	}
	if err := im.write(ctx, opt.Out); err != nil {
		return nil, err
	}
	log.Info("import done", "out", opt.Out, "tables", len(sum.Tables), "elapsed", time.Since(start).Round(time.Millisecond))
	return sum, nil
}

type importer struct {
	m      *Mapping
	opt    Options
	log    *slog.Logger
	cache  sourceCache
	tables map[string]*tableData
}

// source loads a source, turning a missing or unreadable file into a
// mapping error that names the mapping line.
func (im *importer) source(ctx context.Context, s *SourceSpec) (*sourceData, error) {
	sd, err := im.cache.get(ctx, s)
	if err == nil {
		return sd, nil
	}
	var ie *data.InputError
	if errors.As(err, &ie) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	hint := ""
	if errors.Is(err, fs.ErrNotExist) {
		hint = fmt.Sprintf(" (relative paths resolve against %s; set source_dir or --source-dir)", im.m.baseDir)
	}
	return nil, &MappingError{File: im.m.File, Line: s.Line, Err: fmt.Errorf("source %s: %w%s", s.path, unwrapPath(err), hint)}
}

// unwrapPath drops the path from *fs.PathError (the message names it already).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w", pe.Err)
	}
	return err
}

func (im *importer) errorf(line int, format string, args ...any) error {
	return im.m.errorf(line, format, args...)
}

// buildFromSource reads a table's source and converts every row.
func (im *importer) buildFromSource(ctx context.Context, t *TableSpec) (*tableData, error) {
	sd, err := im.source(ctx, t.Source)
	if err != nil {
		return nil, err
	}
	td := &tableData{spec: t, table: t.table, sd: sd, cols: map[string]*data.Vec{}}
	td.sum = &TableSummary{Table: t.name, Source: sd.path, SourceRows: int64(len(sd.rows)), Nulls: map[string]int64{}, Coerced: map[string]int64{}, Replaced: map[string]int64{}}
	if err := im.plan(ctx, td); err != nil {
		return nil, err
	}
	for _, p := range td.plans {
		v := data.NewVec(p.typ)
		td.cols[p.name] = &v
	}
	for _, name := range sortedKeys(t.Aggregate) {
		if td.cols[name] == nil {
			return nil, im.errorf(t.Line, "aggregate: %s.%s is not mapped (and %s has no column of that name)", t.name, name, sd.path)
		}
	}
	if err := im.convertRows(ctx, td); err != nil {
		return nil, err
	}
	im.log.Info("read table", "table", t.name, "source", sd.path, "rows", td.n, "skipped", td.sum.Skipped)
	if len(td.sum.Unused) > 0 {
		im.log.Info("source columns not imported", "table", t.name, "columns", strings.Join(td.sum.Unused, ", "))
	}
	return td, nil
}

// plan resolves every output column of td against its source.
func (im *importer) plan(ctx context.Context, td *tableData) error {
	t, sd := td.spec, td.sd
	used := make([]bool, len(sd.cols))
	for ci := range td.table.Columns {
		col := &td.table.Columns[ci]
		spec, listed := t.Columns[col.Name]
		if listed && spec == nil {
			continue // explicitly left out
		}
		if label := t.Label; label != nil && col.Name == "churn_date" {
			continue // derived by the label
		}
		p := &colPlan{name: col.Name, typ: col.Type, required: col.Required, spec: spec, src: -1, onError: "fail"}
		if !listed {
			i, ok := sd.column(col.Name)
			if !ok {
				if col.Required {
					return im.errorf(t.Line, "table %s: required column %s is not mapped, and %s has no column of that name (columns: %s)", t.name, col.Name, sd.path, columnList(sd.cols))
				}
				continue
			}
			p.how, p.src = "auto", i
			used[i] = true
			conv, err := newConverter(nil, col.Type, col, t.Source)
			if err != nil {
				return err
			}
			p.conv = conv
			td.plans = append(td.plans, p)
			continue
		}
		if err := im.planColumn(ctx, td, p, spec, col, used); err != nil {
			return err
		}
		td.plans = append(td.plans, p)
	}
	if t.name == data.Customers {
		if err := im.planAttributes(ctx, td, used); err != nil {
			return err
		}
	}
	for i, u := range used {
		if !u && sd.cols[i] != "" {
			td.sum.Unused = append(td.sum.Unused, sd.cols[i])
		}
	}
	return nil
}

// planColumn resolves one listed column or declared attribute.
func (im *importer) planColumn(ctx context.Context, td *tableData, p *colPlan, spec *ColumnSpec, col *data.Column, used []bool) error {
	t, sd := td.spec, td.sd
	if spec.OnError != "" {
		p.onError = spec.OnError
	}
	switch {
	case spec.Const != nil:
		p.how, p.isConst = "const", true
	case spec.RowNumber != "":
		p.how, p.rowTmpl = "row_number", spec.RowNumber
	default:
		from := spec.From
		if from == "" {
			from = p.name
		}
		i, ok := sd.column(from)
		if !ok {
			return im.errorf(spec.Line, "%s.%s: source column %q not found in %s%s (columns: %s)", t.name, p.name, from, sd.path, suggest(from, sd.cols), columnList(sd.cols))
		}
		p.src = i
		used[i] = true
		if p.how == "" {
			p.how = "mapped"
		}
	}
	if spec.Lookup != nil {
		lm, err := im.loadLookup(ctx, spec.Lookup)
		if err != nil {
			return err
		}
		p.lookup = lm
	}
	if p.attr && spec.Type == "" {
		// The type follows from the values map, the scaling, or the data.
		switch {
		case spec.Multiply != nil || spec.Divide != nil:
			p.typ = data.TypeFloat64
		case spec.Values != nil && (spec.Unmapped != "keep" || p.src < 0):
			p.typ = inferType(func(yield func(string) bool) {
				for _, v := range spec.Values {
					if v != nil && !yield(*v) {
						return
					}
				}
			})
		case spec.Const != nil:
			p.typ = inferType(func(yield func(string) bool) { yield(*spec.Const) })
		case p.src >= 0:
			p.typ = inferType(td.columnValues(p, spec))
		default:
			p.typ = data.TypeString
		}
		p.how = "inferred attribute"
	}
	conv, err := newConverter(spec, p.typ, col, t.Source)
	if err != nil {
		return im.errorf(spec.Line, "%s.%s: %v", t.name, p.name, err)
	}
	p.conv = conv
	if spec.Const != nil {
		x, err := conv.parseCanonical(*spec.Const)
		if err != nil {
			return im.errorf(spec.Line, "%s.%s: const %q: %v", t.name, p.name, *spec.Const, err)
		}
		if x.null && p.required {
			return im.errorf(spec.Line, "%s.%s: a required column cannot be a blank constant", t.name, p.name)
		}
		p.konst = x
	}
	return nil
}

// columnValues yields the trimmed, non-null values of p's source column,
// through its lookup and values map, for type inference.
func (td *tableData) columnValues(p *colPlan, spec *ColumnSpec) func(yield func(string) bool) {
	nulls := map[string]bool{}
	if td.spec.Source != nil {
		for _, n := range td.spec.Source.Nulls {
			nulls[n] = true
		}
	}
	if spec != nil {
		for _, n := range spec.Nulls {
			nulls[n] = true
		}
	}
	trim := td.spec.Source == nil || td.spec.Source.trim()
	var values map[string]*string
	fold := false
	if spec != nil && spec.Values != nil {
		values, fold = map[string]*string{}, spec.CaseInsensitive
		for k, v := range spec.Values {
			if fold {
				k = strings.ToLower(k)
			}
			values[k] = v
		}
	}
	return func(yield func(string) bool) {
		for _, rec := range td.sd.rows {
			s := rec[p.src]
			if trim {
				s = strings.Trim(s, " \t\r\n")
			}
			if p.lookup != nil {
				s = p.lookup.values[s]
			}
			if s == "" || nulls[s] {
				continue
			}
			if values != nil {
				key := s
				if fold {
					key = strings.ToLower(s)
				}
				if v, ok := values[key]; ok {
					if v == nil {
						continue
					}
					s = *v
				}
			}
			if !yield(s) {
				return
			}
		}
	}
}

// planAttributes adds the customers table's attribute columns.
func (im *importer) planAttributes(ctx context.Context, td *tableData, used []bool) error {
	t, sd := td.spec, td.sd
	a := t.Attributes
	if a == nil {
		a = &AttrSpec{Line: t.Line}
	}
	names := map[string]int{} // output name → mapping line
	for _, c := range td.table.Columns {
		names[c.Name] = -1
	}
	addName := func(name string, line int) error {
		if prev, dup := names[name]; dup {
			if prev < 0 {
				return im.errorf(line, "attribute %q has the name of a contract column of customers; map it under columns: or drop it", name)
			}
			return im.errorf(line, "two attributes are named %q; rename one under attributes: columns:", name)
		}
		names[name] = line
		return nil
	}
	// Declared attributes, in the order of their source columns.
	declared := sortedKeys(a.Columns)
	var plans []*colPlan
	for _, name := range declared {
		spec := a.Columns[name]
		p := &colPlan{name: name, attr: true, src: -1, onError: "fail", how: "attribute"}
		if spec.Type != "" {
			p.typ, _ = attrTypeOf(spec.Type)
		}
		if err := im.planColumn(ctx, td, p, spec, nil, used); err != nil {
			return err
		}
		if err := addName(name, spec.Line); err != nil {
			return err
		}
		plans = append(plans, p)
	}
	drop := map[string]bool{}
	for _, d := range a.Drop {
		if _, ok := sd.column(d); !ok {
			return im.errorf(a.Line, "attributes drop %q: no such column in %s%s (columns: %s)", d, sd.path, suggest(d, sd.cols), columnList(sd.cols))
		}
		drop[d] = true
	}
	var keep []int
	switch a.Keep.Mode {
	case "", "rest":
		for i, name := range sd.cols {
			if !used[i] && name != "" && !drop[name] {
				keep = append(keep, i)
			}
		}
	case "list":
		for _, name := range a.Keep.List {
			i, ok := sd.column(name)
			if !ok {
				return im.errorf(a.Keep.Line, "attributes keep %q: no such column in %s%s (columns: %s)", name, sd.path, suggest(name, sd.cols), columnList(sd.cols))
			}
			if used[i] {
				return im.errorf(a.Keep.Line, "attributes keep %q: the column is already used by another column", name)
			}
			if !drop[name] {
				keep = append(keep, i)
			}
		}
	}
	for _, i := range keep {
		name := sd.cols[i]
		if a.Names == "snake_case" {
			name = snakeCase(name)
		}
		if name == "" {
			continue
		}
		if names[name] < 0 && t.Columns != nil {
			if spec, listed := t.Columns[name]; listed && spec == nil {
				continue // a contract column the mapping leaves out
			}
		}
		if err := addName(name, a.Line); err != nil {
			return err
		}
		p := &colPlan{name: name, attr: true, src: i, onError: "fail", how: "inferred attribute"}
		used[i] = true
		p.typ = inferType(td.columnValues(p, nil))
		conv, err := newConverter(nil, p.typ, nil, t.Source)
		if err != nil {
			return err
		}
		p.conv = conv
		plans = append(plans, p)
	}
	// Attributes follow the source's column order; constants come last.
	slices.SortStableFunc(plans, func(x, y *colPlan) int { return srcOrder(x) - srcOrder(y) })
	for _, p := range plans {
		td.plans = append(td.plans, p)
		td.attrs = append(td.attrs, p.name)
	}
	return nil
}

func srcOrder(p *colPlan) int {
	if p.src < 0 {
		return 1 << 30
	}
	return p.src
}

func columnList(cols []string) string {
	var q []string
	for _, c := range cols {
		if c != "" {
			q = append(q, fmt.Sprintf("%q", c))
		}
	}
	if len(q) > 30 {
		q = append(q[:30], fmt.Sprintf("... %d more", len(q)-30))
	}
	return strings.Join(q, ", ")
}

// loadLookup reads a lookup file into a key → value map.
func (im *importer) loadLookup(ctx context.Context, l *LookupSpec) (*lookupMap, error) {
	sd, err := im.source(ctx, l.Source)
	if err != nil {
		return nil, err
	}
	ki, ok := sd.column(l.Key)
	if !ok {
		return nil, im.errorf(l.Line, "lookup key %q not found in %s%s (columns: %s)", l.Key, sd.path, suggest(l.Key, sd.cols), columnList(sd.cols))
	}
	vi, ok := sd.column(l.Value)
	if !ok {
		return nil, im.errorf(l.Line, "lookup value %q not found in %s%s (columns: %s)", l.Value, sd.path, suggest(l.Value, sd.cols), columnList(sd.cols))
	}
	lm := &lookupMap{sd: sd, spec: l, values: make(map[string]string, len(sd.rows)), native: sd.native[vi]}
	first := map[string]int{}
	trim := l.Source.trim()
	for r, rec := range sd.rows {
		k, v := rec[ki], rec[vi]
		if trim {
			k, v = strings.Trim(k, " \t\r\n"), strings.Trim(v, " \t\r\n")
		}
		if k == "" {
			continue
		}
		if prev, dup := lm.values[k]; dup {
			if prev != v {
				return nil, sd.rowError(r, ki, k, fmt.Errorf("lookup key appears again with another %s (%q here, %q at %d); a lookup needs one value per key", l.Value, v, prev, sd.lines[first[k]]))
			}
			continue
		}
		lm.values[k] = v
		first[k] = r
	}
	return lm, nil
}

// convertRows converts every source row of td.
func (im *importer) convertRows(ctx context.Context, td *tableData) error {
	sd, t := td.sd, td.spec
	vecs := make([]*data.Vec, len(td.plans))
	for j, p := range td.plans {
		vecs[j] = td.cols[p.name]
	}
	row := make([]cell, len(td.plans))
	nulls := make([]bool, len(td.plans))
	coerced := make([]bool, len(td.plans))
	replaced := make([]bool, len(td.plans))
	for r, rec := range sd.rows {
		if r&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		keep := true
		for j, p := range td.plans {
			nulls[j], coerced[j], replaced[j] = false, false, false
			var raw string
			native := nativeNone
			switch {
			case p.isConst:
				row[j] = p.konst
				continue
			case p.rowTmpl != "":
				raw = fmt.Sprintf(p.rowTmpl, r+1)
			default:
				raw = rec[p.src]
				native = sd.native[p.src]
			}
			x, reason, err := im.convertValue(p, raw, native)
			if err == nil && x.null && p.required {
				err = errors.New("is blank, but the column is required")
				if reason == notNull {
					err = errors.New("maps to null, but the column is required")
				}
			}
			if err != nil {
				switch p.onError {
				case "null":
					x, coerced[j] = cell{null: true}, true
				case "skip":
					keep = false
				default:
					col := p.src
					return sd.rowError(r, col, raw, fmt.Errorf("%s.%s (%s): %w", t.name, p.name, p.typ, err))
				}
			} else if reason == nullInput {
				nulls[j] = true
			}
			replaced[j] = x.replaced
			if !keep {
				break
			}
			row[j] = x
		}
		if !keep {
			td.sum.Skipped++
			continue
		}
		for j, p := range td.plans {
			appendCell(vecs[j], row[j])
			if nulls[j] {
				td.sum.Nulls[p.name]++
			}
			if coerced[j] {
				td.sum.Coerced[p.name]++
			}
			if replaced[j] {
				td.sum.Replaced[p.name]++
			}
		}
		td.lines = append(td.lines, sd.lines[r])
		td.n++
	}
	return nil
}

// convertValue converts one value of p, through its lookup if it has one.
func (im *importer) convertValue(p *colPlan, raw string, native nativeKind) (cell, nullReason, error) {
	if p.lookup != nil {
		k := strings.Trim(raw, " \t\r\n")
		if k == "" || p.conv.nulls[k] {
			return cell{null: true}, nullInput, nil
		}
		v, ok := p.lookup.values[k]
		if !ok {
			return cell{}, notNull, fmt.Errorf("not found in lookup %s column %s", p.lookup.sd.path, p.lookup.spec.Key)
		}
		x, reason, err := p.conv.convert(v, p.lookup.native)
		if err != nil {
			return x, reason, fmt.Errorf("looked up as %q: %w", v, err)
		}
		return x, reason, nil
	}
	return p.conv.convert(raw, native)
}

// finish sorts td, aggregates it if the mapping says so, and checks the
// customers table for duplicate ids.
func (im *importer) finish(td *tableData) error {
	var tv *data.Vec
	if td.table.Time != "" {
		tv = td.vec(td.table.Time)
	}
	idx := sortOrder(td.vec(data.KeyColumn), tv, td.n)
	for name, v := range td.cols {
		pv := permute(v, idx)
		td.cols[name] = &pv
	}
	lines := make([]int64, len(idx))
	for j, i := range idx {
		lines[j] = td.lines[i]
	}
	td.lines = lines
	if td.table.Name == data.Customers {
		return td.checkUnique()
	}
	if len(td.spec.Aggregate) > 0 {
		td.aggregate()
	}
	return nil
}

func (td *tableData) checkUnique() error {
	id := td.vec(data.KeyColumn)
	for i := 1; i < td.n; i++ {
		if id.Str(i) == id.Str(i-1) {
			a, b := td.lines[i-1], td.lines[i]
			if a > b {
				a, b = b, a
			}
			col := data.KeyColumn
			for _, p := range td.plans {
				if p.name == data.KeyColumn && p.src >= 0 {
					col = td.sd.cols[p.src]
				}
			}
			return &data.InputError{File: td.sd.path, Row: b, Column: col, Value: id.Str(i),
				Err: fmt.Errorf("%w: customer %q is also at %d; the customers table needs one row per customer", data.ErrDuplicateKey, id.Str(i), a)}
		}
	}
	return nil
}

// aggregate merges rows with equal customer_id and time (td is sorted).
func (td *tableData) aggregate() {
	id, tv := td.vec(data.KeyColumn), td.vec(td.table.Time)
	var starts []int
	for i := 0; i < td.n; i++ {
		if i == 0 || id.Str(i) != id.Str(i-1) || timeKey(tv, i) != timeKey(tv, i-1) {
			starts = append(starts, i)
		}
	}
	for name, v := range td.cols {
		fn := td.spec.Aggregate[name]
		agg := aggregate(v, starts, td.n, fn)
		td.cols[name] = &agg
	}
	lines := make([]int64, len(starts))
	for g, s := range starts {
		lines[g] = td.lines[s]
	}
	td.sum.Merged = int64(td.n - len(starts))
	td.lines = lines
	td.n = len(starts)
}

// derive builds the customers table from another (sorted) output table.
func (im *importer) derive(t *TableSpec) *tableData {
	src := im.tables[t.Derive.From]
	td := &tableData{spec: t, table: t.table, cols: map[string]*data.Vec{}}
	td.sum = &TableSummary{Table: t.name, Source: "derived from " + src.table.Name, SourceRows: int64(src.n)}
	ids := data.NewVec(data.TypeString)
	withSignup := t.Derive.SignupDate != "none"
	signup := data.NewVec(data.TypeDate)
	sid, stv := src.vec(data.KeyColumn), src.vec(src.table.Time)
	for i := 0; i < src.n; i++ {
		if i > 0 && sid.Str(i) == sid.Str(i-1) {
			continue
		}
		ids.AppendString(sid.Str(i))
		td.lines = append(td.lines, src.lines[i])
		if withSignup {
			// Rows are sorted by time within a customer: the first is the earliest.
			switch stv.Type {
			case data.TypeDate:
				signup.AppendDate(stv.Dates[i])
			default:
				signup.AppendDate(data.Timestamp(stv.Ints[i]).Date())
			}
		}
	}
	td.cols[data.KeyColumn] = &ids
	td.plans = append(td.plans, &colPlan{name: data.KeyColumn, typ: data.TypeString, how: "derived from " + src.table.Name, src: -1})
	if withSignup {
		td.cols["signup_date"] = &signup
		td.plans = append(td.plans, &colPlan{name: "signup_date", typ: data.TypeDate, how: "first " + src.table.Time + " of " + src.table.Name, src: -1})
	}
	td.n = ids.Len()
	im.log.Info("derived table", "table", t.name, "from", src.table.Name, "rows", td.n)
	return td
}

// label derives customers.churn_date (and, with prefer: events,
// customers.churned) from the churn_events table.
func (im *importer) label(t *TableSpec) *LabelSummary {
	l := t.Label
	cust, ev := im.tables[data.Customers], im.tables[data.ChurnEvents]
	pick := l.Pick
	if pick == "" {
		pick = "last"
	}
	churned := cust.vec("churned")
	prefer := l.Prefer
	if prefer == "" {
		prefer = "churned"
		if churned == nil {
			prefer = "events"
		}
	}
	// Event dates per customer; rows are sorted by customer, then date.
	dates := map[string]data.Date{}
	eid, edate := ev.vec(data.KeyColumn), ev.vec("churn_date")
	for i := 0; i < ev.n; i++ {
		id := eid.Str(i)
		if _, seen := dates[id]; !seen || pick == "last" {
			dates[id] = edate.Dates[i]
		}
	}
	ls := &LabelSummary{Pick: pick, Prefer: prefer}
	if churned == nil {
		ls.Rule = fmt.Sprintf("churn_date is the %s churn event's date; customers.churned is not mapped", pick)
	} else if prefer == "churned" {
		ls.Rule = fmt.Sprintf("customers.churned wins; churn_date is the %s churn event's date for churned customers, null for the rest", pick)
	} else {
		ls.Rule = fmt.Sprintf("churn events win: churned is true exactly for customers with a churn event; churn_date is the %s event's date", pick)
	}
	id := cust.vec(data.KeyColumn)
	cd := data.NewVec(data.TypeDate)
	for i := 0; i < cust.n; i++ {
		d, has := dates[id.Str(i)]
		flag := int8(-1)
		if churned != nil {
			flag = churned.Bools[i]
			switch {
			case flag == 1 && !has:
				ls.ChurnedWithoutEvents++
			case flag != 1 && has:
				ls.EventsWithoutChurned++
			}
		}
		switch {
		case prefer == "events" || churned == nil:
			if churned != nil {
				if has {
					churned.Bools[i] = 1
				} else {
					churned.Bools[i] = 0
				}
			}
			if has {
				cd.AppendDate(d)
			} else {
				cd.AppendNull()
			}
		case flag == 1 && has:
			cd.AppendDate(d)
		default:
			cd.AppendNull()
		}
		if !cd.IsNull(i) {
			ls.WithChurnDate++
		}
		if churned != nil && churned.Bools[i] == 1 {
			ls.Churned++
		}
	}
	ls.Customers = int64(cust.n)
	cust.cols["churn_date"] = &cd
	cust.plans = append(cust.plans, &colPlan{name: "churn_date", typ: data.TypeDate, how: pick + " churn_events.churn_date", src: -1})
	if ls.ChurnedWithoutEvents+ls.EventsWithoutChurned > 0 {
		im.log.Warn("churn labels disagree", "churned_without_events", ls.ChurnedWithoutEvents, "events_without_churned", ls.EventsWithoutChurned, "rule", ls.Rule)
	}
	return ls
}

// checkEmpty refuses a customers table without rows — the dataset would
// have no one to score — and records a warning for each other table whose
// source gave no rows.
func (im *importer) checkEmpty(sum *Summary) error {
	for _, name := range data.TableNames() {
		td := im.tables[name]
		if td == nil || td.n > 0 {
			continue
		}
		src := td
		if td.sd == nil && td.spec.Derive != nil {
			src = im.tables[td.spec.Derive.From]
		}
		why := filepath.Base(src.sd.path) + " has no data rows"
		if src.sum.Skipped > 0 {
			why = fmt.Sprintf("all %d data rows of %s were skipped (on_error: skip)", src.sum.Skipped, filepath.Base(src.sd.path))
		}
		if name == data.Customers {
			return &data.InputError{File: src.sd.path, Err: fmt.Errorf("%w: %s, so the dataset would have no customers", data.ErrEmpty, why)}
		}
		w := fmt.Sprintf("%s: %s; the table is written without rows", name, why)
		sum.Warnings = append(sum.Warnings, w)
		im.log.Warn("table without rows", "table", name, "why", why)
	}
	return nil
}

// countOrphans counts event rows whose customer is not in customers.
func (im *importer) countOrphans() {
	cust := im.tables[data.Customers]
	ids := make(map[string]bool, cust.n)
	cv := cust.vec(data.KeyColumn)
	for i := 0; i < cust.n; i++ {
		ids[cv.Str(i)] = true
	}
	for _, name := range data.TableNames() {
		td := im.tables[name]
		if td == nil || name == data.Customers {
			continue
		}
		v := td.vec(data.KeyColumn)
		for i := 0; i < td.n; i++ {
			if !ids[v.Str(i)] {
				td.sum.Orphans++
			}
		}
		if td.sum.Orphans > 0 {
			im.log.Warn("rows without a customer", "table", name, "rows", td.sum.Orphans)
		}
	}
}

// specs returns the output columns of td: the contract columns it has, in
// contract order, then the attributes.
func (td *tableData) specs() ([]data.ColumnSpec, []data.Vec) {
	var specs []data.ColumnSpec
	var vecs []data.Vec
	for _, s := range data.Specs(td.table) {
		if v := td.cols[s.Name]; v != nil {
			specs = append(specs, s)
			vecs = append(vecs, *v)
		}
	}
	for _, a := range td.attrs {
		v := td.cols[a]
		specs = append(specs, data.ColumnSpec{Name: a, Type: v.Type, Optional: true, Dict: v.Type == data.TypeString})
		vecs = append(vecs, *v)
	}
	return specs, vecs
}

// write writes every table into a temporary directory and moves it to out.
func (im *importer) write(ctx context.Context, out string) error {
	dir, err := data.CreateAtomicDir(out)
	if err != nil {
		return fmt.Errorf("create %s: %w", out, err)
	}
	defer dir.Abort()
	for _, name := range data.TableNames() {
		td := im.tables[name]
		if td == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := im.writeTable(dir.Path, td); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return dir.Commit()
}

func (im *importer) writeTable(dir string, td *tableData) error {
	path := filepath.Join(dir, td.table.Name+".parquet")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	specs, vecs := td.specs()
	sortedBy := []string{data.KeyColumn}
	if td.table.Time != "" {
		sortedBy = append(sortedBy, td.table.Time)
	}
	source := "derived"
	if td.sd != nil {
		source = filepath.Base(td.sd.path)
	}
	w, err := data.NewWriter(f, specs, data.WriterOptions{
		SortedBy:     sortedBy,
		ChurnVersion: im.opt.ChurnVersion,
		Metadata:     map[string]string{"churn.import.mapping": filepath.Base(im.m.File), "churn.import.source": source},
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", td.table.Name, err)
	}
	if err := w.Write(td.n, vecs); err != nil {
		return fmt.Errorf("write %s: %w", td.table.Name, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", td.table.Name, err)
	}
	return f.Close()
}

// CheckReplaceable reports an error if dir exists and holds anything but a
// churn dataset (Parquet files, table folders, hidden or _ files), so that
// a mistyped --out never replaces unrelated files.
func CheckReplaceable(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("output %s exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"):
		case e.IsDir():
			if _, ok := data.LookupTable(name); !ok {
				return fmt.Errorf("output %s holds %s/, which is not a table of a churn dataset; refusing to replace it (choose an empty or new directory)", dir, name)
			}
		case strings.HasSuffix(name, ".parquet"):
		default:
			return fmt.Errorf("output %s holds %s, which is not part of a churn dataset; refusing to replace it (choose an empty or new directory)", dir, name)
		}
	}
	return nil
}
