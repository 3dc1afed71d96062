package synth

import (
	"time"

	"github.com/churnlab/churn/data"
)

// civil returns the calendar day of d (Howard Hinnant's civil_from_days).
func civil(d data.Date) (y, m, day int) {
	z := int64(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, day
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// addMonths moves d by k calendar months, clamping the day to the end of
// the month (Jan 31 + 1 month = Feb 28 or 29). Anniversaries are always
// computed from their anchor, never chained.
func addMonths(d data.Date, k int) data.Date {
	y, m, day := civil(d)
	mm := y*12 + (m - 1) + k
	y, m = mm/12, mm%12+1
	if mm < 0 && mm%12 != 0 {
		y, m = mm/12-1, mm%12+13
	}
	day = min(day, daysIn(y, m))
	return data.MakeDate(y, time.Month(m), day)
}

// weekday returns 0 for Monday … 6 for Sunday (1970-01-01 was a Thursday).
func weekday(d data.Date) int {
	w := (int64(d) + 3) % 7
	if w < 0 {
		w += 7
	}
	return int(w)
}

// mondayOnOrAfter returns the first Monday at or after d.
func mondayOnOrAfter(d data.Date) data.Date {
	if w := weekday(d); w != 0 {
		return d + data.Date(7-w)
	}
	return d
}
