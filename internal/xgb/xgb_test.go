package xgb

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestVersion(t *testing.T) {
	major, minor, patch := Version()
	if major != 1 || minor < 7 {
		t.Fatalf("libxgboost %d.%d.%d, this wrapper is written for 1.7.x", major, minor, patch)
	}
	t.Logf("libxgboost %d.%d.%d", major, minor, patch)
}

func TestTrainBinary(t *testing.T) {
	const p = 8
	Xt, yt := synth(1, 10000, p, 0.05)
	Xv, yv, truth := synthProb(2, 2000, p, 0.05)
	train, valid := newMatrix(t, Xt, yt, p), newMatrix(t, Xv, yv, p)
	b := testBooster(t, append(baseParams, param{"eval_metric", "auc"}, param{"eta", "0.1"}), train, valid)
	trainRounds(t, b, train, 100)

	prob, shape := predict(t, b, valid, PredictOptions{})
	if len(shape) != 1 || shape[0] != 2000 || len(prob) != 2000 {
		t.Fatalf("shape %v, len %d; want [2000]", shape, len(prob))
	}
	got := auc(prob, yv)
	// Labels are drawn, not thresholded: even the true probabilities rank
	// them imperfectly. A working booster comes close to that ceiling.
	ceiling := auc(truth, yv)
	t.Logf("validation AUC %.4f, true probabilities %.4f", got, ceiling)
	if got < ceiling-0.03 {
		t.Errorf("validation AUC = %.4f, want ≥ %.4f - 0.03", got, ceiling)
	}
	res, err := b.Eval(99, []*DMatrix{train, valid}, []string{"train", "valid"})
	if err != nil {
		t.Fatal(err)
	}
	if xa := res["valid"]["auc"]; math.Abs(xa-got) > 1e-4 {
		t.Errorf("XGBoost's valid-auc %.6f, ours %.6f", xa, got)
	}
	if res["train"]["auc"] < res["valid"]["auc"] {
		t.Errorf("train AUC %.4f below validation AUC %.4f", res["train"]["auc"], res["valid"]["auc"])
	}
	if n, err := b.NumFeatures(); err != nil || n != p {
		t.Errorf("NumFeatures = %d, %v; want %d", n, err, p)
	}
	if n, err := b.BoostedRounds(); err != nil || n != 100 {
		t.Errorf("BoostedRounds = %d, %v; want 100", n, err)
	}
}

func TestEarlyStopping(t *testing.T) {
	const p, patience, maxRounds = 8, 10, 500
	Xt, yt := synth(3, 1500, p, 0)
	Xv, yv := synth(4, 1500, p, 0)
	train, valid := newMatrix(t, Xt, yt, p), newMatrix(t, Xv, yv, p)
	// Deep trees and a large step overfit quickly, so the validation loss
	// turns up well before maxRounds.
	b := testBooster(t, append(baseParams, param{"max_depth", "8"}, param{"eta", "0.5"}, param{"eval_metric", "logloss"}), train, valid)
	best, bestLoss, stopped := -1, math.Inf(1), -1
	for i := range maxRounds {
		if err := b.UpdateOneIter(i, train); err != nil {
			t.Fatal(err)
		}
		line, err := b.EvalOneIter(i, []*DMatrix{valid}, []string{"valid"})
		if err != nil {
			t.Fatal(err)
		}
		iter, res, err := ParseEval(line, []string{"valid"})
		if err != nil || iter != i {
			t.Fatalf("ParseEval(%q) = %d, %v", line, iter, err)
		}
		if loss := res["valid"]["logloss"]; loss < bestLoss {
			best, bestLoss = i, loss
		} else if i-best >= patience {
			stopped = i
			break
		}
	}
	if stopped < 0 || best < 1 {
		t.Fatalf("no early stop in %d rounds (best round %d)", maxRounds, best)
	}
	t.Logf("best round %d (logloss %.5f), stopped at %d", best, bestLoss, stopped)
	// Predicting with the trees up to the best round reproduces its loss.
	prob, _ := predict(t, b, valid, PredictOptions{IterationEnd: best + 1})
	if got := logloss(prob, yv); math.Abs(got-bestLoss) > 1e-5 {
		t.Errorf("logloss of rounds [0, %d) = %.6f, EvalOneIter said %.6f", best+1, got, bestLoss)
	}
	all, _ := predict(t, b, valid, PredictOptions{})
	if logloss(all, yv) <= bestLoss {
		t.Errorf("all %d rounds have loss %.6f ≤ the best round's %.6f", stopped+1, logloss(all, yv), bestLoss)
	}
}

