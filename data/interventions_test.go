package data

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestInterventionReached(t *testing.T) {
	tests := []struct {
		name      string
		group     string
		contacted int8
		want      bool
	}{
		{"contacted true", GroupTreat, 1, true},
		{"contacted false", GroupTreat, 0, false},
		{"null contacted, treat", GroupTreat, -1, true},
		{"null contacted, no group", "", -1, true},
		{"null contacted, control", GroupControl, -1, false},
		{"control contacted anyway", GroupControl, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv := Intervention{Group: tt.group, Contacted: tt.contacted}
			if got := iv.Reached(); got != tt.want {
				t.Errorf("Reached() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReadInterventions reads the table whole and per customer: rows come
// in customer then time order, orphans are skipped, absent columns read as
// missing.
func TestReadInterventions(t *testing.T) {
	dir := t.TempDir()
	ids := fixtureIDs(4)
	cust, _ := LookupTable(Customers)
	writeFixture(t, filepath.Join(dir, "customers.parquet"), cust, ids, WriterOptions{})
	ds, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ds.ReadInterventions(context.Background())
	ds.Close()
	if err != nil || got != nil {
		t.Fatalf("without the table: %v, %v; want nil, nil", got, err)
	}

	specs := []ColumnSpec{spec("customer_id", TypeString), spec("ts", TypeTimestamp), spec("play", TypeString), optional("group", TypeString), optional("contacted", TypeBool)}
	writeRows(t, filepath.Join(dir, "interventions.parquet"), specs,
		[]string{"a-orphan", "2024-01-01T09:00:00Z", "usage", "treat", "true"},
		[]string{"c001", "2024-03-01T09:00:00Z", "support", "control", ""},
		[]string{"c001", "2024-02-01T09:00:00Z", "usage", "treat", "false"},
		[]string{"c003", "2024-02-01T10:30:00Z", "renewal", "", ""})
	ds, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	got, err = ds.ReadInterventions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ts := func(s string) Timestamp {
		x, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return TimestampOf(x)
	}
	want := []CustomerIntervention{
		{"c001", Intervention{TS: ts("2024-02-01T09:00:00Z"), Play: "usage", Group: GroupTreat, Contacted: 0}},
		{"c001", Intervention{TS: ts("2024-03-01T09:00:00Z"), Play: "support", Group: GroupControl, Contacted: -1}},
		{"c003", Intervention{TS: ts("2024-02-01T10:30:00Z"), Play: "renewal", Contacted: -1}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[0].Reached() || got[1].Reached() || !got[2].Reached() {
		t.Errorf("Reached: %v %v %v, want false false true", got[0].Reached(), got[1].Reached(), got[2].Reached())
	}

	// Per customer, as features read tickets and contacts.
	n := 0
	_, err = ds.Scan(context.Background(), KeyRange{}, ScanOptions{Tables: []string{Interventions}}, func(h *History) error {
		if !h.Present.Has(Interventions) {
			t.Errorf("%s: interventions not marked present", h.Customer.ID)
		}
		n += len(h.Interventions)
		if h.Customer.ID == "c001" && (len(h.Interventions) != 2 || h.Interventions[0].Play != "usage") {
			t.Errorf("c001: %+v", h.Interventions)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("scan: %d rows, %v", n, err)
	}
}
