#!/usr/bin/env bash
# The embedded PostgreSQL: a private cluster with its own data directory,
# port and socket directory, under var/ in the repository.
#
#   scripts/pg.sh start     create the cluster if needed, start it, create the database
#   scripts/pg.sh stop      stop it (fast shutdown; MLPIPE_PG_STOP_MODE=immediate: a crash)
#   scripts/pg.sh status    say whether it runs, where, and what it holds, and
#                           whether each HTTP service answers (GET /healthz)
#   scripts/pg.sh destroy   stop it and remove its directory
#   scripts/pg.sh env       print the PG* variables that reach it (eval "$(scripts/pg.sh env)")
#   scripts/pg.sh psql ...  run psql on it
#   scripts/pg.sh standby   make and start a hot standby of it (streaming replication)
#   scripts/pg.sh promote   turn it, a standby, into a primary (failover)
#
# Settings (environment): MLPIPE_PG_NAME (default pg: var/pg), MLPIPE_PGPORT
# (default 5433), MLPIPE_PGDATABASE (default mlpipe), MLPIPE_PG_FAST=1 (no
# fsync: for throwaway test clusters).  Every command is idempotent.
# The services' ports, for status: MLPIPE_REGISTRY_PORT (8000),
# MLPIPE_PREPROCESSING_PORT (8001), MLPIPE_INFERENCE_PORT (8002).
# The standby: MLPIPE_STANDBY_NAME (default NAME-standby: var/NAME-standby),
# MLPIPE_STANDBY_PORT (default the primary's port + 1), MLPIPE_SYNC_COMMIT
# (off: asynchronous, the default; on: a commit waits until the standby has
# the WAL on disk, so a failover loses no acknowledged write; remote_apply:
# until the standby has replayed it, so a read there sees it at once).
# Other commands reach the standby as a cluster of its own:
# MLPIPE_PG_NAME=pg-standby MLPIPE_PGPORT=5434 scripts/pg.sh status|stop|promote.
#
# PostgreSQL refuses to run as root: as root the server runs as the
# unprivileged user "postgres" (created by Debian's postgresql package).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
name=${MLPIPE_PG_NAME:-pg}
port=${MLPIPE_PGPORT:-5433}
dbname=${MLPIPE_PGDATABASE:-mlpipe}
pgbin=${MLPIPE_PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
# Debian's pg_config lives in /usr/bin and reports /usr/lib/postgresql/15/bin
[ -x "$pgbin/pg_ctl" ] || pgbin=/usr/lib/postgresql/15/bin
link="$top/var/$name"
# the cluster's real directory: var/NAME, or where var/NAME links to
home=$(readlink -f "$link" 2>/dev/null || echo "$link")

die() { echo "pg.sh: $*" >&2; exit 1; }

as_server_user() {
	if [ "$(id -u)" -eq 0 ]; then
		# from /: the server user may not be allowed into the clone
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# The server user must be able to reach its data directory.  A clone in a
# private folder (mktemp -d makes 0700 folders) is not reachable by
# "postgres"; then the cluster lives in /tmp and var/NAME links to it.
prepare_home() {
	mkdir -p "$top/var"
	if [ -e "$link" ]; then return; fi
	if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$top/var"; then
		local real
		real=$(mktemp -d "/tmp/mlpipe-$name.XXXXXX")
		chmod 755 "$real"
		ln -s "$real" "$link"
		echo "pg.sh: $top is not reachable by user postgres; the cluster lives in $real (var/$name links to it)"
		home=$real
	else
		mkdir -p "$home"
	fi
	if [ "$(id -u)" -eq 0 ]; then chown postgres: "$home"; fi
}

export PGHOST="$home/sock" PGPORT="$port" PGUSER=postgres PGDATABASE="$dbname"

is_running() {
	[ -f "$home/data/PG_VERSION" ] && as_server_user "$pgbin/pg_ctl" -D "$home/data" status >/dev/null 2>&1
}

cmd_start() {
	prepare_home
	if [ ! -f "$home/data/PG_VERSION" ] && [ -n "${MLPIPE_STANDBY_OF:-}" ]; then
		make_standby
	elif [ ! -f "$home/data/PG_VERSION" ]; then
		echo "pg.sh: creating cluster in var/$name (port $port)"
		as_server_user mkdir -p "$home/sock"
		as_server_user "$pgbin/initdb" -D "$home/data" -U postgres --auth=trust \
			--encoding=UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 ||
			die "initdb failed; see $home/initdb.log"
		local conf="$home/data/postgresql.conf"
		{
			echo "# mlpipe embedded cluster"
			echo "listen_addresses = '127.0.0.1'"
			echo "port = $port"
			echo "unix_socket_directories = '$home/sock'"
			echo "timezone = 'UTC'"
			echo "log_timezone = 'UTC'"
			echo "shared_buffers = 256MB"
			echo "max_parallel_workers_per_gather = 2"
			if [ "${MLPIPE_PG_FAST:-0}" = 1 ]; then
				echo "fsync = off"
				echo "synchronous_commit = off"
				echo "full_page_writes = off"
			fi
		} | as_server_user tee -a "$conf" >/dev/null
	fi
	if is_running; then
		echo "pg.sh: already running (var/$name, port $port)"
	else
		if ! as_server_user "$pgbin/pg_ctl" -D "$home/data" -l "$home/server.log" -w -t 60 start >/dev/null; then
			# the cause is in the server's log: show it (CI keeps no files)
			tail -n 15 "$home/server.log" 2>/dev/null | sed 's/^/pg.sh:   /' >&2
			die "server did not start; see $home/server.log (is port $port taken? set MLPIPE_PGPORT)"
		fi
		echo "pg.sh: started (var/$name, 127.0.0.1:$port, socket $home/sock)"
	fi
	if [ "$(psql -d postgres -XAtc "SELECT pg_is_in_recovery()")" = t ]; then
		return 0	# a standby holds what its primary holds
	fi
	if [ "$(psql -d postgres -XAtc "SELECT count(*) FROM pg_database WHERE datname = '$dbname'")" = 0 ]; then
		createdb "$dbname"
		echo "pg.sh: created database $dbname"
	fi
}

# A standby's data directory: a base backup of the running primary on port
# MLPIPE_STANDBY_OF, streaming from it as application_name $name (what the
# primary's synchronous_standby_names refers to).
make_standby() {
	local primary=$MLPIPE_STANDBY_OF
	echo "pg.sh: creating standby var/$name (port $port) of the primary on port $primary"
	as_server_user mkdir -p "$home/sock"
	as_server_user "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U mlpipe_replicator \
		-D "$home/data" -X stream --checkpoint=fast -R >"$home/basebackup.log" 2>&1 ||
		die "pg_basebackup from port $primary failed; see $home/basebackup.log"
	# postgresql.auto.conf: later lines win over the copied ones and over
	# the primary_conninfo that -R wrote
	{
		echo "# mlpipe standby of the primary on port $primary"
		echo "port = $port"
		echo "unix_socket_directories = '$home/sock'"
		echo "primary_conninfo = 'host=127.0.0.1 port=$primary user=mlpipe_replicator application_name=$name'"
		echo "hot_standby = on"
		# queries on the standby hold back vacuum on the primary instead of
		# being cancelled by its replay
		echo "hot_standby_feedback = on"
		# once promoted it has no standby of its own to wait for
		echo "synchronous_standby_names = ''"
	} | as_server_user tee -a "$home/data/postgresql.auto.conf" >/dev/null
}

# On the primary: the replication role, its pg_hba line, the synchronous
# commit setting; then a standby cluster started by a second pg.sh.
cmd_standby() {
	is_running || die "the primary var/$name is not running; start it first (scripts/pg.sh start)"
	local sname=${MLPIPE_STANDBY_NAME:-$name-standby}
	local sport=${MLPIPE_STANDBY_PORT:-$((port + 1))}
	local sync=${MLPIPE_SYNC_COMMIT:-off}
	case $sync in off | on | remote_apply | remote_write) ;;
	*) die "MLPIPE_SYNC_COMMIT must be off, on, remote_write or remote_apply, not '$sync'" ;;
	esac
	psql -d postgres -XAtq -v ON_ERROR_STOP=1 <<-'SQL' >/dev/null || die "cannot create the replication role"
		DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mlpipe_replicator') THEN
				CREATE ROLE mlpipe_replicator LOGIN REPLICATION;
			END IF;
		END $$;
	SQL
	local hba="$home/data/pg_hba.conf"
	if ! as_server_user grep -q '^host replication mlpipe_replicator' "$hba"; then
		# first match wins: put it above initdb's lines
		as_server_user sed -i '1i host replication mlpipe_replicator 127.0.0.1/32 trust' "$hba"
	fi
	if [ "$sync" = off ]; then
		psql -d postgres -XAtq -c "ALTER SYSTEM RESET synchronous_standby_names" >/dev/null
		psql -d postgres -XAtq -c "ALTER SYSTEM RESET synchronous_commit" >/dev/null
	else
		psql -d postgres -XAtq -c "ALTER SYSTEM SET synchronous_standby_names = '\"$sname\"'" >/dev/null
		psql -d postgres -XAtq -c "ALTER SYSTEM SET synchronous_commit = '$sync'" >/dev/null
	fi
	psql -d postgres -XAtq -c "SELECT pg_reload_conf()" >/dev/null
	MLPIPE_PG_NAME=$sname MLPIPE_PGPORT=$sport MLPIPE_STANDBY_OF=$port "$0" start
	echo "pg.sh: standby var/$sname streams from port $port (synchronous_commit $sync)"
}

