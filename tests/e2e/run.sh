#!/usr/bin/env bash
# End-to-end tests of the three HTTP services against a running PostgreSQL.
#
#   tests/e2e/run.sh
#
# Needs: PGHOST/PGPORT/PGUSER/PGDATABASE (or DATABASE_URL) naming a database
# where the mlpipe extension is installed (it is created if missing), the
# built binaries (make -C services), curl, psql, and /usr/bin/python3 with
# requests, xgboost and psycopg2 (Debian python3-requests, python3-xgboost,
# python3-psycopg2).
#
# Starts mlpipe-registry, -preprocessing and -inference on free ports,
# waits for /healthz, runs tests/e2e/test_api.py (every endpoint and every
# error status of docs/http.md) and test_interfaces.py (the interfaces:
# OpenAPI, /docs, HEAD, paging, Open Inference Protocol V2), checks every
# response they got against the services' OpenAPI documents, then checks
# clean shutdown on SIGTERM
# with a request in flight.  Always stops the services it started.
#
# Database-down checks stop and restart the database: with MLPIPE_PG_NAME set
# (scripts/test.sh) through scripts/pg.sh, or with the commands in
# E2E_PG_STOP / E2E_PG_START; without either they are skipped.
#
# Settings: MLPIPE_BIN (default build/bin; build/bin-asan for sanitizers),
# E2E_KEEP_LOGS=1 keeps the log directory.  E2E_READ_PGHOST and
# E2E_READ_PGPORT (tests/scale): preprocessing and inference connect there,
# to a hot standby, while the registry and psql use the primary.
#
# Invalid JSON bodies get 422 with type "json_invalid", as FastAPI answers.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${MLPIPE_BIN:-$top/build/bin}
py=/usr/bin/python3
logdir=$(mktemp -d /tmp/mlpipe-e2e.XXXXXX)
pids=()
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }

cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "${E2E_KEEP_LOGS:-0}" = 1 ] || [ "$failed" -gt 0 ]; then
		echo "e2e: logs kept in $logdir"
	else
		rm -rf "$logdir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Adds what a Python test file counted ("passed failed" in FILE) to ours.
add_counts() {	# FILE NAME
	if [ -f "$1" ]; then
		read -r p f <"$1"
		passed=$((passed + p))
		failed=$((failed + f))
	else
		fail "$2 did not report"
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

for b in mlpipe-registry mlpipe-preprocessing mlpipe-inference; do
	[ -x "$bin/$b" ] || { fail "$bin/$b is not built (make -C services)"; finish; }
done
for tool in curl psql; do
	command -v "$tool" >/dev/null || { fail "$tool is not installed"; finish; }
done
"$py" -c 'import requests, xgboost' 2>/dev/null ||
	{ fail "/usr/bin/python3 needs requests and xgboost (apt-get install python3-requests python3-xgboost)"; finish; }

# The extension may not be created in the caller's database yet.
have=$(psql -XAtq -c "SELECT to_regproc('mlpipe_list_models') IS NOT NULL" 2>"$logdir/psql.log")
if [ "$have" != t ] &&
	! psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS mlpipe" >>"$logdir/psql.log" 2>&1; then
	fail "cannot create extension mlpipe: $(cat "$logdir/psql.log")"
	finish
fi

# A free TCP port on 127.0.0.1 at or above $1.
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 1))
	done
	echo "$p"
}

token="e2e-token-$$"
max_upload=$((2 * 1024 * 1024))
base=$((20000 + ($$ % 2000) * 3))
reg_port=$(free_port "$base")
pre_port=$(free_port $((reg_port + 1)))
inf_port=$(free_port $((pre_port + 1)))

# Each service connects as its own least-privilege role (sql/roles.sql), as
# in production: the suite proves they need nothing more.
if ! psql -XAtq -v ON_ERROR_STOP=1 -f "$top/sql/roles.sql" >>"$logdir/psql.log" 2>&1; then
	fail "cannot create the service roles: $(cat "$logdir/psql.log")"
	finish
fi

read_host=${E2E_READ_PGHOST:-${PGHOST:-}}
read_port=${E2E_READ_PGPORT:-${PGPORT:-}}
read_only=0
[ -n "${E2E_READ_PGPORT:-}" ] && read_only=1

start_service() {	# name port threads [log file size limit]
	local host=${PGHOST:-} pgport=${PGPORT:-} err=$logdir/$1.log file=
	if [ "$1" != registry ]; then host=$read_host pgport=$read_port; fi
	# with a limit the service writes its log file itself, rotating it
	if [ -n "${4:-}" ]; then file=$logdir/$1.log err=$logdir/$1.stderr; fi
	PGHOST=$host PGPORT=$pgport PGUSER=mlpipe_$1 MLPIPE_API_TOKEN=$token MLPIPE_MAX_UPLOAD=$max_upload MLPIPE_THREADS=$3 MLPIPE_DISPATCHERS=1 HOST=127.0.0.1 PORT=$2 \
		MLPIPE_LOG_FILE=$file MLPIPE_LOG_MAX_BYTES=${4:-0} "$bin/mlpipe-$1" 2>"$err" &
	pids+=($!)
}
start_service registry "$reg_port" 2
start_service preprocessing "$pre_port" 2 65536
# One HTTP thread: concurrent /predict requests must still be queued and
# batched, not run one after another on that thread (test_concurrent_predict).
start_service inference "$inf_port" 1

