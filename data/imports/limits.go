package imports

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ErrTooLong marks a line, record or field of a text source longer than
// the source's limits (max_line_bytes, max_field_bytes).
var ErrTooLong = errors.New("too long")

// Default limits of text sources. A line (or a CSV record spanning lines
// inside quotes) may hold up to DefaultMaxLineBytes, one value up to
// DefaultMaxFieldBytes; the mapping can raise or lower both per source.
const (
	DefaultMaxLineBytes  = 16 << 20
	DefaultMaxFieldBytes = 1 << 20
)

// parseByteSize parses a size written in a mapping: a number of bytes, or
// a number with the unit KiB, MiB or GiB ("64KiB", "16 MiB").
func parseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt32/mult {
		return 0, fmt.Errorf("size %q: want a positive number of bytes below 2 GiB, optionally with the unit KiB, MiB or GiB (e.g. 64MiB)", s)
	}
	return n * mult, nil
}

// formatSize writes n bytes the way mappings write sizes.
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// tooLongError is what lineLimiter returns when a line or record is too
// long.
type tooLongError struct {
	line      int64 // 1-based line where the limit was reached
	recLine   int64 // first line of the record, when a record spans lines
	max       int64
	multiline bool
}

func (e *tooLongError) Error() string {
	if e.multiline {
		return fmt.Sprintf("the record starting on this line runs past line %d and is longer than %s (max_line_bytes): a quoted field that is never closed? Quote fields holding the delimiter or line breaks, double the quotes inside them, or set lazy_quotes: true",
			e.line, formatSize(e.max))
	}
	return fmt.Sprintf("line %d is longer than %s (max_line_bytes); raise max_line_bytes on the source if the file really holds such lines", e.line, formatSize(e.max))
}

func (e *tooLongError) Unwrap() error { return ErrTooLong }

// lineLimiter passes a text source through and stops with a *tooLongError
// as soon as a line, or a CSV record spanning several lines inside quotes,
// exceeds max bytes: the reader above it then never holds more than about
// max bytes of one line, however long the line in the file is.
//
// For CSV (quotes true) it follows RFC 4180 quoting to find where records
// end: a quote opens a quoted field only at the start of a field, and two
// quotes inside one stand for a quote.
type lineLimiter struct {
	r      io.Reader
	max    int64
	quotes bool
	comma  []byte // the delimiter, UTF-8 encoded

	line    int64 // 1-based line of the next byte
	inLine  int64 // bytes of the current line so far
	recLine int64 // first line of the current record
	inRec   int64 // bytes of the current record so far
	// CSV state
	fieldStart, quoted, quotePending bool
	err                              error
}

func newLineLimiter(r io.Reader, max int64, csvComma rune) *lineLimiter {
	l := &lineLimiter{r: r, max: max, line: 1, recLine: 1, fieldStart: true}
	if csvComma != 0 {
		l.quotes, l.comma = true, []byte(string(csvComma))
	}
	return l
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	if k := l.scan(p[:n]); k < n {
		return k, l.err
	}
	return n, err
}

// scan follows b and returns how many of its bytes are within the limits
// (len(b) when all are); past that it sets l.err.
func (l *lineLimiter) scan(b []byte) int {
	if !l.quotes {
		// Lines only: jump from newline to newline.
		pos := 0
		for {
			i := bytes.IndexByte(b[pos:], '\n')
			seg := len(b) - pos
			if i >= 0 {
				seg = i
			}
			if l.inLine+int64(seg) > l.max {
				l.err = &tooLongError{line: l.line, max: l.max}
				return pos + int(l.max-l.inLine)
			}
			if i < 0 {
				l.inLine += int64(seg)
				return len(b)
			}
			pos += i + 1
			l.line++
			l.inLine = 0
		}
	}
	last := l.comma[len(l.comma)-1]
	for i, c := range b {
		if c == '\n' {
			l.line++
			l.inLine = 0
		} else if l.inLine++; l.inLine > l.max {
			l.err = &tooLongError{line: l.line, max: l.max}
			return i
		}
		if !l.csvByte(c, last) {
			l.recLine, l.inRec, l.fieldStart = l.line, 0, true
			continue
		}
		if l.inRec++; l.inRec > l.max {
			l.err = &tooLongError{line: l.line, recLine: l.recLine, max: l.max, multiline: true}
			return i
		}
	}
	return len(b)
}

// csvByte follows the quoting of one CSV byte; it reports false when c is
// the newline that ends a record. A quote opens a quoted field only at the
// start of a field; inside one, "" is a quote and a quote followed by the
// delimiter or a line break closes it; other quotes are literal (with
// lazy_quotes) or a parse error the CSV reader reports.
func (l *lineLimiter) csvByte(c, last byte) bool {
	if l.quoted {
		if !l.quotePending {
			l.quotePending = c == '"'
			return true
		}
		l.quotePending = false
		if c != last && c != '\n' && c != '\r' {
			return true // "" or a literal quote: still quoted
		}
		l.quoted = false // the quote closed the field; c follows it
	}
	switch {
	case c == '"' && l.fieldStart:
		l.quoted, l.fieldStart = true, false
	case c == '\n':
		return false
	case c == last:
		l.fieldStart = true
	default:
		l.fieldStart = false
	}
	return true
}

// fieldTooLongError is the error for a value longer than max bytes.
type fieldTooLongError struct {
	n   int
	max int64
}

func (e *fieldTooLongError) Error() string {
	return fmt.Sprintf("the value is %d bytes, longer than %s (max_field_bytes); raise max_field_bytes on the source if the file really holds such values", e.n, formatSize(e.max))
}

func (e *fieldTooLongError) Unwrap() error { return ErrTooLong }

// checkFields returns the index of the first field longer than max, or -1.
func checkFields(rec []string, max int64) int {
	for i, f := range rec {
		if int64(len(f)) > max {
			return i
		}
	}
	return -1
}
