package data

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// openFile opens one file leniently: unlike OpenFile it records every
// schema problem and keeps the columns it can read, so that the data checks
// still run on the rest of the file.
func (v *validator) openFile(ts *tableState, fs *fileState) {
	c := newCollector(v.examples)
	fs.open = c
	t := ts.t
	fail := func(err error) {
		msg, col := errorText(err)
		c.add(checkUnreadable, t.Name, col, fs.path, 0, "", func() string { return msg })
	}
	osf, err := os.Open(fs.path)
	if err != nil {
		fail(err)
		return
	}
	st, err := osf.Stat()
	if err != nil {
		osf.Close()
		fail(err)
		return
	}
	if st.Size() == 0 {
		osf.Close()
		fail(fmt.Errorf("%w: the file is empty (0 bytes)", ErrEmpty))
		return
	}
	pf, err := openParquet(osf, st.Size())
	if err != nil {
		osf.Close()
		fail(fmt.Errorf("%w: %v", ErrCorrupt, err))
		return
	}
	f := &File{Path: fs.path, Table: t, NumRows: pf.NumRows(), osf: osf, pf: pf, lenientStrings: true}
	err = f.protect("", func() error {
		v.bindLenient(ts, fs, f, c)
		if err := f.indexRowGroups(); err != nil {
			return err
		}
		return checkCodecs(f.Path, f.pf.Metadata(), f.leaves())
	})
	if err != nil {
		osf.Close()
		fail(err)
		return
	}
	fs.f = f
}

// bindLenient binds f's columns like bindSchema, but records each problem
// in c and leaves a column it cannot read absent instead of failing.
func (v *validator) bindLenient(ts *tableState, fs *fileState, f *File, c *collector) {
	t := ts.t
	leaves := map[string]*parquet.Column{}
	var order []*parquet.Column
	for _, pc := range f.pf.Root().Columns() {
		name := pc.Name()
		shape := ""
		switch {
		case !pc.Leaf():
			shape = "a nested group"
		case pc.Repeated():
			shape = "repeated"
		}
		if shape == "" {
			leaves[name] = pc
			order = append(order, pc)
			continue
		}
		if _, ok := contractColumn(t, name); ok {
			c.add(checkWrongType, t.Name, name, fs.path, 0, "", func() string {
				return fmt.Sprintf("is %s; contract columns hold one plain value per row", shape)
			})
			continue
		}
		ts.addIgnored(c, fs.path, name, shape, "is "+shape)
	}
	f.cols = make([]fileColumn, len(t.Columns))
	for i := range t.Columns {
		cc := &t.Columns[i]
		fc := fileColumn{name: cc.Name, typ: cc.Type, leaf: -1}
		pc, ok := leaves[cc.Name]
		switch {
		case !ok:
			val, inPath := fs.partition[cc.Name]
			switch {
			case inPath:
				if _, err := parseConstant(cc.Type, val); err != nil {
					c.add(checkBadPartition, t.Name, cc.Name, fs.path, 0, val, func() string {
						return fmt.Sprintf("partition folder %s=%s cannot be read as %s: %v", cc.Name, val, cc.Type, err)
					})
					break
				}
				fc.constant, fc.hasConst = val, true
				ts.noteType(cc.Name, "partition folder")
			case cc.Required:
				c.add(checkMissingColumn, t.Name, cc.Name, fs.path, 0, "", func() string {
					return fmt.Sprintf("required column is missing (a %s column: %s)", cc.Type, cc.Doc)
				})
			}
		default:
			if err := bindLeaf(&fc, pc); err != nil {
				fc = fileColumn{name: cc.Name, typ: cc.Type, leaf: -1}
				c.add(checkWrongType, t.Name, cc.Name, fs.path, 0, "", func() string { return err.Error() })
				break
			}
			ts.noteType(cc.Name, typeName(pc))
		}
		f.cols[i] = fc
	}
	f.keyLeaf = f.cols[0].leaf
	for _, pc := range order {
		name := pc.Name()
		if _, ok := contractColumn(t, name); ok {
			continue
		}
		if !t.Extra {
			ts.addIgnored(c, fs.path, displayName(name), typeName(pc), fmt.Sprintf("is not a column of table %s", t.Name))
			continue
		}
		if !utf8.ValidString(name) {
			ts.addIgnored(c, fs.path, displayName(name), typeName(pc), "the column name is not valid UTF-8")
			continue
		}
		at, ok := attrType(pc)
		if !ok {
			ts.addIgnored(c, fs.path, name, typeName(pc), fmt.Sprintf("has type %s; attributes are numbers, booleans or strings", typeName(pc)))
			continue
		}
		fc := fileColumn{name: name, typ: at, leaf: -1}
		if err := bindLeaf(&fc, pc); err != nil {
			ts.addIgnored(c, fs.path, name, typeName(pc), err.Error())
			continue
		}
		f.attrs = append(f.attrs, fc)
		f.Attrs = append(f.Attrs, AttrColumn{Name: name, Type: at})
		ts.noteType(name, typeName(pc))
	}
	if !t.Extra {
		return
	}
	if ts.attrsFrom == "" {
		ts.attrs, ts.attrsFrom = f.Attrs, fs.path
	} else if !sameAttrs(ts.attrs, f.Attrs) {
		c.add(checkAttrsDiffer, t.Name, "", fs.path, 0, "", func() string {
			return fmt.Sprintf("attribute columns (%s) differ from those of %s (%s); every file of customers needs the same ones",
				attrList(f.Attrs), ts.attrsFrom, attrList(ts.attrs))
		})
	}
}

