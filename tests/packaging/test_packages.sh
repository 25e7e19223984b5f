#!/usr/bin/env bash
# tests/packaging/test_packages.sh — the Debian packages, end to end, on this
# machine: build, lintian, install, run the packaged daemon against a
# throwaway PostgreSQL, upgrade with data, refuse a downgrade, purge.
#
#   tests/packaging/test_packages.sh        (as root; prints TAP)
#
# What a district does, in order: installs onegrid, onegrid-dev and every
# onegrid-plugin-* package built from this tree; creates the database as the
# operations guide says (an ordinary role owning the database, no superuser);
# edits /etc/onegrid/onegrid.json (database, listen, plugins); runs the
# systemd unit's own ExecStartPre and ExecStart lines as user onegrid
# (this machine runs no systemd, so the test reads them from the installed
# unit); creates the administrator; logs in.  Then it builds the same tree
# as 0.1.1-1 with one extra migration of the example plugin, installs it
# over the running one, restarts, and checks every row is still there and
# the new migration was applied; installs 0.1.0-1 again and checks onegridd
# refuses the newer database; purges everything.
#
# The machine is treated as disposable: onegrid packages already installed
# are purged first.  Cleanup (daemon, packages, the user the test created,
# PostgreSQL, temporary files) runs on every exit.  ONEGRID_TEST_KEEP=1
# keeps the temporary directory (logs and the built packages).
#
# Not for: the daemon's API (tests/api/ covers it) nor running under a real
# systemd (the unit is checked with systemd-analyze verify only).
set -uo pipefail

srcdir=${ONEGRID_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd -P)}
unit=/lib/systemd/system/onegridd.service
conf=/etc/onegrid/onegrid.json

# --- TAP -----------------------------------------------------------------------
n=0 passed=0 failed=0
ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $*"; }
skip() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $* # SKIP"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /'; }
# check DESC CMD...: one test point; on failure the tail of CMD's output.
# CMD runs in this shell (not a subshell), so it may start and wait for
# the daemon.
check() {
	local desc=$1
	shift
	if "$@" >"$base/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc"
		tail -n 40 "$base/check.out" | diag
		return 1
	fi
}
# A failed step the rest depends on: stop here (cleanup still runs).
fatal() {
	echo "# stopping: $*"
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: it installs and purges packages"
	exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
	echo "1..0 # SKIP not a Debian system"
	exit 0
fi

base=$(mktemp -d /tmp/ogpkg.XXXXXX)
chmod 0755 "$base" # user onegrid reaches the PostgreSQL socket under it
daemon_pid='' pg_started=0 created_user=0 installed=0

installed_pkgs() {
	dpkg-query -W -f '${db:Status-Status} ${Package}\n' 'onegrid' 'onegrid-*' 2>/dev/null |
		awk '$1 != "not-installed" { print $2 }'
}
purge_packages() {
	local pkgs
	pkgs=$(installed_pkgs)
	[ -z "$pkgs" ] ||
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=300 $pkgs
}
apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --allow-downgrades \
		-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confold "$@"
}
# The packages of one build to install: all but the debug symbols.
debs_in() {
	local f
	for f in "$1"/onegrid_*.deb "$1"/onegrid-dev_*.deb "$1"/onegrid-plugin-*.deb; do
		case $f in *-dbgsym_*) ;; *) [ -f "$f" ] && echo "$f" ;; esac
	done
}

