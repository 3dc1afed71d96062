package data

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON (documented in
// docs/validate.md).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people: a summary table per table, then
// the problems, errors first, one per line.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "dataset %s: %s in %s", r.Dir, plural64(r.Rows, "row"), plural(r.Files, "file"))
	if r.AsOf != "" {
		fmt.Fprintf(bw, ", as of %s", r.AsOf)
	}
	fmt.Fprintln(bw)
	var absent []string
	for _, t := range r.Tables {
		if !t.Present {
			if t.Required {
				fmt.Fprintf(bw, "\n%s  missing: a dataset needs %s.parquet or a %s/ folder  [error]\n", t.Name, t.Name, t.Name)
			} else {
				absent = append(absent, t.Name)
			}
			continue
		}
		fmt.Fprintln(bw)
		writeTableSummary(bw, &t)
	}
	if len(absent) > 0 {
		fmt.Fprintf(bw, "\nnot present (optional): %s\n", strings.Join(absent, ", "))
	}
	fmt.Fprintln(bw)
	for _, p := range r.Problems {
		fmt.Fprintf(bw, "%-7s %s\n", p.Severity, p.String())
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(bw)
	}
	switch {
	case r.Errors > 0:
		fmt.Fprintf(bw, "FAIL: %s, %s, %s\n", plural(r.Errors, "error"), plural(r.Warnings, "warning"), plural(r.Infos, "note"))
	case r.Warnings > 0:
		fmt.Fprintf(bw, "OK with %s, %s\n", plural(r.Warnings, "warning"), plural(r.Infos, "note"))
	default:
		fmt.Fprintf(bw, "OK: no errors or warnings, %s\n", plural(r.Infos, "note"))
	}
	return bw.Flush()
}

func writeTableSummary(w io.Writer, t *TableReport) {
	orphans := ""
	switch {
	case t.Name == Customers:
	case t.Orphans > 0:
		orphans = fmt.Sprintf(", %s without a customer", plural64(t.Orphans, "row"))
	}
	fmt.Fprintf(w, "%s  %s  %s in %s%s  [%s]\n", t.Name, t.Path, plural64(t.Rows, "row"), plural(t.Files, "file"), orphans, t.Status)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  column\ttype\tnulls\tmin\tmax\tstatus")
	for _, c := range t.Columns {
		nulls := "-"
		if c.Present && c.Kind != "ignored" {
			nulls = formatPct(c.Nulls, c.NullPct)
		}
		name := c.Name
		if c.Required {
			name += " *"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", name, c.Type, nulls, c.Min, c.Max, c.Status)
	}
	tw.Flush()
}

func formatPct(n int64, pct float64) string {
	switch {
	case n == 0:
		return "0%"
	case pct < 0.1:
		return "<0.1%"
	}
	return strconv.FormatFloat(pct, 'f', 1, 64) + "%"
}

// String formats p as one line: where, what, and how often.
func (p *Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Row > 0 {
		fmt.Fprintf(&b, ":%d", p.Row)
	}
	if p.Column != "" {
		fmt.Fprintf(&b, ": column %s", p.Column)
	}
	switch {
	case p.Value != "":
		fmt.Fprintf(&b, ": value %q", p.Value)
	case p.Customer != "":
		fmt.Fprintf(&b, ": customer %q", p.Customer)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	switch {
	case p.Row > 0 && (p.Count > 1 || p.Files > 1):
		fmt.Fprintf(&b, " (%s", plural64(p.Count, "row"))
		if p.Files > 1 {
			fmt.Fprintf(&b, " in %s", plural(p.Files, "file"))
		}
		if len(p.Examples) > 1 {
			b.WriteString("; also ")
			b.WriteString(alsoAt(p))
		}
		b.WriteString(")")
	case p.Row == 0 && p.Files > 1:
		fmt.Fprintf(&b, " (%s", plural(p.Files, "file"))
		if len(p.Examples) > 1 {
			b.WriteString("; also ")
			b.WriteString(alsoAt(p))
		}
		b.WriteString(")")
	}
	return b.String()
}

// alsoAt lists the examples after the first: rows of the same file as
// "row 5", others as "file:5"; values are shown when they differ.
func alsoAt(p *Problem) string {
	var parts []string
	for _, e := range p.Examples[1:] {
		var s string
		switch {
		case e.File == p.File && e.Row > 0:
			s = "row " + strconv.FormatInt(e.Row, 10)
		case e.Row > 0:
			s = e.File + ":" + strconv.FormatInt(e.Row, 10)
		default:
			s = e.File
		}
		switch {
		case e.Value != "" && e.Value != p.Value:
			s += " " + strconv.Quote(e.Value)
		case e.Value == "" && e.Customer != "" && e.Customer != p.Customer:
			s += " " + strconv.Quote(e.Customer)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func plural64(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return groupDigits(n) + " " + word + "s"
}

// groupDigits formats n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