func attrList(a []AttrColumn) string {
	if len(a) == 0 {
		return "none"
	}
	s := make([]string, len(a))
	for i, c := range a {
		s[i] = c.Name + " " + c.Type.String()
	}
	return strings.Join(s, ", ")
}

func (ts *tableState) noteType(col, typ string) {
	if _, ok := ts.fileType[col]; !ok {
		ts.fileType[col] = typ
	}
}

func (ts *tableState) addIgnored(c *collector, file, name, typ, why string) {
	if !slices.ContainsFunc(ts.ignored, func(ic ignoredColumn) bool { return ic.name == name }) {
		ts.ignored = append(ts.ignored, ignoredColumn{name: name, typ: typ})
	}
	c.add(checkIgnoredColumn, ts.t.Name, name, file, 0, "", func() string { return why + "; ignored" })
}

// fileResult is what checking one file found.
type fileResult struct {
	probs *collector
	cols  map[string]*colStats
	rows  int64 // rows read
}

// colStats summarises the values of one column.
type colStats struct {
	present    bool
	nulls      int64
	hasRange   bool
	imin, imax int64
	fmin, fmax float64
}

func (s *colStats) int(x int64) {
	if !s.hasRange {
		s.imin, s.imax, s.hasRange = x, x, true
		return
	}
	s.imin, s.imax = min(s.imin, x), max(s.imax, x)
}

func (s *colStats) float(x float64) {
	if !s.hasRange {
		s.fmin, s.fmax, s.hasRange = x, x, true
		return
	}
	s.fmin, s.fmax = min(s.fmin, x), max(s.fmax, x)
}

func (s *colStats) merge(o *colStats) {
	s.present = s.present || o.present
	s.nulls += o.nulls
	if !o.hasRange {
		return
	}
	if !s.hasRange {
		s.hasRange, s.imin, s.imax, s.fmin, s.fmax = true, o.imin, o.imax, o.fmin, o.fmax
		return
	}
	s.imin, s.imax = min(s.imin, o.imin), max(s.imax, o.imax)
	s.fmin, s.fmax = min(s.fmin, o.fmin), max(s.fmax, o.fmax)
}

// bounds formats the smallest and largest value of a column of type t.
func (s *colStats) bounds(t Type) (lo, hi string) {
	if !s.hasRange {
		return "", ""
	}
	switch t {
	case TypeInt64:
		return strconv.FormatInt(s.imin, 10), strconv.FormatInt(s.imax, 10)
	case TypeDate:
		return Date(s.imin).String(), Date(s.imax).String()
	case TypeTimestamp:
		return Timestamp(s.imin).String(), Timestamp(s.imax).String()
	case TypeFloat64:
		return formatFloat(s.fmin), formatFloat(s.fmax)
	}
	return "", ""
}

