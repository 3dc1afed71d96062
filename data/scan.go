package data

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// KeyRange is a half-open range of customer ids: Lo <= id < Hi. An empty Lo
// means from the first id; an empty Hi means to the last.
type KeyRange struct {
	Lo, Hi string
}

func (r KeyRange) contains(k string) bool {
	return k >= r.Lo && (r.Hi == "" || k < r.Hi)
}

// ScanOptions chooses what a scan reads.
type ScanOptions struct {
	// Tables lists the tables to join to customers; nil means every table
	// the dataset holds.
	Tables []string
	// Columns optionally limits the columns decoded per table (the key is
	// always read). Tables not in the map are read whole.
	Columns map[string][]string
	// Attrs decodes the customer attributes.
	Attrs bool
	// Keep, when set, chooses the customers passed to the scan's fn (by
	// id, e.g. a data.Shard's Keeps): the rows of the others are read and
	// counted in ScanStats as usual, but not bound into a History. It is
	// called from the scanning goroutine.
	Keep func(customerID string) bool
}

// ScanStats counts what a scan saw.
type ScanStats struct {
	Customers int64
	Rows      map[string]int64 // rows bound to customers, per table
	Orphans   map[string]int64 // rows whose customer is not in customers
}

func (s *ScanStats) add(o ScanStats) {
	s.Customers += o.Customers
	if s.Rows == nil {
		s.Rows, s.Orphans = map[string]int64{}, map[string]int64{}
	}
	for k, v := range o.Rows {
		s.Rows[k] += v
	}
	for k, v := range o.Orphans {
		s.Orphans[k] += v
	}
}

// Merge adds the counts of o to s.
func (s *ScanStats) Merge(o ScanStats) { s.add(o) }

