package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// nowFlag is the --now flag of the commands whose outputs carry a time
// (scored_at, run ids, report footers): a fixed RFC 3339 time makes their
// files byte-identical between runs. It sets *dst to a clock stopped at
// that time; unset, *dst stays nil (the wall clock).
type nowFlag struct {
	dst *func() time.Time
	s   string
}

func addNowFlag(f *pflag.FlagSet, dst *func() time.Time) {
	f.Var(&nowFlag{dst: dst}, "now", "fix the clock (RFC 3339, e.g. 2024-12-01T02:00:00Z) for byte-identical outputs")
}

func (n *nowFlag) String() string { return n.s }
func (n *nowFlag) Type() string   { return "time" }

func (n *nowFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time like 2024-12-01T02:00:00Z", s)
	}
	t = t.UTC()
	n.s, *n.dst = s, func() time.Time { return t }
	return nil
}

// clockOr returns now, or time.Now when it is nil.
func clockOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
