#!/usr/bin/python3
"""The Python peer of scoring with contributions in bench/train.sh: read the
feature table's CSV copy with pandas, load the booster churn trained and
compute exact SHAP contributions (predict(pred_contribs=True)) for the first
ROWS rows, then compare a sample with the contributions churn computed
(bench/trainbench contrib -out DIR writes DIR/go_contrib_sample.f64 and
DIR/go_contrib.json).

Usage: xgb_contrib.py FEATURES.csv BOOSTER.json ROWS [DIR]
ROWS 0 means every row. Prints the timings; exits non-zero when the sample
differs from churn's.
"""
import time

T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xgboost as xgb  # noqa: E402


def main(csv, booster_path, rows, cmp_dir):
    t_import = time.perf_counter() - T0
    s = time.perf_counter()
    df = pd.read_csv(csv, nrows=rows or None)
    feats = [c for c in df.columns if c not in ("customer_id", "as_of", "label")]
    booster = xgb.Booster(model_file=booster_path)
    booster.set_param({"nthread": 2})
    t_read = time.perf_counter() - s
    s = time.perf_counter()
    dm = xgb.DMatrix(df[feats], nthread=2)
    contrib = booster.predict(dm, pred_contribs=True)
    t_score = time.perf_counter() - s
    n = len(df)
    print(f"python xgboost {xgb.__version__}: import {t_import:.2f}s, read+load {t_read:.2f}s, "
          f"DMatrix+predict(pred_contribs=True) {t_score:.2f}s for {n} rows x {len(feats)} features "
          f"({n / t_score:.0f} rows/s)")
    if not cmp_dir:
        return
    meta = json.load(open(os.path.join(cmp_dir, "go_contrib.json")))
    go = np.fromfile(os.path.join(cmp_dir, "go_contrib_sample.f64"), dtype="<f8").reshape(-1, meta["cols"])
    mine = contrib[:: meta["every"]].astype(np.float64)
    if mine.shape != go.shape:
        sys.exit(f"sample shapes differ: python {mine.shape}, churn {go.shape}")
    diff = float(np.max(np.abs(mine - go)))
    print(f"contributions of {len(go)} sampled rows: max |python - churn| = {diff:.3g}; "
          f"score time churn / python = {meta['score_seconds'] / t_score:.2f}")
    if diff > 1e-5:
        sys.exit("contributions differ")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")