func formatFloat(x float64) string {
	if math.Abs(x) < 1e15 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// dateRole says how a date or timestamp column relates to time.
type dateRole uint8

const (
	roleEvent   dateRole = iota // when something happened: never in the future
	rolePlanned                 // a planned or contractual day: may lie ahead
	roleLabel                   // the churn label: planned, and exempt from the as-of check
)

func roleOf(table, col string) dateRole {
	switch table + "." + col {
	case "customers.contract_end", "subscriptions.start_date", "subscriptions.end_date", "payments.due_date":
		return rolePlanned
	case "customers.churn_date", "churn_events.churn_date", "churn_events.reactivated_at":
		return roleLabel
	}
	return roleEvent
}

// asOfApplies reports whether values of the column on or after the as-of
// date are worth a warning. The label columns are meant to lie after it,
// and the customers table holds today's values except for signup_date.
func asOfApplies(t *Table, col string) bool {
	if roleOf(t.Name, col) == roleLabel {
		return false
	}
	return t.Name != Customers || col == "signup_date"
}

// amountColumns hold money: negative values are suspect.
var amountColumns = map[string]bool{
	"customers.mrr": true, "subscriptions.mrr": true, "payments.amount": true, "orders.amount": true,
}

// fileCheck checks the rows of one file.
type fileCheck struct {
	v    *validator
	t    *Table
	f    *File
	path string
	c    *collector
	res  *fileResult
	b    *Batch // the row group being checked

	verdict []int8 // vocabulary verdict per dictionary entry: 0 unknown, 1 in, 2 out
	valid   []int8 // CheckString verdict per dictionary entry: 0 unknown, 1 valid, 2 not

	// order state, carried across row groups
	prevKey  string
	hasPrev  bool
	prevTime int64
	hasTime  bool
}

// checkFile reads every row group of fs and runs the per-row checks.
func (v *validator) checkFile(ctx context.Context, ts *tableState, fs *fileState) (*fileResult, error) {
	fc := &fileCheck{v: v, t: ts.t, f: fs.f, path: fs.path, c: newCollector(v.examples)}
	fc.res = &fileResult{probs: fc.c, cols: map[string]*colStats{}}
	var b Batch
	for rg := 0; rg < fs.f.NumRowGroups(); rg++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := fs.f.ReadRowGroup(rg, nil, true, &b); err != nil {
			msg, col := errorText(err)
			fc.c.add(checkUnreadable, ts.t.Name, col, fs.path, 0, "", func() string {
				return fmt.Sprintf("row group %d of %d: %s; the rest of the file is not checked", rg+1, fs.f.NumRowGroups(), msg)
			})
			break
		}
		fc.batch(&b)
	}
	return fc.res, nil
}

func (fc *fileCheck) stat(name string) *colStats {
	s := fc.res.cols[name]
	if s == nil {
		s = &colStats{}
		fc.res.cols[name] = s
	}
	return s
}

func (fc *fileCheck) batch(b *Batch) {
	fc.b = b
	fc.res.rows += int64(b.N)
	for i := range fc.t.Columns {
		fc.column(&fc.t.Columns[i], &b.Cols[i], b)
	}
	for a := range b.Attrs {
		fc.attribute(fc.f.attrs[a].name, &b.Attrs[a])
	}
	fc.order(b)
	switch fc.t.Name {
	case Customers:
		fc.signup(b)
	case Interventions:
		fc.holdouts(b)
	}
}

// hit records one occurrence of chk on col at a row of the batch; value is
// formatted only when the example is kept.
func (fc *fileCheck) hit(chk Check, col string, row int64, msg func() string, value func() string) {
	p := fc.c.get(chk, fc.t.Name, col, fc.path, msg)
	if !p.wants(fc.c.max) {
		p.count(fc.path)
		return
	}
	p.hit(fc.c.max, Example{File: fc.path, Row: row, Value: value(), Customer: fc.customer(row)})
}

