#!/usr/bin/env bash
# Fault and abuse tests of the three HTTP services against a running,
# throwaway PostgreSQL cluster.
#
#   tests/fault/run.sh
#
# Needs: PG* naming a superuser session on the cluster, MLPIPE_PG_NAME (and
# MLPIPE_PGPORT) so that scripts/pg.sh stop|start acts on that cluster (as
# scripts/test.sh sets them: this suite stops and starts the database), the
# built binaries (build/bin or $MLPIPE_BIN), psql, and /usr/bin/python3 with
# requests and xgboost.
#
# Sets up what is missing (extension, service roles, a little generated
# data), then tests/fault/fault.py starts the three services on free ports
# as their own roles and runs: a database outage under load, kill -9 of the
# registry during uploads, 100 concurrent registrations of one version, a
# battery of malformed requests with RSS before/after, slow or idle
# clients, and SIGTERM under keep-alive load (shutdown.py).  Ends with "fault: N passed, M failed"; exits non-zero on failure.
#
# Always stops the services it started and leaves the database running.
# FAULT_KEEP_LOGS=1 keeps the log directory (it is kept anyway on failure).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
py=/usr/bin/python3
export FAULT_TOP=$top
export FAULT_BIN=${MLPIPE_BIN:-$top/build/bin}
logdir=$(mktemp -d /tmp/mlpipe-fault.XXXXXX)
export FAULT_LOGDIR=$logdir
rc=1

say() { echo "fault: $*"; }

# The driver writes the pids of the services it runs into $logdir/pids; kill
# exactly those (it also does so itself, this is for a driver that died), and
# make sure the database is up again whatever happened.
cleanup() {
	if [ -f "$logdir/pids" ]; then
		for pid in $(cat "$logdir/pids"); do
			kill -9 "$pid" 2>/dev/null
		done
	fi
	if [ -n "${MLPIPE_PG_NAME:-}" ]; then
		"$top/scripts/pg.sh" start >/dev/null 2>&1 || echo "fault: could not start the database again"
	fi
	if [ "${FAULT_KEEP_LOGS:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
		echo "fault: logs kept in $logdir"
	else
		rm -rf "$logdir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bail() { echo "fault: $*"; echo "fault: 0 passed, 1 failed"; exit 1; }

[ -n "${MLPIPE_PG_NAME:-}" ] ||
	bail "MLPIPE_PG_NAME is not set: this suite stops and starts the database with scripts/pg.sh (run it from scripts/test.sh)"
for b in mlpipe-registry mlpipe-preprocessing mlpipe-inference; do
	[ -x "$FAULT_BIN/$b" ] || bail "$FAULT_BIN/$b is not built (make -C services)"
done
command -v psql >/dev/null || bail "psql is not installed"
"$py" -c 'import requests, xgboost, numpy' 2>/dev/null ||
	bail "/usr/bin/python3 needs requests and xgboost (apt-get install python3-requests python3-xgboost)"

psql_q() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
psql_q -c "CREATE EXTENSION IF NOT EXISTS mlpipe" >"$logdir/setup.log" 2>&1 ||
	bail "cannot create extension mlpipe: $(cat "$logdir/setup.log")"
psql_q -f "$top/sql/roles.sql" >>"$logdir/setup.log" 2>&1 ||
	bail "cannot create the service roles: $(cat "$logdir/setup.log")"
# Some purchases, so that predictions merge real history (only when empty).
if [ "$(psql_q -c 'SELECT count(*) > 0 FROM mlpipe.purchases')" != t ]; then
	gen=$top/build/bin/mlpipe-gen-purchases
	if [ -x "$gen" ]; then
		say "loading 500 generated customers"
		"$gen" --customers 500 --seed 3 --output "$logdir/purchases.csv" --quiet &&
			psql_q -v csv="$logdir/purchases.csv" -f "$top/sql/load_purchases.sql" >>"$logdir/setup.log" 2>&1 ||
			bail "cannot load generated purchases: $(tail -5 "$logdir/setup.log")"
	fi
fi

"$py" "$top/tests/fault/fault.py"
rc=$?
exit $rc
