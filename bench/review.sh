#!/usr/bin/env bash
# churn review over a year of nightly predictions partitions (issue 11): the
# review must take less time than one nightly scoring step.
#
# The data is generated with the simulated retention loop (churn generate
# --interventions, once); the partitions are written synthetically by
# bench/reviewbench (every column of the predictions schema, rank order,
# 500,000 rows per file, the customers of each day; once), not by running
# churn predict 365 times. Then `churn review` runs RUNS times as of the day
# after the last partition; medians are reported, with the ratio to one
# scoring step.
#
#   REVIEW_CUSTOMERS  customers (default 1000000)
#   REVIEW_DAYS       nightly partitions, one a day (default 365)
#   SCORE_SECONDS     one nightly scoring step at 1M customers (default 24.7:
#                     churn predict with exact reasons, bench/README.md);
#                     scaled to REVIEW_CUSTOMERS for the ratio
#
# Disk: about 60 bytes a row, 17 GB for 1M customers × 365 days (bench/out).
source "$(dirname "$0")/lib.sh"
need_time
make -C "$ROOT" build >/dev/null
N=${REVIEW_CUSTOMERS:-1000000}
DAYS=${REVIEW_DAYS:-365}
SCORE=${SCORE_SECONDS:-24.7}
AS_OF=2024-12-01
DATA=$OUT/review-gen$N
PARTS=$OUT/review-$N-$DAYS
if [ ! -f "$DATA/_generator.json" ]; then
	echo "generating $N customers with the retention loop into $DATA (once)"
	rm -rf "$DATA"
	"$CHURN" generate --customers "$N" --months 24 --seed 1 --interventions --out "$DATA" >/dev/null 2>&1
fi
if [ ! -f "$PARTS/.complete" ]; then
	echo "writing $DAYS nightly partitions for $N customers into $PARTS (once)"
	rm -rf "$PARTS"
	(cd "$ROOT" && go run ./bench/reviewbench -data "$DATA" -out "$PARTS" -days "$DAYS" -end 2024-11-30)
	touch "$PARTS/.complete"
fi
: > "$OUT/times.txt"
for i in $(seq "$RUNS"); do
	rm -rf "$PARTS/review" "$PARTS/review_plays"
	measure review "$CHURN" review --data "$DATA" --out "$PARTS" --as-of "$AS_OF" --now 2024-12-01T03:00:00Z
done
json=$PARTS/review/as_of=$AS_OF/review.json
rows=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["inputs"]["prediction_rows"], sum(x["status"]=="closed" for x in r["runs"]), len(r["runs"]), r["inputs"]["units"])' "$json")
read -r nrows closed runs units <<<"$rows"
wall=$(median review 2)
cpu=$(awk -v a="$(median review 3)" -v b="$(median review 4)" 'BEGIN{print a+b}')
step=$(awk -v s="$SCORE" -v n="$N" 'BEGIN{printf "%.1f", s*n/1000000}')
echo "churn review as of $AS_OF: $runs nightly partitions ($closed closed), $nrows prediction rows, $N customers, $units units ($RUNS runs, medians, $(nproc) cores):"
printf '  wall %.2f s  cpu %.2f s  peak RSS %d MB\n' "$wall" "$cpu" "$(( $(median review 5) / 1024 ))"
awk -v w="$wall" -v s="$step" 'BEGIN{printf "  one scoring step at this size: %.1f s (churn predict, 1M customers: '"$SCORE"' s, scaled); review ÷ scoring step: %.2f\n", s, w/s}'