func TestMarginIsLogitOfProbability(t *testing.T) {
	const p = 8
	X, y := synth(5, 1000, p, 0.1)
	b := trainModel(t, baseParams, X, y, p, 20)
	m := newMatrix(t, X, nil, p)
	prob, _ := predict(t, b, m, PredictOptions{})
	margin, _ := predict(t, b, m, PredictOptions{Margin: true})
	for i := range prob {
		want := 1 / (1 + math.Exp(-float64(margin[i])))
		if math.Abs(float64(prob[i])-want) > 1e-6 {
			t.Fatalf("row %d: probability %v, sigmoid(margin %v) = %v", i, prob[i], margin[i], want)
		}
	}
}

func TestContributionsSumToMargin(t *testing.T) {
	const p, n = 8, 500
	X, y := synth(6, n, p, 0.2)
	b := trainModel(t, append(baseParams, param{"base_score", "0.3"}), X, y, p, 30)
	m := newMatrix(t, X, nil, p)
	margin, _ := predict(t, b, m, PredictOptions{Margin: true})
	contrib, shape := predict(t, b, m, PredictOptions{Contribs: true})
	if len(shape) != 2 || shape[0] != n || shape[1] != p+1 {
		t.Fatalf("contribs shape %v, want [%d %d]", shape, n, p+1)
	}
	var noise float64
	for i := range n {
		row := contrib[i*(p+1) : (i+1)*(p+1)]
		var s float64
		for _, c := range row {
			s += float64(c)
		}
		if math.Abs(s-float64(margin[i])) > 1e-4 {
			t.Fatalf("row %d: contributions sum to %v, margin %v", i, s, margin[i])
		}
		for _, c := range row[5:p] {
			noise += math.Abs(float64(c))
		}
	}
	// Bias last: the same for every row, the expected margin.
	if contrib[p] != contrib[2*(p+1)-1] {
		t.Errorf("bias differs between rows: %v vs %v", contrib[p], contrib[2*(p+1)-1])
	}
	// Partial rounds: contributions of rounds [0, 10) sum to those rounds' margin.
	m10, _ := predict(t, b, m, PredictOptions{Margin: true, IterationEnd: 10})
	c10, _ := predict(t, b, m, PredictOptions{Contribs: true, IterationEnd: 10})
	for i := range n {
		var s float64
		for _, c := range c10[i*(p+1) : (i+1)*(p+1)] {
			s += float64(c)
		}
		if math.Abs(s-float64(m10[i])) > 1e-4 {
			t.Fatalf("rounds [0,10) row %d: contributions sum to %v, margin %v", i, s, m10[i])
		}
	}
	t.Logf("mean |contribution| of the noise features: %.4f", noise/float64(n*(p-5)))
}

func TestSaveLoadRoundTrip(t *testing.T) {
	const p = 8
	X, y := synth(7, 1000, p, 0.1)
	b := trainModel(t, baseParams, X, y, p, 25)
	names := []string{"nps", "utilisation", "tickets", "seats", "tenure", "n5", "n6", "n7"}
	if err := b.SetFeatureNames(names); err != nil {
		t.Fatal(err)
	}
	if err := b.SetAttr("churn_spec", "v1"); err != nil {
		t.Fatal(err)
	}
	saved, err := b.SaveJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(saved, []byte(`"utilisation"`)) {
		t.Errorf("saved JSON lacks the feature names")
	}
	c, err := LoadBoosterJSON(saved)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	m := newMatrix(t, X, nil, p)
	for _, opt := range []PredictOptions{{}, {Margin: true}, {Contribs: true}, {IterationBegin: 5, IterationEnd: 9}} {
		want, _ := predict(t, b, m, opt)
		got, _ := predict(t, c, m, opt)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%+v: value %d is %v after load, %v before", opt, i, got[i], want[i])
			}
		}
	}
	if got, err := c.FeatureNames(); err != nil || strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("loaded FeatureNames = %q, %v", got, err)
	}
	if v, ok, err := c.Attr("churn_spec"); err != nil || !ok || v != "v1" {
		t.Errorf("loaded Attr = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := c.Attr("nope"); err != nil || ok {
		t.Errorf("Attr of an unset key: ok %v, err %v", ok, err)
	}
	if n, _ := c.BoostedRounds(); n != 25 {
		t.Errorf("loaded BoostedRounds = %d", n)
	}
	if n, _ := c.NumFeatures(); n != p {
		t.Errorf("loaded NumFeatures = %d", n)
	}
	again, err := c.SaveJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, saved) {
		t.Errorf("save → load → save changed the model bytes")
	}
}

