package features

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/churnlab/churn/data"
)

// The strata of a stratified customer sample (PlanSample), from the labels
// of all of a customer's rows (CustomerStratum).
const (
	StratumChurned    = "churned"    // some labelled row of the customer is 1
	StratumRetained   = "retained"   // labelled rows, all 0
	StratumUnlabelled = "unlabelled" // no labelled row (left out of the sample)
)

// SampleWeightColumn is the column of a sample table (BuildSample) that
// holds each row's weight: float64, required, the table's last column.
const SampleWeightColumn = "sample_weight"

// SampleMetadataKey is the footer key of a sample table that holds the
// JSON of its SamplePlan.
const SampleMetadataKey = "churn.sample"

// sampleStrata are the strata a plan describes, in plan order.
var sampleStrata = []string{StratumChurned, StratumRetained, StratumUnlabelled}

// CustomerStratum returns the stratum of a customer from the labels of all
// its rows (1, 0, or NaN for unknown): churned when any label is 1,
// retained when some are 0 and none 1, unlabelled when none is known
// (including no rows at all). labels is not modified.
func CustomerStratum(labels []float64) string {
	s := StratumUnlabelled
	for _, y := range labels {
		switch y {
		case 1:
			return StratumChurned
		case 0:
			s = StratumRetained
		}
	}
	return s
}

// SampleHash is the seeded hash of a customer id in [0, 1) that orders
// customers within a stratum: a customer is kept when its hash is below
// its stratum's threshold. It is the hash Sample uses, a pure function of
// id and seed, the same on every machine.
func SampleHash(id string, seed uint64) float64 { return sampleHash(id, seed) }

// StratumCount is what PlanSample needs of one stratum: its customer count
// and its up to size smallest hashes (any order; the planner sorts a copy).
// A stratum with more than size customers must give size hashes (at
// least min(Customers, size)).
type StratumCount struct {
	Name      string
	Customers int64
	Smallest  []float64
}

// SamplePlan says which customers a stratified sample keeps: in each
// stratum, those whose SampleHash with Seed is below the stratum's
// Threshold, each row weighing the stratum's Weight. It is stored as JSON
// in a sample table's footer (SampleMetadataKey). A plan is immutable once
// made, and safe for concurrent use.
type SamplePlan struct {
	Seed   uint64              `json:"seed"`
	Size   int                 `json:"size"`
	Strata []SampleStratumPlan `json:"strata"`
}

// SampleStratumPlan is the plan of one stratum: Customers in the
// population, Kept of them in the sample (those whose hash is below
// Threshold, in [0, 1]; 1 keeps all), each weighing Weight = Customers /
// Kept (Horvitz–Thompson: a stratum's weights sum to its customers; 0
// when nothing is kept).
type SampleStratumPlan struct {
	Name      string  `json:"name"`
	Customers int64   `json:"customers"`
	Kept      int64   `json:"kept"`
	Threshold float64 `json:"threshold"`
	Weight    float64 `json:"weight"`
}

// String describes the stratum in one line.
func (s SampleStratumPlan) String() string {
	switch {
	case s.Kept == 0:
		return fmt.Sprintf("%s: none of %d customers", s.Name, s.Customers)
	case s.Kept == s.Customers:
		return fmt.Sprintf("%s: all %d customers (weight 1)", s.Name, s.Customers)
	}
	return fmt.Sprintf("%s: %d of %d customers (weight %.6g)", s.Name, s.Kept, s.Customers, s.Weight)
}

// ErrSampleSize is the error of PlanSample for a size that cannot hold
// both labelled strata.
var ErrSampleSize = errors.New("sample size must be at least 2 customers (room for churned and retained ones)")

// PlanSample chooses, for a sample of at most size customers, the
// customers kept in each stratum: churned customers are all kept while
// they fit in half of size (else the size/2 with the smallest hashes),
// retained customers fill the rest (those with the smallest hashes), and
// unlabelled customers are left out. Within a stratum a customer is kept
// iff its hash is below Threshold; its rows weigh Customers/Kept.
//
// counts may omit strata (they count as empty) but may not repeat one or
// name an unknown one. The plan lists the three strata in the order
// churned, retained, unlabelled. counts is not modified. Customers whose
// hashes tie at a threshold are kept or left together; with 53-bit hashes
// that is unlikely below billions of customers.
func PlanSample(seed uint64, size int, counts []StratumCount) (*SamplePlan, error) {
	if size < 2 {
		return nil, fmt.Errorf("%w (got %d)", ErrSampleSize, size)
	}
	byName := map[string]*StratumCount{}
	for i := range counts {
		c := &counts[i]
		if !slices.Contains(sampleStrata, c.Name) {
			return nil, fmt.Errorf("sample: unknown stratum %q (want %s, %s or %s)", c.Name, StratumChurned, StratumRetained, StratumUnlabelled)
		}
		if byName[c.Name] != nil {
			return nil, fmt.Errorf("sample: stratum %s counted twice", c.Name)
		}
		if c.Customers < 0 {
			return nil, fmt.Errorf("sample: stratum %s: %d customers", c.Name, c.Customers)
		}
		byName[c.Name] = c
	}
	p := &SamplePlan{Seed: seed, Size: size}
	room := int64(size)
	for _, name := range sampleStrata {
		var c StratumCount
		if bc := byName[name]; bc != nil {
			c = *bc
		}
		s := SampleStratumPlan{Name: name, Customers: c.Customers}
		switch name {
		case StratumChurned:
			s.Threshold, s.Kept = threshold(c.Smallest, c.Customers, int64(size/2))
		case StratumRetained:
			s.Threshold, s.Kept = threshold(c.Smallest, c.Customers, room)
		}
		if s.Kept < 0 {
			return nil, fmt.Errorf("sample: stratum %s: %d customers but %d hashes: give the %d smallest", name, c.Customers, len(c.Smallest), min(c.Customers, int64(size)))
		}
		if s.Kept > 0 {
			s.Weight = float64(s.Customers) / float64(s.Kept)
		}
		room -= s.Kept
		p.Strata = append(p.Strata, s)
	}
	return p, nil
}

