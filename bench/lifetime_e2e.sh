#!/usr/bin/env bash
# churn lifetime end to end on 1M customers of a generated shop (churn
# generate --business ecommerce): one pass over the orders (RFM at the
# as-of date and the holdout's purchase days), BG/NBD and Gamma-Gamma fits,
# scoring, the holdout check, Kaplan-Meier curves, and the three output
# files. Reports wall time, CPU time and peak RSS. The pure fit against a
# scipy peer is bench/lifetime (internal/clv's); this is the command.
source "$(dirname "$0")/lib.sh"
need_time
SHOP1M=${CHURN_BENCH_SHOP1M:-$OUT/shop1m}
AS_OF=${AS_OF:-2024-07-01}
if [ ! -f "$SHOP1M/customers.parquet" ]; then
	echo "generating a shop of 1M customers × 24 months into $SHOP1M"
	"$CHURN" generate --business ecommerce --customers 1000000 --seed 1 --out "$SHOP1M" >/dev/null
fi
: > "$OUT/times.txt"
for i in $(seq "$RUNS"); do
	rm -rf "$OUT/lifetime1m"
	measure lifetime "$CHURN" lifetime --data "$SHOP1M" --as-of "$AS_OF" --out "$OUT/lifetime1m"
done
orders=$(grep -o '"purchase_events": [0-9]*' "$OUT/lifetime1m/lifetime.json" | grep -o '[0-9]*$')
fitted=$(grep -o '"fitted": [0-9]*' "$OUT/lifetime1m/lifetime.json" | grep -o '[0-9]*$')
printf 'churn lifetime, shop of 1M customers (%s orders, %s fitted as of %s): median wall %ss, user %ss, peak RSS %d MB (%d runs)\n' \
	"$orders" "$fitted" "$AS_OF" "$(median lifetime 2)" "$(median lifetime 3)" "$(( $(median lifetime 5) / 1024 ))" "$RUNS"
