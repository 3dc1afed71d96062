package imports

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/churnlab/churn/data"
)

// A CRM export of retention plays imports like the other event tables: it
// is sorted by customer and time, contacted takes yes/no, and a team's own
// holdout label maps to the contract's group vocabulary.
func TestImportInterventions(t *testing.T) {
	const mapping = `tables:
  customers:
    source: cust.csv
    columns: {customer_id: id}
  interventions:
    source: plays.csv
    columns:
      customer_id: account
      ts: {from: when, format: "2006-01-02 15:04"}
      play: play
      owner: csm
      channel: channel
      group: {from: arm, values: {exp: treat, holdout: control, "none": null}}
      contacted: reached
`
	tests := []struct {
		name  string
		plays string
		want  []string // customer,ts,play,group,contacted,reached
		err   string
		row   int64
		col   string
	}{
		{
			name: "sorted, mapped and defaulted",
			plays: "account,when,play,csm,channel,arm,reached\n" +
				"b,2024-03-01 09:00,support,csm-02,call,exp,no\n" +
				"a,2024-02-01 10:00,usage,csm-01,meeting,exp,yes\n" +
				"a,2024-01-01 10:00,usage,,,holdout,\n" +
				"b,2024-01-15 09:00,onboarding_call,csm-02,email,none,\n",
			want: []string{
				"a,2024-01-01T10:00:00Z,usage,control,-1,false",
				"a,2024-02-01T10:00:00Z,usage,treat,1,true",
				"b,2024-01-15T09:00:00Z,onboarding_call,,-1,true",
				"b,2024-03-01T09:00:00Z,support,treat,0,false",
			},
		},
		{
			name:  "blank play",
			plays: "account,when,play,csm,channel,arm,reached\na,2024-01-01 10:00, ,,,exp,yes\n",
			err:   "interventions.play (STRING): is blank, but the column is required", row: 2, col: "play",
		},
		{
			name:  "group outside the vocabulary",
			plays: "account,when,play,csm,channel,arm,reached\na,2024-01-01 10:00,usage,,,maybe,yes\n",
			err:   "not one of the values the mapping lists", row: 2, col: "arm",
		},
		{
			name:  "contacted not a boolean",
			plays: "account,when,play,csm,channel,arm,reached\na,2024-01-01 10:00,usage,,,exp,perhaps\n",
			err:   "interventions.contacted (BOOLEAN)", row: 2, col: "reached",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, out, err := runMapping(t, mapping, map[string]string{"cust.csv": "id\na\nb\n", "plays.csv": tt.plays})
			if tt.err != "" {
				var ie *data.InputError
				if !errors.As(err, &ie) || !strings.Contains(err.Error(), tt.err) || ie.Row != tt.row || ie.Column != tt.col {
					t.Fatalf("err = %v; want an *data.InputError at row %d column %q saying %q", err, tt.row, tt.col, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := sum.Table(data.Interventions).Rows; n != int64(len(tt.want)) {
				t.Errorf("summary: %d rows, want %d", n, len(tt.want))
			}
			ds, err := data.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer ds.Close()
			rows, err := ds.ReadInterventions(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, strings.Join([]string{r.CustomerID, r.TS.String(), r.Play, r.Group,
					map[int8]string{-1: "-1", 0: "0", 1: "1"}[r.Contacted], map[bool]string{true: "true", false: "false"}[r.Reached()]}, ","))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
