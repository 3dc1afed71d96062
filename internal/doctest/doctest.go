// Package doctest checks the sections of the docs that are generated from
// code (schema tables, catalogues): a section lies between
//
//	<!-- BEGIN GENERATED: what (how to regenerate) -->
//	<!-- END GENERATED -->
//
// and must equal what the code renders today. It is for tests only.
package doctest

import (
	"os"
	"strings"
	"testing"
)

// EndMarker closes a generated section.
const EndMarker = "<!-- END GENERATED -->"

// Check fails t unless the section of the document at path that begins
// with "<!-- BEGIN GENERATED: what -->" holds want; with update it rewrites
// the section instead (review the diff). what names the section and says
// how to regenerate it, e.g. "churn review tables (go test ./eval/review
// -run TestSchemaDoc -update)".
func Check(t testing.TB, path, what, want string, update bool) {
	t.Helper()
	begin := "<!-- BEGIN GENERATED: " + what + " -->\n"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, begin)
	j := strings.Index(doc[max(i, 0):], EndMarker) + max(i, 0)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-section markers %q … %q", path, begin, EndMarker)
	}
	if doc[i+len(begin):j] == want {
		return
	}
	if update {
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the code: %s", path, what)
}

// Block returns the first fenced code block of language lang (```lang)
// after marker in the document at path, so that tests can run the
// examples the docs show.
func Block(t testing.TB, path, marker, lang string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, marker)
	if i < 0 {
		t.Fatalf("%s has no %q", path, marker)
	}
	doc = doc[i:]
	fence := "```" + lang + "\n"
	j := strings.Index(doc, fence)
	if j < 0 {
		t.Fatalf("%s has no %s block after %q", path, lang, marker)
	}
	k := strings.Index(doc[j+len(fence):], "```")
	if k < 0 {
		t.Fatalf("%s: the %s block after %q does not end", path, lang, marker)
	}
	return doc[j+len(fence) : j+len(fence)+k]
}
