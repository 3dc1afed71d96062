package data

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, wrapped by the errors this package returns.
var (
	ErrSchema       = errors.New("schema mismatch")
	ErrCorrupt      = errors.New("not a readable Parquet file")
	ErrUnsorted     = errors.New("not sorted by customer_id")
	ErrNull         = errors.New("null in a required column")
	ErrUnknownTable = errors.New("unknown table")
	ErrNoCustomers  = errors.New("no customers table")
	ErrEmpty        = errors.New("empty input")
	ErrDuplicateKey = errors.New("duplicate customer_id")
	// ErrInvalidUTF8 marks a string that is not valid UTF-8. Every string
	// churn writes is UTF-8, so invalid input is refused where it enters.
	ErrInvalidUTF8 = errors.New("not valid UTF-8")
	// ErrInvalidKey marks a customer_id that is empty or holds a NUL byte.
	ErrInvalidKey = errors.New("invalid customer_id")
	// ErrUnsupported marks valid Parquet that uses a feature churn cannot
	// read, such as the deprecated Hadoop-framed LZ4 codec.
	ErrUnsupported = errors.New("unsupported Parquet feature")
)

// InputError locates a problem in an input file. Row is 1-based (the first
// data row is 1; for CSV files the header is row 1 and data starts at 2 when
// HeaderRows is set by the caller); 0 means the problem is not tied to a row.
type InputError struct {
	File   string
	Row    int64
	Column string
	Value  string // the offending value, when there is one
	Err    error
}

func (e *InputError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Row > 0 {
		fmt.Fprintf(&b, ":%d", e.Row)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": value %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *InputError) Unwrap() error { return e.Err }