// Shards splits the customer key space into at most n ranges of similar
// size, using the row-group statistics of the customers table. Ranges are
// ordered and together cover every key. Without statistics (or with a
// single row group) it returns one range.
func (ds *Dataset) Shards(n int) []KeyRange {
	cust := ds.tables[Customers]
	var mins []string
	for _, f := range cust.Files {
		for i := 0; i < f.NumRowGroups(); i++ {
			lo, _, ok := f.keyBounds(i)
			if !ok {
				return []KeyRange{{}}
			}
			mins = append(mins, lo)
		}
	}
	for _, tf := range ds.tables {
		for _, f := range tf.Files {
			for i := 0; i < f.NumRowGroups(); i++ {
				if _, _, ok := f.keyBounds(i); !ok {
					return []KeyRange{{}}
				}
			}
		}
	}
	sort.Strings(mins)
	mins = dedupe(mins)
	if n < 1 || len(mins) < 2 {
		return []KeyRange{{}}
	}
	if n > len(mins) {
		n = len(mins)
	}
	var out []KeyRange
	lo := ""
	for s := 1; s < n; s++ {
		hi := mins[s*len(mins)/n]
		if hi <= lo {
			continue
		}
		out = append(out, KeyRange{Lo: lo, Hi: hi})
		lo = hi
	}
	return append(out, KeyRange{Lo: lo})
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// keyBounds returns the min and max customer_id of row group i from the
// file's statistics.
func (f *File) keyBounds(i int) (lo, hi string, ok bool) {
	md := f.pf.Metadata()
	if i >= len(md.RowGroups) || f.keyLeaf < 0 || f.keyLeaf >= len(md.RowGroups[i].Columns) {
		return "", "", false
	}
	st := md.RowGroups[i].Columns[f.keyLeaf].MetaData.Statistics
	switch {
	case st.MinValue != nil && st.MaxValue != nil:
		return string(st.MinValue), string(st.MaxValue), true
	}
	return "", "", false
}

// cursor walks one file of a table in key order within a key range.
type cursor struct {
	f      *File
	table  string
	sel    Selection
	attrs  bool
	r      KeyRange
	rg     int // next row group to load
	b      *Batch
	pool   *sync.Pool
	pos    int
	loaded bool
	done   bool
	prev   string // last key seen, for the order check
	seen   bool
	bind   func(b *Batch, lo, hi int, h *History)
}

// newCursor returns a cursor over f; its decoding buffers come from pool
// (nil: its own) and go back with release.
func newCursor(f *File, sel Selection, attrs bool, r KeyRange, pool *sync.Pool) *cursor {
	c := &cursor{f: f, table: f.Table.Name, sel: sel, attrs: attrs, r: r, bind: binders[f.Table.Name], pool: pool}
	if pool != nil {
		c.b, _ = pool.Get().(*Batch)
	}
	if c.b == nil {
		c.b = new(Batch)
	}
	// Event keys are only compared, never kept: let them live in the
	// batch's arena. Customer ids reach the History and must be stable.
	c.b.TransientKeys = f.Table.Name != Customers
	if r.Lo != "" {
		// Skip row groups that lie wholly before the range.
		for c.rg < f.NumRowGroups() {
			_, hi, ok := f.keyBounds(c.rg)
			if !ok || hi >= r.Lo {
				break
			}
			c.rg++
		}
	}
	return c
}

// release returns the cursor's buffers to its pool.
func (c *cursor) release() {
	if c.pool != nil && c.b != nil {
		c.pool.Put(c.b)
	}
	c.b = nil
}

// fill makes sure the cursor points at a row; it reports false at the end.
func (c *cursor) fill() (bool, error) {
	for !c.done && (!c.loaded || c.pos >= c.b.N) {
		if c.rg >= c.f.NumRowGroups() {
			c.done = true
			break
		}
		if c.r.Hi != "" && c.rg > 0 && c.loaded {
			if lo, _, ok := c.f.keyBounds(c.rg); ok && lo >= c.r.Hi {
				c.done = true
				break
			}
		}
		c.prev = strings.Clone(c.prev) // it may point into the batch's arena
		if err := c.f.ReadRowGroup(c.rg, c.sel, c.attrs, c.b); err != nil {
			return false, err
		}
		c.rg++
		c.pos = 0
		c.loaded = true
	}
	return !c.done, nil
}

func (c *cursor) key() string { return c.b.Cols[0].Str(c.pos) }

// runEnd returns the end of the run of rows sharing the key at c.pos.
func (c *cursor) runEnd() int {
	v := &c.b.Cols[0]
	codes := v.Codes[:c.b.N]
	k := codes[c.pos]
	for j := c.pos + 1; j < len(codes); j++ {
		if kj := codes[j]; kj != k && v.Dict[kj] != v.Dict[k] {
			return j
		}
	}
	return len(codes)
}

// check verifies that key k does not go backwards.
func (c *cursor) check(k string) error {
	if c.seen && k < c.prev {
		return &InputError{File: c.f.Path, Row: c.b.FirstRow + int64(c.pos), Column: KeyColumn,
			Err: fmt.Errorf("%w: %q comes after %q; sort the table by customer_id, then %s (churn sort does it)",
				ErrUnsorted, k, c.prev, timeColumnOf(c.f.Table))}
	}
	c.prev, c.seen = k, true
	return nil
}

func timeColumnOf(t *Table) string {
	if t.Time == "" {
		return "nothing else"
	}
	return t.Time
}

// take binds the rows with key id into h (nil: only counts them) and skips
// rows with smaller keys, which have no customer. It returns the number of rows bound and skipped.
// With rest set it skips every remaining row of the range (there are no more
// customers), whatever its key.
func (c *cursor) take(id string, rest bool, h *History) (bound, orphans int64, err error) {
	for {
		ok, err := c.fill()
		if err != nil || !ok {
			return bound, orphans, err
		}
		k := c.key()
		if err := c.check(k); err != nil {
			return bound, orphans, err
		}
		if c.r.Hi != "" && k >= c.r.Hi {
			c.done = true
			return bound, orphans, nil
		}
		if !rest && k > id {
			return bound, orphans, nil
		}
		end := c.runEnd()
		if !rest && k == id {
			if h != nil {
				c.bind(c.b, c.pos, end, h)
			}
			bound += int64(end - c.pos)
		} else if k >= c.r.Lo {
			orphans += int64(end - c.pos)
		}
		c.pos = end
	}
}

// Scan calls fn once per customer with key in r, in customer_id order, with
// the customer's rows of the chosen tables. The History passed to fn is
// reused: fn must not keep it (Clone it to keep it). Scan stops at the first
// error from fn or from the input, and when ctx is done.
//
// Scans of different ranges may run concurrently on the same Dataset.
func (ds *Dataset) Scan(ctx context.Context, r KeyRange, opt ScanOptions, fn func(*History) error) (ScanStats, error) {
	st := ScanStats{Rows: map[string]int64{}, Orphans: map[string]int64{}}
	tables := opt.Tables
	if tables == nil {
		for _, tf := range ds.Tables() {
			if tf.Table.Name != Customers {
				tables = append(tables, tf.Table.Name)
			}
		}
	}
	var present TableSet
	var cursors []*cursor
	defer func() {
		for _, c := range cursors {
			c.release()
		}
	}()
	for _, name := range tables {
		tf := ds.tables[name]
		if tf == nil || name == Customers {
			continue
		}
		present = present.With(name)
		sel, err := selection(tf.Table, opt.Columns[name])
		if err != nil {
			return st, err
		}
		for _, f := range tf.Files {
			cursors = append(cursors, newCursor(f, sel, false, r, &tf.batches))
		}
	}
	present = present.With(Customers)
	cust := ds.tables[Customers]
	csel, err := selection(cust.Table, opt.Columns[Customers])
	if err != nil {
		return st, err
	}
	var h History
	ccs := make([]*cursor, len(cust.Files))
	for i, f := range cust.Files {
		ccs[i] = newCursor(f, csel, opt.Attrs, r, &cust.batches)
	}
	defer func() {
		for _, c := range ccs {
			c.release()
		}
	}()
	var last string
	for {
		// Merge the customers files: take the smallest current key.
		var cc *cursor
		for _, c := range ccs {
			ok, err := c.fill()
			if err != nil {
				return st, err
			}
			if !ok {
				continue
			}
			if err := c.check(c.key()); err != nil {
				return st, err
			}
			if cc == nil || c.key() < cc.key() {
				cc = c
			}
		}
		if cc == nil {
			break
		}
		id := cc.key()
		if st.Customers > 0 && id == last {
			return st, &InputError{File: cc.f.Path, Row: cc.b.FirstRow + int64(cc.pos), Column: KeyColumn, Value: id, Err: ErrDuplicateKey}
		}
		if !r.contains(id) {
			if r.Hi != "" && id >= r.Hi {
				cc.done = true
				continue
			}
			cc.pos++
			continue
		}
		if st.Customers&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		keep := opt.Keep == nil || opt.Keep(id)
		hp := &h
		if keep {
			h.Reset()
			h.Present = present
			bindCustomer(cc.b, cc.pos, &h.Customer)
		} else {
			hp = nil
		}
		cc.pos++
		last = id
		for _, c := range cursors {
			n, o, err := c.take(id, false, hp)
			if err != nil {
				return st, err
			}
			st.Rows[c.table] += n
			st.Orphans[c.table] += o
		}
		st.Customers++
		if !keep {
			continue
		}
		h.SortByTime()
		if err := fn(&h); err != nil {
			return st, err
		}
	}
	// Rows after the last customer of the range have no customer.
	for _, c := range cursors {
		_, o, err := c.take("", true, nil)
		if err != nil {
			return st, err
		}
		st.Orphans[c.table] += o
	}
	return st, nil
}

func selection(t *Table, cols []string) (Selection, error) {
	if cols == nil {
		return nil, nil
	}
	sel := make(Selection, len(t.Columns))
	sel[0] = true
	for _, name := range cols {
		i := t.ColumnIndex(name)
		if i < 0 {
			return nil, fmt.Errorf("table %s has no column %s", t.Name, name)
		}
		sel[i] = true
	}
	return sel, nil
}
