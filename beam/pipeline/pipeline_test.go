package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/churnlab/churn/cmd"
	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/data/synth"
	"github.com/churnlab/churn/features"
)

// customers is the size of the generated dataset: 20,000 customers with
// every SaaS table (-short: 2,000).
func customers() int {
	if testing.Short() {
		return 2000
	}
	return 20000
}

func TestMain(m *testing.M) {
	flag.Parse()
	beam.Init() // the prism runner's loopback workers run in this process
	os.Exit(m.Run())
}

var (
	datasetOnce sync.Once
	datasetDir  string
	datasetErr  error
)

// dataset generates the shared dataset once: the generator's tables, with
// usage and payments rewritten as Hive-partitioned folders of files of
// small row groups, so that the source splits many row groups of many
// files.
func dataset(t *testing.T) string {
	t.Helper()
	datasetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "churn-beam-test-")
		if err != nil {
			datasetErr = err
			return
		}
		datasetDir = filepath.Join(dir, "data")
		if _, err := synth.Generate(context.Background(), datasetDir, synth.Params{Customers: customers(), Months: 24, Seed: 7}, synth.WriteOptions{}); err != nil {
			datasetErr = err
			return
		}
		for _, table := range []string{data.UsageTable, data.Payments} {
			if err := synth.SplitTable(datasetDir, table, 3, 997, 4000); err != nil {
				datasetErr = err
				return
			}
		}
	})
	if datasetErr != nil {
		t.Fatal(datasetErr)
	}
	return datasetDir
}

// run runs churn (engine nil) or churn-beam with args and returns stdout;
// a code other than want fails the test.
func run(t *testing.T, e *cmd.Engine, want int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	stdio := cmd.IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	var code int
	if e == nil {
		code = cmd.Run(args, stdio)
	} else {
		code = cmd.RunEngine(args, stdio, e)
	}
	if code != want {
		t.Fatalf("%v %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", e != nil, strings.Join(args, " "), code, want, out.String(), lastLines(errOut.String(), 30))
	}
	return out.String() + errOut.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestFeaturesMatchChurn: churn-beam features writes the rows churn
// features writes — same values, schema and footer metadata — as
// Hive-partitioned parts with _SUCCESS, and so do churn's --shard i/n
// runs once merged.
func TestFeaturesMatchChurn(t *testing.T) {
	dir := dataset(t)
	ids := writeCustomerList(t, dir, 3)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"snapshots", []string{"--snapshots", "2024-03-01:2024-12-01:3m"}},
		{"one date, customer lists", []string{"--as-of", "2024-09-01", "--customers", ids[0], "--exclude-customers", ids[1], "--groups", "usage,payments,tickets,nps"}},
		{"dateless snapshot", []string{"--label", "snapshot"}},
		{"sample", []string{"--snapshots", "2024-03-01:2024-12-01:3m", "--sample", fmt.Sprint(customers() / 10), "--sample-seed", "11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			whole := filepath.Join(tmp, "whole.parquet")
			sum := run(t, nil, 0, append([]string{"features", "--data", dir, "--out", whole}, tc.args...)...)
			beamOut := filepath.Join(tmp, "beam")
			bsum := run(t, Engine(), 0, append([]string{"features", "--data", dir, "--out", beamOut, "--parts", "3"}, tc.args...)...)
			if got, want := summaryBody(bsum), summaryBody(sum); got != want {
				t.Errorf("churn-beam's summary differs:\n%s\nchurn's:\n%s", got, want)
			}
			if _, err := os.Stat(filepath.Join(beamOut, SuccessFile)); err != nil {
				t.Errorf("no %s: %v", SuccessFile, err)
			}
			parts, err := features.TableFiles(beamOut)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				rel, _ := filepath.Rel(beamOut, p)
				dated := !slices.Contains(tc.args, "snapshot")
				if dated != strings.HasPrefix(rel, "as_of=") || !strings.HasPrefix(filepath.Base(rel), "part-0000") {
					t.Errorf("part %s is not as_of=DATE/part-NNNNN.parquet", rel)
				}
				compareFooters(t, whole, p)
			}
			compareTables(t, readTable(t, whole), readTable(t, beamOut))
			if slices.Contains(tc.args, "--sample") {
				// churn train takes the sample's folder as its table.
				run(t, nil, 0, "train", "--features", beamOut, "--model", filepath.Join(tmp, "model"), "--rounds", "10", "--search-budget", "0")
				return // churn refuses --sample with --shard: a sample is planned whole
			}
			shards := filepath.Join(tmp, "shards")
			for i := range 3 {
				run(t, nil, 0, append([]string{"features", "--data", dir, "--out", shards, "--shard", fmt.Sprintf("%d/3", i)}, tc.args...)...)
			}
			merged := filepath.Join(tmp, "merged.parquet")
			run(t, nil, 0, "features", "merge", "--out", merged, shards)
			compareTables(t, readTable(t, merged), readTable(t, beamOut))
		})
	}
}

