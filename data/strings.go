package data

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Every string churn writes is valid UTF-8: Parquet's STRING type promises
// it, and other engines (DuckDB, Arrow) refuse to read strings that are not.
// Strings are checked where they enter churn — the Parquet reader here,
// churn import for outside files — and once more by the Writer.

var (
	errEmptyKey = fmt.Errorf("%w: empty; every row needs a customer id", ErrInvalidKey)
	errNULKey   = fmt.Errorf("%w: holds a NUL byte; ids are text", ErrInvalidKey)
	errNotUTF8  = fmt.Errorf("%w: churn reads and writes text as UTF-8 only; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8, or the exporting tool's encoding option)", ErrInvalidUTF8)
)

// CheckString returns nil when s may be stored in a string column: it is
// valid UTF-8 and, for a customer_id (key), not empty and free of NUL
// bytes. The error wraps ErrInvalidUTF8 or ErrInvalidKey.
func CheckString(s string, key bool) error {
	// Most strings (ids, codes) are ASCII without NUL bytes: one pass,
	// eight bytes at a time, decides.
	if len(s) > 0 && asciiNoNUL(s) {
		return nil
	}
	if key {
		switch {
		case s == "":
			return errEmptyKey
		case strings.IndexByte(s, 0) >= 0:
			return errNULKey
		}
	}
	if !utf8.ValidString(s) {
		return errNotUTF8
	}
	return nil
}

// asciiNoNUL reports whether every byte of s is ASCII and not NUL.
func asciiNoNUL(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// A byte ≥ 0x80, or a zero byte (w − 1 per byte borrows into the
		// high bit of a zero byte only).
		if w&hi != 0 || (w-lo)&^w&hi != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stringCheck says which strings the reader refuses.
type stringCheck uint8

const (
	checkNone stringCheck = iota // anything (Validate checks strings itself)
	checkUTF8                    // invalid UTF-8
	checkKey                     // invalid UTF-8, empty, NUL bytes
)

func (c stringCheck) apply(s string) error {
	if c == checkNone {
		return nil
	}
	return CheckString(s, c == checkKey)
}

// badString is a value decodeStrings refuses, at index at of the row group.
type badString struct {
	at    int
	value string
	err   error
}

func (e *badString) Error() string { return e.err.Error() }

// noteBadStrings records, in v.bad, the dictionary entries from index from
// on that check refuses.
func (v *Vec) noteBadStrings(from int, check stringCheck) {
	if check == checkNone {
		return
	}
	for i := from; i < len(v.Dict); i++ {
		if err := check.apply(v.Dict[i]); err != nil {
			if v.bad == nil {
				v.bad = map[int32]error{}
			}
			v.bad[int32(i)] = err
		}
	}
}

// firstBadCode returns err if it is not nil, else a *badString for the
// first of codes (row pos onwards) that refers to a refused entry.
func (v *Vec) firstBadCode(codes []int32, pos int, err error) error {
	if err != nil {
		return err
	}
	for i, c := range codes {
		if e, bad := v.bad[c]; bad && c >= 0 {
			return &badString{at: pos + i, value: v.Dict[c], err: e}
		}
	}
	return nil
}

// displayName makes a column name that is not valid UTF-8 printable.
func displayName(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return fmt.Sprintf("%q", s)
}
