package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/predict"
)

// Layout of the review's outputs in the output folder.
const (
	// Dir holds one folder per review date: Dir/as_of=DATE/ with
	// HTMLFile, JSONFile, MarkdownFile and SavedFile.
	Dir = "review"
	// PlaysDir holds the run × play table: PlaysDir/as_of=DATE/PlaysFile.
	PlaysDir     = "review_plays"
	HTMLFile     = "review.html"
	JSONFile     = "review.json"
	MarkdownFile = "review.md"
	SavedFile    = "saved_customers.parquet"
	PlaysFile    = "plays.parquet"
)

// ReportDir returns OUT/review/as_of=DATE.
func ReportDir(out string, asOf data.Date) string {
	return filepath.Join(out, Dir, "as_of="+asOf.String())
}

// PlaysPartition returns OUT/review_plays/as_of=DATE.
func PlaysPartition(out string, asOf data.Date) string {
	return filepath.Join(out, PlaysDir, "as_of="+asOf.String())
}

// PlayRunColumns are the columns of review_plays/as_of=DATE/plays.parquet:
// one row per date a unit was first assigned (a run, or an intervention
// date) and play. Summing a play's rows gives its totals in review.json.
var PlayRunColumns = []predict.Column{
	{Name: "review_as_of", Type: data.TypeDate, Doc: "the review date (the partition folder repeats it)"},
	{Name: "as_of", Type: data.TypeDate, Doc: "the date the units were first assigned: a predictions run's as-of date, or the day of an intervention"},
	{Name: "source", Type: data.TypeString, Doc: "predictions (treatment_group of a predictions partition) or interventions (a row of the interventions table with a group)"},
	{Name: "play", Type: data.TypeString, Doc: "the play"},
	{Name: "window", Type: data.TypeString, Doc: "closed when the units' outcome window ended by the review's data end, else open"},
	{Name: "treated", Type: data.TypeInt64, Doc: "treat units with a closed window (first assignment of the customer to the play)"},
	{Name: "control", Type: data.TypeInt64, Doc: "control units with a closed window"},
	{Name: "treated_open", Type: data.TypeInt64, Doc: "treat units whose window is still open (no outcome yet)"},
	{Name: "control_open", Type: data.TypeInt64, Doc: "control units whose window is still open"},
	{Name: "churned_treated", Type: data.TypeInt64, Doc: "treat units that churned within the horizon"},
	{Name: "churned_control", Type: data.TypeInt64, Doc: "control units that churned within the horizon"},
	{Name: "churn_rate_treated", Type: data.TypeFloat64, Nullable: true, Doc: "churned_treated / treated (null without treated)"},
	{Name: "churn_rate_control", Type: data.TypeFloat64, Nullable: true, Doc: "churned_control / control (null without control)"},
	{Name: "uplift", Type: data.TypeFloat64, Nullable: true, Doc: "churn_rate_control − churn_rate_treated: churn prevented per treated customer"},
	{Name: "uplift_lo", Type: data.TypeFloat64, Nullable: true, Doc: "lower end of the uplift's interval (Newcombe hybrid score)"},
	{Name: "uplift_hi", Type: data.TypeFloat64, Nullable: true, Doc: "upper end of the uplift's interval"},
	{Name: "relative_risk_reduction", Type: data.TypeFloat64, Nullable: true, Doc: "1 − churn_rate_treated / churn_rate_control"},
	{Name: "rrr_lo", Type: data.TypeFloat64, Nullable: true, Doc: "lower end of the relative risk reduction's interval (Katz log interval of the relative risk)"},
	{Name: "rrr_hi", Type: data.TypeFloat64, Nullable: true, Doc: "upper end of the relative risk reduction's interval"},
	{Name: "mrr_treated", Type: data.TypeFloat64, Doc: "monthly revenue of the closed treat units where known: annual_revenue / 12 of the run, or for interventions units the revenue at their date (the mrr feature)"},
	{Name: "mrr_saved", Type: data.TypeFloat64, Nullable: true, Doc: "uplift × mrr_treated"},
}

// SavedColumns are the columns of review/as_of=DATE/saved_customers.parquet:
// every treated customer of the high tier whose window closed without
// churn, by monthly revenue.
var SavedColumns = []predict.Column{
	{Name: "customer_id", Type: data.TypeString, Doc: "customer identifier"},
	{Name: "play", Type: data.TypeString, Doc: "the play that treated the customer"},
	{Name: "as_of", Type: data.TypeDate, Doc: "the run that first assigned the customer to the play"},
	{Name: "churn_probability", Type: data.TypeFloat64, Doc: "the churn probability of that run"},
	{Name: "mrr", Type: data.TypeFloat64, Nullable: true, Doc: "monthly revenue then: annual_revenue / 12 (null when unknown)"},
	{Name: "owner", Type: data.TypeString, Nullable: true, Doc: "the customer's CSM in that run (null when unknown)"},
	{Name: "lifecycle_stage", Type: data.TypeString, Nullable: true, Doc: "the lifecycle stage in that run (null when unknown)"},
}

