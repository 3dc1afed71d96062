#!/usr/bin/env bash
# The nightly job at scale (issue 10): `churn run` with examples/demo.yaml's
# settings (12 snapshots 28 days apart, 2 threads) on generated data of each
# size, as of 2024-12-01, from an empty registry (a backtest night: the
# worst case). Prints one table: every step's wall time and the process's
# peak RSS at its end (from the run manifest), the whole run's wall time and
# peak RSS (GNU time), and the ROC AUC of tonight's sampled model against
# the full-data model (training.max_rows: 0, every training row) on the same
# evaluation rows (the held-out customers' sample, the same in both runs).
#
# Settings:
#   NIGHTLY_SIZES  customers per run (default "200000 1000000"; 10M needs ~12 GB
#                  of disk for its data, generated once: add 10000000)
#   NIGHTLY_FULL   sizes at which the full-data model is also trained
#                  (default "200000": at 1M it takes about half an hour)
source "$(dirname "$0")/lib.sh"
SIZES=${NIGHTLY_SIZES:-"200000 1000000"}
FULL=${NIGHTLY_FULL:-"200000"}
OUT=$OUT/nightly
mkdir -p "$OUT"
need_time
make -C "$ROOT" build >/dev/null

# The full-data configuration: demo.yaml with every training row.
sed 's/^training:$/training:\n  max_rows: 0/' "$ROOT/examples/demo.yaml" > "$OUT/full.yaml"

# run NAME CONFIG DATA: one nightly run into $OUT/NAME; GNU time's wall and
# peak RSS go to $OUT/NAME.time.
run() {
	local name=$1 config=$2 data=$3
	rm -rf "$OUT/$name"
	/usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$CHURN" run --config "$config" --data "$data" \
		--out "$OUT/$name/out" --registry "$OUT/$name/models" --as-of 2024-12-01 \
		--now 2024-12-01T02:00:00Z --no-progress --log-format json 2>"$OUT/$name.log" >/dev/null ||
		{ tail -5 "$OUT/$name.log"; return 1; }
}

report() {
	/usr/bin/python3 - "$OUT" "$@" <<'EOF'
import json, os, sys
out, names = sys.argv[1], sys.argv[2:]
def manifest(name):
    runs = os.path.join(out, name, "out", "runs")
    run = sorted(os.listdir(runs))[-1]
    return json.load(open(os.path.join(runs, run, "manifest.json")))
def report_auc(name):
    r = json.load(open(os.path.join(out, name, "out", "reports", "as_of=2024-12-01", "report.json")))
    return r["metrics"]["roc_auc"]["value"], r["data"]["evaluated_rows"]
steps = None
rows = []
for name in names:
    m = manifest(name)
    wall, rss = open(os.path.join(out, name + ".time")).read().split()
    steps = [s["name"] for s in m["steps"]]
    auc, n = report_auc(name)
    full = ""
    if os.path.exists(os.path.join(out, name + "-full.time")):
        fauc, fn = report_auc(name + "-full")
        fwall, frss = open(os.path.join(out, name + "-full.time")).read().split()
        full = f"{auc - fauc:+.4f} ({auc:.4f} vs {fauc:.4f}; full run {float(fwall):.0f} s, {int(frss)//1024} MB)" if fn == n else f"rows differ ({n} vs {fn})"
    rows.append((name, m, float(wall), int(rss) // 1024, auc, n, full))
print("| customers | " + " | ".join(steps) + " | wall | peak RSS | AUC vs full-data model, same rows |")
print("|---|" + "---|" * (len(steps) + 3))
for name, m, wall, rss, auc, n, full in rows:
    cells = [f"{s['seconds']:.1f} s / {s['peak_rss_mb']} MB" for s in m["steps"]]
    print(f"| {name} | " + " | ".join(cells) + f" | {wall:.0f} s | {rss} MB | {full or f'{auc:.4f} on {n} rows (full not run)'} |")
print()
for name, m, *_ in rows:
    print(f"{name}: {m['inputs']['snapshot_rows']} snapshot rows; kept " + "; ".join(
        f"{s['name']} {s['kept']} of {s['rows']}" for s in m["inputs"]["sample"]["strata"]))
EOF
}

names=()
for n in $SIZES; do
	data=$OUT/../gen$n
	if [ ! -f "$data/customers.parquet" ]; then
		echo "generating $n customers × 24 months into $data (once)"
		"$CHURN" generate --customers "$n" --months 24 --seed 1 --out "$data" >/dev/null 2>&1
	fi
	echo "churn run at $n customers"
	run "$n" "$ROOT/examples/demo.yaml" "$data"
	if [[ " $FULL " == *" $n "* ]]; then
		echo "churn run at $n customers, full-data model"
		run "$n-full" "$OUT/full.yaml" "$data"
	fi
	names+=("$n")
done
echo
echo "churn run, demo.yaml's settings, as of 2024-12-01, empty registry, $(nproc) cores (step: seconds / peak RSS so far):"
report "${names[@]}"
