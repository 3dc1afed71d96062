#!/usr/bin/env bash
# churn predict at 1M customers (issue 6): a whole run as the nightly job does
# it (features + model + reasons + ranking + alerts + write; wall time and
# peak RSS), the feature stage alone on the same customers, and the model
# alone against XGBoost on the same matrix: internal/xgb's Booster.Predict
# (XGBoost's C API) and Python's XGBoost (Debian python3-xgboost).
# Runs alternate, medians of $RUNS are reported; ratios come from one run.
# The model is trained once on 20,000 other generated customers.
source "$(dirname "$0")/lib.sh"
need_time
[ -x "$CHURN" ] || make -C "$ROOT" build >/dev/null
ensure_1m
MODEL=$OUT/predict-model
AS_OF=2024-12-01
if [ ! -f "$MODEL/model.json" ]; then
	echo "training the benchmark model on 20,000 other generated customers (once)"
	"$CHURN" generate --customers 20000 --months 24 --seed 2 --out "$OUT/predict-train-data" >/dev/null 2>&1
	"$CHURN" features --data "$OUT/predict-train-data" --snapshots 2023-07-01:2024-08-01:1m --out "$OUT/predict-train.parquet" >/dev/null 2>&1
	"$CHURN" train --features "$OUT/predict-train.parquet" --model "$MODEL" 2>/dev/null | head -1
fi
# The nightly state: yesterday's partition is there to compare with.
rm -rf "$OUT/predict"
"$CHURN" predict --data "$DATA1M" --model "$MODEL" --as-of 2024-11-01 --out "$OUT/predict" --top 0 >/dev/null 2>&1
: > "$OUT/times.txt"
for i in $(seq "$RUNS"); do
	measure predict_auto "$CHURN" predict --data "$DATA1M" --model "$MODEL" --as-of "$AS_OF" --out "$OUT/predict" --top 0
	measure features_alone "$CHURN" features --data "$DATA1M" --as-of "$AS_OF" --label none --out "$OUT/predict_features.parquet"
done
man="$OUT/predict/predictions/as_of=$AS_OF/_manifest.json"
rows=$(sed -n 's/^  "rows": \([0-9]*\),/\1/p' "$man" | head -1)
method=$(sed -n 's/^  "reasons_method": "\(.*\)",/\1/p' "$man")
p=$(median predict_auto 2); f=$(median features_alone 2)
echo "churn predict as of $AS_OF on 1M generated customers ($rows scored, reasons $method, compared with 2024-11-01; $RUNS runs, medians, $(nproc) cores):"
printf '  %-44s wall %6.2fs  cpu %6.2fs  peak RSS %5d MB\n' \
	"predict: features+model+reasons+write" "$p" "$(awk -v a="$(median predict_auto 3)" -v b="$(median predict_auto 4)" 'BEGIN{print a+b}')" "$(( $(median predict_auto 5) / 1024 ))" \
	"features alone (same customers, 48 features)" "$f" "$(awk -v a="$(median features_alone 3)" -v b="$(median features_alone 4)" 'BEGIN{print a+b}')" "$(( $(median features_alone 5) / 1024 ))"
echo
echo "model alone on the same $rows × features matrix (one run; ratios within it):"
(cd "$ROOT" && go run ./bench/predictbench -features "$OUT/predict_features.parquet" -model "$MODEL" -out "$OUT/predict-matrix" -exact-rows 20000) | sed 's/^/  /'
if /usr/bin/python3 -c 'import xgboost' 2>/dev/null; then
	/usr/bin/python3 "$ROOT/bench/xgb_predict.py" "$OUT/predict-matrix" | sed 's/^/  /'
else
	echo "  python XGBoost skipped: apt-get install python3-xgboost"
fi
