// Command evalbench times the evaluation step of the nightly job on its own:
// it reads a feature table and a model as `churn eval` does, runs eval.Run
// (optionally under a CPU profile) and reports each phase's time from the
// log, the whole call's time, and the Go heap: live before the call (the
// table and models) and its peak during it, sampled every 20 ms, so that
// what eval.Run itself holds shows apart from the table it is given.
//
//	evalbench -table F.parquet -model DIR [-config eval.yaml] [-as-of DATE]
//	          [-out DIR] [-cpuprofile FILE]
//
// Measure its peak RSS with /usr/bin/time -v. The table and model of the
// measurements in docs/eval.md come from
//
//	churn features --data bench/out/gen200k --snapshots 2023-10-29:2024-09-01:28d --out f.parquet
//	churn train --features f.parquet --holdout 0.2 --seed 1 --model m
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/eval"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/predict"
	"github.com/churnlab/churn/train"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "evalbench:", err)
		os.Exit(1)
	}
}

func run() error {
	table := flag.String("table", "", "feature table (churn features)")
	model := flag.String("model", "", "model directory (churn train)")
	config := flag.String("config", "", "eval config YAML (default: the defaults)")
	asOf := flag.String("as-of", "", "the run's as-of date (eval.Options.AsOf); default none")
	out := flag.String("out", "", "write the report here")
	cpu := flag.String("cpuprofile", "", "write a CPU profile of eval.Run here")
	mem := flag.String("memprofile", "", "write a heap profile (allocations during eval.Run) here")
	flag.Parse()
	if *table == "" || *model == "" {
		return fmt.Errorf("-table and -model are required")
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg := eval.DefaultConfig()
	if *config != "" {
		var err error
		if cfg, err = eval.LoadConfig(*config); err != nil {
			return err
		}
	}
	var date *data.Date
	if *asOf != "" {
		d, err := data.ParseDate(*asOf)
		if err != nil {
			return err
		}
		date = &d
	}
	t0 := time.Now()
	m, err := train.Load(*model)
	if err != nil {
		return err
	}
	defer m.Close()
	tab, err := features.ReadTable(ctx, *table)
	if err != nil {
		return err
	}
	log.Info("loaded", "rows", tab.Len(), "seconds", time.Since(t0).Seconds())
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *mem != "" {
		runtime.MemProfileRate = 64 << 10
	}
	runtime.GC()
	before := heapBytes()
	peak, stop := watchHeap()
	t1 := time.Now()
	rep, err := eval.Run(ctx, eval.Options{Model: m, Table: tab, Config: cfg, Logger: log, AsOf: date,
		Explain: predict.NewExplainer(m.Manifest.Spec).Text})
	close(stop)
	if err != nil {
		return err
	}
	if *mem != "" {
		runtime.GC() // the profile holds what was allocated up to the last collection
		f, err := os.Create(*mem)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	fmt.Printf("heap: %.0f MB live before eval.Run (table, model), peak %.0f MB during it (+%.0f MB)\n",
		float64(before)/1e6, float64(<-peak)/1e6, float64(<-peak-before)/1e6)
	fmt.Printf("eval.Run %.1f s: %d evaluated rows, AUC %.4f [%.4f, %.4f], backtest %s\n", time.Since(t1).Seconds(),
		rep.Data.EvaluatedRows, rep.Metrics.ROCAUC.Value.F(), rep.Metrics.ROCAUC.Lo.F(), rep.Metrics.ROCAUC.Hi.F(), rep.Backtest.Note)
	if *out != "" {
		return rep.Write(*out)
	}
	return nil
}

// heapBytes returns the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples heapBytes every 20 ms until stop is closed, then sends
// the highest value twice on peak.
func watchHeap() (peak chan uint64, stop chan struct{}) {
	peak, stop = make(chan uint64, 2), make(chan struct{})
	go func() {
		hi := heapBytes()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				hi = max(hi, heapBytes())
			case <-stop:
				hi = max(hi, heapBytes())
				peak <- hi
				peak <- hi
				return
			}
		}
	}()
	return peak, stop
}