// customer returns the customer_id of a row of the current batch.
func (fc *fileCheck) customer(row int64) string {
	keys := &fc.b.Cols[0]
	return keys.Str(int(row - fc.b.FirstRow))
}

// hitValue is hit for checks about values: an example is kept only for a
// value not already among the examples, so that they show the variety.
func (fc *fileCheck) hitValue(chk Check, col string, row int64, msg func() string, val string) {
	p := fc.c.get(chk, fc.t.Name, col, fc.path, msg)
	if slices.ContainsFunc(p.Examples, func(e Example) bool { return e.Value == val }) {
		p.count(fc.path)
		return
	}
	p.hit(fc.c.max, Example{File: fc.path, Row: row, Value: val, Customer: fc.customer(row)})
}

func (fc *fileCheck) null(col *Column, s *colStats, row int64) {
	fc.missing(col, s, row, false)
}

// missing records a missing value of col: a null, or a NaN stored in the
// file (nan), which churn reads as missing too.
func (fc *fileCheck) missing(col *Column, s *colStats, row int64, nan bool) {
	s.nulls++
	switch {
	case nan && col.Required:
		// Required: the reader stops at it, so it is an error.
		chk := checkNaN
		chk.Severity = SevError
		fc.hitValue(chk, col.Name, row, func() string {
			return "NaN (not a number) in a required column: churn reads NaN as a missing value, so the reader stops at the first one; write a number"
		}, "NaN")
	case nan:
		fc.hitValue(checkNaN, col.Name, row, nanMsg, "NaN")
	case col.Required:
		fc.hit(checkNullRequired, col.Name, row, func() string {
			return "null in a required column; the reader stops at the first one"
		}, noValue)
	}
}

func infMsg() string { return "infinite value; write finite numbers, or null when unknown" }

func nanMsg() string {
	return "NaN (not a number) stored as a value: churn reads it as missing, like a null; write null for unknown values, or fix the computation that produced it"
}

func noValue() string { return "" }

func (fc *fileCheck) column(col *Column, v *Vec, b *Batch) {
	s := fc.stat(col.Name)
	if v.Absent {
		s.nulls += int64(b.N)
		return
	}
	s.present = true
	row0 := b.FirstRow
	switch v.Type {
	case TypeString:
		fc.strings(col, v, b, s)
	case TypeBool:
		for i, x := range v.Bools {
			if x < 0 {
				fc.null(col, s, row0+int64(i))
			}
		}
	case TypeInt64:
		ranged := col.Max > col.Min
		for i, x := range v.Ints {
			if x == NullInt {
				fc.null(col, s, row0+int64(i))
				continue
			}
			s.int(x)
			if ranged && (float64(x) < col.Min || float64(x) > col.Max) {
				fc.hitValue(checkOutOfRange, col.Name, row0+int64(i), func() string { return rangeMsg(col) }, strconv.FormatInt(x, 10))
			}
		}
	case TypeFloat64:
		ranged := col.Max > col.Min
		amount := amountColumns[fc.t.Name+"."+col.Name]
		for i, x := range v.Floats {
			row := row0 + int64(i)
			switch {
			case math.IsNaN(x):
				fc.missing(col, s, row, v.storedNaN(i))
				continue
			case math.IsInf(x, 0):
				fc.hitValue(checkNotFinite, col.Name, row, infMsg, formatFloat(x))
				continue
			}
			s.float(x)
			if ranged && (x < col.Min || x > col.Max) {
				fc.hitValue(checkOutOfRange, col.Name, row, func() string { return rangeMsg(col) }, formatFloat(x))
			}
			if col.Plausible > 0 && math.Abs(x) > col.Plausible {
				fc.hitValue(checkImplausible, col.Name, row, func() string {
					return fmt.Sprintf("implausibly large (beyond ±%s): a unit, scale or placeholder mistake? Features computed from such values can overflow, and training then fails", formatFloat(col.Plausible))
				}, formatFloat(x))
			}
			if amount && x < 0 {
				fc.hit(checkNegativeAmount, col.Name, row, func() string {
					return "negative amount; churn reads money columns as amounts of 0 or more, so credits and refunds recorded as negative values distort revenue features"
				}, func() string { return formatFloat(x) })
			}
		}
	case TypeDate:
		fc.dates(col, v, b, s)
	case TypeTimestamp:
		fc.timestamps(col, v, b, s)
	}
}