// trainJSON trains a model from scratch and returns its JSON.
func trainJSON(t testing.TB, params []param, X, y []float32, p, rounds int) []byte {
	t.Helper()
	m, err := NewDMatrix(X, len(X)/p, p)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer m.Close()
	if err := m.SetLabels(y); err != nil {
		t.Error(err)
		return nil
	}
	b, err := NewBooster(m)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer b.Close()
	for _, p := range params {
		if err := b.SetParam(p.name, p.value); err != nil {
			t.Error(err)
			return nil
		}
	}
	for i := range rounds {
		if err := b.UpdateOneIter(i, m); err != nil {
			t.Error(err)
			return nil
		}
	}
	out, err := b.SaveJSON()
	if err != nil {
		t.Error(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	const p = 10
	X, y := synth(8, 3000, p, 0.05)
	for _, tc := range []struct {
		name   string
		params []param
	}{
		{"hist", baseParams},
		// Sampling draws from XGBoost's thread-local random engine, seeded by "seed".
		{"hist with sampling", append(baseParams, param{"subsample", "0.7"}, param{"colsample_bytree", "0.6"}, param{"colsample_bynode", "0.8"})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := trainJSON(t, tc.params, X, y, p, 20)
			if again := trainJSON(t, tc.params, X, y, p, 20); !bytes.Equal(first, again) {
				t.Fatal("two trainings with the same seed differ")
			}
			// Concurrent trainings on their own threads give the same bytes.
			var wg sync.WaitGroup
			outs := make([][]byte, 3)
			for i := range outs {
				wg.Go(func() { outs[i] = trainJSON(t, tc.params, X, y, p, 20) })
			}
			wg.Wait()
			for i, o := range outs {
				if !bytes.Equal(first, o) {
					t.Fatalf("concurrent training %d differs", i)
				}
			}
			other := trainJSON(t, append(tc.params, param{"seed", "8"}), X, y, p, 20)
			if tc.name != "hist" && bytes.Equal(first, other) {
				t.Error("a different seed gave the same model with sampling on")
			}
		})
	}
}

// TestGoldenModel pins the bytes of a small model: a change of XGBoost version
// or of the wrapper that alters trained models shows up here as a diff.
func TestGoldenModel(t *testing.T) {
	const p = 6
	X, y := synth(9, 400, p, 0.1)
	got := trainJSON(t, append(baseParams, param{"max_depth", "2"}), X, y, p, 3)
	path := filepath.Join("testdata", "tiny_model.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("model differs from %s (run with -update and review the diff)", path)
	}
}

func TestErrors(t *testing.T) {
	const p = 6
	X, y := synth(10, 200, p, 0)
	good := func(t *testing.T) (*DMatrix, *Booster) {
		m := newMatrix(t, X, y, p)
		return m, testBooster(t, baseParams, m)
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) error
		want string // substring of the error
	}{
		{"zero rows", func(t *testing.T) error { _, err := NewDMatrix(nil, 0, 3); return err }, "rows > 0"},
		{"data length", func(t *testing.T) error { _, err := NewDMatrix(make([]float32, 5), 2, 3); return err }, "len(data) = 5"},
		{"inf in data", func(t *testing.T) error {
			d := make([]float32, 6)
			d[4] = float32(math.Inf(1))
			_, err := NewDMatrix(d, 2, 3)
			return err
		}, "row 1, column 1 is +Inf"},
		{"label length", func(t *testing.T) error { return newMatrix(t, X, nil, p).SetLabels(y[:10]) }, "got 10 values for 200 rows"},
		{"nan label", func(t *testing.T) error {
			yy := append([]float32(nil), y...)
			yy[3] = float32(math.NaN())
			return newMatrix(t, X, nil, p).SetLabels(yy)
		}, "row 3 is NaN"},
		{"inf label", func(t *testing.T) error {
			yy := append([]float32(nil), y...)
			yy[7] = float32(math.Inf(-1))
			return newMatrix(t, X, nil, p).SetLabels(yy)
		}, "row 7 is -Inf"},
		{"negative weight", func(t *testing.T) error {
			w := make([]float32, 200)
			w[2] = -1
			return newMatrix(t, X, nil, p).SetWeights(w)
		}, "row 2 is -1"},
		{"label out of range for logistic", func(t *testing.T) error {
			yy := append([]float32(nil), y...)
			yy[0] = 2
			m := newMatrix(t, X, yy, p)
			return testBooster(t, baseParams, m).UpdateOneIter(0, m)
		}, "label must be in [0,1]"},
		{"bad param value", func(t *testing.T) error {
			m, b := good(t)
			b.SetParam("max_depth", "-3")
			return b.UpdateOneIter(0, m)
		}, "max_depth"},
		{"unknown objective", func(t *testing.T) error {
			m, b := good(t)
			b.SetParam("objective", "binary:nope")
			return b.UpdateOneIter(0, m)
		}, "binary:nope"},
		{"no labels", func(t *testing.T) error {
			m := newMatrix(t, X, nil, p)
			return testBooster(t, baseParams, m).UpdateOneIter(0, m)
		}, "label"},
		{"booster without cache", func(t *testing.T) error {
			return testBooster(t, baseParams).UpdateOneIter(0, newMatrix(t, X, y, p))
		}, ""},
		{"predict with more columns", func(t *testing.T) error {
			m, b := good(t)
			trainRounds(t, b, m, 2)
			X2, _ := synth(11, 10, p+2, 0)
			_, _, err := b.Predict(newMatrix(t, X2, nil, p+2), PredictOptions{})
			return err
		}, "features"},
		{"bad iteration range", func(t *testing.T) error {
			m, b := good(t)
			_, _, err := b.Predict(m, PredictOptions{IterationBegin: 3, IterationEnd: 2})
			return err
		}, "bad iteration range"},
		{"eval names", func(t *testing.T) error {
			m, b := good(t)
			_, err := b.EvalOneIter(0, []*DMatrix{m}, nil)
			return err
		}, "one name per matrix"},
		{"feature names count", func(t *testing.T) error {
			m, b := good(t)
			trainRounds(t, b, m, 1)
			return b.SetFeatureNames([]string{"a", "b"})
		}, "2 names for 6 features"},
		{"feature names repeated", func(t *testing.T) error {
			_, b := good(t)
			return b.SetFeatureNames([]string{"a", "a"})
		}, "repeated"},
		{"nil matrix", func(t *testing.T) error { _, err := NewBooster(nil); return err }, "matrix 0 is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Stack trace") || strings.Contains(err.Error(), "[bt]") {
				t.Errorf("error carries XGBoost's stack trace: %q", err)
			}
			t.Log(err)
		})
	}
}

