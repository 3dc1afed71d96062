package review

import (
	"flag"
	"testing"

	"github.com/churnlab/churn/internal/doctest"
)

var update = flag.Bool("update", false, "rewrite the generated sections of docs/review.md")

// TestSchemaDoc checks that docs/review.md embeds the Parquet tables'
// columns as the code defines them.
func TestSchemaDoc(t *testing.T) {
	doctest.Check(t, "../../docs/review.md", "churn review tables (go test ./eval/review -run TestSchemaDoc -update)", SchemaMarkdown(), *update)
}
