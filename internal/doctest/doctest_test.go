package doctest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckAndBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "# Doc\n\n<!-- BEGIN GENERATED: table (regen) -->\nold\n<!-- END GENERATED -->\n\n## Example\n\n```sql\nSELECT 1;\n```\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	Check(t, path, "table (regen)", "old\n", false)
	Check(t, path, "table (regen)", "new\n", true) // rewrites
	Check(t, path, "table (regen)", "new\n", false)
	if got := Block(t, path, "## Example", "sql"); got != "SELECT 1;\n" {
		t.Errorf("Block = %q", got)
	}
}
