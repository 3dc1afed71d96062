package features

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestHoldoutBuild splits a build by customer: the two tables keep the
// spec, hold every row of the full table once, no customer is on both
// sides, the share is about the one asked, and the same seed gives the
// same split (issue 9, item 16).
func TestHoldoutBuild(t *testing.T) {
	ds := randomDataset(t, 200)
	_, last := DataRange(ds)
	dates := []data.Date{last.AddDays(-200), last.AddDays(-100)}
	build := func(keep func(string) bool) *Table {
		out := filepath.Join(t.TempDir(), "f.parquet")
		if _, _, err := BuildFile(context.Background(), ds, BuildOptions{AsOf: dates, Label: LabelConfig{Mode: LabelChurnDate}, Workers: 2, Keep: keep}, out); err != nil {
			t.Fatal(err)
		}
		tab, err := ReadTable(context.Background(), out)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	h := Holdout{Share: 0.25, Seed: 7}
	full := build(nil)
	train := build(func(id string) bool { return !h.HeldOut(id) })
	test := build(h.HeldOut)
	if train.Len()+test.Len() != full.Len() || test.Len() == 0 {
		t.Fatalf("rows: train %d + test %d, full %d", train.Len(), test.Len(), full.Len())
	}
	if err := full.Spec.Compatible(test.Spec); err != nil {
		t.Errorf("the held-out table's spec differs: %v", err)
	}
	inTrain := map[string]bool{}
	for _, id := range train.IDs {
		inTrain[id] = true
	}
	testCustomers := map[string]bool{}
	for _, id := range test.IDs {
		if inTrain[id] {
			t.Fatalf("customer %s on both sides", id)
		}
		testCustomers[id] = true
	}
	if share := float64(len(testCustomers)) / float64(len(testCustomers)+len(inTrain)); share < 0.15 || share > 0.35 {
		t.Errorf("held-out share %.2f, want about 0.25", share)
	}
	other := Holdout{Share: 0.25, Seed: 8}
	same, moved := 0, 0
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("C%03d", i)
		if h.HeldOut(id) != (Holdout{Share: 0.25, Seed: 7}).HeldOut(id) {
			t.Fatal("the same seed gave another split")
		}
		if h.HeldOut(id) == other.HeldOut(id) {
			same++
		} else {
			moved++
		}
	}
	if moved == 0 {
		t.Error("another seed gave the same split")
	}
}

// TestReadCustomerList reads id list files: one id a line, an optional
// customer_id header, blank lines and # comments skipped.
func TestReadCustomerList(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		want       []string
		err        string
	}{
		{"plain", "C1\nC2\n", []string{"C1", "C2"}, ""},
		{"header, comments, blanks, CRLF", "customer_id\r\n# churned last year\r\nC1\r\n\r\n  C2  \r\n", []string{"C1", "C2"}, ""},
		{"empty", "customer_id\n\n", nil, "no customer id"},
		{"a comma", "C1,2024-01-01\n", nil, ".txt:1: column customer_id"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("ids%d.txt", i))
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadCustomerList(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming %s and %q", err, path, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.want {
				if !got[id] {
					t.Errorf("%s missing from %v", id, got)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
