#!/bin/sh
# tests/fuzz/run-long.sh — the long runs on demand: every harness (or those
# named) for FUZZ_SECONDS (default 600) each, FUZZ_JOBS (default 2) at a
# time, corpus grown in OUT/corpus/<harness> from the seeds, logs in
# OUT/<harness>.long.log; prints each harness's final executions and
# coverage (cov:, ft:) for docs/security.md.
# Not for: make check (run-short.sh).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-$SRC/build/fuzz}
SECS=${FUZZ_SECONDS:-600}
JOBS=${FUZZ_JOBS:-2}
sh "$SRC/tests/fuzz/build.sh" "$OUT" || exit 1
[ $# -gt 0 ] || set -- $(ls "$SRC"/tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
run() {
	mkdir -p "$OUT/corpus/$1" "$OUT/artifacts/$1"
	"$OUT/$1" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/artifacts/$1/" "$OUT/corpus/$1" "$SRC/tests/fuzz/corpus/$1" \
		>"$OUT/$1.long.log" 2>&1
	echo "$1: status $? $(grep -o 'DONE.*' "$OUT/$1.long.log" | tail -n 1)" \
		"execs $(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$1.long.log")"
}
running=0
for h in "$@"; do
	run "$h" &
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait
		running=0
	fi
done
wait
