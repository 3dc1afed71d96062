#!/usr/bin/env bash
# The feature stage against DuckDB on the same Parquet (issue: point-in-time features).
# DuckDB runs bench/duckdb/features.sql: 18 representative features from customers, usage,
# tickets and payments. churn runs twice: on the same four tables' feature groups
# (usage, tickets, payments, lifecycle: 33 features) and with every group (48 features from
# all nine tables). Runs alternate so both see the same machine load; medians are reported.
source "$(dirname "$0")/lib.sh"
need_time
ensure_1m
[ -d "$NODE_MODULES/@duckdb/node-api" ] || make -C "$ROOT" duckdb >/dev/null
ln -sfn "$NODE_MODULES" "$ROOT/bench/duckdb/node_modules"
: > "$OUT/times.txt"
for i in $(seq "$RUNS"); do
	measure duckdb node "$ROOT/bench/duckdb/run.mjs" "$ROOT/bench/duckdb/features.sql" "$DATA1M" "$OUT/duck_features.parquet"
	measure churn_same_tables "$CHURN" features --data "$DATA1M" --as-of 2024-10-01 --label none --groups usage,tickets,payments,lifecycle --out "$OUT/churn_features_4.parquet"
	measure churn_all "$CHURN" features --data "$DATA1M" --as-of 2024-10-01 --label none --out "$OUT/churn_features_all.parquet"
done
rows=$(for t in "$DATA1M"/*.parquet; do echo 1; done | wc -l)
d=$(median duckdb 2); s=$(median churn_same_tables 2); a=$(median churn_all 2)
echo "features as of 2024-10-01 on 1M generated customers ($RUNS runs each, medians, 2 cores):"
printf '  %-34s wall %6.2fs  cpu %6.2fs  peak RSS %5d MB\n' \
	"DuckDB, 18 features (4 tables)" "$d" "$(echo "$(median duckdb 3) + $(median duckdb 4)" | bc)" "$(( $(median duckdb 5) / 1024 ))" \
	"churn, 33 features (same 4 tables)" "$s" "$(echo "$(median churn_same_tables 3) + $(median churn_same_tables 4)" | bc)" "$(( $(median churn_same_tables 5) / 1024 ))" \
	"churn, 48 features (all 9 tables)" "$a" "$(echo "$(median churn_all 3) + $(median churn_all 4)" | bc)" "$(( $(median churn_all 5) / 1024 ))"
printf '  wall-time ratio churn/DuckDB on the same tables: %.2f×\n' "$(echo "$s / $d" | bc -l)"
