package features

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strings"

	"github.com/churnlab/churn/data"
)

// Holdout assigns customers to a held-out part by a seeded hash of their
// id, so that every as-of row of a customer lands on the same side and the
// same seed gives the same split on any table of the same customers.
type Holdout struct {
	Share float64 // share of customers held out, in (0, 1)
	Seed  uint64
}

// HeldOut reports whether the customer is in the held-out part.
func (h Holdout) HeldOut(customerID string) bool {
	f := fnv.New64a()
	f.Write([]byte(customerID))
	x := f.Sum64() ^ (h.Seed * 0x9e3779b97f4a7c15)
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	x *= 0x94d049bb133111eb
	x ^= x >> 32
	return float64(x>>11)/(1<<53) < h.Share
}

// Validate reports a share outside (0, 1).
func (h Holdout) Validate() error {
	if !(h.Share > 0 && h.Share < 1) {
		return fmt.Errorf("holdout share %v: want a share between 0 and 1, e.g. 0.2", h.Share)
	}
	return nil
}

// ErrNoCustomers marks a customer list without ids.
var ErrNoCustomers = errors.New("no customer id")

// ReadCustomerList reads a file of customer ids, one a line. A first line
// "customer_id" (a one-column CSV header), blank lines and lines starting
// with # are skipped; spaces around an id are trimmed. An id holding a
// comma, tab or quote is an error naming the line (a CSV with several
// columns is not a list).
func ReadCustomerList(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if line == 1 {
			s = strings.TrimPrefix(s, "\ufeff")
		}
		switch {
		case s == "" || strings.HasPrefix(s, "#"):
			continue
		case line == 1 && strings.EqualFold(s, ColCustomerID):
			continue
		case strings.ContainsAny(s, ",\t\"\x00"):
			return nil, &data.InputError{File: path, Row: int64(line), Column: ColCustomerID, Value: s, Err: errors.New("want one customer id a line")}
		}
		ids[s] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", path, line+1, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: %w", path, ErrNoCustomers)
	}
	return ids, nil
}

// Rows returns the rows of t (by index, in the order given) as a new table
// sharing t's spec.
func (t *Table) Rows(rows []int) *Table {
	s := &Table{Spec: t.Spec, IDs: make([]string, len(rows)), AsOf: make([]data.Date, len(rows)), Label: make([]float64, len(rows)),
		Num: make([][]float64, len(t.Num)), Cat: make([][]string, len(t.Cat))}
	for k, i := range rows {
		s.IDs[k], s.AsOf[k], s.Label[k] = t.IDs[i], t.AsOf[i], t.Label[i]
	}
	if t.Weight != nil {
		s.Weight = make([]float64, len(rows))
		for k, i := range rows {
			s.Weight[k] = t.Weight[i]
		}
	}
	for f := range t.Num {
		if t.Num[f] != nil {
			s.Num[f] = make([]float64, len(rows))
			for k, i := range rows {
				s.Num[f][k] = t.Num[f][i]
			}
		}
	}
	for f := range t.Cat {
		if t.Cat[f] != nil {
			s.Cat[f] = make([]string, len(rows))
			for k, i := range rows {
				s.Cat[f][k] = t.Cat[f][i]
			}
		}
	}
	return s
}
