#!/usr/bin/env bash
# quickstart.sh — build OneGrid and either run its tests or run a demo.
#
#   ./quickstart.sh test   install missing build dependencies (Debian 12),
#                          build in build/test with sanitizers, run `make check`,
#                          print the logs of failed tests and a closing line
#                          "N passed, N failed, N skipped".  With CI=true also
#                          runs `make distcheck` in build/dist.
#   ./quickstart.sh demo   build in build/demo, start (or reuse) a private
#                          PostgreSQL cluster under var/pg, migrate, seed the
#                          demo district and run onegridd in the foreground
#                          until Ctrl-C, which also stops the cluster.
#
# Environment: ONEGRID_LISTEN (demo, default 127.0.0.1:8080),
# ONEGRID_DEMO_PASSWORD (demo, first run only), CI=true (test: distcheck),
# CHECK_JOBS (test: parallel tests, default the number of CPUs).
#
# Not for: installing OneGrid (see packaging/) or production databases.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
cd "$SRC"
JOBS=$(nproc 2>/dev/null || echo 2)
DEPS=(build-essential autoconf automake libtool pkg-config libevent-dev libjansson-dev
	libpq-dev libargon2-dev libcsv-dev libxlsxwriter-dev libcmocka-dev postgresql postgresql-contrib python3 curl clang libclang-rt-14-dev)
PG_CLUSTER=$SRC/tests/pg-cluster.sh
DISTCHECK_RESULT=''

say() { printf '==> %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "quickstart: need root or sudo for: $*" >&2
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Shared steps.  Each returns non-zero on failure rather than relying on
# `set -e`, which bash ignores inside functions called from `||`.

install_deps() {
	local missing=() p
	if ! command -v dpkg-query >/dev/null 2>&1; then
		say "no dpkg-query (not Debian?): make sure these are installed: ${DEPS[*]}"
		return 0
	fi
	for p in "${DEPS[@]}"; do
		if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]; then
			missing+=("$p")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	say "installing: ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update || return 1
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || return 1
}

autoreconf_if_needed() {
	local newer=''
	if [ -x configure ]; then
		newer=$(find . \( -path ./build -o -path ./.git -o -path ./var \) -prune -o \
			\( -name configure.ac -o -name Makefile.am -o -name include.am \) \
			-newer configure -print | head -n 1)
	fi
	if [ ! -x configure ] || [ -n "$newer" ]; then
		say "autoreconf -fi"
		autoreconf -fi || return 1
	fi
}

# configure_if_needed DIR [configure options...]: a VPATH build in DIR.
configure_if_needed() {
	local dir=$1
	shift
	mkdir -p "$dir" || return 1
	if [ ! -f "$dir/config.status" ] || [ configure -nt "$dir/config.status" ]; then
		say "configure $* (in $dir)"
		(cd "$dir" && "$SRC/configure" "$@") || return 1
	fi
}

# ---------------------------------------------------------------------------
# ./quickstart.sh test

build_and_check() {
	local b=$1
	autoreconf_if_needed || return 1
	configure_if_needed "$b" --enable-sanitizers || return 1
	# Results of an earlier run must not be counted if this one fails to build.
	find "$b" \( -name '*.trs' -o -name test-suite.log \) -delete || return 1
	say "make -j$JOBS (in $b)"
	make -C "$b" -j"$JOBS" || return 1
	say "make check (in $b)"
	make -C "$b" -j"${CHECK_JOBS:-$JOBS}" check || return 1
}

# The lead may switch this on for every run; for now CI=true asks for it.
run_distcheck() {
	local b=build/dist
	configure_if_needed "$b" || return 1
	say "make distcheck (in $b)"
	make -C "$b" -j"$JOBS" distcheck || return 1
}

# The Debian packages end to end (build, lintian, install, upgrade, purge):
# root only, since it installs on this machine; CI=true asks for it.
PACKAGE_RESULT='' PKG_PASS=0 PKG_FAIL=0
run_package_test() {
	local b=build/test log=build/test/package-test.log
	say "make package-test (in $b; log in $log)"
	make -C "$b" package-test >"$log" 2>&1
	local rc=$?
	PKG_PASS=$(grep -c '^ok ' "$log" || true)
	PKG_FAIL=$(grep -c '^not ok ' "$log" || true)
	if [ "$rc" -ne 0 ] || [ "$PKG_FAIL" -gt 0 ] || [ "$PKG_PASS" -eq 0 ]; then
		[ "$PKG_FAIL" -gt 0 ] || PKG_FAIL=1
		echo "======== FAILED: $log"
		tail -n 200 "$log"
		return 1
	fi
}

