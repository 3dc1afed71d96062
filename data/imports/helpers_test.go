package imports

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// writeFiles writes name → content files into a new temporary directory.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runMapping writes the mapping and files into a temporary directory,
// imports it into dir/out and returns the summary, the output directory
// and the error.
func runMapping(t testing.TB, mapping string, files map[string]string) (*Summary, string, error) {
	t.Helper()
	all := map[string]string{"mapping.yaml": mapping}
	for k, v := range files {
		all[k] = v
	}
	dir := writeFiles(t, all)
	m, err := Load(filepath.Join(dir, "mapping.yaml"), LoadOptions{LookupEnv: noEnv})
	if err != nil {
		return nil, "", err
	}
	out := filepath.Join(dir, "out")
	sum, err := Import(context.Background(), m, Options{Out: out, Logger: quiet})
	return sum, out, err
}

func noEnv(string) (string, bool) { return "", false }

// mustImport is runMapping that fails the test on error.
func mustImport(t testing.TB, mapping string, files map[string]string) (*Summary, string) {
	t.Helper()
	sum, out, err := runMapping(t, mapping, files)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum, out
}

// scanAll opens the dataset at dir and returns every customer's history
// (with attributes), the scan statistics and the attribute columns.
func scanAll(t testing.TB, dir string) ([]*data.History, data.ScanStats, []data.AttrColumn) {
	t.Helper()
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer ds.Close()
	var hs []*data.History
	st, err := ds.Scan(context.Background(), data.KeyRange{}, data.ScanOptions{Attrs: true}, func(h *data.History) error {
		hs = append(hs, h.Clone())
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return hs, st, ds.Table(data.Customers).Attrs
}

// byID indexes histories by customer id.
func byID(hs []*data.History) map[string]*data.History {
	m := make(map[string]*data.History, len(hs))
	for _, h := range hs {
		m[h.Customer.ID] = h
	}
	return m
}

// attr returns the named attribute of h.
func attr(t testing.TB, attrs []data.AttrColumn, h *data.History, name string) data.AttrValue {
	t.Helper()
	for i, a := range attrs {
		if a.Name == name {
			return h.Customer.Attrs[i]
		}
	}
	t.Fatalf("no attribute %s in %v", name, attrs)
	return data.AttrValue{}
}

func date(t testing.TB, s string) data.Date {
	t.Helper()
	d, err := data.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// matchMsg reports whether got contains want, or matches want as a regular
// expression.
func matchMsg(want, got string) (bool, error) {
	if strings.Contains(got, want) {
		return true, nil
	}
	return regexp.MatchString(want, got)
}