// JSON returns review.json: indented, keys in a fixed order, numbers
// rounded to 6 decimals, undefined numbers as null.
func (r *Review) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Write publishes the review under out: OUT/review/as_of=DATE (review.html,
// review.json, review.md, saved_customers.parquet) and
// OUT/review_plays/as_of=DATE/plays.parquet, staged and moved into place
// together (a review run again for the same date replaces both), or not
// at all.
func (r *Review) Write(out, churnVersion string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	txn, err := predict.BeginStaging(out, log)
	if err != nil {
		return err
	}
	defer txn.Abort()
	if err := r.Stage(txn, out, churnVersion); err != nil {
		return err
	}
	return txn.Commit()
}

// Stage writes the review's folders into txn, to be published under out
// when the caller commits it. Every file is rendered before anything is
// staged, so a failure leaves txn as it was unless writing itself fails.
func (r *Review) Stage(txn *data.Txn, out, churnVersion string) error {
	asOf, err := data.ParseDate(r.AsOf)
	if err != nil {
		return err
	}
	js, err := r.JSON()
	if err != nil {
		return err
	}
	html, err := r.HTML()
	if err != nil {
		return err
	}
	saved, err := r.savedParquet(churnVersion)
	if err != nil {
		return err
	}
	plays, err := r.playsParquet(asOf, churnVersion)
	if err != nil {
		return err
	}
	for _, d := range []struct {
		name, final string
		files       map[string][]byte
	}{
		{"review", ReportDir(out, asOf), map[string][]byte{JSONFile: js, HTMLFile: html, MarkdownFile: r.Markdown(), SavedFile: saved}},
		{"review_plays", PlaysPartition(out, asOf), map[string][]byte{PlaysFile: plays}},
	} {
		dir, err := txn.Dir(d.name, d.final)
		if err != nil {
			return err
		}
		for name, b := range d.files {
			if err := data.WriteFileSync(filepath.Join(dir, name), b); err != nil {
				return err
			}
		}
	}
	return nil
}

// parquetFile encodes n rows of cols, filled by fill, as one Parquet file.
func parquetFile(cols []predict.Column, n int, churnVersion string, asOf string, fill func(v []data.Vec)) ([]byte, error) {
	specs := make([]data.ColumnSpec, len(cols))
	vecs := make([]data.Vec, len(cols))
	for i, c := range cols {
		specs[i] = data.ColumnSpec{Name: c.Name, Type: c.Type, Optional: c.Nullable, Dict: c.Type == data.TypeString && c.Name != "customer_id"}
		vecs[i] = data.NewVec(c.Type)
	}
	fill(vecs)
	var buf bytes.Buffer
	w, err := data.NewWriter(&buf, specs, data.WriterOptions{ChurnVersion: churnVersion,
		Metadata: map[string]string{"churn.review.schema_version": strconv.Itoa(SchemaVersion), "churn.review.as_of": asOf}})
	if err != nil {
		return nil, err
	}
	if err := w.Write(n, vecs); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *Review) playsParquet(asOf data.Date, churnVersion string) ([]byte, error) {
	return parquetFile(PlayRunColumns, len(r.playRuns), churnVersion, r.AsOf, func(v []data.Vec) {
		for _, pr := range r.playRuns {
			d, _ := data.ParseDate(pr.AsOf)
			e := pr.e
			v[0].AppendDate(asOf)
			v[1].AppendDate(d)
			v[2].AppendString(pr.Source)
			v[3].AppendString(pr.Play)
			v[4].AppendString(pr.Window)
			for k, x := range []int{pr.Treated, pr.Control, pr.TreatedOpen, pr.ControlOpen, pr.ChurnedTreated, pr.ChurnedControl} {
				v[5+k].AppendInt(int64(x))
			}
			for k, x := range []float64{e.RateT, e.RateC, e.Uplift, e.UpLo, e.UpHi, e.RRR, e.RRRLo, e.RRRHi, pr.MRRTreated, pr.MRRSaved} {
				v[11+k].AppendFloat(finite(x))
			}
		}
	})
}

func (r *Review) savedParquet(churnVersion string) ([]byte, error) {
	str := func(v *data.Vec, s string) {
		if s == "" {
			v.AppendNull()
		} else {
			v.AppendString(s)
		}
	}
	return parquetFile(SavedColumns, len(r.saved), churnVersion, r.AsOf, func(v []data.Vec) {
		for _, s := range r.saved {
			d, _ := data.ParseDate(s.AsOf)
			v[0].AppendString(s.CustomerID)
			v[1].AppendString(s.Play)
			v[2].AppendDate(d)
			v[3].AppendFloat(s.ChurnProbability.F())
			v[4].AppendFloat(finite(s.MRR.F()))
			str(&v[5], s.Owner)
			str(&v[6], s.LifecycleStage)
		}
	})
}

// finite maps ±Inf (a relative risk without control churners) to NaN,
// which the Parquet writer stores as null.
func finite(x float64) float64 {
	if math.IsInf(x, 0) {
		return math.NaN()
	}
	return x
}

// SchemaMarkdown renders the review's Parquet tables as Markdown.
// docs/review.md embeds it (checked by TestSchemaDoc).
func SchemaMarkdown() string {
	var b strings.Builder
	table := func(title string, cols []predict.Column) {
		fmt.Fprintf(&b, "### %s\n\n| column | Parquet type | nullable | meaning |\n|---|---|---|---|\n", title)
		for _, c := range cols {
			null := ""
			if c.Nullable {
				null = "yes"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", c.Name, c.Type, null, c.Doc)
		}
		b.WriteString("\n")
	}
	table(PlaysDir+"/as_of=YYYY-MM-DD/"+PlaysFile, PlayRunColumns)
	table(Dir+"/as_of=YYYY-MM-DD/"+SavedFile, SavedColumns)
	return b.String()
}