cleanup() {
	local rc=$?
	set +e
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"
		timeout 30 tail --pid="$daemon_pid" -f /dev/null
		kill -KILL "$daemon_pid" 2>/dev/null
	fi
	# A daemon the test lost track of would keep the user from being
	# deleted: stop onegridd processes of the user this test created.
	if [ "$created_user" -eq 1 ] && getent passwd onegrid >/dev/null; then
		for pid in $(pgrep -u onegrid -x onegridd); do kill -TERM "$pid"; done
		sleep 1
		for pid in $(pgrep -u onegrid -x onegridd); do kill -KILL "$pid"; done
	fi
	[ "$installed" -eq 0 ] || purge_packages >/dev/null 2>&1
	if [ "$created_user" -eq 1 ] && getent passwd onegrid >/dev/null; then
		deluser --system onegrid >/dev/null 2>&1
	fi
	if [ "$created_user" -eq 1 ] && getent group onegrid >/dev/null; then
		delgroup --system onegrid >/dev/null 2>&1
	fi
	[ "$pg_started" -eq 0 ] || "$srcdir/tests/pg-cluster.sh" stop "$base/pg" >/dev/null 2>&1
	if [ "${ONEGRID_TEST_KEEP:-}" = 1 ]; then
		echo "# kept $base"
	else
		rm -rf "$base"
	fi
	echo "1..$n"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$n" -gt 0 ] || exit 1
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools; a clean machine --------------------------------------------------------
need=()
for p in debhelper lintian dpkg-dev curl python3 util-linux; do
	dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "# installing ${need[*]}"
	{ apt-get update -q && apt_install "${need[@]}"; } >"$base/apt-tools.log" 2>&1 ||
		{ tail -n 20 "$base/apt-tools.log" | diag; fatal "cannot install ${need[*]}"; }
fi
if [ -n "$(installed_pkgs)" ]; then
	echo "# purging onegrid packages left installed: $(installed_pkgs | tr '\n' ' ')"
	purge_packages >/dev/null 2>&1
fi
getent passwd onegrid >/dev/null || created_user=1

# --- build 0.1.0-1, lintian ----------------------------------------------------------
v1=$(dpkg-parsechangelog -l "$srcdir/packaging/debian/changelog" -S Version)
check "packages build ($v1)" \
	"$srcdir/packaging/build-deb.sh" --src "$srcdir" --install-deps --quiet "$base/v1" ||
	fatal "the build failed"

lintian --no-tag-display-limit "$base"/v1/*.changes >"$base/lintian.log" 2>&1
grep -E '^[WIN]:' "$base/lintian.log" | diag
if grep -q '^E:' "$base/lintian.log"; then
	not_ok "lintian reports no errors"
	grep '^E:' "$base/lintian.log" | diag
else
	ok "lintian reports no errors ($(grep -c '^W:' "$base/lintian.log") warnings)"
fi

# --- install -------------------------------------------------------------------------
mapfile -t debs1 < <(debs_in "$base/v1")
plugins=()
for f in "${debs1[@]}"; do
	p=$(dpkg-deb -f "$f" Package)
	case $p in onegrid-plugin-*) plugins+=("${p#onegrid-plugin-}") ;; esac
done
echo "# installing: ${debs1[*]##*/}"
installed=1
check "apt-get installs onegrid, onegrid-dev and ${#plugins[@]} plugin packages" \
	apt_install "${debs1[@]}" || fatal "the install failed"

check "the postinst created the system user onegrid, home /var/lib/onegrid" \
	sh -c 'getent passwd onegrid | grep -q ":/var/lib/onegrid:" && getent group onegrid'
