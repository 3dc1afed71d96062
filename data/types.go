package data

import (
	"fmt"
	"math"
	"time"
)

// Type is the logical type of a contract column.
type Type uint8

// The logical types of the contract. Their Parquet representation is given
// in docs/data-contract.md.
const (
	TypeString    Type = iota // BYTE_ARRAY annotated STRING
	TypeInt64                 // INT64
	TypeFloat64               // DOUBLE
	TypeBool                  // BOOLEAN
	TypeDate                  // INT32 annotated DATE
	TypeTimestamp             // INT64 annotated TIMESTAMP(MICROS, UTC)
)

var typeNames = [...]string{"STRING", "INT64", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMP"}

// String returns the type name used in the contract and in error messages.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// ParseType parses a type name as written in mappings and docs
// (case-insensitive: string, int64/int, double/float64/float, bool/boolean,
// date, timestamp).
func ParseType(s string) (Type, error) {
	switch lower(s) {
	case "string", "str", "text":
		return TypeString, nil
	case "int64", "int", "integer", "bigint":
		return TypeInt64, nil
	case "double", "float64", "float", "number":
		return TypeFloat64, nil
	case "bool", "boolean":
		return TypeBool, nil
	case "date":
		return TypeDate, nil
	case "timestamp", "datetime":
		return TypeTimestamp, nil
	}
	return 0, fmt.Errorf("unknown type %q (want string, int64, double, bool, date or timestamp)", s)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Date is a calendar day: the number of days since 1970-01-01 (UTC).
type Date int32

// NoDate marks a missing date.
const NoDate Date = math.MinInt32

// Timestamp is an instant: microseconds since 1970-01-01T00:00:00Z.
type Timestamp int64

// NoTime marks a missing timestamp.
const NoTime Timestamp = math.MinInt64

// NullInt marks a missing integer.
const NullInt int64 = math.MinInt64

const microsPerDay = 86400 * 1_000_000

// DateOf returns the day of t in UTC.
func DateOf(t time.Time) Date {
	t = t.UTC()
	return Date(civilToDays(t.Year(), int(t.Month()), t.Day()))
}

// MakeDate returns the Date of a calendar day.
func MakeDate(year int, month time.Month, day int) Date {
	return Date(civilToDays(year, int(month), day))
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return NoDate, fmt.Errorf("invalid date %q (want YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// Valid reports whether d is not NoDate.
func (d Date) Valid() bool { return d != NoDate }

// Time returns midnight UTC of d.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Start returns the first instant of d.
func (d Date) Start() Timestamp { return Timestamp(int64(d) * microsPerDay) }

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// String formats d as YYYY-MM-DD, or "" for NoDate.
func (d Date) String() string {
	if d == NoDate {
		return ""
	}
	return d.Time().Format(time.DateOnly)
}

// Valid reports whether t is not NoTime.
func (t Timestamp) Valid() bool { return t != NoTime }

// Date returns the UTC day of t.
func (t Timestamp) Date() Date {
	if t == NoTime {
		return NoDate
	}
	d := int64(t) / microsPerDay
	if int64(t) < 0 && int64(t)%microsPerDay != 0 {
		d--
	}
	return Date(d)
}

// Time returns t as a time.Time in UTC.
func (t Timestamp) Time() time.Time { return time.UnixMicro(int64(t)).UTC() }

// TimestampOf converts a time.Time.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UnixMicro()) }

// String formats t as RFC 3339 in UTC, or "" for NoTime.
func (t Timestamp) String() string {
	if t == NoTime {
		return ""
	}
	return t.Time().Format("2006-01-02T15:04:05.999999Z07:00")
}

// NextAnniversary returns the first day on or after T that is a whole
// number of terms of months after start, stepping months as time.AddDate
// does (Jan 31 + 1 month is Mar 2 or 3): the next renewal of a contract
// that started on start, as features' days_to_renewal and the generator's
// lifecycle stages compute it. months must be positive.
func NextAnniversary(start Date, months int, T Date) Date {
	st := start.Time()
	// Jump close to T, then step.
	k := int(T-start) / 31 / months
	for {
		d := DateOf(st.AddDate(0, k*months, 0))
		if d >= T {
			if k > 0 {
				if p := DateOf(st.AddDate(0, (k-1)*months, 0)); p >= T {
					k--
					continue
				}
			}
			return d
		}
		k++
	}
}

// civilToDays converts a proleptic Gregorian date to days since 1970-01-01
// (Howard Hinnant's days_from_civil).
func civilToDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
