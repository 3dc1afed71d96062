#!/usr/bin/env bash
# Generate 1M customers × 24 months: wall time and peak RSS (issue: data foundation).
source "$(dirname "$0")/lib.sh"
need_time
: > "$OUT/times.txt"
for i in $(seq "$RUNS"); do
	rm -rf "$OUT/gen-bench"
	measure generate "$CHURN" generate --customers 1000000 --months 24 --seed 1 --out "$OUT/gen-bench"
done
rows=$(find "$OUT/gen-bench" -name '*.parquet' -exec du -cb {} + | tail -1 | cut -f1)
rm -rf "$OUT/gen-bench"
printf 'generate 1M customers × 24 months: median wall %ss, user %ss, peak RSS %d MB (%d runs; %d bytes of Parquet)\n' \
	"$(median generate 2)" "$(median generate 3)" "$(( $(median generate 5) / 1024 ))" "$RUNS" "$rows"
