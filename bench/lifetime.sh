#!/usr/bin/env bash
# churn's lifetime models (internal/clv) against a scipy peer on the same data.
#
# bench/lifetimebench gen draws $LIFETIME_N (default 1M) customers' RFM summaries from
# BG/NBD + Gamma-Gamma (CDNOW-like parameters, times in whole days / 7) into a CSV;
# then, alternating, $RUNS times each:
#   churn:  bench/lifetimebench run: clv.FitBGNBD + clv.FitGammaGamma from the default
#           starts, then scoring every customer: the methods one by one (P(alive), 90-day
#           expected purchases, expected spend), clv.ScoreAll (the same and P(no purchase),
#           grouped by (x, tx, T), parallel), and clv.ScoreAll with the 12-month CLV;
#   python: bench/lifetime_peer.py bench: the same negative log-likelihoods as lifetimes'
#           BetaGeoFitter and GammaGammaFitter (vectorised numpy), minimised with
#           scipy.optimize.minimize (Nelder-Mead, as lifetimes does) from the same
#           starts, then the same scores (scipy.special.hyp2f1), without CLV.
# Prints the medians and the ratios python/churn of fit time and of scoring time.
# PY_RUNS (default $RUNS) sets the Python runs apart: one takes minutes at 1M; 0 reuses
# the previous ones (bench/out/lifetime/py.jsonl).
source "$(dirname "$0")/lib.sh"
OUT=$OUT/lifetime
mkdir -p "$OUT"
N=${LIFETIME_N:-1000000}
if ! /usr/bin/python3 -c 'import scipy, numpy, mpmath' 2>/dev/null; then
	echo "installing python3-scipy, python3-mpmath (Debian) for /usr/bin/python3"
	${SUDO:-} apt-get update -qq
	DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq python3-scipy python3-mpmath >/dev/null
fi
LB=$OUT/lifetimebench
(cd "$ROOT" && go build -o "$LB" ./bench/lifetimebench)
CSV=$OUT/summaries_$N.csv
[ -f "$CSV" ] || "$LB" gen -n "$N" -seed 1 -out "$CSV"
: >"$OUT/go.jsonl"
PY_RUNS=${PY_RUNS:-$RUNS}
[ "$PY_RUNS" -eq 0 ] || : >"$OUT/py.jsonl" # PY_RUNS=0 reuses the last Python runs
for i in $(seq "$RUNS"); do
	"$LB" run "$CSV" >>"$OUT/go.jsonl"
	if [ "$i" -le "$PY_RUNS" ]; then
		/usr/bin/python3 "$ROOT/bench/lifetime_peer.py" bench "$CSV" >>"$OUT/py.jsonl"
	fi
done
/usr/bin/python3 - "$OUT/go.jsonl" "$OUT/py.jsonl" <<'PY'
import json, statistics, sys
go = [json.loads(l) for l in open(sys.argv[1])]
py = [json.loads(l) for l in open(sys.argv[2])]
med = lambda rs, k: statistics.median(r[k] for r in rs)
g, p = go[-1], py[-1]
print(f"customers: {g['customers']}, runs: churn {len(go)}, python {len(py)}")
def both(rs, k):
    return f"{med(rs, k):.2f} s ({med(rs, k.replace('_s', '_cpu_s')):.2f} s CPU)"
print(f"churn  fit {both(go, 'fit_s')} (BG/NBD {med(go,'fit_bgnbd_s'):.2f}, Gamma-Gamma {med(go,'fit_gg_s'):.2f}), "
      f"score: methods one by one {both(go, 'score_methods_s')}, ScoreAll {both(go, 'score_s')}, "
      f"ScoreAll with 12-month CLV {both(go, 'score_with_clv_s')}")
print(f"scipy  fit {both(py, 'fit_s')}, score {both(py, 'score_s')}")
for what in ("_s", "_cpu_s"):
    f, s_ = "fit" + what, "score" + what
    print(f"ratio python/churn ({'wall' if what == '_s' else 'CPU'}): fit {med(py,f)/med(go,f):.0f}x, score {med(py,s_)/med(go,s_):.1f}x "
          f"(ScoreAll), {med(py,s_)/med(go,s_.replace('score', 'score_methods')):.1f}x (methods one by one)")
b, pb = g["bgnbd"], p["bgnbd"]
print("BG/NBD churn r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f" % (b["r"], b["alpha"], b["a"], b["b"], b["log_likelihood"]))
print("BG/NBD scipy r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f (%d evaluations)" % (pb["r"], pb["alpha"], pb["a"], pb["b"], pb["log_likelihood"], pb["nfev"]))
gg, pg = g["gamma_gamma"], p["gamma_gamma"]
print("Gamma-Gamma churn p=%.4f q=%.4f gamma=%.4f (%d customers)" % (gg["p"], gg["q"], gg["gamma"], gg["customers"]))
print("Gamma-Gamma scipy p=%.4f q=%.4f gamma=%.4f (%d customers)" % (pg["p"], pg["q"], pg["gamma"], pg["customers"]))
PY
