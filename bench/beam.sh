#!/usr/bin/env bash
# churn-beam on the prism runner (in-process, loopback workers, GOMAXPROCS
# goroutines: 2 on the reference machine) against churn on one machine, on
# generated data of several sizes: churn features and churn predict as of
# 2024-10-01, wall time and peak RSS, medians of RUNS.
#
#   make bench-beam                       # sizes 20k 50k 100k
#   BEAM_SIZES="20000 1000000" RUNS=1 bench/beam.sh
#   BEAM_SIZES=1000000 BEAM_MONTHS=12 BEAM_SNAPSHOTS=2024-04-01:2024-07-01:3m RUNS=1 bench/beam.sh
#
# Prism keeps every shuffled element in memory (~50 KB a customer with all
# tables): 1M customers do not fit in 24 GB, so the default sizes stop at
# 100k; per-customer costs extrapolate (docs/scaling.md).
source "$(dirname "$0")/lib.sh"
need_time
BEAM=$ROOT/bin/churn-beam
SIZES=${BEAM_SIZES:-20000 50000 100000}
# Months of history generated (ending 2024-12-31) and the training snapshots.
MONTHS=${BEAM_MONTHS:-24}
SNAPSHOTS=${BEAM_SNAPSHOTS:-2024-01-01:2024-07-01:3m}
AS_OF=2024-10-01
: >"$OUT/times.txt"
for n in $SIZES; do
	d=$OUT/beam$n
	[ "$MONTHS" = 24 ] || d=$OUT/beam${n}m$MONTHS
	if [ ! -f "$d/data/customers.parquet" ]; then
		rm -rf "$d"
		"$CHURN" generate --customers "$n" --months "$MONTHS" --seed 1 --out "$d/data" >/dev/null
	fi
	if [ ! -d "$d/model" ]; then
		"$CHURN" features --data "$d/data" --snapshots "$SNAPSHOTS" --out "$d/train.parquet" >/dev/null 2>&1
		"$CHURN" train --features "$d/train.parquet" --model "$d/model" --rounds 100 --search-budget 0 >/dev/null 2>&1
	fi
	for r in $(seq "$RUNS"); do
		rm -rf "$d/out"
		measure "churn-features-$n" "$CHURN" features --data "$d/data" --as-of $AS_OF --out "$d/out/f.parquet"
		measure "beam-features-$n" "$BEAM" features --data "$d/data" --as-of $AS_OF --out "$d/out/fb"
		measure "churn-predict-$n" "$CHURN" predict --data "$d/data" --model "$d/model" --as-of $AS_OF --out "$d/out/p" --now 2026-01-01T00:00:00Z
		measure "beam-predict-$n" "$BEAM" predict --data "$d/data" --model "$d/model" --as-of $AS_OF --out "$d/out/pb" --now 2026-01-01T00:00:00Z
		cmp <(cd "$d/out/p" && find . -type f | sort | xargs sha256sum) <(cd "$d/out/pb" && find . -type f | sort | xargs sha256sum) >/dev/null ||
			{ echo "churn-beam predict differs from churn predict at $n customers"; exit 1; }
	done
done
printf "%-10s %-9s %10s %10s %10s %10s %8s %8s\n" customers stage churn_s beam_s churn_MB beam_MB time_x rss_x
for n in $SIZES; do
	for stage in features predict; do
		cw=$(median "churn-$stage-$n" 2) bw=$(median "beam-$stage-$n" 2)
		cr=$(median "churn-$stage-$n" 5) br=$(median "beam-$stage-$n" 5)
		awk -v n="$n" -v s="$stage" -v cw="$cw" -v bw="$bw" -v cr="$cr" -v br="$br" \
			'BEGIN {printf "%-10s %-9s %10.2f %10.2f %10.0f %10.0f %8.1f %8.1f\n", n, s, cw, bw, cr/1024, br/1024, bw/cw, br/cr}'
	done
done
