// Command predictbench times model scoring alone on a feature table, with
// the feature computation and the writing left out: train.Model.ScoreWith
// without contributions, with approximate (Saabas) and exact (TreeSHAP)
// contributions (computed in Go by xgbtree.Explainer), against XGBoost's own
// prediction and contributions on the same matrix (internal/xgb:
// Booster.Predict, with and without building the DMatrix; XGBoost's
// TreeSHAP on a sample of -exact-rows rows, it is slow), and checks that
// the contributions are XGBoost's to the bit. It writes the matrix and the
// margins for bench/xgb_predict.py, which times Python's XGBoost on the
// very same matrix. Used by bench/predict.sh.
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
	exactRows := flag.Int("exact-rows", 20000, "rows given XGBoost's own TreeSHAP (slow; the rate is extrapolated)")
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
	if err := timeIt("train.Model.ScoreWith, no contributions (encode + Go margins + calibrate)", n, func() (err error) {
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
	var approx, exact *train.Scores
	if err := timeIt("train.Model.ScoreWith, approx (Saabas) contributions, Go explainer", n, func() (err error) {
		approx, err = m.ScoreWith(ctx, tab, nil, train.ScoreOptions{Contrib: train.ContribApprox})
		return err
	}); err != nil {
		return err
	}
	if err := timeIt("train.Model.ScoreWith, exact (TreeSHAP) contributions, Go explainer", n, func() (err error) {
		exact, err = m.ScoreWith(ctx, tab, nil, train.ScoreOptions{Contrib: train.ContribExact})
		return err
	}); err != nil {
		return err
	}
	var xApprox []float32
	if err := timeIt("xgb.Booster.Predict, approx_contribs (XGBoost's Saabas), built DMatrix", n, func() (err error) {
		xApprox, _, err = b.Predict(dm, xgb.PredictOptions{Contribs: true, ApproxContribs: true, IterationEnd: m.Manifest.Rounds})
		return err
	}); err != nil {
		return err
	}
	k := min(exactRows, n)
	step := n / k
	Xs := make([]float32, 0, k*p)
	for i := range k {
		Xs = append(Xs, X[i*step*p:(i*step+1)*p]...)
	}
	ds, err := xgb.NewDMatrix(Xs, k, p)
	if err != nil {
		return err
	}
	defer ds.Close()
	var xExact []float32
	if err := timeIt("xgb.Booster.Predict, pred_contribs (XGBoost's TreeSHAP), sample", k, func() (err error) {
		xExact, _, err = b.Predict(ds, xgb.PredictOptions{Contribs: true, IterationEnd: m.Manifest.Rounds})
		return err
	}); err != nil {
		return err
	}
	// The Go explainer's contributions are XGBoost's, summed per feature.
	featOf := m.Manifest.Encoder.FeatureOf()
	nf := len(tab.Spec.Features)
	differ := func(got *train.Scores, want []float32, row func(i int) int, rows int) int {
		bad := 0
		for i := range rows {
			sum := make([]float64, nf+1)
			for j := range p {
				sum[featOf[j]] += float64(want[i*(p+1)+j])
			}
			sum[nf] = float64(want[i*(p+1)+p])
			for f, v := range sum {
				if got.Contrib[row(i)][f] != v {
					bad++
					break
				}
			}
		}
		return bad
	}
	badApprox := differ(approx, xApprox, func(i int) int { return i }, n)
	badExact := differ(exact, xExact, func(i int) int { return i * step }, k)

	fmt.Printf("model: %d rounds, %d encoded columns; Go margins vs Booster.Predict: max |diff| %.3g\n", m.Manifest.Rounds, p, maxDiff)
	fmt.Printf("rows whose contributions differ from XGBoost's in any bit: approx %d of %d, exact %d of %d (sample)\n\n", badApprox, n, badExact, k)
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