cmd_promote() {
	is_running || die "var/$name is not running"
	if [ "$(psql -d postgres -XAtc "SELECT pg_is_in_recovery()")" != t ]; then
		echo "pg.sh: var/$name is a primary already"
		return 0
	fi
	as_server_user "$pgbin/pg_ctl" -D "$home/data" -w -t 60 promote >/dev/null ||
		die "promote failed; see $home/server.log"
	echo "pg.sh: promoted var/$name (127.0.0.1:$port) to primary"
}

cmd_stop() {
	if is_running; then
		as_server_user "$pgbin/pg_ctl" -D "$home/data" -m "${MLPIPE_PG_STOP_MODE:-fast}" -w stop >/dev/null
		echo "pg.sh: stopped (var/$name)"
	else
		echo "pg.sh: not running (var/$name)"
	fi
}

# One line per HTTP service: does GET /healthz on its port answer, and is
# its database reachable (GET /readyz)?
services_status() {
	local svc name port health ready
	for svc in "registry:${MLPIPE_REGISTRY_PORT:-8000}" \
		"preprocessing:${MLPIPE_PREPROCESSING_PORT:-8001}" \
		"inference:${MLPIPE_INFERENCE_PORT:-8002}"; do
		name=${svc%%:*} port=${svc##*:}
		health=$(curl -s -m 2 "http://127.0.0.1:$port/healthz" 2>/dev/null || true)
		if [[ $health == *'"status":"ok"'* ]]; then
			ready=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2>/dev/null || true)
			if [ "$ready" = 200 ]; then ready="ready"; else ready="not ready (/readyz $ready: database unreachable?)"; fi
			printf '       %-14s 127.0.0.1:%-5s answers, %s\n' "$name" "$port" "$ready"
		else
			printf '       %-14s 127.0.0.1:%-5s not answering (start the services with: make run)\n' "$name" "$port"
		fi
	done
}

