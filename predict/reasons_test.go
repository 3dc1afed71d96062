package predict

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

// fullDataset writes a one-customer dataset with every table and column of
// the contract (optional values null), so that a spec over it has every
// fixed feature.
func fullDataset(t *testing.T) *data.Dataset {
	t.Helper()
	dir := t.TempDir()
	for _, tab := range data.Contract {
		cols := data.Specs(tab)
		vecs := make([]data.Vec, len(cols))
		for i, c := range tab.Columns {
			v := data.NewVec(c.Type)
			if !c.Required {
				v.AppendNull()
				vecs[i] = v
				continue
			}
			switch c.Type {
			case data.TypeString:
				s := "C1"
				if c.Name != data.KeyColumn && len(c.Values) > 0 {
					s = c.Values[0]
				} else if c.Name != data.KeyColumn {
					s = "x"
				}
				v.AppendString(s)
			case data.TypeDate:
				v.AppendDate(data.MakeDate(2024, 1, 1))
			case data.TypeTimestamp:
				v.AppendTime(data.MakeDate(2024, 1, 1).Start())
			case data.TypeInt64:
				v.AppendInt(1)
			case data.TypeFloat64:
				v.AppendFloat(1)
			case data.TypeBool:
				v.AppendBool(false)
			}
			vecs[i] = v
		}
		f, err := os.Create(filepath.Join(dir, tab.Name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := data.NewWriter(f, cols, data.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(1, vecs); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	ds, err := data.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// TestTemplatesCoverEveryFeature checks that every fixed feature, with
// default and other windows, has its own template, and that every
// template renders typical, edge and missing values as clean text.
func TestTemplatesCoverEveryFeature(t *testing.T) {
	ds := fullDataset(t)
	for _, cfg := range []features.Config{{}, {Short: 14, Medium: 60, Long: 120, TrendWeeks: 8}} {
		spec, _, err := features.NewSpec(ds, cfg, features.LabelConfig{Mode: features.LabelNone})
		if err != nil {
			t.Fatal(err)
		}
		if len(spec.Features) < 50 {
			t.Fatalf("only %d features in the spec: %v", len(spec.Features), spec.Names())
		}
		r := newRenderer(spec, DefaultPlaybook())
		vals := []float64{0, 1, 2, 0.55, 1.3, -4, 41, 2500, math.NaN()}
		strs := []string{"renewal", "basic", ""}
		n := len(vals)
		tab := &features.Table{Spec: spec, Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features)), IDs: make([]string, n)}
		for i, d := range spec.Features {
			if d.Kind == features.Categorical {
				tab.Cat[i] = make([]string, n)
				for k := range n {
					tab.Cat[i][k] = strs[k%len(strs)]
				}
			} else {
				tab.Num[i] = vals
			}
		}
		for i, d := range spec.Features {
			if d.Group == "attributes" {
				continue
			}
			if r.tmpl[i] == nil {
				t.Errorf("feature %s (windows %d/%d/%d) has no reason template", d.Name, spec.Config.Short, spec.Config.Medium, spec.Config.Long)
				continue
			}
			if r.cat[i] == CategoryProfile && d.Group != "lifecycle" {
				t.Errorf("feature %s (group %s) maps to the profile category", d.Name, d.Group)
			}
			for k := range n {
				s := r.text(i, tableRow{r: r, tab: tab, row: k})
				if s == "" || strings.Contains(s, "%!") || strings.Contains(s, "NaN") || strings.Contains(s, "Inf") || strings.Contains(s, "unknown (") {
					t.Errorf("%s = %v: text %q", d.Name, vals[k], s)
				}
			}
		}
	}
}

// TestReasonTexts pins the wording of typical reasons.
func TestReasonTexts(t *testing.T) {
	ds := fullDataset(t)
	spec, _, err := features.NewSpec(ds, features.Config{}, features.LabelConfig{Mode: features.LabelNone})
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(spec, DefaultPlaybook())
	tests := []struct {
		feature string
		num     float64
		str     string
		others  map[string]float64
		want    string
	}{
		{"active_users_ratio_30d", 0.55, "", nil, "active users down 45% vs the previous 30 days"},
		{"active_users_ratio_30d", 1.2, "", nil, "active users up 20% vs the previous 30 days"},
		{"active_users_trend_12w", -0.05, "", nil, "active users falling 5% a week over the last 12 weeks"},
		{"late_payments_90d", 3, "", nil, "3 late payments in the last 90 days"},
		{"late_payments_90d", 1, "", nil, "1 late payment in the last 90 days"},
		{"late_payments_90d", 0, "", nil, "no late payments in the last 90 days"},
		{"nps_last", 4, "", map[string]float64{"nps_change": -5}, "NPS 4 (detractor), down 5 points"},
		{"nps_detractor", 1, "", map[string]float64{"nps_last": 3, "nps_change": -2}, "NPS 3 (detractor), down 2 points"},
		{"nps_last", 9, "", map[string]float64{"nps_change": math.NaN()}, "NPS 9 (promoter)"},
		{"nps_last", math.NaN(), "", nil, "no NPS answer on record"},
		{"days_to_renewal", 41, "", nil, "renewal in 41 days"},
		{"days_to_renewal", -12, "", nil, "contract ended 12 days ago"},
		{"utilisation", 0.347, "", nil, "35% of licensed seats in use"},
		{"mrr_change_90d_pct", -30, "", nil, "monthly revenue down 30% in the last 90 days"},
		{"stakeholder_changes_90d", 2, "", nil, "2 key stakeholder changes in the last 90 days"},
		{"cancel_page_views_30d", 3, "", nil, "visited the cancellation page 3 times in the last 30 days"},
		{"training_views_90d", 0, "", nil, "no training material viewed in the last 90 days"},
		{"interactions_30d_vs_prior", 0.4, "", nil, "fewer interactions than usual in the last 30 days (40% of the usual rate)"},
		{"tickets_trend", 2.5, "", nil, "tickets at 2.5× the usual rate in the last 30 days"},
		{"low_csat_90d", 2, "", nil, "2 tickets rated 2 or lower for satisfaction in the last 90 days"},
		{"mrr", 12345.6, "", nil, "monthly revenue 12,346"},
		{"tenure_days", 45, "", nil, "customer for 45 days"},
		{"tenure_days", 400, "", nil, "customer for 13 months"},
		{"lifecycle_stage", 0, "renewal", nil, "in the renewal window (contract ends within 90 days)"},
		{"plan", 0, "basic", nil, "on the basic plan"},
		{"days_past_due", 12, "", nil, "an invoice 12 days past due"},
		{"order_rate_ratio_90d", 0.5, "", nil, "ordering 50% less often than usual in the last 90 days"},
		{"p_alive", 0.237, "", nil, "24% likely to still be buying, given how often and how recently they bought"},
		{"expected_purchases_90d", 1.26, "", nil, "expected to buy on 1.3 days in the next 90 days"},
		{"expected_purchases_90d", 0.04, "", nil, "not expected to buy in the next 90 days"},
		{"clv", 1234.6, "", nil, "expected to spend 1,235 in the next 12 months (lifetime value)"},
		{"clv", math.NaN(), "", nil, "no order history on record"},
	}
	for _, tt := range tests {
		t.Run(tt.feature+"/"+tt.want, func(t *testing.T) {
			tab := &features.Table{Spec: spec, Num: make([][]float64, len(spec.Features)), Cat: make([][]string, len(spec.Features)), IDs: []string{"C1"}}
			for i, d := range spec.Features {
				if d.Kind == features.Categorical {
					tab.Cat[i] = []string{""}
				} else {
					tab.Num[i] = []float64{math.NaN()}
				}
			}
			i, ok := r.byName[tt.feature]
			if !ok {
				t.Fatalf("no feature %s", tt.feature)
			}
			if tab.Cat[i] != nil {
				tab.Cat[i][0] = tt.str
			} else {
				tab.Num[i][0] = tt.num
			}
			for name, x := range tt.others {
				tab.Num[r.byName[name]][0] = x
			}
			if got := r.text(i, tableRow{r: r, tab: tab, row: 0}); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTopReasons checks the choice of reasons: positive contributions
// only, largest first, ties by feature order, at most three.
func TestTopReasons(t *testing.T) {
	spec := &features.Spec{Features: []features.Def{{Name: "a", Group: "attributes"}, {Name: "b", Group: "attributes"}, {Name: "c", Group: "attributes"}, {Name: "d", Group: "attributes"}, {Name: "e", Group: "attributes"}}}
	r := newRenderer(spec, DefaultPlaybook())
	tab := &features.Table{Spec: spec, IDs: []string{"x"}, Num: [][]float64{{1}, {2}, {3}, {4}, {5}}, Cat: make([][]string, 5)}
	row := tableRow{r: r, tab: tab}
	for _, tt := range []struct {
		name    string
		contrib []float64
		want    []int16
	}{
		{"largest first", []float64{0.1, 0.5, 0.3, 0.2, 0.4}, []int16{1, 4, 2}},
		{"negative and zero skipped", []float64{-1, 0, 0.2, -0.5, 0}, []int16{2, -1, -1}},
		{"ties by feature order", []float64{0.3, 0.3, 0.3, 0.3, 0.1}, []int16{0, 1, 2}},
		{"none", []float64{-1, -1, -1, -1, -1}, []int16{-1, -1, -1}},
		{"NaN skipped", []float64{math.NaN(), 0.1, math.NaN(), 0.2, 0.3}, []int16{4, 3, 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out [MaxReasons]reasonRef
			r.top(tt.contrib, row, &out)
			for k := range out {
				if out[k].feat != tt.want[k] {
					t.Fatalf("got %v, want %v", out, tt.want)
				}
				if out[k].feat >= 0 && (out[k].text == "" || float64(out[k].contrib) != float64(float32(tt.contrib[out[k].feat]))) {
					t.Fatalf("reason %d: %+v", k, out[k])
				}
			}
		})
	}
}

func TestNumberFormats(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{decimal(1234567.891, 2), "1,234,567.89"},
		{decimal(-1234.5, 0), "-1,234"},
		{decimal(-0.001, 1), "0"},
		{decimal(999, 0), "999"},
		{decimal(2.50, 2), "2.5"},
		{money(36.5), "36.5"},
		{money(1500.4), "1,500"},
		{percent(0.999), "100%"},
		{duration(1000), "2.7 years"},
		{times(1), "once"},
		{count(2.5, "x", "xs"), "2.5 xs"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
