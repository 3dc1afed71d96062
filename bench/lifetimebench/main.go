// Command lifetimebench times churn's lifetime models (internal/clv) on
// synthetic RFM summaries, against bench/lifetime_peer.py (scipy) on the
// very same summaries. Used by bench/lifetime.sh.
//
//	lifetimebench gen -n 1000000 -seed 1 -out summaries.csv
//	lifetimebench run summaries.csv
//
// gen draws customers from BG/NBD (CDNOW's parameters, r = 0.243,
// α = 4.414, a = 0.793, b = 2.426) observed for 1..365 whole days and
// summarised as features.RFM does (distinct purchase days, times in days
// / 7), with spend from Gamma-Gamma (p = 6.25, q = 3.74, γ = 15.44). run
// fits BG/NBD and Gamma-Gamma and scores every customer three ways: the
// methods one by one (P(alive), expected purchases in 90 days, expected
// spend: score_methods_s), clv.ScoreAll without CLV (the same plus P(no
// purchase): score_s) and with the 12-month CLV at 10 %
// (score_with_clv_s); it prints one JSON line of timings and parameters.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/churnlab/churn/internal/clv"
	"gonum.org/v1/gonum/stat/distuv"
)

// Truth is the model the summaries are drawn from.
var (
	TruthBG = clv.BGNBD{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426}
	TruthGG = clv.GammaGamma{P: 6.25, Q: 3.74, Gamma: 15.44}
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: lifetimebench gen [-n N] [-seed S] -out FILE.csv | lifetimebench run FILE.csv")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		fs := flag.NewFlagSet("gen", flag.ExitOnError)
		n := fs.Int("n", 1_000_000, "customers")
		seed := fs.Uint64("seed", 1, "random seed")
		out := fs.String("out", "", "output CSV (frequency,recency,T,monetary)")
		fs.Parse(os.Args[2:])
		err = writeCSV(*out, Synth(*n, *seed))
	case "run":
		if len(os.Args) != 3 {
			err = fmt.Errorf("run needs the summaries CSV")
			break
		}
		err = run(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lifetimebench:", err)
		os.Exit(1)
	}
}

// Synth draws n customers' summaries (see the package comment).
func Synth(n int, seed uint64) []clv.Summary {
	rng := rand.New(rand.NewPCG(seed, 12))
	rate := distuv.Gamma{Alpha: TruthBG.R, Beta: TruthBG.Alpha, Src: rng}
	drop := distuv.Beta{Alpha: TruthBG.A, Beta: TruthBG.B, Src: rng}
	nu := distuv.Gamma{Alpha: TruthGG.Q, Beta: TruthGG.Gamma, Src: rng}
	s := make([]clv.Summary, n)
	for i := range s {
		λ, p := rate.Rand(), drop.Rand()
		days := 1 + rng.IntN(365)
		var t, last float64 // weeks; last purchase day
		x := 0
		for {
			t += rng.ExpFloat64() / λ
			d := math.Floor(t * 7)
			if d > float64(days) {
				break
			}
			if d != last {
				x++
				last = d
			}
			if rng.Float64() < p {
				break
			}
		}
		s[i] = clv.Summary{Frequency: float64(x), T: float64(days) / 7}
		if x > 0 {
			s[i].Recency = last / 7
			// The mean of x spends ~ Gamma(p, ν) is Gamma(px, xν).
			s[i].Monetary = distuv.Gamma{Alpha: TruthGG.P * float64(x), Beta: float64(x) * nu.Rand(), Src: rng}.Rand()
		}
	}
	return s
}

func writeCSV(path string, s []clv.Summary) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "frequency,recency,T,monetary")
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, v := range s {
		fmt.Fprintf(w, "%s,%s,%s,%s\n", g(v.Frequency), g(v.Recency), g(v.T), g(v.Monetary))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readCSV(path string) ([]clv.Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var s []clv.Summary
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue
		}
		fs := strings.Split(sc.Text(), ",")
		if len(fs) != 4 {
			return nil, fmt.Errorf("%s:%d: %d fields", path, line, len(fs))
		}
		var v [4]float64
		for j := range v {
			if v[j], err = strconv.ParseFloat(fs[j], 64); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, line, err)
			}
		}
		s = append(s, clv.Summary{Frequency: v[0], Recency: v[1], T: v[2], Monetary: v[3]})
	}
	return s, sc.Err()
}

