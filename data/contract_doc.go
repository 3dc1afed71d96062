package data

import (
	"fmt"
	"strings"
)

// ContractMarkdown renders the contract as Markdown tables, one per table.
// docs/data-contract.md embeds it (checked by a test), so the document
// cannot drift from the code.
func ContractMarkdown() string {
	var b strings.Builder
	for _, t := range Contract {
		req := "optional"
		if t.Required {
			req = "required"
		}
		fmt.Fprintf(&b, "### %s (%s)\n\n%s.", t.Name, req, capitalize(t.Doc))
		if t.Time != "" {
			fmt.Fprintf(&b, " Sorted by customer_id, then %s.", t.Time)
		} else {
			b.WriteString(" Sorted by customer_id.")
		}
		if t.Extra {
			b.WriteString(" Extra columns are kept as customer attributes (numbers, booleans and strings).")
		}
		b.WriteString("\n\n| column | type | required | meaning |\n|---|---|---|---|\n")
		for _, c := range t.Columns {
			r := ""
			if c.Required {
				r = "yes"
			}
			doc := c.Doc
			if len(c.Values) > 0 {
				kind := "one of"
				if c.Open {
					kind = "known values"
				}
				doc += fmt.Sprintf(" (%s: %s)", kind, strings.Join(c.Values, ", "))
			}
			if c.Max > c.Min {
				doc += fmt.Sprintf(" (range %g–%g)", c.Min, c.Max)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, c.Type, r, doc)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