# Prints the logs of failed tests, the distcheck result and, last, the
# closing count line.  Non-zero when a test failed or none ran.
report_tests() {
	local b=$1 pass=0 fail=0 skip=0 trs log p f e s n files=() failed_logs=()
	if [ -d "$b" ]; then
		mapfile -t files < <(find "$b" -name '*.trs' | sort)
	fi
	for trs in "${files[@]}"; do
		log=${trs%.trs}.log
		p=$(grep -c '^:test-result: \(PASS\|XFAIL\)' "$trs" || true)
		f=$(grep -c '^:test-result: \(FAIL\|XPASS\)' "$trs" || true)
		e=$(grep -c '^:test-result: ERROR' "$trs" || true)
		s=$(grep -c '^:test-result: SKIP' "$trs" || true)
		# The TAP driver adds an ERROR for a non-zero exit status; after
		# failed test cases that status is the same failure, not another.
		if [ "$f" -gt 0 ] && [ "$e" -gt 0 ] &&
			grep -q '^ERROR: .* - exited with status' "$log" 2>/dev/null; then
			e=$((e - 1))
		fi
		pass=$((pass + p)) fail=$((fail + f + e)) skip=$((skip + s))
		if [ $((f + e)) -gt 0 ]; then
			failed_logs+=("$log")
		fi
	done
	for log in "${failed_logs[@]}"; do
		echo
		echo "======== FAILED: $log"
		if [ ! -f "$log" ]; then
			echo "(no log file)"
			continue
		fi
		n=$(wc -l <"$log")
		if [ "$n" -gt 400 ]; then
			echo "(last 400 of $n lines)"
			tail -n 400 "$log"
		else
			cat "$log"
		fi
	done
	echo
	if [ -n "$DISTCHECK_RESULT" ]; then
		echo "distcheck: $DISTCHECK_RESULT"
	fi
	if [ -n "$PACKAGE_RESULT" ]; then
		echo "package test: $PACKAGE_RESULT"
		pass=$((pass + PKG_PASS)) fail=$((fail + PKG_FAIL))
	fi
	if [ $((pass + fail)) -eq 0 ]; then
		echo "no test ran"
	fi
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ] && [ $((pass + fail)) -gt 0 ]
}

cmd_test() {
	local b=build/test rc=0
	install_deps || rc=1
	if [ "$rc" -eq 0 ]; then
		build_and_check "$b" || rc=1
	fi
	if [ "${CI:-}" = true ]; then
		if [ "$rc" -ne 0 ]; then
			DISTCHECK_RESULT="skipped (build or check failed)"
		elif run_distcheck; then
			DISTCHECK_RESULT=passed
		else
			DISTCHECK_RESULT="FAILED (output above)"
			rc=1
		fi
		if [ "$rc" -ne 0 ]; then
			PACKAGE_RESULT="skipped (an earlier step failed)"
		elif [ "$(id -u)" -ne 0 ]; then
			PACKAGE_RESULT="skipped (needs root: it installs the packages)"
		elif run_package_test; then
			PACKAGE_RESULT="passed ($PKG_PASS checks)"
		else
			PACKAGE_RESULT="FAILED (log above)"
			rc=1
		fi
	fi
	report_tests "$b" || rc=1
	exit "$rc"
}

# ---------------------------------------------------------------------------
# ./quickstart.sh demo

json_str() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

