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
	_, st, err := features.BuildFile(context.Background(), ds, features.BuildOptions{AsOf: dates, Label: features.LabelConfig{Mode: features.LabelAuto}}, *out)
	close(done)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d rows", st.Rows)
}
