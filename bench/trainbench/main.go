// Command trainbench supports bench/train.sh, which times `churn train`
// end to end against Python (pandas + XGBoost) on the same synthetic data.
//
//	trainbench gen -rows N -features P -seed S -out DIR
//	    writes DIR/features.parquet (a churn feature table: the spec in the
//	    footer, two as-of dates) and the same rows as DIR/features.csv for
//	    pandas. Rows of the later date are the held-out rows on both sides.
//	trainbench fit -table F -model DIR [-cpuprofile FILE]
//	    runs what `churn train` runs (features.ReadTable, train.Fit, Model.Save)
//	    with the benchmark's parameters, timing each stage; with -cpuprofile
//	    it writes a pprof CPU profile.
//	trainbench auc -table F -model DIR -python-margins FILE
//	    scores the held-out rows with the saved churn model and reports the
//	    ROC AUC of churn's and Python's margins on them (same rows, same
//	    AUC code) and how far the margins are apart.
//	trainbench contrib -table F -model DIR [-score-rows N] [-out DIR]
//	    scores every row (or the first N) with exact contributions (train.Model.Score with
//	    contrib=true), timing the call; with -out it writes a sample of
//	    contributions for bench/xgb_contrib.py to compare.
//
// The synthetic data: each row has P numeric features of three shapes
// (normal, log-normal, small counts), some missing (10% in every fourth
// feature, 1% elsewhere). The churn risk is a nonlinear function of the
// first eight (a linear term, a U shape, a sine, an interaction, a step, an
// absolute value, a saturation, and "missing means risk" for the second)
// plus logistic noise; the 20% of rows with the highest noisy risk are
// labelled 1. The rest of the features are noise. Values are rounded to
// float32 so that pandas' CSV parser and the Parquet reader hand XGBoost
// the very same float32 matrix. Every row's values come from its own
// PCG stream seeded by (seed, row), so the output depends only on the flags.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"

	"github.com/churnlab/churn/data"
	"github.com/churnlab/churn/features"
	"github.com/churnlab/churn/internal/metrics"
	"github.com/churnlab/churn/train"
)

// The two snapshot dates: training rows are as of trainDate, held-out rows
// as of holdoutDate. The label horizon (90 days) ends before holdoutDate,
// so churn's out-of-time split trains on every trainDate row.
const (
	trainDate   = "2024-01-01"
	holdoutDate = "2024-07-01"
	horizonDays = 90
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: trainbench gen|fit|auc|contrib [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("trainbench "+os.Args[1], flag.ExitOnError)
	rows := fs.Int("rows", 100000, "gen: rows (a fifth are held out)")
	nfeat := fs.Int("features", 30, "gen: numeric features")
	seed := fs.Uint64("seed", 1, "gen: random seed")
	out := fs.String("out", "", "gen: output folder; contrib: folder for the comparison sample")
	featPath := fs.String("table", "", "fit, auc, contrib: feature table (Parquet)")
	modelDir := fs.String("model", "", "fit: model directory to write; auc, contrib: model to load")
	cpuProfile := fs.String("cpuprofile", "", "fit: write a CPU profile here")
	pyMargins := fs.String("python-margins", "", "auc: Python's held-out margins (float32, little-endian)")
	scoreRows := fs.Int("score-rows", 0, "contrib: score the first N rows (0: all)")
	fs.Parse(os.Args[2:])
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "gen":
		err = generate(*rows, *nfeat, *seed, *out)
	case "fit":
		err = fit(ctx, *featPath, *modelDir, *cpuProfile)
	case "auc":
		err = compareAUC(ctx, *featPath, *modelDir, *pyMargins)
	case "contrib":
		err = contrib(ctx, *featPath, *modelDir, *out, *scoreRows)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "trainbench:", err)
		os.Exit(1)
	}
}

// benchParams returns the benchmark's parameters: what bench/train.sh passes to
// churn train, and what bench/xgb_train.py passes to xgboost.train.
func benchParams() train.Params {
	minChildWeight, lambda := 5.0, 1.0
	return train.Params{
		Seed: 1, Threads: 2, Rounds: 200, MaxDepth: 6, Eta: 0.1,
		MinChildWeight: &minChildWeight, Subsample: 0.8, ColsampleByTree: 0.8, Lambda: &lambda,
		EarlyStopping: -1, Validation: train.ValidationOOT, ValidShare: 0.1, Calibration: "auto",
	}
}