cmd_status() {
	local rc=0
	cmd_database_status || rc=$?
	echo "pg.sh: services:"
	services_status
	return $rc
}

cmd_database_status() {
	if is_running; then
		echo "pg.sh: running: var/$name, 127.0.0.1:$port, database $dbname"
		echo "       connect: psql -h 127.0.0.1 -p $port -U postgres $dbname   (or: make psql)"
		psql -d postgres -XAtc "SELECT CASE WHEN pg_is_in_recovery()
			THEN 'role: standby, replay lag ' || pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) || ' bytes'
			ELSE 'role: primary, standbys: ' || coalesce((SELECT string_agg(application_name || ' (' || sync_state || ', replay lag ' ||
				pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) || ' bytes)', ', ') FROM pg_stat_replication), 'none') END" 2>/dev/null | sed 's/^/       /' || true
		psql -XAtc "SELECT 'purchases: ' || count(*) FROM mlpipe.purchases" 2>/dev/null | sed 's/^/       /' || true
		psql -XAtc "SELECT 'models: ' || count(*) FROM mlpipe.models" 2>/dev/null | sed 's/^/       /' || true
	else
		echo "pg.sh: not running (var/$name); start it with: make run   (or scripts/pg.sh start)"
		return 3
	fi
}

cmd_destroy() {
	cmd_stop
	rm -rf "$home" "$link"
	echo "pg.sh: removed var/$name"
}

cmd_env() {
	echo "export PGHOST='$PGHOST' PGPORT='$PGPORT' PGUSER='$PGUSER' PGDATABASE='$PGDATABASE'"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
destroy) cmd_destroy ;;
env) cmd_env ;;
standby) cmd_standby ;;
promote) cmd_promote ;;
psql) shift; exec psql "$@" ;;
*) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] && exit 2; exit 0 ;;
esac
