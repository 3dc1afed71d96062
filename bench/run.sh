#!/usr/bin/env bash
# make bench: every benchmark script, in order. Set RUNS to change repetitions.
set -euo pipefail
cd "$(dirname "$0")"
for s in generate.sh features.sh; do
	echo "== $s"
	./"$s"
done
for s in train.sh predict.sh nightly.sh review.sh; do
	[ -x "$s" ] && { echo "== $s"; ./"$s"; }
done
true
