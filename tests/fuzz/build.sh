#!/bin/sh
# tests/fuzz/build.sh — builds the libFuzzer harnesses of tests/fuzz/*.c.
#
# For: `tests/fuzz/build.sh [OUTDIR]` (default: build/fuzz under the source
# tree), called by run-short.sh and by hand before a long run.  Every core
# source but main.c is compiled with clang -fsanitize=fuzzer-no-link,address,
# undefined into OUTDIR/core/, and each harness linked against them with
# -fsanitize=fuzzer; a harness that #includes a core file (to reach its
# static functions) is linked without that file's object.  Exit status 0
# when every harness built, 77 when clang or libFuzzer is missing.
# Not for: the daemon's own build (configure/make), or running the fuzzers.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$SRC/build/fuzz}
CC=${FUZZ_CC:-clang}

command -v "$CC" >/dev/null 2>&1 || { echo "build.sh: no $CC" >&2; exit 77; }
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
	> "$probe/p.c"
if ! "$CC" -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
	echo "build.sh: $CC cannot link -fsanitize=fuzzer (install libclang-rt-14-dev)" >&2
	exit 77
fi

PKGS="libevent jansson libpq"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -fno-omit-frame-pointer \
 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
 -I$SRC/include -I$SRC/core $(pkg-config --cflags $PKGS 2>/dev/null) -I/usr/include/postgresql \
 -DPACKAGE_VERSION=\"fuzz\" -DOG_PLUGIN_DIR_DEFAULT=\"/nonexistent\""
LIBS="$(pkg-config --libs $PKGS 2>/dev/null || echo -levent -ljansson -lpq) -largon2 -lcsv \
 -lxlsxwriter -lz -ldl -lm"

mkdir -p "$OUT/core"
# The migrations as C (what core/include.am generates for the daemon).
sh "$SRC/build-aux/sql2c.sh" ogc_core_migrations core "$SRC"/schema/core/*.sql \
	> "$OUT/core/schema_core.c"
objs=""
for c in "$SRC"/core/*.c "$OUT/core/schema_core.c"; do
	base=$(basename "$c" .c)
	[ "$base" = main ] && continue
	o="$OUT/core/$base.o"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ "$SRC/core/core.h" -nt "$o" ]; then
		# shellcheck disable=SC2086
		"$CC" $CFLAGS -fsanitize=fuzzer-no-link -c "$c" -o "$o"
	fi
	objs="$objs $o"
done

status=0
for h in "$SRC"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	# A harness that includes core/X.c must not link X.o a second time.
	skip=$(sed -n 's|^#include "\.\./\.\./core/\([a-z_]*\)\.c"$|\1|p' "$h")
	link=""
	for o in $objs; do
		b=$(basename "$o" .o)
		case " $skip " in *" $b "*) continue ;; esac
		link="$link $o"
	done
	# shellcheck disable=SC2086
	if ! "$CC" $CFLAGS -fsanitize=fuzzer "$h" $link $LIBS -o "$OUT/$name"; then
		echo "build.sh: $name did not build" >&2
		status=1
	fi
done
exit $status
