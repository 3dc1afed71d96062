#!/usr/bin/python3
"""Times Python XGBoost's predict on the matrix bench/predictbench wrote, and
checks its margins against churn's. Usage: xgb_predict.py DIR (with
matrix.f32, margins.f32 and shape.json). Needs Debian's python3-xgboost
(apt-get install python3-xgboost) for /usr/bin/python3."""
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb


def main(d):
    shape = json.load(open(os.path.join(d, "shape.json")))
    n, p = shape["rows"], shape["cols"]
    X = np.fromfile(os.path.join(d, "matrix.f32"), dtype="<f4").reshape(n, p)
    go = np.fromfile(os.path.join(d, "margins.f32"), dtype="<f4")
    booster = xgb.Booster(model_file=shape["booster"])
    booster.set_param({"nthread": 2})
    t = time.perf_counter()
    dm = xgb.DMatrix(X, missing=np.nan, nthread=2, feature_names=booster.feature_names)
    t_dm = time.perf_counter() - t
    t = time.perf_counter()
    m = booster.predict(dm, output_margin=True, iteration_range=(0, shape["rounds"]))
    t_pred = time.perf_counter() - t
    diff = float(np.max(np.abs(m - go)))
    print(f"python xgboost {xgb.__version__}: DMatrix {t_dm:.3f}s, predict {t_pred:.3f}s "
          f"({n / t_pred:,.0f} rows/s) on {n} x {p}; max |margin - churn's| = {diff:.3g}")
    print(f"ratios in this run: churn xgb.Booster.Predict / python predict = {shape['go_predict_seconds'] / t_pred:.2f}; "
          f"churn train.Model.ScoreWith / python (DMatrix + predict) = {shape['go_score_seconds'] / (t_dm + t_pred):.2f}")
    if diff > 1e-4:
        sys.exit("margins differ")


if __name__ == "__main__":
    main(sys.argv[1])
