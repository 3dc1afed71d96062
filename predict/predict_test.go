package predict

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// predRow is a row of a predictions file, as read back.
type predRow struct {
	ID, Tier, Action, Role, Stage, Owner, Version, PrevTier string
	ReasonMethod, Play, Group                               string
	AsOf, PrevAsOf                                          data.Date
	Prob, Revenue, Annual, PrevProb, Change                 float64
	Uplift, Saved                                           float64
	PAlive, CLV                                             float64
	Rank                                                    int64
	Reasons                                                 []Reason
	ScoredAt                                                data.Timestamp
	Alerted                                                 bool
}

func outputTable(cols []Column) *data.Table {
	t := &data.Table{Name: "predictions"}
	for _, c := range cols {
		t.Columns = append(t.Columns, data.Column{Name: c.Name, Type: c.Type, Required: !c.Nullable})
	}
	return t
}

// readPredictions reads every part file of a predictions partition, in
// file order.
func readPredictions(t *testing.T, dir string) []predRow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no part files in %s (%v)", dir, err)
	}
	sort.Strings(files)
	tab := outputTable(PredictionColumns)
	col := func(name string) int { return tab.ColumnIndex(name) }
	var rows []predRow
	var b data.Batch
	for _, path := range files {
		f, err := data.OpenFile(path, tab, nil)
		if err != nil {
			t.Fatal(err)
		}
		for rg := 0; rg < f.NumRowGroups(); rg++ {
			if err := f.ReadRowGroup(rg, nil, false, &b); err != nil {
				t.Fatal(err)
			}
			c := b.Cols
			for r := 0; r < b.N; r++ {
				p := predRow{
					ID: c[col("customer_id")].Str(r), Tier: c[col("risk_tier")].Str(r), Action: c[col("recommended_action")].Str(r),
					Role: c[col("owner_role")].Str(r), Stage: c[col("lifecycle_stage")].Str(r), Owner: c[col("owner")].Str(r),
					Version: c[col("model_version")].Str(r), PrevTier: c[col("previous_tier")].Str(r),
					AsOf: c[col("as_of")].Date(r), PrevAsOf: c[col("previous_as_of")].Date(r),
					Prob: c[col("churn_probability")].Float(r), Revenue: c[col("revenue_at_risk")].Float(r),
					Annual: c[col("annual_revenue")].Float(r), PrevProb: c[col("previous_probability")].Float(r),
					Change: c[col("probability_change")].Float(r), Rank: c[col("rank")].Int(r), ScoredAt: c[col("scored_at")].Time(r),
					Alerted: c[col("alerted")].Bool(r) == 1, ReasonMethod: c[col("reason_method")].Str(r),
					Play: c[col("play")].Str(r), Group: c[col("treatment_group")].Str(r),
					Uplift: c[col("expected_uplift")].Float(r), Saved: c[col("expected_mrr_saved")].Float(r),
					PAlive: c[col("p_alive")].Float(r), CLV: c[col("clv")].Float(r),
				}
				for k := 1; k <= MaxReasons; k++ {
					p2 := "reason_" + string(rune('0'+k)) + "_"
					if c[col(p2+"feature")].IsNull(r) {
						continue
					}
					p.Reasons = append(p.Reasons, Reason{Feature: c[col(p2+"feature")].Str(r), Contribution: c[col(p2+"contribution")].Float(r),
						Text: c[col(p2+"text")].Str(r), Category: c[col(p2+"category")].Str(r)})
				}
				rows = append(rows, p)
			}
		}
		f.Close()
	}
	return rows
}

