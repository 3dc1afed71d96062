// Command predictbench times model scoring alone on a feature table, with
// the feature computation and the writing left out: train.Model.ScoreWith
// without contributions, with approximate (Saabas) and exact (TreeSHAP)
// contributions, against XGBoost's own prediction on the same matrix
// (internal/xgb: Booster.Predict, with and without building the DMatrix).
// It writes the matrix and the margins for bench/xgb_predict.py, which
// times Python's XGBoost on the very same matrix. Used by bench/predict.sh.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/xgb"
	"github.com/churnlab/churn/train"
)

func main() {
	featPath := flag.String("features", "", "feature table (churn features --label none)")
	modelDir := flag.String("model", "", "model directory (xgboost)")
	outDir := flag.String("out", "", "folder for matrix.f32, margins.f32 and shape.json (for bench/xgb_predict.py)")
	exactRows := flag.Int("exact-rows", 20000, "rows scored with exact contributions (TreeSHAP is slow; the rate is extrapolated)")
	flag.Parse()
	if err := run(*featPath, *modelDir, *outDir, *exactRows); err != nil {
		fmt.Fprintln(os.Stderr, "predictbench:", err)
		os.Exit(1)
	}
}

func run(featPath, modelDir, outDir string, exactRows int) error {
	ctx := context.Background()
	t0 := time.Now()
	tab, err := features.ReadTable(ctx, featPath)
	if err != nil {
		return err
	}
	fmt.Printf("read %d rows × %d features in %.2fs\n", tab.Len(), len(tab.Spec.Features), time.Since(t0).Seconds())
	m, err := train.Load(modelDir)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Manifest.Algo != train.AlgoXGBoost {
		return fmt.Errorf("the model is %s; the comparison needs xgboost", m.Manifest.Algo)
	}
	n := tab.Len()
	type row struct {
		what string
		rows int
		d    time.Duration
	}
	var rows []row
	timeIt := func(what string, rowsN int, f func() error) error {
		start := time.Now()
		if err := f(); err != nil {
			return err
		}
		rows = append(rows, row{what, rowsN, time.Since(start)})
		return nil
	}

	var sc *train.Scores
	if err := timeIt("train.Model.ScoreWith, no contributions (encode + DMatrix + predict + calibrate)", n, func() (err error) {
		sc, err = m.ScoreWith(ctx, tab, nil, train.ScoreOptions{})
		return err
	}); err != nil {
		return err
	}
	var X []float32
	if err := timeIt("features.Encoder.Matrix (encode only)", n, func() error {
		X, _ = m.Manifest.Encoder.Matrix(tab, nil)
		return nil
	}); err != nil {
		return err
	}
	p := len(m.Manifest.Encoder.Columns)
	raw, err := os.ReadFile(filepath.Join(modelDir, train.BoosterFile))
	if err != nil {
		return err
	}
	b, err := xgb.LoadBoosterJSON(raw)
	if err != nil {
		return err
	}
	defer b.Close()
	var dm *xgb.DMatrix
	if err := timeIt("xgb.NewDMatrix (copy into XGBoost)", n, func() (err error) {
		dm, err = xgb.NewDMatrix(X, n, p)
		return err
	}); err != nil {
		return err
	}
	defer dm.Close()
	var margins []float32
	if err := timeIt("xgb.Booster.Predict, margins, on the built DMatrix", n, func() (err error) {
		margins, _, err = b.Predict(dm, xgb.PredictOptions{Margin: true, IterationEnd: m.Manifest.Rounds})
		return err
	}); err != nil {
		return err
	}
	maxDiff := 0.0
	for i, v := range margins {
		maxDiff = math.Max(maxDiff, math.Abs(float64(v)-sc.Margin[i]))
	}
	if err := timeIt("train.Model.ScoreWith, approx (Saabas) contributions", n, func() error {
		_, err := m.ScoreWith(ctx, tab, nil, train.ScoreOptions{Contrib: train.ContribApprox})
		return err
	}); err != nil {
		return err
	}
	k := min(exactRows, n)
	sample := make([]int, k)
	for i := range sample {
		sample[i] = i * (n / k)
	}
	if err := timeIt("train.Model.ScoreWith, exact (TreeSHAP) contributions", k, func() error {
		_, err := m.ScoreWith(ctx, tab, sample, train.ScoreOptions{Contrib: train.ContribExact})
		return err
	}); err != nil {
		return err
	}

	fmt.Printf("model: %d rounds, %d encoded columns; Go margins vs Booster.Predict: max |diff| %.3g\n\n", m.Manifest.Rounds, p, maxDiff)
	fmt.Printf("%-80s %10s %10s %12s\n", "step", "rows", "seconds", "rows/s")
	for _, r := range rows {
		fmt.Printf("%-80s %10d %10.3f %12.0f\n", r.what, r.rows, r.d.Seconds(), float64(r.rows)/r.d.Seconds())
	}
	base := rows[3].d.Seconds() / float64(rows[3].rows) // Booster.Predict per row
	fmt.Printf("\nper-row cost relative to xgb.Booster.Predict on a built DMatrix:\n")
	for _, r := range rows {
		fmt.Printf("  %-78s %8.2f×\n", r.what, r.d.Seconds()/float64(r.rows)/base)
	}

	if outDir == "" {
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	if err := writeF32(filepath.Join(outDir, "matrix.f32"), X); err != nil {
		return err
	}
	if err := writeF32(filepath.Join(outDir, "margins.f32"), margins); err != nil {
		return err
	}
	shape, _ := json.Marshal(map[string]any{"rows": n, "cols": p, "rounds": m.Manifest.Rounds, "booster": filepath.Join(modelDir, train.BoosterFile),
		"go_predict_seconds": rows[3].d.Seconds(), "go_dmatrix_seconds": rows[2].d.Seconds(), "go_score_seconds": rows[0].d.Seconds()})
	return os.WriteFile(filepath.Join(outDir, "shape.json"), shape, 0o644)
}

func writeF32(path string, x []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := binary.Write(f, binary.LittleEndian, x); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
