package predict

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/internal/xgb"
	"github.com/churnlab/churn/train"
)

// xgboostReasons returns, by customer, the top reasons XGBoost's own
// contributions give on the fixture's features at asOf: pred_contribs
// (approx false) or approx_contribs, summed per feature, the largest
// positive ones first (ties by feature order), as float32 like the
// written contributions.
func xgboostReasons(t *testing.T, f *fixture, asOf data.Date, approx bool) map[string][]Reason {
	t.Helper()
	spec := f.model.Manifest.Spec
	tab := f.table(t, asOf)
	enc := f.model.Manifest.Encoder
	X, n := enc.Matrix(tab, nil)
	p := len(enc.Columns)
	b := f.booster(t)
	dm, err := xgb.NewDMatrix(X, n, p)
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()
	c, _, err := b.Predict(dm, xgb.PredictOptions{Contribs: true, ApproxContribs: approx, IterationEnd: f.model.Manifest.Rounds})
	if err != nil {
		t.Fatal(err)
	}
	featOf := enc.FeatureOf()
	nf := len(spec.Features)
	out := map[string][]Reason{}
	for i := range n {
		sum := make([]float64, nf)
		for j := range p {
			sum[featOf[j]] += float64(c[i*(p+1)+j])
		}
		var top []Reason
		used := make([]bool, nf)
		for len(top) < MaxReasons {
			best := -1
			for k, v := range sum {
				if v > 0 && !used[k] && (best < 0 || v > sum[best]) {
					best = k
				}
			}
			if best < 0 {
				break
			}
			used[best] = true
			top = append(top, Reason{Feature: spec.Features[best].Name, Contribution: float64(float32(sum[best]))})
		}
		out[tab.IDs[i]] = top
	}
	return out
}

// TestReasonsAreXGBoosts is the exactness test of the reasons: every row of
// an exact run carries the top three of XGBoost's exact contributions
// (pred_contribs) and every row of an approx run those of its Saabas
// contributions (approx_contribs): the same features in the same order,
// with the same values.
func TestReasonsAreXGBoosts(t *testing.T) {
	f := getFixture(t)
	for _, tc := range []struct {
		method string
		approx bool
	}{{ReasonsExact, false}, {ReasonsApprox, true}} {
		t.Run(tc.method, func(t *testing.T) {
			opt := f.options(t.TempDir(), asOfB)
			opt.Config.Reasons.Method = tc.method
			res, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			want := xgboostReasons(t, f, asOfB, tc.approx)
			rows := readPredictions(t, res.PredictionsDir)
			if len(rows) != len(want) {
				t.Fatalf("%d rows, XGBoost scored %d", len(rows), len(want))
			}
			withReasons := 0
			for _, r := range rows {
				if r.ReasonMethod != tc.method {
					t.Fatalf("customer %s: reason_method %q, want %s", r.ID, r.ReasonMethod, tc.method)
				}
				w := want[r.ID]
				if len(r.Reasons) != len(w) {
					t.Fatalf("customer %s: %d reasons, XGBoost's contributions give %d: %+v vs %+v", r.ID, len(r.Reasons), len(w), r.Reasons, w)
				}
				for k := range w {
					if r.Reasons[k].Feature != w[k].Feature || r.Reasons[k].Contribution != w[k].Contribution {
						t.Fatalf("customer %s reason %d: %s %v, XGBoost %s %v", r.ID, k+1, r.Reasons[k].Feature, r.Reasons[k].Contribution, w[k].Feature, w[k].Contribution)
					}
				}
				if len(w) > 0 {
					withReasons++
				}
			}
			if withReasons < len(rows)/2 {
				t.Errorf("only %d of %d rows have reasons", withReasons, len(rows))
			}
		})
	}
}