// threshold returns the threshold that keeps at most k of n customers
// whose smallest hashes are given, and how many it keeps: 1 (all) when n
// fits, else just above the k-th smallest hash. It returns kept -1 when
// too few hashes are given, or one is not in [0, 1).
func threshold(smallest []float64, n, k int64) (float64, int64) {
	if k <= 0 {
		return 0, 0
	}
	if n <= k {
		return 1, n
	}
	if int64(len(smallest)) < k || slices.ContainsFunc(smallest, func(h float64) bool { return !(h >= 0 && h < 1) }) {
		return 0, -1
	}
	hs := slices.Clone(smallest)
	slices.Sort(hs)
	// Keep hash ≤ the k-th smallest: the threshold is the next float up
	// (hashes are multiples of 2⁻⁵³, so no hash lies between).
	t := math.Nextafter(hs[k-1], 2)
	kept := int64(0)
	for _, h := range hs {
		if h < t {
			kept++
		}
	}
	return t, kept
}

// Stratum returns the plan of the named stratum, false when the plan has
// none.
func (p *SamplePlan) Stratum(name string) (SampleStratumPlan, bool) {
	for _, s := range p.Strata {
		if s.Name == name {
			return s, true
		}
	}
	return SampleStratumPlan{}, false
}

// Keep reports whether the customer (id, stratum) is in the sample and the
// weight of its rows.
func (p *SamplePlan) Keep(id, stratum string) (weight float64, ok bool) {
	s, found := p.Stratum(stratum)
	if !found || s.Kept == 0 || SampleHash(id, p.Seed) >= s.Threshold {
		return 0, false
	}
	return s.Weight, true
}

// Encode returns the plan's JSON, as stored under SampleMetadataKey.
func (p *SamplePlan) Encode() (string, error) {
	b, err := json.Marshal(p)
	return string(b), err
}

// DecodeSamplePlan parses a plan stored under SampleMetadataKey.
func DecodeSamplePlan(s string) (*SamplePlan, error) {
	var p SamplePlan
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("sample plan: %w", err)
	}
	return &p, nil
}

// SampleColumns returns the columns of a sample table: spec.Columns()
// followed by the required float64 SampleWeightColumn.
func SampleColumns(spec *Spec) []data.ColumnSpec {
	return append(spec.Columns(), data.ColumnSpec{Name: SampleWeightColumn, Type: data.TypeFloat64})
}

// hashedID is a customer in a bounded set of smallest hashes.
type hashedID struct {
	h  float64
	id string
}

func compareHashed(a, b hashedID) int {
	if c := cmp.Compare(a.h, b.h); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// smallest keeps the k customers with the smallest hashes seen (ties by
// id), in amortised O(log k) per customer and at most 2k entries.
type smallest struct {
	k     int
	xs    []hashedID
	bound float64 // the k-th smallest hash once k are kept; else 0
}

// admits reports whether a customer of hash h may be among the k
// smallest (it is worth adding).
func (s *smallest) admits(h float64) bool { return s.bound == 0 || h <= s.bound }

func (s *smallest) add(x hashedID) {
	s.xs = append(s.xs, x)
	if len(s.xs) >= 2*s.k+16 {
		s.trim()
	}
}

// merge adds the customers of o.
func (s *smallest) merge(o *smallest) {
	for _, x := range o.xs {
		s.add(x)
	}
}

// trim keeps the k smallest, sorted.
func (s *smallest) trim() {
	slices.SortFunc(s.xs, compareHashed)
	if len(s.xs) > s.k {
		clear(s.xs[s.k:])
		s.xs = s.xs[:s.k]
	}
	if len(s.xs) == s.k && s.k > 0 {
		s.bound = s.xs[s.k-1].h
	}
}
