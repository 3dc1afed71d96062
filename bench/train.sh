#!/usr/bin/env bash
# churn train end to end against Python (pandas + XGBoost) on the same data.
#
# bench/trainbench gen writes a synthetic feature table (numeric features with a
# nonlinear signal, noise and missing values, ~20% churned, two as-of dates) as
# Parquet for churn and as CSV for pandas: 100k × 30 and 1M × 50 by default.
# Both sides train on the rows of the earlier date and hold out the later one:
#   churn: churn train --validation oot (the later date validates), 200 rounds
#          (--early-stopping -1), depth 6, eta 0.1, 2 threads, calibration auto;
#   python: bench/xgb_train.py: read_csv, DMatrix, xgboost.train with the same
#          parameters and the held-out rows as its eval set, churn's calibration
#          choice (none/Platt/isotonic by cross-fitted log loss), save.
# Runs alternate; medians of $RUNS (default 3) and their ratios are reported, and
# the ROC AUC of both models on the same held-out rows (bench/trainbench auc).
# Then exact contributions on the larger table's rows: train.Model.Score with
# contrib=true (bench/trainbench contrib) against Python's
# predict(pred_contribs=True) with the same booster ($CONTRIB_RUNS runs, default
# 1: TreeSHAP takes ~10 minutes per side at 1M rows; $CONTRIB_ROWS limits the rows).
# Last, a CPU profile of churn's pipeline on the larger table (where the time goes).
#
# Settings: RUNS, TRAIN_SIZES ("ROWSxCOLS ..."), CONTRIB_RUNS (0 skips),
# CONTRIB_ROWS (0: all), PROFILE (0 skips).
source "$(dirname "$0")/lib.sh"
OUT=$OUT/train # its own times.txt: the other scripts truncate theirs
mkdir -p "$OUT"
SIZES=${TRAIN_SIZES:-"100000x30 1000000x50"}
CONTRIB_RUNS=${CONTRIB_RUNS:-1}
CONTRIB_ROWS=${CONTRIB_ROWS:-0}
PROFILE=${PROFILE:-1}
need_time
if ! /usr/bin/python3 -c 'import xgboost, pandas, sklearn' 2>/dev/null; then
	echo "installing python3-xgboost, python3-pandas, python3-sklearn (Debian) for /usr/bin/python3"
	${SUDO:-} apt-get update -qq
	DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq python3-xgboost python3-pandas python3-sklearn >/dev/null
fi
make -C "$ROOT" build >/dev/null # the churn of this working tree
TB=$OUT/trainbench
(cd "$ROOT" && go build -o "$TB" ./bench/trainbench)
gen_stamp=$(sha256sum "$ROOT/bench/trainbench/main.go" | cut -c1-16)

