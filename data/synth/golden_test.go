package synth_test

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// TestOutputUnchanged pins the bytes of a dataset generated without the
// retention loop: the SHA-256 of each file is in testdata/hashes.golden
// (rewrite with go test ./data/synth -run TestOutputUnchanged -update, and
// only when a change of the generated data is intended).
func TestOutputUnchanged(t *testing.T) {
	dir := filepath.Join(scratch, "golden")
	p := synth.Params{Customers: 1500, Months: 13, Seed: 9, End: data.MakeDate(2024, 6, 15)}
	generate(t, dir, p, synth.WriteOptions{Compression: "zstd"})
	var b strings.Builder
	for _, table := range synth.Tables {
		fmt.Fprintf(&b, "%x  %s.parquet\n", sha256.Sum256(readFile(t, dir, table)), table)
	}
	if _, err := os.Stat(filepath.Join(dir, synth.TruthFile)); err == nil {
		t.Errorf("%s written without the loop", synth.TruthFile)
	}
	const golden = "testdata/hashes.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("generated files differ from %s:\n%s", golden, b.String())
	}
}