// Scores are the per-customer outputs of Score.
type Scores struct{ PAlive, Expected, Spend []float64 }

// Score computes every customer's P(alive), expected purchases in 90 days
// and expected spend with the methods one by one: what the scipy peer
// computes.
func Score(bg clv.BGNBD, gg clv.GammaGamma, s []clv.Summary) Scores {
	out := Scores{make([]float64, len(s)), make([]float64, len(s)), make([]float64, len(s))}
	for i, v := range s {
		out.PAlive[i] = bg.PAlive(v)
		out.Expected[i] = bg.ExpectedPurchases(90.0/7, v)
		out.Spend[i] = gg.ExpectedSpend(v)
	}
	return out
}

// ScoreAll scores with clv.ScoreAll (grouped by (x, tₓ, T), parallel):
// P(alive), expected purchases and P(no purchase) in 90 days, expected
// spend, and with withCLV the 12-month CLV at 10 % a year.
func ScoreAll(bg clv.BGNBD, gg clv.GammaGamma, s []clv.Summary, withCLV bool) []clv.Score {
	opt := clv.CLVOptions{}
	if withCLV {
		opt = clv.CLVOptions{Months: 12, AnnualDiscount: 0.1}
	}
	return clv.ScoreAll(bg, gg, s, 90.0/7, opt)
}

// cpu returns the process's user + system CPU time: on a shared machine
// it is steadier than the wall clock (and counts every core churn uses).
func cpu() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stopwatch times f in wall and CPU seconds.
func stopwatch(f func() error) (wall, cpuS float64, err error) {
	t0, c0 := time.Now(), cpu()
	err = f()
	return time.Since(t0).Seconds(), (cpu() - c0).Seconds(), err
}

func run(path string) error {
	var s []clv.Summary
	read, _, err := stopwatch(func() (err error) { s, err = readCSV(path); return err })
	if err != nil {
		return err
	}
	ctx := context.Background()
	var bg clv.BGNBDFit
	var gg clv.GammaGammaFit
	fitBG, fitBGCPU, err := stopwatch(func() (err error) { bg, err = clv.FitBGNBD(ctx, s, nil); return err })
	if err != nil {
		return err
	}
	fitGG, fitGGCPU, err := stopwatch(func() (err error) { gg, err = clv.FitGammaGamma(ctx, s, nil); return err })
	if err != nil {
		return err
	}
	var sc Scores
	methods, methodsCPU, _ := stopwatch(func() error { sc = Score(bg.BGNBD, gg.GammaGamma, s); return nil })
	score, scoreCPU, _ := stopwatch(func() error { ScoreAll(bg.BGNBD, gg.GammaGamma, s, false); return nil })
	withCLV, withCLVCPU, _ := stopwatch(func() error { ScoreAll(bg.BGNBD, gg.GammaGamma, s, true); return nil })
	var mp, me float64
	for i := range s {
		mp += sc.PAlive[i]
		me += sc.Expected[i]
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"customers": len(s), "read_s": read,
		"fit_bgnbd_s": fitBG, "fit_gg_s": fitGG, "fit_s": fitBG + fitGG, "fit_cpu_s": fitBGCPU + fitGGCPU,
		"score_methods_s": methods, "score_methods_cpu_s": methodsCPU,
		"score_s": score, "score_cpu_s": scoreCPU,
		"score_with_clv_s": withCLV, "score_with_clv_cpu_s": withCLVCPU,
		"bgnbd": bg, "gamma_gamma": gg,
		"mean_p_alive": mp / float64(len(s)), "mean_expected": me / float64(len(s)),
	})
}
