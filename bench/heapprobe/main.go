// heapprobe builds a feature table and writes a heap profile at the point
// of peak live heap (sampled every 200 ms): an investigation tool.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
)

func main() {
	dir := flag.String("data", "", "dataset")
	out := flag.String("out", "/tmp/hp.parquet", "table")
	prof := flag.String("prof", "/tmp/heap.prof", "heap profile")
	inMemory := flag.Bool("table", false, "build the nightly's sampled table in memory instead of a file")
	flag.Parse()
	ds, err := data.Open(*dir)
	if err != nil {
		log.Fatal(err)
	}
	var dates []data.Date
	for d := data.MakeDate(2023, 10, 29); d <= data.MakeDate(2024, 9, 1); d = d.AddDays(28) {
		dates = append(dates, d)
	}
	done := make(chan struct{})
	go func() {
		var best uint64
		for {
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > best {
				best = ms.HeapAlloc
				f, _ := os.Create(*prof)
				pprof.WriteHeapProfile(f)
				f.Close()
				log.Printf("heap %d MB", best>>20)
			}
		}
	}()
	opt := features.BuildOptions{AsOf: dates, Label: features.LabelConfig{Mode: features.LabelAuto}}
	var st features.Stats
	if *inMemory {
		ho := features.Holdout{Share: 0.2}
		s := &features.Sample{Strata: []features.Stratum{{Name: "evaluation", Match: ho.HeldOut, MaxRows: 250_000}, {Name: "training", ByLabel: true, MaxRows: 300_000}}}
		var t *features.Table
		t, _, st, err = features.BuildTable(context.Background(), ds, opt, s)
		log.Printf("%d rows kept", t.Len())
	} else {
		_, st, err = features.BuildFile(context.Background(), ds, opt, *out)
	}
	close(done)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d rows", st.Rows)
}
