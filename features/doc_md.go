package features

import (
	"fmt"
	"strings"
)

// CatalogMarkdown renders the fixed features (for cfg's windows) as a
// Markdown table per group. docs/features.md embeds it, checked by a test.
func CatalogMarkdown(cfg Config) string {
	cfg.EnsureDefaults()
	var b strings.Builder
	ds := defs(&cfg)
	for _, g := range groupOrder {
		if g == "attributes" {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n| feature | unit | kind | risk | needs | meaning | missing when |\n|---|---|---|---|---|---|---|\n", g)
		for _, d := range ds {
			if d.Group != g {
				continue
			}
			risk := map[int]string{1: "higher = riskier", -1: "lower = riskier", 0: "—"}[d.Risk]
			var needs []string
			for _, alt := range d.Needs {
				needs = append(needs, strings.Join(alt, " + "))
			}
			missing := d.Missing
			if missing == "never" {
				missing = "never (0 when nothing happened)"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", d.Name, d.Unit, d.Kind, risk, strings.Join(needs, " or "), d.Description, missing)
		}
		b.WriteString("\n")
	}
	return b.String()
}
