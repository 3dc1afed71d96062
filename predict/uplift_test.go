package predict

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/train"
)

// TestRankBySavedMRR checks the saved-MRR order: the customers risk
// targeted (high and medium) first, persuadables before sure things and
// lost causes, unknown revenue as 0, do-not-disturbs last among them, ties
// by risk; the low tier after them by risk. High is refilled from that
// order with as many customers as its rule admits.
func TestRankBySavedMRR(t *testing.T) {
	nan := math.NaN()
	recs := []customerScore{
		{id: "sure", prob: 0.9, uplift: 0.001, annual: 12000},      // saved 1
		{id: "persuadable", prob: 0.4, uplift: 0.2, annual: 12000}, // saved 200
		{id: "lost", prob: 0.95, uplift: 0, annual: 24000},         // saved 0
		{id: "unknown", prob: 0.6, uplift: 0.3, annual: nan},       // unknown: 0
		{id: "disturb", prob: 0.5, uplift: -0.05, annual: 12000},   // saved -50
		{id: "small", prob: 0.35, uplift: 0.1, annual: 1200},       // saved 10
		{id: "low", prob: 0.05, uplift: 0.5, annual: 120000},       // the low tier
	}
	s := &scoring{recs: recs}
	tiers := Tiers{High: TierRule{MaxAccounts: 2, MinProbability: ptr(0.38)}, Medium: TierRule{MaxAccounts: 4}}
	if tc := assignTiers(recs, s.rank(), tiers); tc != (TierCounts{High: 2, Medium: 4, Low: 1}) {
		t.Fatalf("risk tiers %+v", tc)
	}
	s.untargetedUplift()
	if !math.IsNaN(recs[6].uplift) || recs[1].uplift != 0.2 {
		t.Errorf("uplift of the low tier %v, of a targeted customer %v", recs[6].uplift, recs[1].uplift)
	}
	order, tc := s.rankBySaved(tiers)
	var got []string
	for k, i := range order {
		got = append(got, recs[i].id+"="+tierNames[recs[i].tier])
		if recs[i].rank != int32(k+1) {
			t.Errorf("%s has rank %d at %d", recs[i].id, recs[i].rank, k+1)
		}
	}
	// small (0.35) is below high's floor: passed over for sure.
	if want := "persuadable=high small=medium sure=high lost=medium unknown=medium disturb=medium low=low"; strings.Join(got, " ") != want {
		t.Errorf("order %v\nwant  %s", got, want)
	}
	if tc != (TierCounts{High: 2, Medium: 4, Low: 1}) {
		t.Errorf("counts %+v", tc)
	}
}

// fixtureUplift fits an uplift model on the fixture's training table with
// groups and plays drawn by a hash: it has nothing to learn, so it is not
// trusted.
var fixtureUplift = sync.OnceValues(func() (*train.UpliftModel, error) {
	tab, err := features.ReadTable(context.Background(), filepath.Join(testRoot, "train.parquet"))
	if err != nil {
		return nil, err
	}
	u := train.UpliftUnits{Table: tab}
	e := data.Experiment{Seed: 3, Share: 0.3}
	for _, id := range tab.IDs {
		play := [...]string{"usage", "support"}[len(id)%2]
		u.Play = append(u.Play, play)
		u.Treated = append(u.Treated, e.Group(play, id) == data.GroupTreat)
	}
	return train.FitUplift(context.Background(), u, train.UpliftParams{Boost: train.Params{Rounds: 20, Seed: 2}, Bootstrap: 100}, train.UpliftOptions{})
})

// TestRunUplift checks predict with an uplift model: an untrusted one is
// ignored (null columns, ranking by risk, the reason in the manifest); a
// trusted one fills expected_uplift (the churn probability times the
// model's relative risk reduction for the customer's play) and
// expected_mrr_saved, and rank_by saved_mrr orders the rows by it.
func TestRunUplift(t *testing.T) {
	f := getFixture(t)
	m, err := fixtureUplift()
	if err != nil {
		t.Fatal(err)
	}
	trusted := *m
	trusted.Card.Validation.Trusted = true
	untrusted := *m
	untrusted.Card.Validation.Trusted = false
	tab := f.table(t, asOfB)
	for _, tt := range []struct {
		name   string
		model  *train.UpliftModel
		rankBy string
	}{
		{"untrusted is ignored", &untrusted, RankBySavedMRR},
		{"trusted, ranked by risk", &trusted, RankByRisk},
		{"trusted, ranked by saved MRR", &trusted, RankBySavedMRR},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := f.options(t.TempDir(), asOfB)
			opt.Uplift = tt.model
			opt.Config.RankBy = tt.rankBy
			res, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatal(err)
			}
			rows := readPredictions(t, res.PredictionsDir)
			raw, err := os.ReadFile(filepath.Join(res.PredictionsDir, ManifestFile))
			if err != nil {
				t.Fatal(err)
			}
			var man Manifest
			if err := json.Unmarshal(raw, &man); err != nil {
				t.Fatal(err)
			}
			used := tt.model.Card.Validation.Trusted
			wantBy := tt.rankBy
			if !used {
				wantBy = RankByRisk
			}
			if res.RankBy != wantBy || man.RankBy != wantBy || man.Uplift == nil || man.Uplift.Used != used || (man.Uplift.Note == "") == !used {
				t.Fatalf("rank_by %s (manifest %s), uplift %+v", res.RankBy, man.RankBy, man.Uplift)
			}
			plays := make([]string, tab.Len())
			prev := math.Inf(1)
			for k, r := range rows {
				if !used || r.Tier == "low" {
					if !math.IsNaN(r.Uplift) || !math.IsNaN(r.Saved) {
						t.Fatalf("%s (%s): expected_uplift %v without a trusted model or a play", r.ID, r.Tier, r.Uplift)
					}
					if r.Tier == "low" && tt.rankBy == RankBySavedMRR {
						prev = math.Inf(-1) // the low tier follows the targeted customers
					}
					continue
				}
				if prev == math.Inf(-1) {
					t.Fatalf("row %d (%s): a targeted customer after the low tier", k, r.ID)
				}
				i := tab.Lookup(r.ID, asOfB)
				if i < 0 {
					t.Fatalf("customer %s is not in the independent table", r.ID)
				}
				play := noReasonCategory
				if len(r.Reasons) > 0 {
					play = r.Reasons[0].Category
				}
				if r.Play != "" && r.Play != play {
					t.Fatalf("%s: play %s, top reason's category %s", r.ID, r.Play, play)
				}
				plays[i] = play
				want, err := m.Score(context.Background(), tab, plays, []int{i})
				if err != nil {
					t.Fatal(err)
				}
				if w := r.Prob * want.RRR[0]; math.Abs(r.Uplift-w) > 1e-12 {
					t.Fatalf("%s: expected_uplift %v, want churn_probability × the model's RRR %v for play %s", r.ID, r.Uplift, w, play)
				}
				if saved := r.Uplift * r.Annual / 12; !(math.Abs(r.Saved-saved) < 1e-9 || math.IsNaN(r.Saved) && math.IsNaN(r.Annual)) {
					t.Fatalf("%s: expected_mrr_saved %v, want %v", r.ID, r.Saved, saved)
				}
				if tt.rankBy == RankBySavedMRR {
					s := r.Saved
					if math.IsNaN(s) {
						s = 0
					}
					if s > prev {
						t.Fatalf("row %d (%s): saved %v after %v: not in saved-MRR order", k, r.ID, s, prev)
					}
					prev = s
				}
				if r.Rank != int64(k+1) {
					t.Fatalf("row %d has rank %d", k, r.Rank)
				}
			}
		})
	}
}