check "/var/lib/onegrid is onegrid's; $conf is a conffile, root:onegrid 0640" sh -c "
	[ \"\$(stat -c %U:%G /var/lib/onegrid)\" = onegrid:onegrid ] &&
	[ \"\$(stat -c %U:%G:%a $conf)\" = root:onegrid:640 ] &&
	dpkg-query -W -f '\${Conffiles}' onegrid | grep -q ' $conf '"
check "the packaged configuration is valid (--check-config as user onegrid)" \
	setpriv --reuid=onegrid --regid=onegrid --init-groups /usr/sbin/onegridd -c "$conf" \
	--check-config
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify accepts the unit" systemd-analyze verify "$unit"
else
	skip "systemd-analyze verify accepts the unit (no systemd-analyze)"
fi
check "the unit is installed but not enabled (the database comes first)" \
	sh -c "[ -f $unit ] && ! [ -e /etc/systemd/system/multi-user.target.wants/onegridd.service ]"
check "onegridd(8) is installed" test -f /usr/share/man/man8/onegridd.8.gz
for p in "${plugins[@]}"; do
	check "onegrid-plugin-$p installs /usr/lib/onegrid/plugins/$p.so" \
		test -f "/usr/lib/onegrid/plugins/$p.so"
done
check "onegrid-dev: pkg-config says plugindir=/usr/lib/onegrid/plugins" \
	test "$(pkg-config --variable=plugindir onegrid-plugin)" = /usr/lib/onegrid/plugins
check "onegrid-dev: a plugin builds out of tree against the installed SDK" \
	sh "$srcdir/tests/api/oot/build.sh" "$base/oot"

# --- the database, as docs/operations.md says ---------------------------------------
mkdir -p "$base/pg" "$base/run"
pg_conn=$("$srcdir/tests/pg-cluster.sh" start "$base/pg" --socket-dir "$base/run") ||
	fatal "PostgreSQL did not start"
pg_started=1
chmod 0755 "$base/run"
pgbin=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
psql_su() { "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -At "$pg_conn" "$@"; }
psql_db() {
	"$pgbin/psql" -X -q -v ON_ERROR_STOP=1 -At "host=$base/run user=postgres dbname=onegrid" "$@"
}
check "the DBA's step: an ordinary role onegrid owns the database onegrid" \
	psql_su -c "CREATE ROLE onegrid LOGIN" -c "CREATE DATABASE onegrid OWNER onegrid" ||
	fatal "cannot create the database"

# The administrator edits the conffile: database, port, plugins.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
url=http://127.0.0.1:$port
plugin_json=$(printf '"%s",' "${plugins[@]}")
plugin_json="[${plugin_json%,}]"
edit_conf() {
	python3 - "$conf" "host=$base/run dbname=onegrid user=onegrid" "127.0.0.1:$port" \
		"$plugin_json" <<'EOF'
import json, sys
path, database, listen, plugins = sys.argv[1:]
with open(path) as f:
    cfg = json.load(f)
cfg.update(database=database, listen=listen, plugins=json.loads(plugins), workers=2)
with open(path, "w") as f:  # rewritten in place: owner and mode stay
    json.dump(cfg, f, indent=2)
    f.write("\n")
EOF
}
check "edit $conf: database, listen 127.0.0.1:$port, plugins $plugin_json" edit_conf

# The unit's own commands, run as its User= with its NoNewPrivileges,
# WorkingDirectory and UMask.
unit_cmd() { sed -n "s/^$1=//p" "$unit" | head -n 1; }
exec_start_pre=$(unit_cmd ExecStartPre)
exec_start=$(unit_cmd ExecStart)
echo "# ExecStartPre=$exec_start_pre"
echo "# ExecStart=$exec_start"
# One exec chain (env, setpriv, sh, onegridd share a pid), so $! of a
# background as_unit is onegridd's master and signals reach it.
as_unit=(env -C /var/lib/onegrid setpriv --reuid=onegrid --regid=onegrid --init-groups
	--no-new-privs -- sh -c 'umask 0027 && exec "$@"' sh)
as_unit() { "${as_unit[@]}" "$@"; }
# migrate_says LOG PATTERN: ExecStartPre succeeds and its output has PATTERN.
migrate_says() {
	as_unit $exec_start_pre >"$1" 2>&1 || { cat "$1"; return 1; }
	grep -q "$2" "$1" || { cat "$1"; return 1; }
}
# start_daemon LOG: ExecStart in the background until /healthz answers.
start_daemon() {
	if curl -s -o /dev/null "$url/healthz"; then
		echo "# something already answers on $url"
		return 1
	fi
	"${as_unit[@]}" $exec_start >"$1" 2>&1 &
	daemon_pid=$!
	for _ in $(seq 1 100); do
		kill -0 "$daemon_pid" 2>/dev/null || return 1
		if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then
			grep -q "\[master $daemon_pid\] .*listening on" "$1"
			return
		fi
		sleep 0.1
	done
	return 1
}
# stop_daemon: SIGTERM as systemd sends it; exit 0 within TimeoutStopSec.
stop_daemon() {
	local rc
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid"
	timeout 30 tail --pid="$daemon_pid" -f /dev/null || { echo "still running after 30 s"; return 1; }
	wait "$daemon_pid"
	rc=$?
	daemon_pid=''
	return "$rc"
}

check "ExecStartPre (migrate) applies every migration as onegrid, no superuser" \
	migrate_says "$base/migrate1.log" 'applied [0-9]* migration' || fatal "migrate failed"
password=pkgtest-$RANDOM$RANDOM
create_admin() {
	printf '%s\n' "$password" | as_unit /usr/sbin/onegridd -c "$conf" create-admin admin
}
check "onegridd create-admin admin, the password on standard input" create_admin
if start_daemon "$base/daemon1.log"; then
	ok "ExecStart: the packaged daemon serves /healthz as user onegrid"
else
	not_ok "ExecStart: the packaged daemon serves /healthz as user onegrid"
	tail -n 30 "$base/daemon1.log" | diag
	fatal "the daemon did not start"
fi

# --- the API -------------------------------------------------------------------------
# api METHOD PATH [JSON]: sets $status and $body; sends $token when set.
token=''
api() {
	local args=(-sS -o "$base/body" -w '%{http_code}' -X "$1" "$url$2")
	[ -z "$token" ] || args+=(-H "Authorization: Bearer $token")
	[ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data "$3")
	status=$(curl "${args[@]}" 2>"$base/curl.err") || status=000
	body=$(cat "$base/body" 2>/dev/null)
}
jget() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$body"; }
expect() { # DESC WANT: one test point on $status
	if [ "$status" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1 (got $status, want $2)"
		printf '%s\n' "$body" | head -c 2000 | diag
	fi
}
login() {
	token=''
	api POST /api/v1/auth/login "{\"username\": \"admin\", \"password\": \"$password\"}"
	[ "$status" != 200 ] || token=$(jget token)
}

login
expect "the administrator logs in" 200
api GET /api/v1/me
expect "GET /api/v1/me with the token: 200" 200
api GET /api/v1/users
expect "the administrator lists the users: GET /api/v1/users 200" 200
api GET /api/v1/plugins
expect "GET /api/v1/plugins: 200" 200
want=$(printf '%s\n' "${plugins[@]}" | sort | tr '\n' ' ')
loaded=$(python3 -c 'import json, sys; d = json.load(sys.stdin)
items = d["items"] if isinstance(d, dict) else d
print(" ".join(sorted(p["name"] for p in items)) + " ")' <<<"$body" 2>&1)
check "every installed plugin is loaded: $want" test "$loaded" = "$want"

region=$(psql_db -c "INSERT INTO core.region (level, code, name, path)
	VALUES ('district', 'pkgtest', '打包测试区', '0') RETURNING id" 2>"$base/psql.err")
if [ -n "$region" ] &&
	psql_db -c "UPDATE core.region SET path = '$region' WHERE id = $region" 2>>"$base/psql.err"; then
	ok "a district (region $region) is in the database"
else
	not_ok "a district is in the database"
	diag <"$base/psql.err"
fi
api PUT "/api/v1/regions/$region/plugins/example" '{"enabled": true}'
expect "PUT /api/v1/regions/$region/plugins/example enables example for the district" 200
api POST /api/v1/example/notes "{\"region_id\": $region, \"body\": \"安装测试 package test\"}"
expect "POST /api/v1/example/notes creates a note" 201
note=$(jget id 2>/dev/null)
api GET /metrics
expect "GET /metrics answers" 200
has_metrics() {
	local m
	for m in onegrid_http_requests_total onegrid_http_request_duration_seconds \
		onegrid_db_errors_total onegrid_worker_restarts_total; do
		grep -q "^$m" "$base/body" || { echo "no $m in /metrics"; return 1; }
	done
}
check "/metrics has the series docs/operations.md lists" has_metrics

kill -HUP "$daemon_pid"
sleep 0.5
check "SIGHUP is logged and ignored: the daemon keeps serving" sh -c "
	kill -0 $daemon_pid && curl -fsS -o /dev/null $url/healthz &&
	grep -q SIGHUP '$base/daemon1.log'"

# Rows the upgrade must keep (audit and migrations grow on their own).
counts_sql="SELECT (SELECT count(*) FROM core.app_user) || ' users, ' ||
	(SELECT count(*) FROM core.region) || ' regions, ' ||
	(SELECT count(*) FROM core.plugin_enablement) || ' enablements, ' ||
	(SELECT count(*) FROM example.note) || ' notes'"
counts1=$(psql_db -c "$counts_sql")
echo "# before the upgrade: $counts1"

# --- upgrade to 0.1.1-1, which has one more migration ---------------------------------
v2=0.1.1-1
mkdir -p "$base/overlay/plugins/example/schema"
cat >"$base/overlay/plugins/example/schema/0002_pkgtest_upgrade.sql" <<'EOF'
-- 0002_pkgtest_upgrade: added by tests/packaging/test_packages.sh to its
-- 0.1.1-1 build only, so that the upgrade has a migration to apply.
CREATE TABLE example.pkgtest_upgrade (id integer PRIMARY KEY);
INSERT INTO example.pkgtest_upgrade VALUES (1);
EOF
sed 's|^\(example_schema_sql = .*0001_notes\.sql\)$|\1 plugins/example/schema/0002_pkgtest_upgrade.sql|' \
	"$srcdir/plugins/example/include.am" >"$base/overlay/plugins/example/include.am"
check "the $v2 tree has one more example migration" \
	grep -q 0002_pkgtest_upgrade "$base/overlay/plugins/example/include.am"
check "packages build ($v2)" \
	"$srcdir/packaging/build-deb.sh" --src "$srcdir" --version "$v2" \
	--overlay "$base/overlay" --quiet "$base/v2" || fatal "the $v2 build failed"
mapfile -t debs2 < <(debs_in "$base/v2")
check "apt-get installs $v2 over $v1 while onegridd runs" apt_install "${debs2[@]}"
check "dpkg has onegrid $v2" test "$(dpkg-query -W -f '${Version}' onegrid)" = "$v2"
check "the edited conffile is kept, owner and mode too" sh -c "
	grep -q '127.0.0.1:$port' $conf && [ \"\$(stat -c %U:%G:%a $conf)\" = root:onegrid:640 ]"
check "the old daemon stops on SIGTERM with exit 0" stop_daemon
check "ExecStartPre (migrate) applies the new migration" \
	migrate_says "$base/migrate2.log" 'applied 1 migration'
if start_daemon "$base/daemon2.log"; then
	ok "ExecStart: the upgraded daemon serves"
else
	not_ok "ExecStart: the upgraded daemon serves"
	tail -n 30 "$base/daemon2.log" | diag
	fatal "the upgraded daemon did not start"
fi
login
expect "the administrator still logs in with the same password" 200
api GET "/api/v1/example/notes/$note"
expect "the note written before the upgrade reads back" 200
counts2=$(psql_db -c "$counts_sql")
echo "# after the upgrade:  $counts2"
check "every row is still there" test "$counts1" = "$counts2"
check "the new migration is recorded and its table filled" test "$(psql_db -c \
	"SELECT count(*) FROM core.schema_migration WHERE schema = 'example' AND version = 2
	 UNION ALL SELECT count(*) FROM example.pkgtest_upgrade" | tr '\n' ' ')" = "1 1 "
check "migrate again: nothing is pending" \
	migrate_says "$base/migrate3.log" 'database is up to date'

# --- downgrade: refused at start -------------------------------------------------------
check "the daemon stops" stop_daemon
check "apt-get installs $v1 again (a downgrade)" apt_install "${debs1[@]}"
# As systemd would: ExecStart runs only if ExecStartPre succeeded.  Either
# may refuse; what counts is that onegridd does not serve and says why.
downgrade_refused() {
	local log=$base/downgrade.log rc
	if as_unit $exec_start_pre >"$log" 2>&1; then
		"${as_unit[@]}" $exec_start >>"$log" 2>&1 &
		daemon_pid=$!
		if ! timeout 20 tail --pid="$daemon_pid" -f /dev/null; then
			echo "onegridd $v1 serves a database migrated by $v2"
			cat "$log"
			stop_daemon
			return 1
		fi
		wait "$daemon_pid"
		rc=$?
		daemon_pid=''
		[ "$rc" -ne 0 ] || { cat "$log"; return 1; }
	fi
	cat "$log"
	grep -q 'knows only up to' "$log"
}
if downgrade_refused >"$base/downgrade.out" 2>&1; then
	ok "the older binary refuses the newer database and says why"
else
	not_ok "the older binary refuses the newer database and says why"
fi
diag <"$base/downgrade.out"
check "the refused start changed no row" test "$counts1" = "$(psql_db -c "$counts_sql")"

# --- purge ---------------------------------------------------------------------------
purged() { purge_packages && [ -z "$(installed_pkgs)" ]; }
check "apt-get purge removes every package" purged
installed=0
check "nothing is left in /etc/onegrid, /var/lib/onegrid or /usr/lib/onegrid" \
	sh -c '! [ -e /etc/onegrid ] && ! [ -e /var/lib/onegrid ] && ! [ -e /usr/lib/onegrid ]'