// writeCustomerList writes two lists of every n-th customer (the first
// from 0, the second from 1) and returns their paths.
func writeCustomerList(t *testing.T, dir string, n int) [2]string {
	t.Helper()
	tmp := t.TempDir()
	var lists [2]strings.Builder
	for i := range customers() {
		if i%n < 2 {
			fmt.Fprintf(&lists[i%n], "%s\n", synth.CustomerID(i))
		}
	}
	var paths [2]string
	for k := range paths {
		paths[k] = filepath.Join(tmp, fmt.Sprintf("list%d.txt", k))
		if err := os.WriteFile(paths[k], []byte(lists[k].String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// summaryBody is a feature summary without its first line (the path).
func summaryBody(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "feature table") || strings.Contains(l, "level=") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

func readTable(t *testing.T, path string) *features.Table {
	t.Helper()
	tab, err := features.ReadTable(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// compareTables fails unless a and b hold the same rows (both are sorted
// by customer and date by ReadTable), floats compared bit for bit.
func compareTables(t *testing.T, a, b *features.Table) {
	t.Helper()
	if a.Len() != b.Len() {
		t.Fatalf("rows: %d, want %d", b.Len(), a.Len())
	}
	if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.AsOf, b.AsOf) {
		t.Fatal("customer_id or as_of differ")
	}
	sameFloats := func(what string, x, y []float64) {
		if len(x) != len(y) {
			t.Fatalf("%s: %d values, want %d", what, len(y), len(x))
		}
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) && !(math.IsNaN(x[i]) && math.IsNaN(y[i])) {
				t.Fatalf("%s row %d (%s %s): %v, want %v", what, i, a.IDs[i], a.AsOf[i], y[i], x[i])
			}
		}
	}
	for i, f := range a.Spec.Features {
		sameFloats(f.Name, a.Num[i], b.Num[i])
		if !slices.Equal(a.Cat[i], b.Cat[i]) {
			t.Fatalf("%s differs", f.Name)
		}
	}
	sameFloats("label", a.Label, b.Label)
	sameFloats("sample_weight", a.Weight, b.Weight)
}

// compareFooters fails unless part has the schema, writer and key-value
// metadata of the file whole.
func compareFooters(t *testing.T, whole, part string) {
	t.Helper()
	fw, fp := openParquet(t, whole), openParquet(t, part)
	if got, want := fp.Schema().String(), fw.Schema().String(); got != want {
		t.Errorf("%s: schema\n%s\nwant\n%s", part, got, want)
	}
	mw, mp := fw.Metadata(), fp.Metadata()
	if mp.CreatedBy != mw.CreatedBy {
		t.Errorf("%s: created_by %q, want %q", part, mp.CreatedBy, mw.CreatedBy)
	}
	kv := func(m *format.FileMetaData) map[string]string {
		out := map[string]string{}
		for _, x := range m.KeyValueMetadata {
			out[x.Key] = x.Value
		}
		return out
	}
	a, b := kv(mw), kv(mp)
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: metadata %s = %.80q…, want %.80q…", part, k, b[k], v)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("%s: extra metadata key %s", part, k)
		}
	}
}

func openParquet(t *testing.T, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// TestPredictMatchesChurn: churn-beam predict publishes byte for byte the
// partitions churn predict publishes (predictions, alerts, manifests), and
// so does churn predict merge over --shard i/n runs.
func TestPredictMatchesChurn(t *testing.T) {
	dir := dataset(t)
	tmp := t.TempDir()
	table := filepath.Join(tmp, "train.parquet")
	run(t, nil, 0, "features", "--data", dir, "--snapshots", "2024-03-01:2024-09-01:3m", "--out", table)
	model := filepath.Join(tmp, "model")
	run(t, nil, 0, "train", "--features", table, "--model", model, "--rounds", "40", "--search-budget", "0", "--seed", "3")
	common := []string{"--data", dir, "--model", model, "--as-of", "2024-12-01", "--now", "2026-01-01T00:00:00Z"}
	want := filepath.Join(tmp, "churn")
	run(t, nil, 0, append([]string{"predict", "--out", want}, common...)...)
	got := filepath.Join(tmp, "beam")
	run(t, Engine(), 0, append([]string{"predict", "--out", got, "--parts", "4"}, common...)...)
	compareTrees(t, want, got)

	shards := filepath.Join(tmp, "shards")
	for i := range 3 {
		run(t, nil, 0, append([]string{"predict", "--out", shards, "--shard", fmt.Sprintf("%d/3", i)}, common...)...)
	}
	merged := filepath.Join(tmp, "merged")
	run(t, nil, 0, append(append([]string{"predict", "merge", "--out", merged}, common...), shards)...)
	compareTrees(t, want, merged)
}

// compareTrees fails unless the folders hold the same files with the same
// bytes.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	a, b := treeSums(t, want), treeSums(t, got)
	if len(a) == 0 {
		t.Fatalf("%s is empty", want)
	}
	for p, h := range a {
		switch g, ok := b[p]; {
		case !ok:
			t.Errorf("%s: missing %s", got, p)
		case g != h:
			t.Errorf("%s: %s differs", got, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			t.Errorf("%s: extra file %s", got, p)
		}
	}
}

func treeSums(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBadInputFails: a customer twice in the customers table is one error
// naming the file and column, exit 1, and no output folder, as with churn.
func TestBadInputFails(t *testing.T) {
	src := dataset(t)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	cust := filepath.Join(dir, "customers.parquet")
	b, err := os.ReadFile(cust)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"p=1", "p=2"} {
		path := filepath.Join(dir, "customers", p, "part.parquet")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(cust); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "features")
	run(t, nil, 1, "features", "--data", dir, "--as-of", "2024-09-01", "--out", out+".parquet")
	msg := run(t, Engine(), 1, "features", "--data", dir, "--as-of", "2024-09-01", "--out", out)
	last := lastLines(msg, 1)
	if !strings.HasPrefix(last, "churn-beam: the Beam job failed: "+filepath.Join(dir, "customers", "p=")) || !strings.Contains(last, "column customer_id: value \"C") || !strings.HasSuffix(last, "duplicate customer_id") {
		t.Errorf("error %q does not name the file, column and value", last)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists after a failed run (%v)", out, err)
	}
}

// TestBuildsWithoutCgo: churn-beam needs neither cgo nor libxgboost (it
// scores in Go), so runners' own worker builds, which disable cgo, work,
// and the binary is static.
func TestBuildsWithoutCgo(t *testing.T) {
	c := exec.Command("go", "list", "-deps", "github.com/churnlab/churn/beam/cmd/churn-beam")
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("go list with CGO_ENABLED=0: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/churnlab/churn/internal/xgb" {
			t.Errorf("churn-beam depends on %s, XGBoost's C API", pkg)
		}
	}
}
