package clv

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
)

const cdnowDir = "../../../shared/data/cdnow"

// cdnowSummaries reads the published CDNOW summary (ID, frequency,
// recency, T; Fader and Hardie's file as shipped with lifetimes).
func cdnowSummaries(t testing.TB) []Summary {
	t.Helper()
	f, err := os.Open(cdnowDir + "/cdnow_customers_summary.csv")
	if err != nil {
		t.Skipf("shared data not found at %s: %v", cdnowDir, err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var s []Summary
	for _, r := range rows[1:] {
		var v [3]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		s = append(s, Summary{Frequency: v[0], Recency: v[1], T: v[2]})
	}
	return s
}

// sig3 reports whether got equals want to 3 significant digits.
func sig3(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	e := math.Pow(10, math.Floor(math.Log10(math.Abs(want)))-2)
	return math.Abs(got-want) <= e/2+1e-12
}

func TestFitBGNBDCDNOW(t *testing.T) {
	s := cdnowSummaries(t)
	fit, err := FitBGNBD(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", fit)
}