# A libpq conninfo value, quoted when it needs to be.
pq_value() {
	case $1 in
	*[[:space:]\'\\]* | '')
		local s=${1//\\/\\\\}
		printf "'%s'" "${s//\'/\\\'}"
		;;
	*) printf '%s' "$1" ;;
	esac
}

# 16 characters from an alphabet without look-alikes (0/O, 1/l/I), with at
# least one upper-case letter, one lower-case letter and one digit.
random_password() {
	local chars=ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789 pw='' b limit
	limit=$((256 / ${#chars} * ${#chars}))
	while :; do
		pw=''
		while [ ${#pw} -lt 16 ]; do
			for b in $(od -An -N32 -tu1 /dev/urandom); do
				if [ "$b" -lt "$limit" ] && [ ${#pw} -lt 16 ]; then
					pw+=${chars:b % ${#chars}:1}
				fi
			done
		done
		if [[ $pw =~ [A-Z] && $pw =~ [a-z] && $pw =~ [0-9] ]]; then
			printf '%s\n' "$pw"
			return 0
		fi
	done
}

# Sets PGDIR: var/pg in the repository, or /var/tmp/onegrid-demo-<hash>
# when user postgres cannot reach the repository or its path is too long
# for a unix socket.
pick_pg_dir() {
	local why=''
	PGDIR=$SRC/var/pg
	if [ ${#PGDIR} -gt 80 ]; then
		why="$SRC is too long a path for a unix socket"
	elif [ "$(id -u)" -eq 0 ] && ! (cd / && runuser -u postgres -- test -x "$SRC/var"); then
		why="user postgres cannot enter $SRC"
	fi
	if [ -n "$why" ]; then
		PGDIR=/var/tmp/onegrid-demo-$(printf '%s' "$SRC" | sha256sum | cut -c1-12)
		say "$why: the PostgreSQL cluster lives in $PGDIR"
	fi
	mkdir -p "$PGDIR"
}

# shellcheck disable=SC2317 # called from the EXIT trap
demo_stop_cluster() {
	say "stopping PostgreSQL ($PGDIR)"
	bash "$PG_CLUSTER" stop "$PGDIR" 9>&- || true
}

cmd_demo() {
	local daemon=$SRC/build/demo/onegridd cfg=$SRC/var/onegrid.json pwfile=$SRC/var/demo-password
	local listen=${ONEGRID_LISTEN:-127.0.0.1:8080} sock pw host rc url

	mkdir -p var
	# One demo at a time: a second one would share (and then stop) the cluster.
	exec 9>"$SRC/var/demo.lock"
	flock -n 9 || die "another ./quickstart.sh demo is running"

	install_deps
	autoreconf_if_needed
	configure_if_needed build/demo
	say "make -j$JOBS (in build/demo)"
	make -C build/demo -j"$JOBS"

	pick_pg_dir
	sock=$PGDIR/run
	trap demo_stop_cluster EXIT
	if bash "$PG_CLUSTER" status "$PGDIR"; then
		say "reusing the running PostgreSQL cluster in $PGDIR"
	else
		say "starting PostgreSQL in $PGDIR (socket $sock)"
		# 9>&-: the postmaster must not inherit (and keep) the demo lock.
		bash "$PG_CLUSTER" start "$PGDIR" --socket-dir "$sock" --durable >/dev/null 9>&-
	fi
	if [ -z "$(psql -X -h "$sock" -U postgres -d postgres -Atc \
		"SELECT 1 FROM pg_database WHERE datname = 'onegrid'")" ]; then
		say "creating database onegrid"
		psql -X -q -h "$sock" -U postgres -d postgres -c "CREATE DATABASE onegrid"
	fi

	cat >"$cfg" <<EOF
{
  "listen": $(json_str "$listen"),
  "database": $(json_str "host=$(pq_value "$sock") dbname=onegrid user=postgres"),
  "workers": 2,
  "plugin_dir": $(json_str "$SRC/build/demo/plugins/.libs"),
  "plugins": ["example", "civil", "party", "women", "volunteer"]
}
EOF
	say "wrote $cfg"

	say "onegridd migrate"
	"$daemon" -c "$cfg" migrate

	# The password the demo was first seeded with is kept, so that every
	# later run prints the one that works.
	if [ -s "$pwfile" ]; then
		pw=$(head -n 1 "$pwfile")
		if [ -n "${ONEGRID_DEMO_PASSWORD:-}" ] && [ "$ONEGRID_DEMO_PASSWORD" != "$pw" ]; then
			say "ONEGRID_DEMO_PASSWORD ignored: the demo was seeded with the password in $pwfile" \
				"(to start over remove var/ and $PGDIR)"
		fi
	else
		pw=${ONEGRID_DEMO_PASSWORD:-$(random_password)}
		(umask 077 && printf '%s\n' "$pw" >"$pwfile")
	fi
	chmod 600 "$pwfile"
	say "onegridd seed-demo"
	ONEGRID_DEMO_PASSWORD=$pw "$daemon" -c "$cfg" seed-demo

	host=${listen%:*}
	case $host in '' | 0.0.0.0 | '*' | '[::]') host=127.0.0.1 ;; esac
	url="http://$host:${listen##*:}"
	cat <<EOF

OneGrid demo
  URL:       $url/
  login:     admin / $pw
  config:    $cfg
  database:  $PGDIR (socket $sock)

List the demo accounts:
  curl -s $url/api/v1/users -H "Authorization: Bearer \$(curl -s $url/api/v1/auth/login -H 'Content-Type: application/json' -d '{"username":"admin","password":"$pw"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

onegridd runs in the foreground; Ctrl-C stops it and PostgreSQL.

EOF

	# Not `exec`: the cluster must be stopped after onegridd exits.  The
	# daemon runs as a child and signals to this script are passed on to it.
	"$daemon" -c "$cfg" 9>&- &
	DAEMON_PID=$!
	trap 'kill -TERM "$DAEMON_PID" 2>/dev/null || true' INT TERM HUP
	while :; do
		wait "$DAEMON_PID" && rc=0 || rc=$?
		kill -0 "$DAEMON_PID" 2>/dev/null || break
	done
	say "onegridd exited with status $rc"
	exit "$rc"
}

case ${1:-} in
test) cmd_test ;;
demo) cmd_demo ;;
*)
	echo "usage: $0 test | demo" >&2
	exit 2
	;;
esac