func rangeMsg(col *Column) string {
	return fmt.Sprintf("outside the allowed range %s to %s", formatFloat(col.Min), formatFloat(col.Max))
}

func (fc *fileCheck) strings(col *Column, v *Vec, b *Batch, s *colStats) {
	row0 := b.FirstRow
	fc.checkStrings(col.Name, v, b, col.Name == KeyColumn)
	if col.NotEmpty {
		for i, code := range v.Codes {
			if code >= 0 && v.Dict[code] == "" {
				fc.hit(checkEmptyValue, col.Name, row0+int64(i), func() string {
					return fmt.Sprintf("empty %s.%s: the value names something and must not be empty", fc.t.Name, col.Name)
				}, noValue)
			}
		}
	}
	if len(col.Values) == 0 {
		for i, code := range v.Codes {
			if code < 0 {
				fc.null(col, s, row0+int64(i))
			}
		}
		return
	}
	fc.verdict = slices.Grow(fc.verdict[:0], len(v.Dict))[:len(v.Dict)]
	clear(fc.verdict)
	for i, code := range v.Codes {
		if code < 0 {
			fc.null(col, s, row0+int64(i))
			continue
		}
		vd := fc.verdict[code]
		if vd == 0 {
			vd = 2
			if slices.Contains(col.Values, v.Dict[code]) {
				vd = 1
			}
			fc.verdict[code] = vd
		}
		if vd == 1 {
			continue
		}
		if col.Open {
			fc.hitValue(checkOtherValue, col.Name, row0+int64(i), func() string {
				return fmt.Sprintf("not one of the values churn knows for %s.%s (%s); kept as it is", fc.t.Name, col.Name, strings.Join(col.Values, ", "))
			}, v.Dict[code])
			continue
		}
		fc.hitValue(checkUnknownValue, col.Name, row0+int64(i), func() string {
			return fmt.Sprintf("not in the vocabulary of %s.%s (%s)", fc.t.Name, col.Name, strings.Join(col.Values, ", "))
		}, v.Dict[code])
	}
}

// checkStrings reports the values of a string column that the reader
// refuses (see CheckString), judging each dictionary entry once.
func (fc *fileCheck) checkStrings(name string, v *Vec, b *Batch, key bool) {
	fc.valid = slices.Grow(fc.valid[:0], len(v.Dict))[:len(v.Dict)]
	clear(fc.valid)
	for i, code := range v.Codes {
		if code < 0 {
			continue
		}
		if fc.valid[code] == 0 {
			fc.valid[code] = 1
			if CheckString(v.Dict[code], key) != nil {
				fc.valid[code] = 2
			}
		}
		if fc.valid[code] == 1 {
			continue
		}
		val := v.Dict[code]
		err := CheckString(val, key)
		chk := checkInvalidUTF8
		if errors.Is(err, ErrInvalidKey) {
			chk = checkInvalidKey
		}
		fc.hitValue(chk, name, b.FirstRow+int64(i), func() string { return err.Error() + "; the reader stops at the first one" }, val)
	}
}

func (fc *fileCheck) asOfMsg(col *Column) func() string {
	return func() string {
		l := &fc.v.lim
		switch {
		case fc.t.Name == Customers:
			return fmt.Sprintf("signed up on or after the as-of date %s: not yet a customer at that date", l.asOf)
		case col.Name == fc.t.Time:
			return fmt.Sprintf("dated on or after the as-of date %s: point-in-time features ignore these rows", l.asOf)
		}
		return fmt.Sprintf("on or after the as-of date %s: point-in-time features treat the value as not yet known", l.asOf)
	}
}

func (fc *fileCheck) futureMsg(role dateRole) func() string {
	return func() string {
		l := &fc.v.lim
		if role == roleEvent {
			return fmt.Sprintf("after today (%s): an event cannot lie in the future; a wrong time zone, unit or placeholder?", l.today)
		}
		return fmt.Sprintf("more than %d years after today (%s): a placeholder such as 9999-12-31? Write null for no end", plannedYears, l.today)
	}
}

