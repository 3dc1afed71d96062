package lifetime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/churnlab/churn/data"
)

// Files of the output folder.
const (
	JSONFile      = "lifetime.json"
	CustomersFile = "customers.parquet"
	HTMLFile      = "report.html"
)

// Column is one column of customers.parquet.
type Column struct {
	Name string
	Type data.Type
	Doc  string
}

// CustomerColumns are the columns of customers.parquet, one row per fitted
// customer (a purchase before the as-of date), sorted by customer_id.
// Times are in weeks, money in the data's currency.
var CustomerColumns = []Column{
	{"customer_id", data.TypeString, "customer identifier"},
	{"frequency", data.TypeFloat64, "repeat purchases in the calibration period: distinct purchase days before the as-of date, minus one"},
	{"recency", data.TypeFloat64, "weeks from the first to the last purchase day"},
	{"T", data.TypeFloat64, "weeks from the first purchase day to the calibration period's last day (as-of − 1)"},
	{"monetary", data.TypeFloat64, "mean spend per repeat purchase day (0 without repeat purchases)"},
	{"p_alive", data.TypeFloat64, "BG/NBD probability that the customer is still alive (will buy again) at the as-of date"},
	{"churn_score", data.TypeFloat64, "1 − p_alive: the probability that the customer has already dropped out"},
	{"prob_no_purchase", data.TypeFloat64, "BG/NBD probability of no purchase in the horizon (dropped out, or alive and not buying)"},
	{"expected_purchases", data.TypeFloat64, "BG/NBD expected number of purchase days in the horizon after the as-of date"},
	{"expected_spend", data.TypeFloat64, "Gamma-Gamma expected mean spend per future purchase day"},
	{"clv", data.TypeFloat64, "discounted expected spend over the CLV horizon (BG/NBD purchases × Gamma-Gamma spend)"},
}

// JSON returns lifetime.json: indented, keys in a fixed order, numbers
// rounded to 6 decimals, undefined numbers as null.
func (r *Report) JSON() ([]byte, error) { return marshal(r) }

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// customersParquet returns customers.parquet.
func (r *Report) customersParquet(churnVersion string) ([]byte, error) {
	specs := make([]data.ColumnSpec, len(CustomerColumns))
	vecs := make([]data.Vec, len(CustomerColumns))
	for i, c := range CustomerColumns {
		specs[i] = data.ColumnSpec{Name: c.Name, Type: c.Type}
		vecs[i] = data.NewVec(c.Type)
	}
	c, s := &r.cust, &r.scores
	for i, id := range c.ids {
		sum := c.sum[i]
		vecs[0].AppendString(id)
		for k, x := range []float64{sum.Frequency, sum.Recency, sum.T, sum.Monetary, s.pAlive[i], 1 - s.pAlive[i], s.probNone[i], s.expected[i], s.spend[i], s.clv[i]} {
			vecs[1+k].AppendFloat(x)
		}
	}
	var buf bytes.Buffer
	w, err := data.NewWriter(&buf, specs, data.WriterOptions{ChurnVersion: churnVersion, SortedBy: []string{"customer_id"},
		Metadata: map[string]string{"churn.lifetime.schema_version": strconv.Itoa(SchemaVersion), "churn.lifetime.as_of": r.Settings.AsOf}})
	if err != nil {
		return nil, err
	}
	if err := w.Write(len(c.ids), vecs); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write publishes lifetime.json, customers.parquet and report.html as the
// folder out, atomically: it is built beside out and moved into place, so
// readers see the previous folder or the whole new one. An existing out is
// replaced only when it is empty or an earlier churn lifetime output (it
// holds lifetime.json), so that a mistyped --out cannot wipe a folder.
func (r *Report) Write(out, churnVersion string) error {
	if err := checkReplace(out, JSONFile); err != nil {
		return err
	}
	js, err := r.JSON()
	if err != nil {
		return err
	}
	pq, err := r.customersParquet(churnVersion)
	if err != nil {
		return err
	}
	page, err := r.HTML()
	if err != nil {
		return err
	}
	return publish(out, JSONFile, map[string][]byte{JSONFile: js, CustomersFile: pq, HTMLFile: page})
}

// publish writes files into a new folder out (replacing an earlier output
// that holds marker, or an empty folder).
func publish(out, marker string, files map[string][]byte) error {
	if err := checkReplace(out, marker); err != nil {
		return err
	}
	dir, err := data.CreateAtomicDir(out)
	if err != nil {
		return err
	}
	defer dir.Abort()
	for name, b := range files {
		if err := data.WriteFileSync(filepath.Join(dir.Path, name), b); err != nil {
			return err
		}
	}
	return dir.Commit()
}

func checkReplace(out, marker string) error {
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(out, marker)); err == nil {
		return nil
	}
	return fmt.Errorf("--out %s exists and is not an earlier output (it has no %s): choose a new or empty folder; it is replaced as a whole", out, marker)
}

