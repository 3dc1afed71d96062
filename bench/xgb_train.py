#!/usr/bin/python3
"""The Python peer of `churn train` in bench/train.sh: read the feature table's
CSV copy with pandas, train XGBoost on the rows of the earlier as-of date with
churn's parameters, monitor log loss on the held-out rows (the later as-of
date) every round as churn does, choose and fit a calibration on the held-out
margins the way churn does (none, Platt or isotonic, by two-fold cross-fitted
log loss, then refitted on all held-out rows), and save the booster and the
calibrator.

Usage: xgb_train.py FEATURES.csv OUTDIR
Writes OUTDIR/booster.json, OUTDIR/calibrator.json, OUTDIR/holdout_margins.f32
(float32, in the CSV's row order) and OUTDIR/timings.json.

Needs Debian's python3-xgboost, python3-pandas and python3-sklearn for
/usr/bin/python3 (bench/train.sh installs them when missing).
"""
import time

T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss, roc_auc_score  # noqa: E402

# churn train --rounds 200 --max-depth 6 --eta 0.1 --threads 2 --seed 1 and
# its defaults (min-child-weight 5, subsample 0.8, colsample-bytree 0.8,
# lambda 1, alpha 0); train/learner.go's xgbParams.
PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "min_child_weight": 5,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1,
    "alpha": 0,
    "nthread": 2,
    "seed": 1,
    "verbosity": 0,
}
ROUNDS = 200
HOLDOUT_AS_OF = "2024-07-01"


def calibrators():
    def none(m, y):
        return lambda x: 1 / (1 + np.exp(-x))

    def platt(m, y):
        lr = LogisticRegression(C=1e6).fit(m.reshape(-1, 1), y)
        return lambda x: lr.predict_proba(x.reshape(-1, 1))[:, 1]

    def isotonic(m, y):
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(m, y)
        return iso.predict

    return {"none": none, "platt": platt, "isotonic": isotonic}


def choose_calibration(m, y):
    """churn's ChooseCalibrator: two-fold cross-fitting on even/odd rows."""
    fits = calibrators()
    losses = {}
    for name, fit in fits.items():
        loss = 0.0
        for k in (0, 1):
            f = fit(m[k::2], y[k::2])
            p = np.clip(f(m[1 - k::2]), 1e-15, 1 - 1e-15)
            loss += log_loss(y[1 - k::2], p, labels=[0, 1]) * len(m[1 - k::2])
        losses[name] = loss / len(m)
    best = min(losses, key=losses.get)
    return best, fits[best](m, y), losses


def main(csv, out):
    t = {"import": time.perf_counter() - T0}
    s = time.perf_counter()
    df = pd.read_csv(csv)
    t["read_csv"] = time.perf_counter() - s

    s = time.perf_counter()
    feats = [c for c in df.columns if c not in ("customer_id", "as_of", "label")]
    hold = (df["as_of"] == HOLDOUT_AS_OF).to_numpy()
    dtrain = xgb.DMatrix(df.loc[~hold, feats], label=df.loc[~hold, "label"], nthread=2)
    dvalid = xgb.DMatrix(df.loc[hold, feats], label=df.loc[hold, "label"], nthread=2)
    y_hold = df.loc[hold, "label"].to_numpy()
    t["dmatrix"] = time.perf_counter() - s

    s = time.perf_counter()
    booster = xgb.train(PARAMS, dtrain, num_boost_round=ROUNDS, evals=[(dvalid, "valid")], verbose_eval=False)
    t["train"] = time.perf_counter() - s

    s = time.perf_counter()
    margins = booster.predict(dvalid, output_margin=True)
    method, cal, losses = choose_calibration(margins.astype(np.float64), y_hold)
    probs = cal(margins.astype(np.float64))
    t["calibrate"] = time.perf_counter() - s

    s = time.perf_counter()
    os.makedirs(out, exist_ok=True)
    booster.save_model(os.path.join(out, "booster.json"))
    with open(os.path.join(out, "calibrator.json"), "w") as f:
        json.dump({"method": method, "log_loss": losses}, f)
    margins.astype("<f4").tofile(os.path.join(out, "holdout_margins.f32"))
    t["save"] = time.perf_counter() - s

    t["auc"] = roc_auc_score(y_hold, margins)
    t["auc_calibrated"] = roc_auc_score(y_hold, probs)
    t["calibration"] = method
    with open(os.path.join(out, "timings.json"), "w") as f:
        json.dump(t, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