func TestLoadRejects(t *testing.T) {
	model, err := os.ReadFile(filepath.Join("testdata", "tiny_model.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !bytes.Contains(model, []byte(old)) {
			t.Fatalf("tiny_model.json lacks %q", old)
		}
		return string(bytes.Replace(model, []byte(old), []byte(new), 1))
	}
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "not valid JSON"},
		{"garbage", "\x00\x01binf\xff\xfe", "not valid JSON"},
		{"legacy binary header", "binf" + strings.Repeat("\x00", 200), "not valid JSON"},
		{"json array", "[1,2,3]", "not an XGBoost JSON model"},
		{"json without learner", `{"version":[1,7,4]}`, "not an XGBoost JSON model"},
		{"learner of wrong type", `{"learner":3,"version":[1,7,4]}`, "not an XGBoost JSON model"},
		{"empty learner", `{"learner":{},"version":[1,7,4]}`, "num_feature"},
		// XGBoost 1.7.4 alone segfaults on the first while loading, hangs in
		// Predict on the next two and reads out of bounds on the fourth.
		{"more trees claimed", edit(`"num_trees":"3"`, `"num_trees":"9"`), "num_trees is 9 but the model has 3 trees"},
		{"child out of range", edit(`"left_children":[1,`, `"left_children":[99,`), "children 99 and 2"},
		{"cycle", edit(`"left_children":[1,3,5,`, `"left_children":[1,0,5,`), "children 0 and 4"},
		{"split on missing feature", edit(`"split_indices":[1,`, `"split_indices":[6,`), "splits on feature 6 of 6"},
		{"short array", edit(`"sum_hessian":[`, `"sum_hessian":[1,`), "sum_hessian has 8 entries for 7 nodes"},
		{"tree id", edit(`"id":0,`, `"id":5,`), "id 5, want 0"},
		{"duplicate key", edit(`"num_trees":"3"`, `"num_trees":"3","num_trees":"9"`), `key "num_trees" repeated`},
		{"dart", edit(`"name":"gbtree"`, `"name":"dart"`), "only gbtree"},
		{"unknown objective", edit(`"name":"binary:logistic"`, `"name":"binary:nope"`), "xgboost: XGBoosterLoadModelFromBuffer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := LoadBoosterJSON([]byte(tc.in))
			if err == nil {
				b.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	b, err := LoadBoosterJSON(model)
	if err != nil {
		t.Fatalf("tiny_model.json: %v", err)
	}
	b.Close()
}

func TestClosed(t *testing.T) {
	const p = 6
	X, y := synth(12, 100, p, 0)
	m := newMatrix(t, X, y, p)
	b := testBooster(t, baseParams, m)
	trainRounds(t, b, m, 2)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ops := map[string]func() error{
		"SetParam":      func() error { return b.SetParam("eta", "0.1") },
		"UpdateOneIter": func() error { return b.UpdateOneIter(2, m) },
		"EvalOneIter":   func() error { _, err := b.EvalOneIter(2, []*DMatrix{m}, []string{"t"}); return err },
		"Predict":       func() error { _, _, err := b.Predict(m, PredictOptions{}); return err },
		"SaveJSON":      func() error { _, err := b.SaveJSON(); return err },
		"NumFeatures":   func() error { _, err := b.NumFeatures(); return err },
		"BoostedRounds": func() error { _, err := b.BoostedRounds(); return err },
		"Attr":          func() error { _, _, err := b.Attr("a"); return err },
		"SetAttr":       func() error { return b.SetAttr("a", "b") },
		"FeatureNames":  func() error { _, err := b.FeatureNames(); return err },
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrClosed) {
			t.Errorf("closed booster %s: %v, want ErrClosed", name, err)
		}
	}

	b2 := testBooster(t, baseParams, m)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if m.NumRows() != 100 || m.NumCols() != p {
		t.Errorf("NumRows/NumCols after Close: %d×%d", m.NumRows(), m.NumCols())
	}
	for name, err := range map[string]error{
		"SetLabels":     m.SetLabels(y),
		"UpdateOneIter": b2.UpdateOneIter(0, m),
		"NewBooster":    func() error { _, err := NewBooster(m); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("closed matrix %s: %v, want ErrClosed", name, err)
		}
	}
}