// WriteTable prints the fitted parameters with their standard errors and
// log-likelihoods, and where the files went, as a compact table.
func (r *Report) WriteTable(w io.Writer, out string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	d := r.Data
	fmt.Fprintf(tw, "lifetime as of %s (calibration to %s, %s): %d customers fitted, %d with repeat purchases; %d without a purchase before the as-of date are not in the fit\n",
		r.Settings.AsOf, r.Settings.CalibrationEnd, r.Settings.Events, d.Fitted, d.RepeatCustomers, d.NoPurchaseBeforeAsOf)
	fmt.Fprintln(tw, "model\tparameter\testimate\tstd. error")
	bg, gg := r.BGNBD, r.GammaGamma
	for _, p := range []struct {
		name   string
		v, se  float64
		model  string
		suffix string
	}{
		{"r", bg.R.F(), bg.SE.R.F(), "BG/NBD", ""},
		{"alpha", bg.Alpha.F(), bg.SE.Alpha.F(), "BG/NBD", ""},
		{"a", bg.A.F(), bg.SE.A.F(), "BG/NBD", ""},
		{"b", bg.B.F(), bg.SE.B.F(), "BG/NBD", ""},
		{"p", gg.P.F(), gg.SE.P.F(), "Gamma-Gamma", ""},
		{"q", gg.Q.F(), gg.SE.Q.F(), "Gamma-Gamma", ""},
		{"gamma", gg.Gamma.F(), gg.SE.Gamma.F(), "Gamma-Gamma", ""},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.model, p.name, g4(p.v), g4(p.se))
	}
	fmt.Fprintf(tw, "BG/NBD\tlog-likelihood\t%.1f\t(%d customers, converged %v)\n", bg.LogLikelihood.F(), bg.Customers, bg.Converged)
	fmt.Fprintf(tw, "Gamma-Gamma\tlog-likelihood\t%.1f\t(%d customers, converged %v)\n", gg.LogLikelihood.F(), gg.Customers, gg.Converged)
	if h := r.Holdout; h != nil {
		fmt.Fprintf(tw, "holdout %s to %s (%.1f weeks): %d repeat purchases, %.1f expected\n", r.Settings.AsOf, r.Settings.HoldoutEnd, h.Weeks.F(), h.ActualTotal, h.ExpectedTotal.F())
	}
	fmt.Fprintf(tw, "clv over %d months: median %.2f, mean %.2f, total %.0f\n", r.Settings.CLVMonths, r.CLV.P50.F(), r.CLV.Mean.F(), r.CLV.Total.F())
	if out != "" {
		fmt.Fprintf(tw, "written %s\n", strings.Join([]string{filepath.Join(out, JSONFile), filepath.Join(out, CustomersFile), filepath.Join(out, HTMLFile)}, ", "))
	}
	return tw.Flush()
}

// g4 formats x with 4 significant digits ("–" when undefined).
func g4(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}
