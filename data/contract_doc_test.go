package data

import (
	"os"
	"strings"
	"testing"
)

const (
	beginMarker = "<!-- BEGIN GENERATED: churn data contract (go test ./data -run TestContractDoc -update) -->\n"
	endMarker   = "<!-- END GENERATED -->"
)

// TestContractDoc checks that docs/data-contract.md embeds the contract as
// the code defines it.
func TestContractDoc(t *testing.T) {
	path := "../docs/data-contract.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-section markers", path)
	}
	want := ContractMarkdown()
	got := doc[i+len(beginMarker) : j]
	if got == want {
		return
	}
	if updating() {
		if err := os.WriteFile(path, []byte(doc[:i+len(beginMarker)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with data/contract.go; run go test ./data -run TestContractDoc -update and review the diff", path)
}