// ---- gen ----

// row draws the features of row i into x and returns its noisy risk.
func row(seed uint64, i int, x []float64) float64 {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	z := make([]float64, 8) // the standardised signal features, NaN when missing
	for j := range x {
		var v, s float64
		switch j % 3 {
		case 0: // normal
			s = r.NormFloat64()
			v = s
		case 1: // log-normal, e.g. an amount
			s = r.NormFloat64()
			v = 50 * math.Exp(0.8*s)
			s = (math.Log(v/50) / 0.8)
		default: // a small count
			v = float64(r.IntN(21))
			s = (v - 10) / 6
		}
		miss := 0.01
		if j%4 == 1 {
			miss = 0.10
		}
		if r.Float64() < miss {
			v, s = math.NaN(), math.NaN()
		}
		x[j] = float64(float32(v))
		if j < len(z) {
			z[j] = s
		}
	}
	term := func(s float64, f func(float64) float64) float64 {
		if math.IsNaN(s) {
			return 0
		}
		return f(s)
	}
	risk := term(z[0], func(s float64) float64 { return 1.0 * s }) +
		term(z[2], func(s float64) float64 { return 1.2 * math.Sin(2*s) }) +
		term(z[5], step) +
		term(z[6], func(s float64) float64 { return -0.6 * math.Abs(s) }) +
		term(z[7], func(s float64) float64 { return 0.5 * math.Tanh(2*s) })
	if math.IsNaN(z[1]) {
		risk += 0.7 // a missing value is a warning sign
	} else {
		risk -= 0.8 * (z[1]*z[1] - 1)
	}
	if !math.IsNaN(z[3]) && !math.IsNaN(z[4]) {
		risk += 0.8 * z[3] * z[4]
	}
	u := r.Float64()
	return risk + math.Log(u/(1-u)) // logistic noise
}

// step is a jump in risk above a threshold.
func step(s float64) float64 {
	if s > 0.8 {
		return 1
	}
	return 0
}

// benchSpec is the feature spec of the synthetic table.
func benchSpec(p int, rows int, seed uint64) *features.Spec {
	s := &features.Spec{
		Version:      features.SpecVersion,
		Label:        features.LabelSpec{Mode: features.LabelChurnEvents, HorizonDay: horizonDays},
		AsOf:         []string{trainDate, holdoutDate},
		Tables:       []string{"synthetic"},
		Input:        features.InputStamp{Fingerprint: fmt.Sprintf("trainbench rows=%d features=%d seed=%d", rows, p, seed), Rows: map[string]int64{"synthetic": int64(rows)}},
		ChurnVersion: "bench",
	}
	s.Config.EnsureDefaults()
	for j := 0; j < p; j++ {
		desc := "synthetic noise feature"
		if j < 8 {
			desc = "synthetic signal feature"
		}
		s.Features = append(s.Features, features.Def{Name: fmt.Sprintf("f%02d", j), Group: "synthetic", Kind: features.Numeric, Unit: "value", Description: desc, Missing: "at random"})
	}
	return s
}