func oldMsg() string {
	return "on or before 1900-01-01: a placeholder such as 0001-01-01 or 1900-01-01? Write null for unknown dates"
}

func (fc *fileCheck) dates(col *Column, v *Vec, b *Batch, s *colStats) {
	l := &fc.v.lim
	role := roleOf(fc.t.Name, col.Name)
	asOf := l.hasAsOf && asOfApplies(fc.t, col.Name)
	future := l.eventDay
	if role != roleEvent {
		future = l.plannedDay
	}
	for i, d := range v.Dates {
		row := b.FirstRow + int64(i)
		if d == NoDate {
			fc.null(col, s, row)
			continue
		}
		s.int(int64(d))
		if asOf && d >= l.asOf {
			fc.hit(checkAfterAsOf, col.Name, row, fc.asOfMsg(col), d.String)
		}
		if d > future {
			fc.hit(checkFutureDate, col.Name, row, fc.futureMsg(role), d.String)
		}
		if d <= l.oldDay {
			fc.hit(checkOldDate, col.Name, row, oldMsg, d.String)
		}
	}
}

func (fc *fileCheck) timestamps(col *Column, v *Vec, b *Batch, s *colStats) {
	l := &fc.v.lim
	role := roleOf(fc.t.Name, col.Name)
	asOf := l.hasAsOf && asOfApplies(fc.t, col.Name)
	future := l.eventAfterTS
	if role != roleEvent {
		future = l.plannedTS
	}
	for i, x := range v.Ints {
		row := b.FirstRow + int64(i)
		ts := Timestamp(x)
		if ts == NoTime {
			fc.null(col, s, row)
			continue
		}
		s.int(x)
		if asOf && ts >= l.asOfTS {
			fc.hit(checkAfterAsOf, col.Name, row, fc.asOfMsg(col), ts.String)
		}
		if ts >= future {
			fc.hit(checkFutureDate, col.Name, row, fc.futureMsg(role), ts.String)
		}
		if ts < l.oldBeforeTS {
			fc.hit(checkOldDate, col.Name, row, oldMsg, ts.String)
		}
	}
}

func (fc *fileCheck) attribute(name string, v *Vec) {
	s := fc.stat(name)
	if v.Absent {
		return
	}
	s.present = true
	if v.Type == TypeString {
		fc.checkStrings(name, v, fc.b, false)
	}
	n := v.Len()
	for i := 0; i < n; i++ {
		if v.IsNull(i) {
			s.nulls++
			if v.Type == TypeFloat64 && v.storedNaN(i) {
				fc.hitValue(checkNaN, name, fc.b.FirstRow+int64(i), nanMsg, "NaN")
			}
			continue
		}
		if v.Type == TypeFloat64 {
			x := v.Floats[i]
			if math.IsInf(x, 0) {
				fc.hitValue(checkNotFinite, name, fc.b.FirstRow+int64(i), infMsg, formatFloat(x))
				continue
			}
			s.float(x)
		}
	}
}

// order checks that keys never go down and that, within a customer, the
// time column does not go down either.
func (fc *fileCheck) order(b *Batch) {
	keys := &b.Cols[0]
	if keys.Absent {
		return
	}
	var tv *Vec
	if fc.t.Time != "" {
		if v := &b.Cols[fc.t.ColumnIndex(fc.t.Time)]; !v.Absent {
			tv = v
		}
	}
	prevCode := int32(-1)
	for i, code := range keys.Codes {
		if code < 0 {
			continue
		}
		row := b.FirstRow + int64(i)
		same := code == prevCode
		if !same {
			k := keys.Dict[code]
			if fc.hasPrev && k < fc.prevKey {
				prev := fc.prevKey
				fc.hit(checkUnsortedKey, KeyColumn, row, func() string {
					return fmt.Sprintf("not sorted by customer_id: the value is smaller than the one on the row before (e.g. after %q); the reader stops at the first such row. Sort the file by customer_id, then %s", prev, timeColumnOf(fc.t))
				}, func() string { return k })
			}
			same = fc.hasPrev && k == fc.prevKey
			fc.prevKey, fc.hasPrev, prevCode = k, true, code
		}
		if tv == nil {
			continue
		}
		t, ok := timeAt(tv, i)
		if !ok {
			continue
		}
		if same && fc.hasTime && t < fc.prevTime {
			fc.hit(checkUnsortedTime, fc.t.Time, row, func() string {
				return fmt.Sprintf("rows of a customer are not in %s order; the reader re-orders them in memory, which costs time. Sort by customer_id, then %s", fc.t.Time, fc.t.Time)
			}, func() string { return timeString(tv, i) })
		}
		fc.prevTime, fc.hasTime = t, true
	}
}

