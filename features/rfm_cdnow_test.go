package features

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/clv"
)

const cdnowDir = "../../shared/data/cdnow"

// readCDNOWSample parses CDNOW_sample.txt (whitespace-separated, no
// header: customer id, customer index, yyyymmdd, CDs, dollars) into each
// customer's orders in time order, indexed by customer index − 1. It is a
// test-only reader of a fixed public file, not a parser of user input.
func readCDNOWSample(path string) ([][]data.Order, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]data.Order
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fs := strings.Fields(sc.Text())
		if len(fs) == 0 {
			continue
		}
		if len(fs) != 5 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 5", path, line, len(fs))
		}
		idx, err := strconv.Atoi(fs[1])
		if err != nil || idx < 1 {
			return nil, fmt.Errorf("%s:%d: customer index %q", path, line, fs[1])
		}
		day, err := time.Parse("20060102", fs[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		amt, err := strconv.ParseFloat(fs[4], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		for len(out) < idx {
			out = append(out, nil)
		}
		o := data.Order{TS: data.DateOf(day).Start(), Amount: amt}
		if os := out[idx-1]; len(os) > 0 && os[len(os)-1].TS > o.TS {
			return nil, fmt.Errorf("%s:%d: orders out of time order", path, line)
		}
		out[idx-1] = append(out[idx-1], o)
	}
	return out, sc.Err()
}

// cdnowRFM builds the CDNOW sample's calibration summaries as of
// 1997-10-01 (calibration weeks 0–39 from 1997-01-01).
func cdnowRFM(t *testing.T) []clv.Summary {
	t.Helper()
	orders, err := readCDNOWSample(cdnowDir + "/CDNOW_sample.txt")
	if err != nil {
		if os.IsNotExist(err) {
			t.Skipf("shared data not found at %s", cdnowDir)
		}
		t.Fatal(err)
	}
	asOf := data.MakeDate(1997, time.October, 1)
	s := make([]clv.Summary, len(orders))
	for i, o := range orders {
		v, ok := RFM(o, asOf)
		if !ok {
			t.Fatalf("customer %d: no order before %v", i+1, asOf)
		}
		s[i] = v
	}
	return s
}

// TestRFMCDNOWPublished proves RFM's convention: on the CDNOW sample it
// reproduces Fader and Hardie's published summary row by row (frequency
// exactly, recency and T to the file's 2 decimals).
func TestRFMCDNOWPublished(t *testing.T) {
	s := cdnowRFM(t)
	f, err := os.Open(cdnowDir + "/cdnow_customers_summary.csv")
	if err != nil {
		t.Skipf("shared data not found: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != len(s) || len(s) != 2357 {
		t.Fatalf("%d published rows, %d summaries; want 2357 each", len(rows)-1, len(s))
	}
	round2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	for i, r := range rows[1:] {
		id, _ := strconv.Atoi(r[0])
		freq, _ := strconv.ParseFloat(r[1], 64)
		rec, _ := strconv.ParseFloat(r[2], 64)
		T, _ := strconv.ParseFloat(r[3], 64)
		got := s[id-1]
		if got.Frequency != freq || round2(got.Recency) != rec || round2(got.T) != T {
			t.Errorf("row %d (customer %d): got x=%v tx=%.4f T=%.4f, published %v %v %v", i+2, id, got.Frequency, got.Recency, got.T, freq, rec, T)
		}
	}
}

// TestCDNOWPublishedFits fits BG/NBD and Gamma-Gamma to the summaries RFM
// builds from the raw CDNOW sample and checks the published parameters
// (BG/NBD: Fader, Hardie and Lee 2005; Gamma-Gamma: lifetimes'
// documentation, 946 repeat customers) to 3 significant digits.
func TestCDNOWPublishedFits(t *testing.T) {
	s := cdnowRFM(t)
	ctx := context.Background()
	bg, err := clv.FitBGNBD(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := clv.FitGammaGamma(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"r", bg.R, 0.243}, {"alpha", bg.Alpha, 4.414}, {"a", bg.A, 0.793}, {"b", bg.B, 2.426},
		{"log-likelihood", bg.LogLikelihood, -9582.4},
		{"p", gg.P, 6.25}, {"q", gg.Q, 3.74}, {"gamma", gg.Gamma, 15.44},
	} {
		if !sig3(c.got, c.want) {
			t.Errorf("%s = %.6g, want %v to 3 significant digits", c.name, c.got, c.want)
		}
	}
	if math.Abs(bg.LogLikelihood-(-9582.4)) > 0.05 {
		t.Errorf("BG/NBD log-likelihood %.4f, want -9582.4 to one decimal", bg.LogLikelihood)
	}
	t.Logf("BG/NBD %+v\nGamma-Gamma %+v", bg, gg)
	if gg.Customers != 946 || !gg.Converged || !bg.Converged {
		t.Errorf("Gamma-Gamma fitted %d customers (want 946); converged %v %v", gg.Customers, bg.Converged, gg.Converged)
	}
}

// sig3 reports whether got equals want to 3 significant digits.
func sig3(got, want float64) bool {
	e := math.Pow(10, math.Floor(math.Log10(math.Abs(want)))-2)
	return math.Abs(got-want) <= e/2
}
