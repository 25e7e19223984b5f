#!/bin/sh
# tests/fuzz/run-short.sh — the short fuzz run of `make check` (TAP).
#
# For: building the libFuzzer harnesses (build.sh) and running each for a
# few seconds (FUZZ_SECONDS, default 5) on its seeded corpus in
# tests/fuzz/corpus/<harness>/ — read-only: new inputs go to a temp dir —
# printing one TAP line per harness ("not ok" on a crash, a leak, a
# sanitizer report or a timeout, with the log tail as diagnostics).
# Without clang or libFuzzer it prints "1..0 # SKIP".
# Not for: the long runs (tests/fuzz/run-long.sh) or reproducing a finding
# (run the harness on the crash file: build/fuzz/fuzz_x crash-...).
set -u

SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${FUZZ_OUT:-${ONEGRID_BUILDDIR:-$SRC/build}/fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-5}
work=$(mktemp -d /tmp/og-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM

sh "$SRC/tests/fuzz/build.sh" "$OUT" >"$work/build.log" 2>&1
rc=$?
if [ $rc -eq 77 ]; then
	echo "1..0 # SKIP no libFuzzer ($(tail -n 1 "$work/build.log"))"
	exit 0
fi
if [ $rc -ne 0 ]; then
	echo "1..1"
	echo "not ok 1 - the fuzz harnesses build"
	sed 's/^/# /' "$work/build.log" | tail -n 40
	exit 1
fi

n=0
fail=0
harnesses=$(ls "$SRC"/tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
echo "1..$(echo "$harnesses" | wc -l)"
for h in $harnesses; do
	n=$((n + 1))
	mkdir -p "$work/$h"
	# -timeout: one input may take 10 s at most; -rss_limit_mb bounds memory.
	( cd "$work" && timeout $((SECONDS_EACH + 60)) "$OUT/$h" -max_total_time="$SECONDS_EACH" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		"$work/$h" "$SRC/tests/fuzz/corpus/$h" >"$work/$h.log" 2>&1 )
	st=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$h.log")
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/$h.log" | tail -n 1)
	if [ $st -eq 0 ]; then
		echo "ok $n - $h: ${SECONDS_EACH} s, ${execs:-?} executions, $cov"
	else
		fail=1
		echo "not ok $n - $h (status $st)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/$h.log" | head -n 20 |
			sed 's/^/# /'
		# keep the crashing input for a post-mortem
		for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
			[ -f "$f" ] && cp "$f" "$OUT/" && echo "# kept $OUT/$(basename "$f")"
		done
	fi
done
exit $fail
