package features

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite generated docs")

// TestCatalogDoc checks that docs/features.md embeds the feature catalogue
// as the code defines it (default windows).
func TestCatalogDoc(t *testing.T) {
	const begin = "<!-- BEGIN GENERATED: feature catalogue (go test ./features -run TestCatalogDoc -update) -->\n"
	const end = "<!-- END GENERATED -->"
	path := "../docs/features.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-section markers", path)
	}
	want := CatalogMarkdown(Config{})
	if doc[i+len(begin):j] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with features/defs.go; run go test ./features -run TestCatalogDoc -update and review the diff", path)
}
