package imports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Summary reports what an import did. Counts are rows unless said otherwise.
type Summary struct {
	Mapping string         `json:"mapping"`
	Out     string         `json:"out"`
	DryRun  bool           `json:"dry_run,omitempty"`
	Tables  []TableSummary `json:"tables"`
	Label   *LabelSummary  `json:"label,omitempty"`
	// Warnings are problems that did not stop the import, such as an
	// event table whose source has no data rows.
	Warnings []string `json:"warnings,omitempty"`
}

// TableSummary reports one output table.
type TableSummary struct {
	Table string `json:"table"`
	// Source is the file read, or "derived from TABLE".
	Source string `json:"source"`
	// SourceRows is the number of data rows read from the source.
	SourceRows int64 `json:"source_rows"`
	// Rows is the number of rows written.
	Rows int64 `json:"rows"`
	// Skipped counts rows dropped by on_error: skip.
	Skipped int64 `json:"skipped_rows"`
	// Merged counts rows folded into others by aggregate.
	Merged int64 `json:"merged_rows"`
	// Orphans counts rows whose customer_id is not in customers; they are
	// kept, and the reader skips them.
	Orphans int64 `json:"orphan_rows"`
	// Churned counts customers with churned = true (customers only).
	Churned *int64 `json:"churned,omitempty"`
	// Nulls counts, per output column, values that were blank, a null
	// token, or mapped to null.
	Nulls map[string]int64 `json:"nulls,omitempty"`
	// Coerced counts, per output column, unreadable values set to null by
	// on_error: null.
	Coerced map[string]int64 `json:"coerced_to_null,omitempty"`
	// Replaced counts, per output column, strings that were not valid
	// UTF-8 and had their bad bytes replaced by U+FFFD (invalid_utf8:
	// replace).
	Replaced map[string]int64 `json:"invalid_utf8_replaced,omitempty"`
	// Columns describes the output columns.
	Columns []ColumnSummary `json:"columns"`
	// Unused lists source columns the table does not import.
	Unused []string `json:"unused_source_columns,omitempty"`
}

// ColumnSummary describes one output column.
type ColumnSummary struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Source string `json:"source,omitempty"` // source column, if any
	How    string `json:"how"`              // mapped, auto (same name), const, row_number, attribute, inferred attribute, derived ...
	// Attribute marks customer attributes (columns outside the contract).
	Attribute bool `json:"attribute,omitempty"`
}

// LabelSummary reports the churn label derived from churn_events.
type LabelSummary struct {
	Rule      string `json:"rule"`
	Pick      string `json:"pick"`
	Prefer    string `json:"prefer"`
	Customers int64  `json:"customers"`
	// Churned counts customers with churned = true after the rule.
	Churned int64 `json:"churned"`
	// WithChurnDate counts customers given a churn_date.
	WithChurnDate int64 `json:"with_churn_date"`
	// ChurnedWithoutEvents counts customers whose churned flag is true but
	// who have no churn event.
	ChurnedWithoutEvents int64 `json:"churned_without_events"`
	// EventsWithoutChurned counts customers with churn events whose churned
	// flag is false or blank.
	EventsWithoutChurned int64 `json:"events_without_churned"`
}

// Disagreements returns the number of customers whose flag and events disagree.
func (l *LabelSummary) Disagreements() int64 {
	return l.ChurnedWithoutEvents + l.EventsWithoutChurned
}

// Table returns the summary of the named table, or nil.
func (s *Summary) Table(name string) *TableSummary {
	for i := range s.Tables {
		if s.Tables[i].Table == name {
			return &s.Tables[i]
		}
	}
	return nil
}

func (td *tableData) columnSummaries() []ColumnSummary {
	byName := map[string]*colPlan{}
	for _, p := range td.plans {
		byName[p.name] = p
	}
	specs, _ := td.specs()
	out := make([]ColumnSummary, 0, len(specs))
	for _, s := range specs {
		cs := ColumnSummary{Name: s.Name, Type: s.Type.String()}
		if p := byName[s.Name]; p != nil {
			cs.How, cs.Attribute = p.how, p.attr
			if p.src >= 0 && td.sd != nil {
				cs.Source = td.sd.cols[p.src]
			}
			if p.lookup != nil {
				cs.How += fmt.Sprintf(" via lookup %s → %s", p.lookup.spec.Key, p.lookup.spec.Value)
			}
		}
		out = append(out, cs)
	}
	return out
}

// WriteText writes the summary for people: one line per table, then nulls,
// coerced values, the label and the attributes.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	verb := "imported"
	if s.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	if s.DryRun {
		fmt.Fprintf(&b, "%s %s\n", verb, s.Mapping)
	} else {
		fmt.Fprintf(&b, "%s %s into %s\n", verb, s.Mapping, s.Out)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\tsource rows\tskipped\tmerged\torphans\t")
	for _, t := range s.Tables {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", t.Table, t.Rows, t.SourceRows, t.Skipped, t.Merged, t.Orphans)
	}
	tw.Flush()
	for _, t := range s.Tables {
		if strings.HasPrefix(t.Source, "derived") {
			fmt.Fprintf(&b, "%s: %s\n", t.Table, t.Source)
		} else {
			fmt.Fprintf(&b, "%s: from %s\n", t.Table, t.Source)
		}
	}
	for _, t := range s.Tables {
		if t.Churned != nil {
			fmt.Fprintf(&b, "churned: %d of %d customers\n", *t.Churned, t.Rows)
		}
	}
	writeCounts(&b, "nulls (blank, null token or mapped to null)", s.Tables, func(t *TableSummary) map[string]int64 { return t.Nulls })
	writeCounts(&b, "coerced to null (on_error: null)", s.Tables, func(t *TableSummary) map[string]int64 { return t.Coerced })
	if s.anyReplaced() {
		writeCounts(&b, "not UTF-8, bad bytes replaced by U+FFFD (invalid_utf8: replace)", s.Tables, func(t *TableSummary) map[string]int64 { return t.Replaced })
	}
	if l := s.Label; l != nil {
		fmt.Fprintf(&b, "label: %s\n", l.Rule)
		fmt.Fprintf(&b, "  %d of %d customers churned, %d with a churn_date\n", l.Churned, l.Customers, l.WithChurnDate)
		fmt.Fprintf(&b, "  disagreements: %d (%d churned without a churn event, %d with churn events but not churned)\n",
			l.Disagreements(), l.ChurnedWithoutEvents, l.EventsWithoutChurned)
	}
	for _, t := range s.Tables {
		var attrs []string
		for _, c := range t.Columns {
			if c.Attribute {
				attrs = append(attrs, c.Name+" "+c.Type)
			}
		}
		if len(attrs) > 0 {
			fmt.Fprintf(&b, "attributes (%s): %s\n", t.Table, strings.Join(attrs, ", "))
		}
	}
	for _, warning := range s.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", warning)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeCounts(b *strings.Builder, title string, tables []TableSummary, get func(*TableSummary) map[string]int64) {
	var parts []string
	for i := range tables {
		m := get(&tables[i])
		for _, k := range sortedKeys(m) {
			parts = append(parts, fmt.Sprintf("%s.%s %d", tables[i].Table, k, m[k]))
		}
	}
	if len(parts) == 0 {
		fmt.Fprintf(b, "%s: none\n", title)
		return
	}
	fmt.Fprintf(b, "%s: %s\n", title, strings.Join(parts, ", "))
}

func (s *Summary) anyReplaced() bool {
	for _, t := range s.Tables {
		if len(t.Replaced) > 0 {
			return true
		}
	}
	return false
}