# cpu NAME: median user+sys seconds.
cpu() { awk -v a="$(median "$1" 3)" -v b="$(median "$1" 4)" 'BEGIN{printf "%.2f", a+b}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
# measure_out NAME FILE CMD...: measure, keeping CMD's stdout in FILE.
measure_out() {
	local name=$1 file=$2; shift 2
	/usr/bin/time -f "$name %e %U %S %M" -a -o "$OUT/times.txt" "$@" >"$file" 2>"$OUT/last.err" || { cat "$file" "$OUT/last.err"; return 1; }
}

: > "$OUT/times.txt"
for size in $SIZES; do
	rows=${size%x*} cols=${size#*x} dir=$OUT/$size
	if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$rows $cols 1 $gen_stamp" ]; then
		"$TB" gen -rows "$rows" -features "$cols" -seed 1 -out "$dir"
		echo "$rows $cols 1 $gen_stamp" > "$dir/stamp"
	fi
	rm -f "$dir"/py-timings-*.json
	for i in $(seq "$RUNS"); do
		measure "churn_$size" "$CHURN" train --features "$dir/features.parquet" --model "$dir/churn-model" --seed 1 \
			--rounds 200 --max-depth 6 --eta 0.1 --threads 2 --early-stopping -1 \
			--validation oot --valid-share 0.1 --calibration auto
		measure "python_$size" /usr/bin/python3 "$ROOT/bench/xgb_train.py" "$dir/features.csv" "$dir/py"
		cp "$dir/py/timings.json" "$dir/py-timings-$i.json"
	done
done

echo "churn train vs Python (pandas read_csv + xgboost.train), 200 rounds, depth 6, eta 0.1, 2 threads;"
echo "$RUNS runs each, alternating, medians; $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg):"
printf '  %-12s %-8s %8s %8s %10s\n' table side wall cpu "peak RSS"
for size in $SIZES; do
	for side in churn python; do
		printf '  %-12s %-8s %7.2fs %7.2fs %7d MB\n' "$size" "$side" "$(median "${side}_$size" 2)" "$(cpu "${side}_$size")" "$(( $(median "${side}_$size" 5) / 1024 ))"
	done
	printf '  %-12s %-8s %7s× %7s× %8s×   (target ≤ 1.00×)\n' "$size" churn/py \
		"$(ratio "$(median "churn_$size" 2)" "$(median "python_$size" 2)")" \
		"$(ratio "$(cpu "churn_$size")" "$(cpu "python_$size")")" \
		"$(ratio "$(median "churn_$size" 5)" "$(median "python_$size" 5)")"
done
echo
echo "Python's stages (medians, seconds):"
for size in $SIZES; do
	/usr/bin/python3 - "$OUT/$size" "$size" <<'EOF'
import glob, json, statistics, sys
ts = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/py-timings-*.json")]
keys = ["import", "read_csv", "dmatrix", "train", "calibrate", "save"]
print(f"  {sys.argv[2]:<12} " + ", ".join(f"{k} {statistics.median(t[k] for t in ts):.2f}" for k in keys)
      + f"; calibration {ts[-1]['calibration']}")
EOF
done
echo
echo "ROC AUC on the same held-out rows (the later as-of date; margins, before calibration):"
for size in $SIZES; do
	printf '  %-12s ' "$size"
	"$TB" auc -table "$OUT/$size/features.parquet" -model "$OUT/$size/churn-model" -python-margins "$OUT/$size/py/holdout_margins.f32"
done

big=${SIZES##* }
if [ "$CONTRIB_RUNS" -gt 0 ]; then
	dir=$OUT/$big
	echo
	echo "exact contributions (TreeSHAP) with the $big model, $CONTRIB_RUNS run(s) each (whole process: read + load + score):"
	for i in $(seq "$CONTRIB_RUNS"); do
		measure_out contrib_churn "$dir/contrib-churn.txt" "$TB" contrib -table "$dir/features.parquet" -model "$dir/churn-model" -score-rows "$CONTRIB_ROWS" -out "$dir/contrib"
		measure_out contrib_python "$dir/contrib-python.txt" /usr/bin/python3 "$ROOT/bench/xgb_contrib.py" "$dir/features.csv" "$dir/churn-model/booster.json" "$CONTRIB_ROWS" "$dir/contrib"
	done
	for side in churn python; do
		printf '  %-8s wall %7.2fs  cpu %7.2fs  peak RSS %5d MB\n' "$side" "$(median "contrib_$side" 2)" "$(cpu "contrib_$side")" "$(( $(median "contrib_$side" 5) / 1024 ))"
	done
	printf '  churn/python: wall %s×, peak RSS %s×\n' "$(ratio "$(median contrib_churn 2)" "$(median contrib_python 2)")" "$(ratio "$(median contrib_churn 5)" "$(median contrib_python 5)")"
	echo "  last run, in process (the Python script compares every 997th row's contributions with churn's):"
	cat "$dir/contrib-churn.txt" "$dir/contrib-python.txt" | sed 's/^/    /'
fi

if [ "$PROFILE" != 0 ]; then
	dir=$OUT/$big
	echo
	echo "where churn's time goes on $big (bench/trainbench fit: the same pipeline in process, with a CPU profile):"
	"$TB" fit -table "$dir/features.parquet" -model "$dir/prof-model" -cpuprofile "$dir/cpu.prof" | sed 's/^/  /'
	# share NAME REGEX: CPU seconds of samples whose stack matches REGEX.
	prof_top=$(go tool pprof -top "$TB" "$dir/cpu.prof" 2>/dev/null)
	total=$(echo "$prof_top" | sed -n 's/.*Total samples = \([0-9.]*\)\(m\?s\).*/\1 \2/p' | awk '{print ($2=="ms") ? $1/1000 : $1}')
	share() {
		local s
		s=$(go tool pprof -top -nodefraction=0 -nodecount=1000000 -focus="$2" "$TB" "$dir/cpu.prof" 2>/dev/null | sed -n 's/^Showing nodes accounting for \([0-9.]*\)\(m\?s\),.*/\1 \2/p' | awk '{print ($2=="ms") ? $1/1000 : $1}')
		printf '    %-58s %7.2fs %5.1f%%\n' "$1" "${s:-0}" "$(awk -v a="${s:-0}" -v t="$total" 'BEGIN{print 100*a/t}')"
	}
	echo "  CPU by stage (all threads; ${total}s in total):"
	share "read the Parquet table (features.ReadTable)" 'features\.ReadTable'
	share "encode the matrix (features.Encoder.Matrix)" 'features\.\(\*Encoder\)\.Matrix'
	share "copy into XGBoost (xgb.NewDMatrix)" 'xgb\.NewDMatrix'
	share "boosting, calling thread (UpdateOneIter)" 'UpdateOneIter'
	share "held-out log loss each round (EvalOneIter)" 'EvalOneIter'
	share "XGBoost's OpenMP worker threads (any call above)" '_ExternalCode'
	share "held-out margins (Booster.Predict)" 'xgb\.\(\*Booster\)\.Predict'
	share "calibration (ChooseCalibrator)" 'train\.calibrate'
	share "feature and score reference distributions" 'train\.reference|train\.numericDistribution'
	share "importance (booster JSON)" 'train\.importance|xgbModel\)\.gain'
	share "save (model.json, booster.json)" 'train\.\(\*Model\)\.Save|SaveJSON'
	share "garbage collector" 'runtime\.gcBgMarkWorker'
fi