func generate(n, p int, seed uint64, dir string) error {
	if n < 10 || p < 8 || dir == "" {
		return errors.New("gen needs -rows ≥ 10, -features ≥ 8 and -out")
	}
	// Pass 1: the noisy risk of every row, for the label threshold.
	x := make([]float64, p)
	risk := make([]float64, n)
	for i := range risk {
		risk[i] = row(seed, i, x)
	}
	sorted := slices.Clone(risk)
	slices.Sort(sorted)
	threshold := sorted[n-n/5] // the top fifth churns

	spec := benchSpec(p, n, seed)
	meta, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	dTrain, _ := data.ParseDate(trainDate)
	dHold, _ := data.ParseDate(holdoutDate)

	pf, err := data.CreateAtomic(filepath.Join(dir, "features.parquet"))
	if err != nil {
		return err
	}
	defer pf.Abort()
	pw, err := data.NewWriter(pf, spec.Columns(), data.WriterOptions{
		Metadata: map[string]string{features.MetadataKey: string(meta)},
		SortedBy: []string{features.ColCustomerID, features.ColAsOf},
	})
	if err != nil {
		return err
	}
	cf, err := data.CreateAtomic(filepath.Join(dir, "features.csv"))
	if err != nil {
		return err
	}
	defer cf.Abort()
	cw := bufio.NewWriterSize(cf, 1<<20)
	cw.WriteString("customer_id,as_of")
	for _, d := range spec.Features {
		cw.WriteString("," + d.Name)
	}
	cw.WriteString(",label\n")

	// Pass 2: rows again, chunk by chunk, into both files.
	const chunk = 1 << 16
	cols := make([]data.Vec, p+3)
	cols[0] = data.Vec{Type: data.TypeString}
	cols[1] = data.Vec{Type: data.TypeDate}
	for j := 0; j < p; j++ {
		cols[2+j] = data.Vec{Type: data.TypeFloat64}
	}
	cols[p+2] = data.Vec{Type: data.TypeInt64}
	buf := make([]byte, 0, 64)
	pos := 0
	for lo := 0; lo < n; lo += chunk {
		hi := min(n, lo+chunk)
		for c := range cols {
			v := &cols[c]
			v.Codes, v.Dict, v.Dates, v.Floats, v.Ints = v.Codes[:0], v.Dict[:0], v.Dates[:0], v.Floats[:0], v.Ints[:0]
		}
		for i := lo; i < hi; i++ {
			r := row(seed, i, x)
			id := fmt.Sprintf("c%07d", i)
			asOf, asOfS := dTrain, trainDate
			if i%5 == 4 {
				asOf, asOfS = dHold, holdoutDate
			}
			label := int64(0)
			if r >= threshold {
				label = 1
				pos++
			}
			cols[0].Codes = append(cols[0].Codes, int32(len(cols[0].Dict)))
			cols[0].Dict = append(cols[0].Dict, id)
			cols[1].Dates = append(cols[1].Dates, asOf)
			for j, v := range x {
				cols[2+j].Floats = append(cols[2+j].Floats, v)
			}
			cols[p+2].Ints = append(cols[p+2].Ints, label)

			cw.WriteString(id)
			cw.WriteByte(',')
			cw.WriteString(asOfS)
			for _, v := range x {
				cw.WriteByte(',')
				if !math.IsNaN(v) {
					buf = strconv.AppendFloat(buf[:0], v, 'g', -1, 32) // exact: v is a float32
					cw.Write(buf)
				}
			}
			cw.WriteByte(',')
			cw.WriteString(strconv.FormatInt(label, 10))
			cw.WriteByte('\n')
		}
		if err := pw.Write(hi-lo, cols); err != nil {
			return err
		}
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if err := cw.Flush(); err != nil {
		return err
	}
	if err := pf.Commit(); err != nil {
		return err
	}
	if err := cf.Commit(); err != nil {
		return err
	}
	fmt.Printf("%d rows × %d features (%d held out as of %s), %.1f%% churned, seed %d → %s\n",
		n, p, n/5, holdoutDate, 100*float64(pos)/float64(n), seed, dir)
	return nil
}

// ---- fit ----

// fit runs churn train's pipeline in process, timing its stages.
func fit(ctx context.Context, featPath, modelDir, cpuProfile string) error {
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	tab, err := features.ReadTable(ctx, featPath)
	if err != nil {
		return err
	}
	t1 := time.Now()
	m, err := train.Fit(ctx, tab, benchParams(), train.FitOptions{})
	if err != nil {
		return err
	}
	defer m.Close()
	t2 := time.Now()
	if err := m.Save(modelDir); err != nil {
		return err
	}
	t3 := time.Now()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("read %.2fs, fit %.2fs (matrix, XGBoost, calibration, importance, reference), save %.2fs; total %.2fs; Go heap: %d MB in use at the end, GC cycles %d\n",
		t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t3.Sub(t2).Seconds(), t3.Sub(t0).Seconds(), ms.HeapInuse>>20, ms.NumGC)
	return nil
}

// ---- auc ----

func holdoutRows(t *features.Table) ([]int, []float64) {
	d, _ := data.ParseDate(holdoutDate)
	var rows []int
	var y []float64
	for i, a := range t.AsOf {
		if a == d {
			rows = append(rows, i)
			y = append(y, t.Label[i])
		}
	}
	return rows, y
}

// load reads a feature table and a model.
func load(ctx context.Context, featPath, modelDir string) (*features.Table, *train.Model, error) {
	tab, err := features.ReadTable(ctx, featPath)
	if err != nil {
		return nil, nil, err
	}
	m, err := train.Load(modelDir)
	if err != nil {
		return nil, nil, err
	}
	return tab, m, nil
}

func compareAUC(ctx context.Context, featPath, modelDir, pyPath string) error {
	tab, m, err := load(ctx, featPath, modelDir)
	if err != nil {
		return err
	}
	defer m.Close()
	rows, y := holdoutRows(tab)
	s, err := m.Score(ctx, tab, rows, false)
	if err != nil {
		return err
	}
	py, err := readF32(pyPath)
	if err != nil {
		return err
	}
	if len(py) != len(rows) {
		return fmt.Errorf("%s has %d margins, the table %d held-out rows", pyPath, len(py), len(rows))
	}
	pym := make([]float64, len(py))
	maxDiff := 0.0
	for i, v := range py {
		pym[i] = float64(v)
		maxDiff = math.Max(maxDiff, math.Abs(pym[i]-s.Margin[i]))
	}
	ac, ap := metrics.AUC(s.Margin, y, nil), metrics.AUC(pym, y, nil)
	fmt.Printf("held-out rows %d: AUC churn %.5f (calibrated %.5f, %s), python %.5f, difference %+.5f; max |margin difference| %.3g\n",
		len(rows), ac, metrics.AUC(s.Prob, y, nil), m.Manifest.Calibrator.Method, ap, ac-ap, maxDiff)
	return nil
}

func readF32(path string) ([]float32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(raw)/4)
	if _, err := binary.Decode(raw, binary.LittleEndian, out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// ---- contrib ----

// sampleEvery picks the rows whose contributions are written for the
// comparison with Python.
const sampleEvery = 997

func contrib(ctx context.Context, featPath, modelDir, outDir string, first int) error {
	t0 := time.Now()
	tab, m, err := load(ctx, featPath, modelDir)
	if err != nil {
		return err
	}
	defer m.Close()
	var rows []int // nil: all
	n := tab.Len()
	if first > 0 && first < n {
		n = first
		rows = make([]int, n)
		for i := range rows {
			rows[i] = i
		}
	}
	t1 := time.Now()
	s, err := m.Score(ctx, tab, rows, true)
	if err != nil {
		return err
	}
	t2 := time.Now()
	worst := 0.0 // contributions must sum to the margin
	for i, c := range s.Contrib {
		sum := 0.0
		for _, v := range c {
			sum += v
		}
		worst = math.Max(worst, math.Abs(sum-s.Margin[i]))
	}
	fmt.Printf("churn: read+load %.2fs, Score(contrib=true) %.2fs for %d rows × %d features (%.0f rows/s); max |sum(contrib) - margin| %.2g\n",
		t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), n, len(tab.Spec.Features), float64(n)/t2.Sub(t1).Seconds(), worst)
	if outDir == "" {
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	var sample []float64
	for i := 0; i < len(s.Contrib); i += sampleEvery {
		sample = append(sample, s.Contrib[i]...)
	}
	f, err := os.Create(filepath.Join(outDir, "go_contrib_sample.f64"))
	if err != nil {
		return err
	}
	if err := binary.Write(f, binary.LittleEndian, sample); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(outDir, "go_contrib.json"),
		fmt.Appendf(nil, `{"every": %d, "cols": %d, "score_seconds": %.3f}`+"\n", sampleEvery, len(tab.Spec.Features)+1, t2.Sub(t1).Seconds()), 0o644)
}
