# Shared helpers for the benchmark scripts (sourced).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${CHURN_BENCH_OUT:-$ROOT/bench/out}
DATA1M=${CHURN_BENCH_1M:-$OUT/gen1m}
CHURN=$ROOT/bin/churn
NODE_MODULES=$ROOT/.cache/node/node_modules
RUNS=${RUNS:-3}
mkdir -p "$OUT"

need_time() {
	[ -x /usr/bin/time ] || { echo "installing GNU time"; ${SUDO:-} apt-get install -y -qq time >/dev/null; }
}

# measure NAME CMD...: runs CMD, appends "NAME wall_s user_s sys_s maxrss_kb" to $OUT/times.txt.
measure() {
	local name=$1; shift
	/usr/bin/time -f "$name %e %U %S %M" -a -o "$OUT/times.txt" "$@" >/dev/null 2>"$OUT/last.err" || { cat "$OUT/last.err"; return 1; }
}

# median NAME FIELD: median of a column (2=wall, 3=user, 4=sys, 5=rss) for NAME in times.txt.
median() {
	awk -v n="$1" -v f="$2" '$1==n {print $f}' "$OUT/times.txt" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

ensure_1m() {
	if [ ! -f "$DATA1M/customers.parquet" ]; then
		echo "generating 1M customers × 24 months into $DATA1M (about half a minute)"
		"$CHURN" generate --customers 1000000 --months 24 --seed 1 --out "$DATA1M" >/dev/null
	fi
}
