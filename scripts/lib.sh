# Shared by the scripts: logging and small helpers.  Sourced, not run.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The extension is installed into the system's PostgreSQL, one copy per
# machine: a test, ASan or benchmark run from another checkout would replace
# the mlpipe.so that this run's backends load.  Each such run holds this lock
# from its install to its end (the descriptor closes when the script exits).
hold_install_lock() {
	local lock=${MLPIPE_INSTALL_LOCK:-/tmp/mlpipe-install.lock}
	exec 9>>"$lock"
	if ! flock -n 9; then
		say "waiting for another mlpipe run on this machine to finish (lock $lock)"
		flock 9
	fi
}

# A TCP port on 127.0.0.1 that nothing listens on, starting near $1.
free_port() {
	local p=$1
	for _ in $(seq 1 200); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
		p=$((p + 1))
	done
	return 1
}

# A throwaway cluster for a test or benchmark run, never the one of make
# run: its own name (PREFIX-PID), a free port near BASE, database DB, no
# fsync.  Exports the PG* variables that reach it.  The caller sets a trap
# that runs `scripts/pg.sh destroy`.  BASE must stay below 32768, out of
# Linux's ephemeral range (32768-60999): a test that stops the server lets
# the clients' reconnects take its port as their local port otherwise, and
# the server cannot bind it again (seen: the fault suite's restart).
start_throwaway_cluster() {	# PREFIX BASE DB
	[ "$2" -lt 31600 ] || die "start_throwaway_cluster: base port $2 is too close to the ephemeral range"
	export MLPIPE_PG_NAME="$1-$$" MLPIPE_PG_FAST=1 MLPIPE_PGDATABASE=$3
	local base=$(($2 + $$ % 1000)) try
	for try in 1 2; do
		MLPIPE_PGPORT=$(free_port "$base") || die "no free port"
		export MLPIPE_PGPORT
		say "starting a throwaway cluster on port $MLPIPE_PGPORT"
		if "$top/scripts/pg.sh" start >/dev/null; then
			eval "$("$top/scripts/pg.sh" env)"
			return 0
		fi
		# another process may have taken the port between the check and
		# the server's bind: once more, elsewhere, from scratch
		"$top/scripts/pg.sh" destroy >/dev/null 2>&1
		base=$((MLPIPE_PGPORT + 100))
	done
	die "could not start a throwaway cluster"
}

# Suites: run_suite NAME COMMAND... runs COMMAND unless SUITES names others,
# and counts it; suites_summary WORD prints "WORD: N passed, M failed" and
# returns non-zero if any failed.
suites_passed=0 suites_failed=0 suites_failed_names=()
run_suite() {
	local name=$1
	shift
	if [ -n "${SUITES:-}" ] && ! [[ " $SUITES " == *" $name "* ]]; then return 0; fi
	say "suite $name"
	if "$@"; then
		suites_passed=$((suites_passed + 1))
	else
		suites_failed=$((suites_failed + 1))
		suites_failed_names+=("$name")
	fi
}
suites_summary() {
	echo
	[ "$suites_failed" -gt 0 ] && echo "failed suites: ${suites_failed_names[*]}"
	echo "$1: $suites_passed passed, $suites_failed failed"
	[ "$suites_failed" -eq 0 ]
}

# Removes the cluster start_throwaway_cluster made, and only that one: the
# name must end in this process's id, so a trap that fires early can never
# remove the cluster of make run.
destroy_throwaway_cluster() {
	[[ ${MLPIPE_PG_NAME:-} == *-$$ ]] || return 0
	"$top/scripts/pg.sh" destroy >/dev/null 2>&1 || true
}
