#!/usr/bin/env bash
# `make run DATA=path.csv`, as the README documents it, and the environment
# form `DATA=path.csv make run`: both load the file.  Each runs on a
# throwaway cluster of its own with NO_SERVICES=1 (no HTTP services), so it
# never touches the cluster of make run or of the other suites.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
tmp=$(mktemp -d)
cleanup() { destroy_throwaway_cluster; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
check() {
	local what=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

"$top/build/bin/mlpipe-gen-purchases" --customers 150 --seed 11 --quiet --output "$tmp/small.csv"
rows=$(($(wc -l <"$tmp/small.csv") - 1))
start_throwaway_cluster makerun 27600 mlpipe_makerun >/dev/null

purchases() { psql -XAtc 'SELECT count(*) FROM mlpipe.purchases'; }

# the form the README documents: DATA on make's command line
(cd "$top" && NO_SERVICES=1 make run DATA="$tmp/small.csv") >"$tmp/run1.log" 2>&1
rc=$?
check "make run DATA=path.csv succeeds" test "$rc" = 0
[ "$rc" = 0 ] || tail -20 "$tmp/run1.log"
check "make run DATA=path.csv loads the file ($rows rows)" test "$(purchases)" = "$rows"

# the environment form, after emptying the table
psql -XqAtc 'TRUNCATE mlpipe.purchases'
(cd "$top" && DATA="$tmp/small.csv" NO_SERVICES=1 make run) >"$tmp/run2.log" 2>&1
rc=$?
check "DATA=path.csv make run succeeds" test "$rc" = 0
[ "$rc" = 0 ] || tail -20 "$tmp/run2.log"
check "DATA=path.csv make run loads the file ($rows rows)" test "$(purchases)" = "$rows"

echo "make run: $pass passed, $fail failed"
[ "$fail" = 0 ]
