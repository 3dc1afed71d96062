// Command samplebench measures what training on a sample costs in ranking
// quality: it builds the nightly job's training snapshots of a dataset (as
// churn run does with examples/demo.yaml's settings), keeps the held-out
// customers' sample as the fixed evaluation rows, and for each
// training.max_rows trains the challenger as the nightly does and reports
// its ROC AUC on those rows against the full-data model's, with the
// training time and rows.
//
//	go run ./bench/samplebench -data bench/out/gen200k -max-rows 100000,200000,300000,0
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

func main() {
	dir := flag.String("data", "", "dataset")
	asOf := flag.String("as-of", "2024-12-01", "the run's as-of date")
	maxRows := flag.String("max-rows", "100000,200000,300000,0", "training.max_rows to compare (0: every row)")
	holdoutRows := flag.Int("holdout-rows", 250_000, "training.holdout.max_rows")
	threads := flag.Int("threads", 2, "XGBoost threads")
	flag.Parse()
	ds, err := data.Open(*dir)
	if err != nil {
		log.Fatal(err)
	}
	defer ds.Close()
	T, err := data.ParseDate(*asOf)
	if err != nil {
		log.Fatal(err)
	}
	// The nightly's snapshots: 12 dates 28 days apart, the latest the last
	// whose 90-day window is observed by the day before the as-of date.
	lc := features.LabelConfig{Mode: features.LabelAuto, Horizon: 90, DataEnd: T.AddDays(-1)}
	lc.EnsureDefaults()
	last := lc.Spec().LastLabelledAsOf(lc.DataEnd)
	var dates []data.Date
	for k := 11; k >= 0; k-- {
		dates = append(dates, last.AddDays(-28*k))
	}
	ho := &features.Holdout{Share: 0.2}
	p := train.Params{Algo: train.AlgoXGBoost, Seed: 1, Threads: *threads}
	fmt.Printf("%-10s %10s %10s %8s %8s %8s\n", "max_rows", "rows", "churned", "fit s", "AUC", "vs full")
	var evalIDs []string
	var evalRows *features.Table
	type result struct {
		max, rows, pos int
		secs, auc      float64
	}
	var res []result
	for _, s := range strings.Split(*maxRows, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			log.Fatal(err)
		}
		sample := &features.Sample{Seed: p.Seed, Strata: []features.Stratum{
			{Name: "evaluation", Match: ho.HeldOut, MaxRows: *holdoutRows},
			{Name: "training", ByLabel: true, MaxRows: n},
		}}
		tab, sst, _, err := features.BuildTable(context.Background(), ds, features.BuildOptions{AsOf: dates, Label: lc}, sample)
		if err != nil {
			log.Fatal(err)
		}
		var ev []int
		for i, id := range tab.IDs {
			if ho.HeldOut(id) {
				ev = append(ev, i)
			}
		}
		if evalRows == nil {
			evalRows = tab.Rows(ev)
			evalIDs = evalRows.IDs
		} else if len(ev) != evalRows.Len() || tab.IDs[ev[0]] != evalIDs[0] {
			log.Fatal("the evaluation rows differ between samples")
		}
		start := time.Now()
		m, err := train.Fit(context.Background(), tab, p, train.FitOptions{Holdout: ho})
		if err != nil {
			log.Fatal(err)
		}
		secs := time.Since(start).Seconds()
		sc, err := m.Score(context.Background(), evalRows, nil, false)
		if err != nil {
			log.Fatal(err)
		}
		m.Close()
		auc := metrics.AUC(sc.Prob, evalRows.Label, nil)
		st := sst.Strata[1]
		res = append(res, result{n, int(st.Kept), int(st.KeptPositives), secs, auc})
		fmt.Fprintf(os.Stderr, "max_rows %d: %s\n", n, st)
	}
	full := res[len(res)-1].auc
	for _, r := range res {
		fmt.Printf("%-10d %10d %10d %8.1f %8.4f %+8.4f\n", r.max, r.rows, r.pos, r.secs, r.auc, r.auc-full)
	}
	fmt.Printf("evaluation rows: %d held-out rows (the same for every model)\n", evalRows.Len())
}
