package synth

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/churnlab/churn/data"
)

// MaxCustomers is the largest number of customers Generate makes: ids have
// eight digits (C00000001 … C99999999), so string order is numeric order.
const MaxCustomers = 99_999_999

// MaxMonths is the longest period Generate covers.
const MaxMonths = 120

// DefaultEnd is the last day of the period when Params.End is zero:
// 2024-12-31, so 24 months start on 2023-01-01 (as in the DuckDB peer). It
// must not be modified.
var DefaultEnd = data.MakeDate(2024, 12, 31)

// Params decide what is generated: the same Params give the same data.
type Params struct {
	// Customers is the number of customers (1 … MaxCustomers).
	Customers int
	// Months is the length of the observed period in months (1 … MaxMonths).
	Months int
	// Seed seeds every random choice.
	Seed uint64
	// End is the last day of the period, "today": customers' plan, seats,
	// mrr and contract_end hold their values on this day. Zero means
	// DefaultEnd.
	End data.Date
	// Interventions, when set, simulates the retention loop and writes
	// the interventions table and DIR/_generator.json; nil generates
	// neither and leaves every other table as it was before the loop
	// existed. SaaS only.
	Interventions *Interventions
	// Business is the kind of business generated: BusinessSaaS (the
	// default; "" means it) or BusinessEcommerce (order histories without
	// subscriptions, see [Shop]).
	Business string
}

// The kinds of business Generate makes (Params.Business).
const (
	// BusinessSaaS is B2B SaaS: subscriptions, usage, payments, contacts,
	// tickets, surveys, signals and churn events (the tables in Tables).
	BusinessSaaS = "saas"
	// BusinessEcommerce is a shop without subscriptions: customers and
	// orders (ShopTables); churn is latent (see [Shop]).
	BusinessEcommerce = "ecommerce"
)

// Businesses lists the values of Params.Business.
func Businesses() []string { return []string{BusinessSaaS, BusinessEcommerce} }

// EnsureDefaults fills zero fields with defaults (End and Business;
// Customers and Months have no default and are checked by Validate).
func (p *Params) EnsureDefaults() {
	if p.End == 0 {
		p.End = DefaultEnd
	}
	if p.Business == "" {
		p.Business = BusinessSaaS
	}
}

// ecommerce reports whether p generates a shop.
func (p *Params) ecommerce() bool { return p.Business == BusinessEcommerce }

// Validate reports the first invalid field.
func (p *Params) Validate() error {
	switch {
	case p.Customers < 1 || p.Customers > MaxCustomers:
		return fmt.Errorf("customers must be between 1 and %d (got %d)", MaxCustomers, p.Customers)
	case p.Months < 1 || p.Months > MaxMonths:
		return fmt.Errorf("months must be between 1 and %d (got %d)", MaxMonths, p.Months)
	case !p.End.Valid() || p.End < data.MakeDate(1980, 1, 1) || p.End > data.MakeDate(2200, 1, 1):
		return fmt.Errorf("end %s is outside 1980-01-01 … 2200-01-01", p.End)
	case p.Business != "" && p.Business != BusinessSaaS && p.Business != BusinessEcommerce:
		return fmt.Errorf("business %q is not one of %s", p.Business, strings.Join(Businesses(), ", "))
	case p.ecommerce() && p.Interventions != nil:
		return errors.New("interventions simulate SaaS retention plays; business ecommerce has none")
	case p.Interventions != nil:
		return p.Interventions.Validate()
	}
	return nil
}

// Start returns the first day of the period: the day after End minus
// Months months (2023-01-01 for 24 months to 2024-12-31).
func (p *Params) Start() data.Date { return addMonths(p.End+1, -p.Months) }

// CustomerID returns the id of the customer with 0-based index i:
// "C" and i+1 zero-padded to eight digits.
func CustomerID(i int) string {
	var b [9]byte
	b[0] = 'C'
	s := strconv.AppendInt(b[1:1], int64(i+1), 10)
	n := copy(b[9-len(s):], s)
	for j := 1; j < 9-n; j++ {
		b[j] = '0'
	}
	return string(b[:])
}

// WriteOptions decide how the data is written; they do not change the
// rows. Compression changes the bytes; Workers does not.
type WriteOptions struct {
	// Compression is "snappy" (default) or "zstd" (or "none").
	Compression string
	// Workers is the number of goroutines generating customers; 0 means
	// GOMAXPROCS. Parquet encoding runs in one goroutine per table on top.
	Workers int
	// Progress, when set, is called after each batch of customers has been
	// handed to the writers, with the number of customers done so far. It
	// is called from a single goroutine, in order.
	Progress func(done int)
	// ChurnVersion is recorded in the written files ("" records "dev").
	ChurnVersion string
}

func (o *WriteOptions) ensureDefaults() {
	if o.Compression == "" {
		o.Compression = "snappy"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// ErrOutputInUse means the output folder exists and holds files that are
// not generated tables, so Generate refuses to replace it.
var ErrOutputInUse = errors.New("output folder holds other files")
