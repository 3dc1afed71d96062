#!/usr/bin/env python3
"""The Python peer of churn's lifetime models (internal/clv).

Two uses:

  lifetime_peer.py golden OUT.csv
      Reference values of the BG/NBD customer-level quantities for
      internal/clv's tests: P(alive), E[Y(t) | x, tx, T], P(no purchase in t),
      and E[X(t)], evaluated with mpmath at 50 significant digits straight from
      the formulas of Fader, Hardie and Lee (2005) and the lifetimes library
      (BetaGeoFitter.conditional_probability_alive and
      conditional_expected_number_of_purchases_up_to_time), plus scipy's
      float64 hyp2f1 evaluation of the same formula (the lifetimes way) where it
      is finite, to show where a direct evaluation breaks down.

  lifetime_peer.py bench SUMMARIES.csv
      Fits BG/NBD and Gamma-Gamma on the summaries (header
      frequency,recency,T,monetary) by minimising the same negative
      log-likelihoods as lifetimes (BetaGeoFitter._negative_log_likelihood,
      GammaGammaFitter._negative_log_likelihood) with scipy.optimize.minimize,
      Nelder-Mead on log-parameters as lifetimes does, from the same starts
      as churn; then scores every customer (P(alive), E[Y(90 days)], expected
      spend) with vectorised numpy/scipy. Prints one JSON line of timings and
      parameters.

Needs python3-scipy (and python3-mpmath for golden): bench/lifetime.sh
installs them from Debian.
"""
import json
import sys
import time

import numpy as np


def golden(out):
    import mpmath as mp
    from scipy.special import hyp2f1

    mp.mp.dps = 50
    params = [
        (0.243, 4.414, 0.793, 2.426),  # CDNOW, Fader, Hardie and Lee (2005)
        (0.5, 3.0, 1.5, 4.0),  # a > 1: finite lifetime purchases
        (300.0, 600.0, 0.8, 6.0),  # r >> a+b: nearly homogeneous purchase rates
        (488.187, 4.414, 0.793, 6.469333333333334),  # found by FuzzBGNBDPredictions
    ]
    cases = [
        # x, tx, T, t (weeks)
        (0, 0, 38.86, 39), (0, 0, 0, 13), (2, 30.43, 38.86, 39), (1, 1.71, 38.86, 13),
        (18, 35.14, 35.86, 1), (29, 37.71, 38.0, 1), (26, 30.86, 31.0, 1),
        (5, 10.0, 38.0, 52), (40, 38.0, 39.0, 12.857), (100, 38.0, 39.0, 13),
        (500, 38.0, 39.0, 1), (500, 38.0, 39.0, 13), (500, 20.0, 39.0, 13),
        (500, 38.9, 39.0, 52), (2000, 104.0, 104.5, 13),
    ]
    rows = []
    for r, al, a, b in params:
        r_, al_, a_, b_ = map(mp.mpf, (r, al, a, b))
        for x, tx, T, t in cases:
            x_, tx_, T_, t_ = map(mp.mpf, (x, tx, T, t))
            if x > 0:
                odds = a_ / (b_ + x_ - 1) * ((al_ + T_) / (al_ + tx_)) ** (r_ + x_)
            else:
                odds = mp.mpf(0)
            palive = 1 / (1 + odds)
            z = t_ / (al_ + T_ + t_)
            hyp = mp.hyp2f1(r_ + x_, b_ + x_, a_ + b_ + x_ - 1, z)
            ey = (a_ + b_ + x_ - 1) / (a_ - 1) * (1 - ((al_ + T_) / (al_ + T_ + t_)) ** (r_ + x_) * hyp) * palive
            pno = (1 - palive) + palive * ((al_ + T_) / (al_ + T_ + t_)) ** (r_ + x_)
            zu = t_ / (al_ + t_)
            ex = (a_ + b_ - 1) / (a_ - 1) * (1 - (al_ / (al_ + t_)) ** r_ * mp.hyp2f1(r_, b_, a_ + b_ - 1, zu))
            # The lifetimes way: float64 scipy hyp2f1 of the untransformed series.
            with np.errstate(all="ignore"):
                f = np.float64
                h = hyp2f1(r + x, b + x, a + b + x - 1, float(z))
                sp_odds = f(a) / (b + x - 1) * (f(al + T) / (al + tx)) ** (r + x) if x > 0 else 0.0
                sp = (a + b + x - 1) / (a - 1) * (1 - (f(al + T) / (al + T + t)) ** (r + x) * h) / (1 + sp_odds)
            rows.append((r, al, a, b, x, tx, T, t,
                         mp.nstr(palive, 17), mp.nstr(ey, 17), mp.nstr(pno, 17), mp.nstr(ex, 17), repr(float(sp))))
    with open(out, "w") as f:
        f.write("# Produced by bench/lifetime_peer.py golden (mpmath %s at 50 digits, scipy %s).\n" % (mp.__version__, __import__("scipy").__version__))
        f.write("# p_alive, expected, prob_no_purchase, unconditional: mpmath, exact to the digits shown.\n")
        f.write("# scipy_expected: the same formula in float64 with scipy.special.hyp2f1 (as lifetimes evaluates it).\n")
        f.write("r,alpha,a,b,x,tx,T,t,p_alive,expected,prob_no_purchase,unconditional,scipy_expected\n")
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")