for port in "$reg_port" "$pre_port" "$inf_port"; do
	up=0
	for _ in $(seq 1 100); do
		if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
			up=1
			break
		fi
		sleep 0.1
	done
	if [ $up = 1 ]; then ok "service on port $port is up"; else fail "service on port $port did not come up"; fi
done
[ "$failed" -eq 0 ] || { cat "$logdir"/*.log; finish; }

# each --help lists the settings its service reads, and only those
help_has() { "$bin/mlpipe-$1" --help | grep -q "$2"; }
for s in "registry MLPIPE_MAX_UPLOAD" "registry MLPIPE_API_TOKEN" "preprocessing MLPIPE_MAX_BATCH_BODY" \
	"preprocessing MLPIPE_API_TOKEN" "inference MLPIPE_MAX_BATCH_BODY" "inference MLPIPE_DISPATCHERS"; do
	if help_has $s; then ok "mlpipe-${s% *} --help lists ${s#* }"; else fail "mlpipe-${s% *} --help lacks ${s#* }"; fi
done
for s in "registry MLPIPE_MAX_BATCH_BODY" "registry MLPIPE_DISPATCHERS" "preprocessing MLPIPE_MAX_UPLOAD" \
	"preprocessing MLPIPE_DISPATCHERS" "inference MLPIPE_MAX_UPLOAD" "inference MLPIPE_API_TOKEN"; do
	if help_has $s; then fail "mlpipe-${s% *} --help lists ${s#* }, which it does not read"; else ok "mlpipe-${s% *} --help leaves out ${s#* }"; fi
done
for b in mlpipe-registry mlpipe-preprocessing mlpipe-inference; do
	if "$bin/$b" --help | grep -q MLPIPE_MAX_BODY; then ok "$b --help"; else fail "$b --help"; fi
done
# make status (scripts/pg.sh status) says which services answer: here
# registry and preprocessing do, and nothing listens on port 1
if [ -x "$top/scripts/pg.sh" ]; then
	out=$(MLPIPE_REGISTRY_PORT=$reg_port MLPIPE_PREPROCESSING_PORT=$pre_port MLPIPE_INFERENCE_PORT=1 \
		"$top/scripts/pg.sh" status 2>&1)
	if grep -Eq "registry +127.0.0.1:$reg_port +answers, ready" <<<"$out" &&
		grep -Eq "preprocessing +127.0.0.1:$pre_port +answers" <<<"$out" &&
		grep -Eq "inference +127.0.0.1:1 +not answering" <<<"$out"; then
		ok "make status: each service answers or not"
	else
		fail "make status: $out"
	fi
fi
# a bytea holds at most 1 GB - 1 byte: a larger upload limit is refused at startup
out=$(MLPIPE_MAX_UPLOAD=1073741824 PORT=$reg_port timeout 10 "$bin/mlpipe-registry" 2>&1)
rc=$?
if [ $rc = 2 ] && grep -q 'MLPIPE_MAX_UPLOAD must be a number between 1 and 1073741823' <<<"$out"; then
	ok "MLPIPE_MAX_UPLOAD over 1 GB - 1 byte: exit 2 naming the setting and the maximum"
else
	fail "MLPIPE_MAX_UPLOAD=1073741824: exit $rc, $out"
fi

# How to stop and start the database for the outage checks.
pg_stop=${E2E_PG_STOP:-}
pg_start=${E2E_PG_START:-}
if [ -z "$pg_stop" ] && [ -n "${MLPIPE_PG_NAME:-}" ] && [ -x "$top/scripts/pg.sh" ]; then
	pg_stop="'$top/scripts/pg.sh' stop"
	pg_start="'$top/scripts/pg.sh' start"
fi

# test_lifecycle.py: aliases, history, NOTIFY, the flip under load; every
# response of the scripts is recorded, then checked against the
# OpenAPI documents (tests/api/validate_responses.js)
for script in test_api.py test_interfaces.py test_lifecycle.py; do
	rm -f "$logdir/counts"
	REGISTRY="http://127.0.0.1:$reg_port" PREPROCESSING="http://127.0.0.1:$pre_port" \
		INFERENCE="http://127.0.0.1:$inf_port" TOKEN=$token MAX_UPLOAD=$max_upload RUN_ID=$$ \
		PG_STOP=$pg_stop PG_START=$pg_start READ_ONLY_DB=$read_only LOGDIR=$logdir COUNTS="$logdir/counts" \
		RECORD="$logdir/responses.jsonl" "$py" "$top/tests/e2e/$script"
	add_counts "$logdir/counts" "$script"
done

if "$top/scripts/npm-ci.sh" "$top/tests/api" "$top/var/api-tools" >"$logdir/npm.log" 2>&1; then
	while IFS= read -r line; do
		case $line in
		'ok - '*) ok "response schema: ${line#ok - }" ;;
		'not ok - '*) fail "response schema: ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done < <(node "$top/tests/api/validate_responses.js" "$logdir/responses.jsonl" 2>&1)
else
	fail "npm modules of tests/api: $(cat "$logdir/npm.log")"
fi

# The log file of preprocessing is capped at 64 KiB: 1,000 more requests
# (about 110 KB of lines) must rotate it, keeping one old file.
urls=()
for _ in $(seq 1 1000); do urls+=("http://127.0.0.1:$pre_port/healthz"); done
curl -s "${urls[@]}" >/dev/null
size=$(stat -c %s "$logdir/preprocessing.log" 2>/dev/null || echo 0)
old=$(stat -c %s "$logdir/preprocessing.log.1" 2>/dev/null || echo 0)
if [ "$size" -gt 0 ] && [ "$size" -le $((65536 + 4096)) ] && [ "$old" -gt 65536 ] && [ "$old" -le $((65536 + 4096)) ]; then
	ok "MLPIPE_LOG_MAX_BYTES=65536: the log is rotated (now $size bytes, .1 $old bytes)"
else
	fail "MLPIPE_LOG_MAX_BYTES=65536: preprocessing.log $size bytes, .1 $old bytes"
fi

# Monitoring: a second inference service logs every answer it gives.
log_port=$(free_port $((inf_port + 1)))
MLPIPE_PREDICTION_LOG_RATE=1 PGUSER=mlpipe_inference MLPIPE_THREADS=4 HOST=127.0.0.1 PORT=$log_port \
	"$bin/mlpipe-inference" 2>"$logdir/inference-logged.log" &
log_pid=$!
pids+=("$log_pid")
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$log_port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
REGISTRY="http://127.0.0.1:$reg_port" PREPROCESSING="http://127.0.0.1:$pre_port" \
	INFERENCE_LOGGED="http://127.0.0.1:$log_port" TOKEN=$token RUN_ID=$$ READ_ONLY_DB=$read_only \
	GENERATOR="$top/build/bin/mlpipe-gen-purchases" COUNTS="$logdir/counts-monitor" \
	"$py" "$top/tests/e2e/test_monitor.py"
add_counts "$logdir/counts-monitor" test_monitor.py
kill -TERM "$log_pid"
wait "$log_pid"
rc=$?
unset 'pids[3]'
if [ $rc -eq 0 ]; then ok "logged inference exits 0 on SIGTERM"; else fail "logged inference exit status $rc"; fi

# Clean shutdown: a slow upload is in flight when SIGTERM arrives; it must
# still get its complete answer, and the process must exit 0.
inf_pid=${pids[2]}
head -c 300000 /dev/zero | tr '\0' ' ' >"$logdir/slow.json"
curl -sS -o "$logdir/slow.out" -w '%{http_code}' --limit-rate 100k \
	-H 'Content-Type: application/json' --data-binary @"$logdir/slow.json" \
	"http://127.0.0.1:$inf_port/predict" >"$logdir/slow.code" 2>"$logdir/slow.err" &
curl_pid=$!
# wait until its connection is established (then the service is serving it)
for _ in $(seq 1 50); do
	ss -Htn state established "( sport = :$inf_port )" 2>/dev/null | grep -q . && break
	sleep 0.1
done
sleep 0.3
kill -TERM "$inf_pid"
wait "$curl_pid"
wait "$inf_pid"
rc=$?
if [ "$(cat "$logdir/slow.code")" = 422 ]; then
	ok "request in flight during SIGTERM got its answer (422)"
else
	fail "request in flight during SIGTERM: got '$(cat "$logdir/slow.code")' $(cat "$logdir/slow.err")"
fi
if [ $rc -eq 0 ] && grep -q '"msg":"stopped"' "$logdir/inference.log"; then
	ok "inference exits 0 on SIGTERM"
else
	fail "inference exit status $rc on SIGTERM"
fi
for i in 0 1; do
	kill -INT "${pids[$i]}"
	wait "${pids[$i]}"
	rc=$?
	if [ $rc -eq 0 ]; then ok "service ${pids[$i]} exits 0 on SIGINT"; else fail "service exit status $rc on SIGINT"; fi
done
pids=()

# Every line any service wrote, events and requests alike, is one JSON
# object with a timestamp and the service's name (one escaped writer).
bad=$("$py" - "$logdir"/registry.log "$logdir"/inference.log "$logdir"/preprocessing.log* <<'PY'
import json, sys
for path in sys.argv[1:]:
    for n, line in enumerate(open(path, errors="replace"), 1):
        try:
            j = json.loads(line)
            ok = isinstance(j, dict) and "ts" in j and "service" in j
        except ValueError:
            ok = False
        if not ok:
            print("%s:%d: %s" % (path, n, line.strip()[:200]))
            break
PY
)
if [ -z "$bad" ]; then ok "every log line is JSON with ts and service"; else fail "log lines that are not: $bad"; fi

# Sanitizer builds report leaks and errors in the logs.
if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$logdir"/*.log* "$logdir"/*.stderr 2>/dev/null; then
	fail "sanitizer reports in the service logs"
fi

finish
