#!/usr/bin/env bash
# tests/pg-cluster.sh — start and stop a private PostgreSQL cluster in a directory.
#
#   tests/pg-cluster.sh start DIR [--socket-dir SOCKDIR] [--durable]
#   tests/pg-cluster.sh stop DIR
#   tests/pg-cluster.sh status DIR        (exit 0 when the server runs)
#
# start initdb's DIR/data when it holds no cluster yet (trust auth, superuser
# "postgres", UTF8), starts the server listening on a unix socket only
# (SOCKDIR, default DIR) and prints the libpq conninfo of its "postgres"
# database on stdout; a server already running there is reused.  Without
# --durable the server runs with fsync off: right for throwaway test
# clusters, wrong for data anyone wants to keep.  The server log is
# DIR/postgres.log.
#
# PostgreSQL refuses to run as root, so when uid is 0 everything runs as
# the user "postgres" (or $PG_CLUSTER_USER), which is given DIR.
#
# Not for: creating databases or removing DIR (the caller owns DIR).
set -euo pipefail

me=${0##*/}
die() { echo "$me: $*" >&2; exit 1; }
usage() { echo "usage: $me start DIR [--socket-dir SOCKDIR] [--durable] | stop DIR | status DIR" >&2; exit 2; }

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
sockdir='' durable=0
while [ $# -gt 0 ]; do
	case $1 in
	--socket-dir) [ $# -ge 2 ] || usage; sockdir=$2; shift 2 ;;
	--durable) durable=1; shift ;;
	*) usage ;;
	esac
done

[ -d "$dir" ] || die "$dir: no such directory"
dir=$(cd "$dir" && pwd -P)
sockdir=${sockdir:-$dir}
data=$dir/data
port=5432

# The server binaries: pg_config's bindir when it has them (Debian's
# /usr/bin/pg_config from libpq-dev may point elsewhere), else the newest
# /usr/lib/postgresql/*/bin.
find_bindir() {
	local d
	if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/pg_ctl" ]; then
		echo "$PG_BINDIR"; return 0
	fi
	if d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"; return 0
	fi
	d=$(printf "%s\n" /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"; return 0
	fi
	return 1
}
bindir=$(find_bindir) || die "no PostgreSQL server binaries (initdb, pg_ctl) found: install postgresql"

# Run a command as the cluster's owner, from a directory that user can
# enter (initdb fails when it cannot stat the current directory).
run_user=''
if [ "$(id -u)" -eq 0 ]; then
	run_user=${PG_CLUSTER_USER:-postgres}
	id -u "$run_user" >/dev/null 2>&1 || die "running as root but there is no user '$run_user' to run PostgreSQL as"
fi
as_owner() {
	if [ -n "$run_user" ]; then
		(cd / && runuser -u "$run_user" -- "$@")
	else
		(cd / && "$@")
	fi
}

is_running() {
	[ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" status -D "$data" >/dev/null 2>&1
}

conninfo() {
	echo "host=$sockdir port=$port user=postgres dbname=postgres"
}

case $cmd in
start)
	# The socket file is SOCKDIR/.s.PGSQL.5432 and must fit sun_path (108 bytes).
	sock=$sockdir/.s.PGSQL.$port
	[ ${#sock} -le 100 ] || die "socket path $sock is too long for a unix socket (keep DIR short, e.g. mktemp -d under /tmp)"
	if is_running; then
		conninfo
		exit 0
	fi
	mkdir -p "$sockdir"
	if [ -n "$run_user" ]; then
		# The owner needs DIR (data, log) and the socket directory.
		chown "$run_user": "$dir" "$sockdir"
		[ -d "$data" ] && chown -R "$run_user": "$data"
		as_owner test -w "$dir" || die "user $run_user cannot write $dir (a parent directory is not searchable?)"
	fi
	if [ ! -f "$data/PG_VERSION" ]; then
		locale=C
		if locale -a 2>/dev/null | grep -ix 'c\.utf-\?8' >/dev/null; then
			locale=C.UTF-8
		fi
		as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
			--locale="$locale" --no-sync >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	fi
	opts="-c listen_addresses='' -k '$sockdir' -p $port"
	if [ "$durable" -eq 0 ]; then
		opts="$opts -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
	fi
	if ! as_owner "$bindir/pg_ctl" start -w -t 60 -D "$data" -l "$dir/postgres.log" \
		-o "$opts" >/dev/null; then
		tail -n 30 "$dir/postgres.log" >&2 2>/dev/null || true
		die "PostgreSQL did not start in $data (log: $dir/postgres.log)"
	fi
	conninfo
	;;
stop)
	is_running || exit 0
	if ! as_owner "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null; then
		echo "$me: fast shutdown failed; stopping immediately" >&2
		as_owner "$bindir/pg_ctl" stop -D "$data" -m immediate -w -t 30 >/dev/null
	fi
	;;
status)
	is_running
	;;
*)
	usage
	;;
esac