// TestRunReasonMethods checks what each reasons.method writes: the run's
// method in the manifest, every prediction row and every alert (Parquet,
// JSON Lines) and Result.Top; auto is exact; none leaves the reason
// columns empty and takes the actions from the profile category (low risk
// from low_risk).
func TestRunReasonMethods(t *testing.T) {
	f := getFixture(t)
	pb := DefaultPlaybook()
	for _, tc := range []struct {
		config, want string
	}{{ReasonsAuto, ReasonsExact}, {ReasonsExact, ReasonsExact}, {ReasonsApprox, ReasonsApprox}, {ReasonsNone, ReasonsNone}} {
		t.Run(tc.config, func(t *testing.T) {
			opt := f.options(t.TempDir(), asOfB)
			opt.Config.Reasons.Method = tc.config
			res, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReasonsMethod != tc.want {
				t.Errorf("Result.ReasonsMethod %s, want %s", res.ReasonsMethod, tc.want)
			}
			raw, err := os.ReadFile(filepath.Join(res.PredictionsDir, ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			var man Manifest
			if err := json.Unmarshal(raw, &man); err != nil || man.ReasonsMethod != tc.want {
				t.Errorf("manifest reasons_method %q, want %s (%v)", man.ReasonsMethod, tc.want, err)
			}
			for _, r := range readPredictions(t, res.PredictionsDir) {
				if r.ReasonMethod != tc.want {
					t.Fatalf("customer %s: reason_method %q", r.ID, r.ReasonMethod)
				}
				if tc.want != ReasonsNone {
					continue
				}
				play := pb.Play(CategoryProfile, r.Stage)
				if r.Tier == "low" {
					play = *pb.LowRisk
				}
				if len(r.Reasons) != 0 || r.Action != play.Action || r.Role != play.OwnerRole {
					t.Fatalf("customer %s (%s): reasons %+v, action %q/%q; want none and %q/%q", r.ID, r.Tier, r.Reasons, r.Action, r.Role, play.Action, play.OwnerRole)
				}
			}
			for _, p := range res.Top {
				if p.ReasonMethod != tc.want || (tc.want == ReasonsNone) != (len(p.Reasons) == 0) {
					t.Fatalf("Top %s: method %q, %d reasons", p.CustomerID, p.ReasonMethod, len(p.Reasons))
				}
			}
			if res.Alerts == 0 {
				t.Fatal("no alerts to check")
			}
			jl, err := os.Open(filepath.Join(res.AlertsDir, AlertsJSONL))
			if err != nil {
				t.Fatal(err)
			}
			defer jl.Close()
			sc := bufio.NewScanner(jl)
			for sc.Scan() {
				var a struct {
					ReasonMethod *string  `json:"reason_method"`
					Reasons      []Reason `json:"reasons"`
				}
				if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
					t.Fatal(err)
				}
				if a.ReasonMethod == nil || *a.ReasonMethod != tc.want || (tc.want == ReasonsNone && len(a.Reasons) != 0) {
					t.Fatalf("alert %s", sc.Bytes())
				}
			}
			tab := outputTable(AlertColumns)
			af, err := data.OpenFile(filepath.Join(res.AlertsDir, AlertsParquet), tab, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer af.Close()
			var b data.Batch
			for rg := range af.NumRowGroups() {
				if err := af.ReadRowGroup(rg, nil, false, &b); err != nil {
					t.Fatal(err)
				}
				for r := range b.N {
					if got := b.Cols[tab.ColumnIndex("reason_method")].Str(r); got != tc.want {
						t.Fatalf("alerts.parquet row %d: reason_method %q", r, got)
					}
				}
			}
		})
	}
}

// TestReasonsMethod checks how a configured method resolves by the number
// of customers and the model's algorithm.
func TestReasonsMethod(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rc        ReasonsConfig
		customers int64
		algo      string
		want      string
		contrib   train.ContribMethod
	}{
		{"auto", ReasonsConfig{Method: ReasonsAuto}, 50_000_000, train.AlgoXGBoost, ReasonsExact, train.ContribExact},
		{"auto at the limit", ReasonsConfig{Method: ReasonsAuto, ExactMaxCustomers: 1000}, 1000, train.AlgoXGBoost, ReasonsExact, train.ContribExact},
		{"auto over the limit", ReasonsConfig{Method: ReasonsAuto, ExactMaxCustomers: 1000}, 1001, train.AlgoXGBoost, ReasonsApprox, train.ContribApprox},
		{"approx", ReasonsConfig{Method: ReasonsApprox}, 10, train.AlgoXGBoost, ReasonsApprox, train.ContribApprox},
		{"approx logreg is exact", ReasonsConfig{Method: ReasonsApprox}, 10, train.AlgoLogReg, ReasonsExact, train.ContribExact},
		{"auto over the limit logreg", ReasonsConfig{Method: ReasonsAuto, ExactMaxCustomers: 1}, 10, train.AlgoLogReg, ReasonsExact, train.ContribExact},
		{"none", ReasonsConfig{Method: ReasonsNone}, 10, train.AlgoXGBoost, ReasonsNone, train.ContribNone},
		{"none logreg", ReasonsConfig{Method: ReasonsNone}, 10, train.AlgoLogReg, ReasonsNone, train.ContribNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, c := reasonsMethod(tc.rc, tc.customers, tc.algo)
			if m != tc.want || c != tc.contrib {
				t.Errorf("got %s/%v, want %s/%v", m, c, tc.want, tc.contrib)
			}
		})
	}
}