// TestBoosterOutlivesMatrix: a trained booster keeps working after the
// matrices it was created with are closed.
func TestBoosterOutlivesMatrix(t *testing.T) {
	const p = 6
	X, y := synth(13, 300, p, 0)
	m, err := NewDMatrix(X, 300, p)
	if err != nil {
		t.Fatal(err)
	}
	m.SetLabels(y)
	b := testBooster(t, baseParams, m)
	trainRounds(t, b, m, 3)
	want, _ := predict(t, b, m, PredictOptions{})
	m.Close()
	got, _ := predict(t, b, newMatrix(t, X, nil, p), PredictOptions{})
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %v after closing the training matrix, %v before", i, got[i], want[i])
		}
	}
}

// TestConcurrentUse runs updates, predictions and saves on one booster from
// several goroutines; the race detector and XGBoost must both stay quiet.
func TestConcurrentUse(t *testing.T) {
	const p = 6
	X, y := synth(14, 500, p, 0.1)
	m := newMatrix(t, X, y, p)
	b := testBooster(t, baseParams, m)
	trainRounds(t, b, m, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i < 20; i++ {
			if err := b.UpdateOneIter(i, m); err != nil {
				t.Error(err)
			}
		}
	})
	for range 3 {
		wg.Go(func() {
			for range 20 {
				if _, _, err := b.Predict(m, PredictOptions{Margin: true}); err != nil {
					t.Error(err)
				}
				if _, err := b.SaveJSON(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, _ := b.BoostedRounds(); n != 20 {
		t.Errorf("BoostedRounds = %d, want 20", n)
	}
}

// TestCloseEndsThreads: each booster's OS thread (and its OpenMP team) ends
// with Close, so creating many boosters does not accumulate threads.
func TestCloseEndsThreads(t *testing.T) {
	const p = 6
	X, y := synth(15, 300, p, 0)
	m := newMatrix(t, X, y, p)
	run := func() {
		b := testBooster(t, baseParams, m)
		trainRounds(t, b, m, 2)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run()
	before := threadCount(t)
	for range 30 {
		run()
	}
	after := threadCount(t)
	t.Logf("OS threads: %d before, %d after 30 boosters", before, after)
	// A leak would leave two threads per booster (its own and one OpenMP
	// worker); the Go runtime may keep a few idle threads of its own.
	if after > before+10 {
		t.Errorf("OS threads grew from %d to %d over 30 closed boosters", before, after)
	}
}

func threadCount(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip("no /proc/self/task:", err)
	}
	return len(entries)
}

func TestParseEval(t *testing.T) {
	for _, tc := range []struct {
		name  string
		line  string
		names []string
		iter  int
		want  string // fmt of the map, "" for an error
	}{
		{"two sets", "[3]\ttrain-logloss:0.402000\tvalid-logloss:0.411000", []string{"train", "valid"}, 3, "map[train:map[logloss:0.402] valid:map[logloss:0.411]]"},
		{"dash in name and metric", "[0]\tvalid-2-ndcg@5-:0.5\tvalid-2-auc:0.75", []string{"valid", "valid-2"}, 0, "map[valid-2:map[auc:0.75 ndcg@5-:0.5]]"},
		{"nan", "[1]\tv-auc:nan", []string{"v"}, 1, "map[v:map[auc:NaN]]"},
		{"no fields", "[7]", nil, 7, "map[]"},
		{"no bracket", "3\tv-auc:0.5", []string{"v"}, 0, ""},
		{"unknown name", "[3]\tw-auc:0.5", []string{"v"}, 0, ""},
		{"bad number", "[3]\tv-auc:x", []string{"v"}, 0, ""},
		{"no colon", "[3]\tv-auc", []string{"v"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iter, res, err := ParseEval(tc.line, tc.names)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("no error, got %v", res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if iter != tc.iter || fmt.Sprint(res) != tc.want {
				t.Errorf("got %d %v, want %d %s", iter, res, tc.iter, tc.want)
			}
		})
	}
}

// TestCleanupBackstop: boosters and matrices dropped without Close are freed
// by their GC cleanups, threads included.
func TestCleanupBackstop(t *testing.T) {
	const p = 6
	X, y := synth(18, 300, p, 0)
	before := threadCount(t)
	var live []*Booster
	for range 10 {
		m, err := NewDMatrix(X, 300, p)
		if err != nil {
			t.Fatal(err)
		}
		m.SetLabels(y)
		b, err := NewBooster(m)
		if err != nil {
			t.Fatal(err)
		}
		b.SetParam("nthread", "2")
		b.UpdateOneIter(0, m)
		live = append(live, b)
	}
	peak := threadCount(t)
	if peak < before+10 {
		t.Fatalf("OS threads: %d before, %d with 10 live boosters; want one each at least", before, peak)
	}
	live = nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		n := threadCount(t)
		if n <= before+2 {
			t.Logf("OS threads: %d before, %d with 10 live boosters, %d after their cleanups", before, peak, n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("OS threads: %d before, still %d after dropping 10 boosters", before, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSharedMatrices: boosters sharing matrices, listed in different orders,
// neither deadlock nor race (XGBoost builds a matrix's hist index lazily).
func TestSharedMatrices(t *testing.T) {
	const p = 6
	Xa, ya := synth(19, 1000, p, 0.1)
	Xb, yb := synth(20, 1000, p, 0.1)
	a, b := newMatrix(t, Xa, ya, p), newMatrix(t, Xb, yb, p)
	ones := make([]float32, 1000)
	for i := range ones {
		ones[i] = 1
	}
	var wg sync.WaitGroup
	for k, order := range [][]*DMatrix{{a, b}, {b, a}, {a, b}} {
		wg.Go(func() {
			bst, err := NewBooster(order...)
			if err != nil {
				t.Error(err)
				return
			}
			defer bst.Close()
			bst.SetParam("tree_method", "hist")
			bst.SetParam("nthread", "1")
			for i := range 10 {
				if err := bst.UpdateOneIter(i, order[0]); err != nil {
					t.Error(err)
					return
				}
				if _, err := bst.EvalOneIter(i, order, []string{"x", "y"}); err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					a.SetWeights(ones) // exclusive: waits for the others' calls
				}
			}
		})
	}
	wg.Wait()
}
