package eval

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// TestTopAccountsControl lists the accounts to call with an experiment:
// the same accounts in the same order as without one, control accounts
// marked in report.json, report.md and report.html and never counted as
// accounts to call, each placed by its top reason's play.
func TestTopAccountsControl(t *testing.T) {
	f := loadFixture(t)
	cfg := goldenConfig()
	cfg.TopAccounts = 40
	cfg.Backtest.Disabled = true
	exp := data.Experiment{Seed: 3, Cohort: "test", Share: 0.3}
	spec := f.table.Spec
	var calls int
	group := func(id string, top int) (string, string) {
		calls++
		play := "none"
		if top >= 0 {
			play = spec.Features[top].Group
		}
		return play, exp.Group(play, id)
	}
	run := func(g func(string, int) (string, string)) *Report {
		t.Helper()
		r, err := Run(context.Background(), Options{Model: f.model, Table: f.table, Config: cfg, Group: g})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	plain, r := run(nil), run(group)
	ta := r.TopAccounts
	if calls != len(ta.Accounts) || len(ta.Accounts) != 40 {
		t.Fatalf("%d accounts listed, Group called %d times", len(ta.Accounts), calls)
	}
	if p := plain.TopAccounts; p.ToCall != 40 || p.Control != 0 || p.Accounts[0].Group != "" || p.Accounts[0].Play != "" {
		t.Errorf("without an experiment every account is to call: %d to call, %d control, first %+v", p.ToCall, p.Control, p.Accounts[0])
	}
	control := 0
	for i, a := range ta.Accounts {
		if b := plain.TopAccounts.Accounts[i]; a.CustomerID != b.CustomerID || a.Rank != b.Rank {
			t.Fatalf("rank %d: %s with an experiment, %s without: the listing must not change", a.Rank, a.CustomerID, b.CustomerID)
		}
		wantPlay := "none"
		if len(a.Reasons) > 0 {
			wantPlay = spec.Features[slices.Index(spec.Names(), a.Reasons[0].Feature)].Group
		}
		if a.Play != wantPlay || a.Group != exp.Group(wantPlay, a.CustomerID) {
			t.Errorf("account %s: play %q group %q; its top reason says play %q", a.CustomerID, a.Play, a.Group, wantPlay)
		}
		if a.Group == data.GroupControl {
			control++
		}
	}
	if control == 0 || control == 40 || ta.Control != control || ta.ToCall != 40-control {
		t.Fatalf("%d control accounts; report says %d to call, %d control", control, ta.ToCall, ta.Control)
	}
	if n := strings.Count(string(r.Markdown()), "(control — do not contact)"); n != controlIn(ta.Accounts[:10]) {
		t.Errorf("report.md marks %d accounts; %d of its 10 are control", n, controlIn(ta.Accounts[:10]))
	}
	html, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(html, []byte(`<tr class="control">`)); n != control {
		t.Errorf("report.html marks %d rows, want %d", n, control)
	}
	if !bytes.Contains(html, []byte("40 highest churn probabilities")) || !bytes.Contains(html, []byte(fmt.Sprintf(": %d to call; %d in the control group", 40-control, control))) {
		t.Errorf("report.html does not count the accounts to call apart from the control ones")
	}
}

func controlIn(as []Account) int {
	n := 0
	for _, a := range as {
		if a.Group == data.GroupControl {
			n++
		}
	}
	return n
}
