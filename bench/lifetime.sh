#!/usr/bin/env bash
# churn's lifetime models (internal/clv) against a scipy peer on the same data.
#
# bench/lifetimebench gen draws $LIFETIME_N (default 1M) customers' RFM summaries from
# BG/NBD + Gamma-Gamma (CDNOW-like parameters, times in whole days / 7) into a CSV;
# then, alternating, $RUNS times each:
#   churn:  bench/lifetimebench run: clv.FitBGNBD + clv.FitGammaGamma from the default
#           starts, then scoring every customer (P(alive), 90-day expected purchases,
#           expected spend, one by one; and clv.ScoreAll, which adds the 12-month CLV);
#   python: bench/lifetime_peer.py bench: the same negative log-likelihoods as lifetimes'
#           BetaGeoFitter and GammaGammaFitter (vectorised numpy), minimised with
#           scipy.optimize.minimize (Nelder-Mead, as lifetimes does) from the same
#           starts, then the same scores (scipy.special.hyp2f1), without CLV.
# Prints the medians and the ratios python/churn of fit time and of scoring time.
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
: >"$OUT/py.jsonl"
for i in $(seq "$RUNS"); do
	"$LB" run "$CSV" >>"$OUT/go.jsonl"
	/usr/bin/python3 "$ROOT/bench/lifetime_peer.py" bench "$CSV" >>"$OUT/py.jsonl"
done
/usr/bin/python3 - "$OUT/go.jsonl" "$OUT/py.jsonl" <<'PY'
import json, statistics, sys
go = [json.loads(l) for l in open(sys.argv[1])]
py = [json.loads(l) for l in open(sys.argv[2])]
med = lambda rs, k: statistics.median(r[k] for r in rs)
g, p = go[-1], py[-1]
print(f"customers: {g['customers']}, runs: {len(go)}")
print(f"churn  fit {med(go,'fit_s'):.2f} s (BG/NBD {med(go,'fit_bgnbd_s'):.2f}, Gamma-Gamma {med(go,'fit_gg_s'):.2f}), "
      f"score {med(go,'score_s'):.2f} s, ScoreAll with 12-month CLV {med(go,'score_all_with_clv_s'):.2f} s")
print(f"scipy  fit {med(py,'fit_s'):.2f} s, score {med(py,'score_s'):.2f} s")
print(f"ratio python/churn: fit {med(py,'fit_s')/med(go,'fit_s'):.1f}x, score {med(py,'score_s')/med(go,'score_s'):.1f}x")
b, pb = g["bgnbd"], p["bgnbd"]
print("BG/NBD churn r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f" % (b["r"], b["alpha"], b["a"], b["b"], b["log_likelihood"]))
print("BG/NBD scipy r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.2f (%d evaluations)" % (pb["r"], pb["alpha"], pb["a"], pb["b"], pb["log_likelihood"], pb["nfev"]))
gg, pg = g["gamma_gamma"], p["gamma_gamma"]
print("Gamma-Gamma churn p=%.4f q=%.4f gamma=%.4f (%d customers)" % (gg["p"], gg["q"], gg["gamma"], gg["customers"]))
print("Gamma-Gamma scipy p=%.4f q=%.4f gamma=%.4f (%d customers)" % (pg["p"], pg["q"], pg["gamma"], pg["customers"]))
PY