// timeAt returns row i of a date or timestamp column as an int64 that
// orders like the values.
func timeAt(v *Vec, i int) (int64, bool) {
	switch v.Type {
	case TypeDate:
		d := v.Dates[i]
		return int64(d), d != NoDate
	case TypeTimestamp:
		return v.Ints[i], v.Ints[i] != int64(NoTime)
	}
	return 0, false
}

func timeString(v *Vec, i int) string {
	if v.Type == TypeDate {
		return v.Dates[i].String()
	}
	return Timestamp(v.Ints[i]).String()
}

func (fc *fileCheck) signup(b *Batch) {
	sd, cd := &b.Cols[cSignup], &b.Cols[cChurnDate]
	for i := 0; i < b.N; i++ {
		if c, s := cd.Date(i), sd.Date(i); c != NoDate && s != NoDate && c < s {
			fc.hit(checkChurnBeforeSignup, "churn_date", b.FirstRow+int64(i), func() string {
				return "churned before signing up (churn_date is before signup_date): the label and tenure of this customer are wrong; check both dates"
			}, c.String)
		}
		if sd.Date(i) != NoDate {
			continue
		}
		fc.hit(checkMissingSignup, "signup_date", b.FirstRow+int64(i), func() string {
			return "customer has no signup_date: point-in-time work cannot tell whether the customer existed at the as-of date"
		}, noValue)
	}
}

// holdouts warns about interventions rows that record a control customer
// as contacted: the holdout was broken.
func (fc *fileCheck) holdouts(b *Batch) {
	group, contacted := &b.Cols[fc.t.ColumnIndex("group")], &b.Cols[fc.t.ColumnIndex("contacted")]
	if group.Absent || contacted.Absent {
		return
	}
	for i := 0; i < b.N; i++ {
		if contacted.Bool(i) == 1 && group.Str(i) == GroupControl {
			fc.hit(checkControlContacted, "contacted", b.FirstRow+int64(i), func() string {
				return "a control customer was contacted: the holdout was broken. churn review still counts the row in the control group (intent to treat), but the per-protocol figures are biased further; control customers must not be contacted because of churn"
			}, func() string { return "true" })
		}
	}
}

// joinResult is what the customer_id join found.
type joinResult struct {
	probs   *collector
	orphans map[string]int64
	// checked is false when the customers files could not be merged; then
	// neither duplicates nor orphans were checked.
	checked bool
	// skipped marks tables with a file left out of the orphan check.
	skipped map[string]bool
}

// keyCursor walks the customer_id column of one file, row group by row
// group, skipping null keys.
type keyCursor struct {
	f      *File
	table  string
	sel    Selection
	b      Batch
	rg     int
	pos    int
	loaded bool
	done   bool
	prev   string
	seen   bool
	broken bool // the keys went down: the file is not sorted
	err    error
}

func newKeyCursor(f *File) *keyCursor {
	sel := make(Selection, len(f.Table.Columns))
	sel[0] = true
	return &keyCursor{f: f, table: f.Table.Name, sel: sel}
}