// TestRun runs two dates into one folder and checks the predictions
// against the model scoring a feature table built independently, and the
// ranks, tiers, reasons, actions, previous-run columns and manifests.
func TestRun(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	out := t.TempDir()
	resA, err := Run(ctx, f.options(out, asOfA))
	if err != nil {
		t.Fatal(err)
	}
	if resA.Previous.Valid() || resA.PreviousMatched != 0 {
		t.Errorf("first run compared with %v", resA.Previous)
	}
	res, err := Run(ctx, f.options(out, asOfB))
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous != asOfA || res.PreviousMatched == 0 {
		t.Errorf("second run: previous %v, matched %d; want %v and some", res.Previous, res.PreviousMatched, asOfA)
	}
	if res.ReasonsMethod != ReasonsExact {
		t.Errorf("reasons method %s, want exact (auto with few customers)", res.ReasonsMethod)
	}
	rows := readPredictions(t, res.PredictionsDir)
	rowsA := readPredictions(t, resA.PredictionsDir)
	if int64(len(rows)) != res.Rows {
		t.Fatalf("%d rows written, result says %d", len(rows), res.Rows)
	}

	// The same customers and probabilities as the model on a feature table
	// built by the features package for the as-of date.
	tab := f.table(t, asOfB)
	sc, err := f.model.Score(ctx, tab, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	for i, id := range tab.IDs {
		want[id] = sc.Prob[i]
	}
	if len(want) != len(rows) {
		t.Errorf("scored %d customers; the feature table has %d active at %s", len(rows), len(want), asOfB)
	}
	for _, r := range rows {
		if p, ok := want[r.ID]; !ok || math.Abs(p-r.Prob) > 1e-12 {
			t.Fatalf("customer %s: probability %v, the model on the feature table says %v (found %v)", r.ID, r.Prob, p, ok)
		}
	}

	prevProb := map[string]predRow{}
	for _, r := range rowsA {
		prevProb[r.ID] = r
	}
	var tiers TierCounts
	var matched int64
	for i, r := range rows {
		if r.Rank != int64(i+1) {
			t.Fatalf("row %d has rank %d: files must be in rank order", i, r.Rank)
		}
		if i > 0 {
			p := rows[i-1]
			if p.Prob < r.Prob || p.Prob == r.Prob && p.ID > r.ID {
				t.Fatalf("rank %d (%s, %v) before rank %d (%s, %v)", p.Rank, p.ID, p.Prob, r.Rank, r.ID, r.Prob)
			}
		}
		switch r.Tier {
		case "high":
			tiers.High++
		case "medium":
			tiers.Medium++
		case "low":
			tiers.Low++
		default:
			t.Fatalf("tier %q", r.Tier)
		}
		if r.AsOf != asOfB || r.Version != res.ModelVersion || r.ScoredAt != data.TimestampOf(fixedNow().Truncate(1000)) {
			t.Fatalf("row %s: as_of %v, version %s, scored_at %v", r.ID, r.AsOf, r.Version, r.ScoredAt)
		}
		if r.ReasonMethod != ReasonsExact {
			t.Fatalf("row %s: reason_method %q, want exact", r.ID, r.ReasonMethod)
		}
		if math.IsNaN(r.Annual) || math.Abs(r.Revenue-r.Prob*r.Annual) > 1e-9 {
			t.Fatalf("row %s: revenue at risk %v, probability %v × annual revenue %v", r.ID, r.Revenue, r.Prob, r.Annual)
		}
		if r.Action == "" || r.Role == "" || r.Owner == "" || r.Stage == "" {
			t.Fatalf("row %s: action %q, role %q, owner %q, stage %q", r.ID, r.Action, r.Role, r.Owner, r.Stage)
		}
		for k, rs := range r.Reasons {
			if !(rs.Contribution > 0) || rs.Text == "" || rs.Category == "" || strings.Contains(rs.Text, "%!") {
				t.Fatalf("row %s reason %d: %+v", r.ID, k+1, rs)
			}
			if k > 0 && rs.Contribution > r.Reasons[k-1].Contribution {
				t.Fatalf("row %s: reasons not in decreasing contribution: %+v", r.ID, r.Reasons)
			}
		}
		if pb := DefaultPlaybook(); r.Tier == "low" {
			if r.Action != pb.LowRisk.Action || r.Role != pb.LowRisk.OwnerRole {
				t.Fatalf("row %s (low risk): action %q/%q, want the low-risk play", r.ID, r.Action, r.Role)
			}
		} else if len(r.Reasons) > 0 {
			play := pb.Play(r.Reasons[0].Category, r.Stage)
			if play.Action != r.Action || play.OwnerRole != r.Role {
				t.Fatalf("row %s: action %q/%q, the playbook says %q/%q for %s × %s", r.ID, r.Action, r.Role, play.Action, play.OwnerRole, r.Reasons[0].Category, r.Stage)
			}
		}
		if p, ok := prevProb[r.ID]; ok {
			matched++
			if r.PrevAsOf != asOfA || r.PrevProb != p.Prob || r.PrevTier != p.Tier || math.Abs(r.Change-(r.Prob-p.Prob)) > 1e-12 {
				t.Fatalf("row %s: previous %v %v %s change %v; the earlier partition has %v %s", r.ID, r.PrevAsOf, r.PrevProb, r.PrevTier, r.Change, p.Prob, p.Tier)
			}
		} else if r.PrevAsOf.Valid() || !math.IsNaN(r.PrevProb) || r.PrevTier != "" || !math.IsNaN(r.Change) {
			t.Fatalf("row %s: not in the previous run but has previous values", r.ID)
		}
	}
	// alerted marks exactly the customers with an alert.
	jl, err := os.ReadFile(filepath.Join(res.AlertsDir, AlertsJSONL))
	if err != nil {
		t.Fatal(err)
	}
	withAlert := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(jl)), "\n") {
		var a struct {
			CustomerID string `json:"customer_id"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		withAlert[a.CustomerID] = true
	}
	for _, r := range rows {
		if r.Alerted != withAlert[r.ID] {
			t.Fatalf("customer %s: alerted %v, has an alert %v", r.ID, r.Alerted, withAlert[r.ID])
		}
	}
	if len(withAlert) == 0 {
		t.Error("no alerts at all with the default rules")
	}
	if tiers != res.Tiers || matched != res.PreviousMatched {
		t.Errorf("tiers %+v matched %d in the file; result %+v %d", tiers, matched, res.Tiers, res.PreviousMatched)
	}
	// Default tiers: high = top 5%, medium = next 15%.
	n := int64(len(rows))
	if tiers.High != n*5/100 || tiers.Medium != int64(math.Floor(0.15*float64(n)+1e-9)) {
		t.Errorf("tiers %+v for %d customers; want 5%% and 15%%", tiers, n)
	}
	if len(res.Top) != 10 || res.Top[0].CustomerID != rows[0].ID || res.Top[9].Rank != 10 {
		t.Errorf("Top: %+v", res.Top)
	}

	// Manifest and markers.
	var man Manifest
	raw, err := os.ReadFile(filepath.Join(res.PredictionsDir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	if man.Rows != n || man.SchemaVersion != SchemaVersion || man.ReasonsMethod != ReasonsExact || man.Tiers != tiers ||
		man.Previous == nil || man.Previous.AsOf != asOfA.String() || man.Input.Fingerprint == "" || len(man.Files) != 1 || man.Files[0].Rows != n {
		t.Errorf("manifest: %s", raw)
	}
	for _, dir := range []string{res.PredictionsDir, res.AlertsDir} {
		if _, err := os.Stat(filepath.Join(dir, SuccessFile)); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, StagingDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the staging folder is left behind: %v", err)
	}
}

// TestRunDeterministic runs the same inputs twice with a fixed clock,
// into two folders and again into the first: the files are
// byte-identical, and re-running a date replaces the partition.
func TestRunDeterministic(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	outs := []string{t.TempDir(), t.TempDir()}
	for _, out := range append(outs, outs[0]) {
		opt := f.options(out, asOfB)
		opt.Workers = 1 + len(out)%3 // the number of workers does not matter
		opt.Config.Output.RowsPerFile = 700
		opt.Config.Output.RowGroupRows = 256
		if _, err := Run(ctx, opt); err != nil {
			t.Fatal(err)
		}
	}
	a, b := treeBytes(t, outs[0]), treeBytes(t, outs[1])
	if len(a) < 7 {
		t.Fatalf("files: %v", slices.Sorted(mapKeysOfBytes(a)))
	}
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			t.Errorf("%s differs between two runs on the same inputs", name)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d files vs %d", len(a), len(b))
	}
}

func mapKeysOfBytes(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// treeBytes reads every file under dir, by relative path.
func treeBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunCorruptInput corrupts a table in the middle of its data: the run
// fails naming the file, writes nothing, and leaves the previous partition
// as it was.
func TestRunCorruptInput(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	out := t.TempDir()
	if _, err := Run(ctx, f.options(out, asOfA)); err != nil {
		t.Fatal(err)
	}
	before := treeBytes(t, out)

	bad := filepath.Join(t.TempDir(), "data")
	copyDir(t, f.data, bad)
	usage := filepath.Join(bad, "usage.parquet")
	b, err := os.ReadFile(usage)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 3; i < len(b)/3+4096; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(usage, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(bad)
	if err != nil {
		t.Fatalf("the footer is intact, so Open should succeed: %v", err)
	}
	defer ds.Close()
	opt := f.options(out, asOfB)
	opt.Dataset = ds
	_, err = Run(ctx, opt)
	var ie *data.InputError
	if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), "usage.parquet") {
		t.Fatalf("err = %v; want an input error naming usage.parquet", err)
	}
	after := treeBytes(t, out)
	if len(after) != len(before) {
		t.Errorf("files after the failed run: %v", slices.Sorted(mapKeysOfBytes(after)))
	}
	for name, x := range before {
		if !bytes.Equal(x, after[name]) {
			t.Errorf("%s changed", name)
		}
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// TestRunMissingTable: a dataset without a table the model was trained
// with is refused before any work, naming the table and its features.
func TestRunMissingTable(t *testing.T) {
	f := getFixture(t)
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, f.data, dir)
	if err := os.Remove(filepath.Join(dir, "surveys.parquet")); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	opt := f.options(t.TempDir(), asOfB)
	opt.Dataset = ds
	_, err = Run(context.Background(), opt)
	if err == nil || !strings.Contains(err.Error(), "surveys (used by nps_last, nps_detractor, nps_change, days_since_survey)") {
		t.Fatalf("err = %v", err)
	}
	if entries, _ := os.ReadDir(opt.Out); len(entries) != 0 {
		t.Errorf("output written: %v", entries)
	}
}

// TestRunNoCustomers: an as-of date before every signup is an error.
func TestRunNoCustomers(t *testing.T) {
	f := getFixture(t)
	_, err := Run(context.Background(), f.options(t.TempDir(), data.MakeDate(2010, 1, 1)))
	if err == nil || !strings.Contains(err.Error(), "nothing to score") {
		t.Fatalf("err = %v", err)
	}
}

// TestRunApproxAndCancel: approx reasons are recorded; a cancelled context
// writes nothing.
func TestRunApproxAndCancel(t *testing.T) {
	f := getFixture(t)
	opt := f.options(t.TempDir(), asOfB)
	opt.Config.Reasons.Method = ReasonsApprox
	res, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReasonsMethod != ReasonsApprox {
		t.Errorf("method %s", res.ReasonsMethod)
	}
	raw, _ := os.ReadFile(filepath.Join(res.PredictionsDir, ManifestFile))
	if !bytes.Contains(raw, []byte(`"reasons_method": "approx"`)) {
		t.Errorf("manifest does not record approx: %s", raw)
	}
	// auto picks approx above the limit.
	opt = f.options(t.TempDir(), asOfB)
	opt.Config.Reasons.ExactMaxCustomers = 10
	if res, err = Run(context.Background(), opt); err != nil || res.ReasonsMethod != ReasonsApprox {
		t.Errorf("auto over the limit: %v, %v", res, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opt = f.options(t.TempDir(), asOfB)
	if _, err := Run(ctx, opt); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	if entries, _ := os.ReadDir(opt.Out); len(entries) != 0 {
		t.Errorf("cancelled run left %v", entries)
	}
}
