#!/usr/bin/env bash
# churn predict at 1M customers (issues 6 and 10): whole runs as the nightly
# job does them (features + model + reasons + ranking + alerts + write; wall
# time, CPU and peak RSS) by reasons method — none, approx, exact — so that
# the reasons' share of a run is the difference with none; the feature stage
# alone on the same customers; and the model alone against XGBoost on the
# same matrix: the Go explainer's contributions against XGBoost's own
# (bit-for-bit check), internal/xgb's Booster.Predict (XGBoost's C API) and
# Python's XGBoost (Debian python3-xgboost).
# Runs alternate, medians of $RUNS are reported; ratios come from one run.
# The model is trained once on 20,000 other generated customers.
#
#   METHODS="none approx exact" (default) chooses the methods measured;
#   CHURN_BIN=/path/to/churn measures another binary (an older one knows
#   only approx, exact and auto: METHODS=approx); MODEL_ALONE=0 skips step 3.
source "$(dirname "$0")/lib.sh"
need_time
CHURN=${CHURN_BIN:-$CHURN}
[ -x "$CHURN" ] || make -C "$ROOT" build >/dev/null
ensure_1m
MODEL=$OUT/predict-model
AS_OF=2024-12-01
METHODS=${METHODS:-none approx exact}
if [ ! -f "$MODEL/model.json" ]; then
	echo "training the benchmark model on 20,000 other generated customers (once)"
	"$CHURN" generate --customers 20000 --months 24 --seed 2 --out "$OUT/predict-train-data" >/dev/null 2>&1
	"$CHURN" features --data "$OUT/predict-train-data" --snapshots 2023-07-01:2024-08-01:1m --out "$OUT/predict-train.parquet" >/dev/null 2>&1
	"$CHURN" train --features "$OUT/predict-train.parquet" --model "$MODEL" 2>/dev/null | head -1
fi
# The nightly state: yesterday's partition is there to compare with.
for m in $METHODS; do
	rm -rf "$OUT/predict-$m"
	"$CHURN" predict --data "$DATA1M" --model "$MODEL" --as-of 2024-11-01 --out "$OUT/predict-$m" --top 0 --reasons approx >/dev/null 2>&1
done
: > "$OUT/times.txt"
for i in $(seq "$RUNS"); do
	for m in $METHODS; do
		measure "predict_$m" "$CHURN" predict --data "$DATA1M" --model "$MODEL" --as-of "$AS_OF" --out "$OUT/predict-$m" --top 0 --reasons "$m"
	done
	measure features_alone "$CHURN" features --data "$DATA1M" --as-of "$AS_OF" --label none --out "$OUT/predict_features.parquet"
done
first=${METHODS%% *}
man="$OUT/predict-$first/predictions/as_of=$AS_OF/_manifest.json"
rows=$(sed -n 's/^  "rows": \([0-9]*\),/\1/p' "$man" | head -1)
cpu() { awk -v a="$(median "$1" 3)" -v b="$(median "$1" 4)" 'BEGIN{print a+b}'; }
echo "churn predict as of $AS_OF on 1M generated customers ($rows scored, compared with 2024-11-01; $RUNS runs, medians, $(nproc) cores, $("$CHURN" version 2>/dev/null | head -1)):"
for m in $METHODS; do
	share=""
	if [[ " $METHODS " == *" none "* && $m != none ]]; then
		share=$(awk -v t="$(median "predict_$m" 2)" -v z="$(median predict_none 2)" -v ct="$(cpu "predict_$m")" -v cz="$(cpu predict_none)" \
			'BEGIN{printf "reasons: %.1f s wall (%.0f%%), %.1f s CPU (%.0f%%)", t-z, 100*(t-z)/t, ct-cz, 100*(ct-cz)/ct}')
	fi
	printf '  %-44s wall %6.2fs  cpu %6.2fs  peak RSS %5d MB  %s\n' \
		"predict --reasons $m" "$(median "predict_$m" 2)" "$(cpu "predict_$m")" "$(( $(median "predict_$m" 5) / 1024 ))" "$share"
done
printf '  %-44s wall %6.2fs  cpu %6.2fs  peak RSS %5d MB\n' \
	"features alone (same customers, 48 features)" "$(median features_alone 2)" "$(cpu features_alone)" "$(( $(median features_alone 5) / 1024 ))"
[ "${MODEL_ALONE:-1}" = 0 ] && exit 0
echo
echo "model alone on the same $rows × features matrix (one run; ratios within it):"
(cd "$ROOT" && go run ./bench/predictbench -features "$OUT/predict_features.parquet" -model "$MODEL" -out "$OUT/predict-matrix" -exact-rows 20000) | sed 's/^/  /'
if /usr/bin/python3 -c 'import xgboost' 2>/dev/null; then
	/usr/bin/python3 "$ROOT/bench/xgb_predict.py" "$OUT/predict-matrix" | sed 's/^/  /'
else
	echo "  python XGBoost skipped: apt-get install python3-xgboost"
fi