// ensure moves to the next row with a key; it reports false at the end, on
// a read error and when the keys go down.
func (c *keyCursor) ensure(ctx context.Context) bool {
	for !c.done {
		if c.loaded && c.pos < c.b.N {
			code := c.b.Cols[0].Codes[c.pos]
			if code < 0 {
				c.pos++
				continue
			}
			k := c.b.Cols[0].Dict[code]
			if c.seen && k < c.prev {
				c.broken, c.done = true, true
				return false
			}
			c.prev, c.seen = k, true
			return true
		}
		if c.rg >= c.f.NumRowGroups() {
			c.done = true
			break
		}
		if err := ctx.Err(); err != nil {
			c.err, c.done = err, true
			break
		}
		if err := c.f.ReadRowGroup(c.rg, c.sel, false, &c.b); err != nil {
			c.err, c.done = err, true
			break
		}
		c.rg++
		c.pos, c.loaded = 0, true
	}
	return false
}

func (c *keyCursor) key() string { return c.prev }
func (c *keyCursor) row() int64  { return c.b.FirstRow + int64(c.pos) }

// joinKeys merges the customer_id columns of every file, as Scan does: it
// finds duplicate customers and event rows without a customer. Files must
// be sorted by customer_id; an unsorted or unreadable file is left out
// (its problem is reported by checkFile) and the report says so.
func (v *validator) joinKeys(ctx context.Context) (*joinResult, error) {
	r := &joinResult{probs: newCollector(v.examples), orphans: map[string]int64{}, skipped: map[string]bool{}}
	var custs, events []*keyCursor
	v.eachFile(func(ts *tableState, fs *fileState) {
		if fs.f == nil || (fs.f.keyLeaf < 0 && !fs.f.cols[0].hasConst) {
			r.skipped[ts.t.Name] = true
			return
		}
		c := newKeyCursor(fs.f)
		if ts.t.Name == Customers {
			custs = append(custs, c)
		} else {
			events = append(events, c)
		}
	})
	skip := func(c *keyCursor, why string) {
		r.skipped[c.table] = true
		r.probs.add(checkJoinSkipped, c.table, KeyColumn, c.f.Path, 0, "", func() string { return why })
	}
	dupMsg := func() string {
		return "customer_id appears more than once in customers; the reader stops at the first repeat"
	}
	orphanMsg := func() string {
		return "no customer with this customer_id in customers; the reader skips these rows"
	}
	// orphansUpTo consumes the rows of c with keys below id (orphans) and
	// equal to id (the customer's rows).
	orphansUpTo := func(c *keyCursor, id string, last bool) {
		for c.ensure(ctx) {
			k := c.key()
			if !last && k > id {
				return
			}
			if last || k < id {
				r.orphans[c.table]++
				p := r.probs.get(checkOrphan, c.table, KeyColumn, c.f.Path, orphanMsg)
				p.hit(r.probs.max, Example{File: c.f.Path, Row: c.row(), Value: k, Customer: k})
			}
			c.pos++
		}
	}
	first, last := true, ""
	for {
		var cc *keyCursor
		for _, c := range custs {
			if !c.ensure(ctx) {
				if c.broken {
					for _, c := range custs {
						if c.broken {
							skip(c, "duplicate and orphan checks skipped: the customers file is not sorted by customer_id")
						}
					}
					r.checked = false
					return r, ctx.Err()
				}
				continue
			}
			if cc == nil || c.key() < cc.key() {
				cc = c
			}
		}
		if cc == nil {
			break
		}
		id := cc.key()
		if !first && id == last {
			p := r.probs.get(checkDuplicateKey, Customers, KeyColumn, cc.f.Path, dupMsg)
			p.hit(r.probs.max, Example{File: cc.f.Path, Row: cc.row(), Value: id, Customer: id})
			cc.pos++
			continue
		}
		first, last = false, id
		cc.pos++
		for _, e := range events {
			orphansUpTo(e, id, false)
		}
	}
	for _, e := range events {
		orphansUpTo(e, "", true)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	for _, c := range append(custs, events...) {
		what := "orphan check"
		if c.table == Customers {
			what = "duplicate and orphan checks"
		}
		switch {
		case c.broken:
			skip(c, what+" incomplete: the file is not sorted by customer_id")
		case c.err != nil:
			skip(c, what+" incomplete: the file could not be read to the end")
		}
	}
	r.checked = true
	return r, nil
}