def bgnbd_nll(logp, x, tx, T):
    from scipy.special import gammaln

    r, alpha, a, b = np.exp(logp)
    A1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    A2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    A3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        A4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx), -np.inf)
    m = np.maximum(A3, A4)
    ll = A1 + A2 + m + np.log(np.exp(A3 - m) + np.exp(A4 - m))
    return -ll.mean()


def gg_nll(logp, x, m):
    from scipy.special import gammaln

    p, q, v = np.exp(logp)
    ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
          + (p * x - 1) * np.log(m) + (p * x) * np.log(x) - (p * x + q) * np.log(x * m + v))
    return -ll.mean()


def bench(path):
    from scipy.optimize import minimize
    from scipy.special import hyp2f1

    t0 = time.perf_counter()
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    x, tx, T, mon = d[:, 0], d[:, 1], d[:, 2], d[:, 3]
    t_read = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    start = np.log([1.0, max(T.sum() / (x + 1).sum(), 1e-3), 1.0, 1.0])
    res = minimize(bgnbd_nll, start, args=(x, tx, T), method="Nelder-Mead",
                   options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12})
    r, alpha, a, b = np.exp(res.x)
    rep = (x > 0) & (mon > 0)
    xr, mr = x[rep], mon[rep]
    gstart = np.log([1.0, 2.0, mr.mean()])
    gres = minimize(gg_nll, gstart, args=(xr, mr), method="Nelder-Mead",
                    options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12})
    p, q, v = np.exp(gres.x)
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    with np.errstate(all="ignore"):
        odds = np.where(x > 0, a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x), 0.0)
        palive = 1 / (1 + odds)
        t = 90 / 7
        z = t / (alpha + T + t)
        ey = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)) * palive
        spend = p * (v + x * mon) / (p * x + q - 1)
    t_score, c_score = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({
        "customers": int(len(x)), "read_s": round(t_read, 3), "fit_s": round(t_fit, 3), "fit_cpu_s": round(c_fit, 3),
        "score_s": round(t_score, 3), "score_cpu_s": round(c_score, 3),
        "bgnbd": {"r": r, "alpha": alpha, "a": a, "b": b, "log_likelihood": -res.fun * len(x), "nfev": int(res.nfev)},
        "gamma_gamma": {"p": p, "q": q, "gamma": v, "customers": int(rep.sum()), "nfev": int(gres.nfev)},
        "nonfinite_expected": int((~np.isfinite(ey)).sum()),
        "mean_p_alive": float(palive.mean()), "mean_expected": float(np.nanmean(ey)), "mean_spend": float(spend.mean()),
    }))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("golden", "bench"):
        sys.exit(__doc__)
    (golden if sys.argv[1] == "golden" else bench)(sys.argv[2])
