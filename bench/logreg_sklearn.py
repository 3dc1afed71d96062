#!/usr/bin/python3
"""Fit scikit-learn's LogisticRegression on the problems in
internal/logreg/testdata/sklearn_problems.json and write its coefficients to
internal/logreg/testdata/sklearn_coef.json, the reference that
internal/logreg's TestMatchesSklearn checks against.

Run with Debian's Python (apt-get install -y python3-sklearn python3-pandas):

    /usr/bin/python3 bench/logreg_sklearn.py

go test does not run this script. The problems file is written by
`go test ./internal/logreg -run TestMatchesSklearn -update`.

Standardisation mirrors internal/logreg exactly: per column, the mean and
population standard deviation of the non-missing values weighted by
w * class_weight; missing values become 0 after standardising; a constant
column gets scale 1. LogisticRegression(C=1/L2) then fits the standardised
matrix with the same sample and class weights.

"fits" come from the newton-cholesky solver, which reaches the optimum to
machine precision and is the reference. "fits_lbfgs" are kept for the record:
sklearn's lbfgs stops on a relative function change of 64·eps (its ftol),
about 1e-6 away from the optimum in the coefficients on these problems,
whatever tol says.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "internal", "logreg", "testdata")


def standardise(X, v):
    Z = np.zeros_like(X)
    for j in range(X.shape[1]):
        col = X[:, j]
        ok = ~np.isnan(col) & (v > 0)
        mean = np.average(col[ok], weights=v[ok]) if ok.any() else 0.0
        sd = np.sqrt(np.average((col[ok] - mean) ** 2, weights=v[ok])) if ok.any() else 0.0
        if not sd > 1e-12 * max(1.0, abs(mean)):
            sd = 1.0
        present = ~np.isnan(col)
        Z[present, j] = (col[present] - mean) / sd
    return Z


def main():
    with open(os.path.join(TESTDATA, "sklearn_problems.json")) as f:
        problems = json.load(f)
    out = {"sklearn": sklearn.__version__}
    for p in problems:
        n, k = p["n"], p["p"]
        X = np.array([np.nan if x is None else x for x in p["X"]], dtype=float).reshape(n, k)
        y = np.array(p["y"], dtype=float)
        w = np.ones(n) if p.get("w") is None else np.array(p["w"], dtype=float)
        pw = p.get("positive_weight") or 1.0
        v = w * np.where(y == 1, pw, 1.0)
        Z = standardise(X, v)
        for key, solver in (("fits", "newton-cholesky"), ("fits_lbfgs", "lbfgs")):
            clf = LogisticRegression(C=1.0 / p["l2"], penalty="l2", solver=solver,
                                     tol=1e-12, max_iter=100000,
                                     class_weight={0: 1.0, 1: pw})
            clf.fit(Z, y, sample_weight=w)
            out.setdefault(key, {})[p["name"]] = {
                "coef": [float(c) for c in clf.coef_[0]],
                "intercept": float(clf.intercept_[0]),
                "n_iter": int(clf.n_iter_[0]),
            }
            print(p["name"], solver, "intercept", clf.intercept_[0], "coef", clf.coef_[0], file=sys.stderr)
    with open(os.path.join(TESTDATA, "sklearn_coef.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
