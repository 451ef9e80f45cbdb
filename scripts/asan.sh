#!/usr/bin/env bash
# make test-asan: the test suites again, under memory checkers.
#
#   unit     tests/unit built with -fsanitize=address,undefined (build/unit-asan)
#   regress  pg_regress on a throwaway cluster whose server runs under
#            valgrind (memcheck), with the normal installed mlpipe.so
#   e2e      tests/e2e/run.sh against the services built with
#            `make -C services SANITIZE=1` (build/bin-asan; ASan + UBSan,
#            leak checks on), the server running normally
#
# Fails if a suite fails, if any sanitizer report appears in the services'
# logs, or if valgrind reports an error with a frame in mlpipe.so.  Ends
# with "asan: N passed, M failed".
#   SUITES="regress e2e" scripts/asan.sh    runs only these suites
#   MLPIPE_ASAN_NO_BUILD=1 scripts/asan.sh  uses what is built and installed
#
# Why valgrind and not an ASan build of mlpipe.so in the server: the ASan
# runtime must be preloaded into postgres, and on Debian 12 any program that
# links libgpg-error (postgres does, through libsystemd -> libgcrypt) hangs
# at start with libasan preloaded (bindtextdomain in main waits forever on
# glibc's _nl_state_lock; gpg --version hangs the same way).  Valgrind needs
# no rebuild and no swap of the installed mlpipe.so.  It sees malloc'd
# memory (jansson, XGBoost, the feature buffers), uninitialised values and
# bad frees, but not overruns inside palloc chunks or on the stack; the
# plain-C parsers get those from the fuzz targets (tests/fuzz).  PostgreSQL
# itself is not built for valgrind (its memory contexts look like
# uninitialised reuse), so only errors with an mlpipe.so frame fail the
# run; the others are counted and shown.
#
#   scripts/asan.sh pg-start-valgrind   (internal) start the throwaway
#                                       cluster's server under valgrind
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

pgbin=${MLPIPE_PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$pgbin/pg_ctl" ] || pgbin=/usr/lib/postgresql/15/bin

as_server_user() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_home() { readlink -f "$top/var/$MLPIPE_PG_NAME"; }

# The postmaster under valgrind; backends are forked, so valgrind follows
# them, one log per process (valgrind.<pid>.log).  pg.sh created the cluster
# and stops it (pg_ctl stop works on any postmaster of the data directory).
pg_start_valgrind() {
	local home
	home=$(cluster_home)
	mkdir -p "$home/valgrind"
	# PostgreSQL's own habits that look like errors (the file says which)
	cp "$top/scripts/valgrind.supp" "$home/valgrind/mlpipe.supp"
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$home/valgrind"
	as_server_user nohup valgrind --tool=memcheck --trace-children=yes \
		--leak-check=no --track-origins=yes --num-callers=40 --error-limit=no \
		--suppressions="$home/valgrind/mlpipe.supp" \
		--log-file="$home/valgrind/valgrind.%p.log" \
		"$pgbin/postgres" -D "$home/data" >>"$home/server.log" 2>&1 </dev/null &
	for _ in $(seq 1 240); do
		if "$pgbin/pg_isready" -q -h "$home/sock" -p "$MLPIPE_PGPORT"; then return 0; fi
		sleep 0.5
	done
	echo "asan.sh: the server did not start under valgrind; see $home/server.log" >&2
	return 1
}

if [ "${1:-}" = pg-start-valgrind ]; then
	[ -n "${MLPIPE_PG_NAME:-}" ] || die "pg-start-valgrind needs MLPIPE_PG_NAME"
	pg_start_valgrind
	exit
fi

command -v valgrind >/dev/null || die "valgrind is not installed (apt-get install valgrind)"

hold_install_lock
if [ "${MLPIPE_ASAN_NO_BUILD:-0}" != 1 ]; then
	say "building (normal build, installed as usual)"
	make -s all || die "build failed"
	make -s install >/dev/null || die "install failed"
	say "building the services with SANITIZE=1 (build/bin-asan)"
	make -s -C services SANITIZE=1 || die "sanitizer build of the services failed"
fi

cleanup() { destroy_throwaway_cluster; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start_throwaway_cluster asan 29000 mlpipe_asan
export MLPIPE_TOP="$top"
home=$(cluster_home)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitizer_pattern='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer'


suite_unit() {
	make -s -C tests/unit test BUILD="$top/build/unit-asan" \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
}

# Splits valgrind logs into error blocks; prints those with a frame in the
# extension (mlpipe.so, or one of its source files when valgrind has the
# debug info) and counts the rest.
valgrind_errors() {
	local ours
	ours="mlpipe\\.so|\\(($(cd pg_extension/src && ls *.c | sed 's/\.c$//' | paste -sd'|'))\\.c:"
	awk -v ours_re="$ours" '
		function flush() {
			if (mine) { printf "%s\n", block; n_ours++ } else { n_other++; kinds[kind " in " where]++ }
			block = ""
		}
		/^==[0-9]+== [A-Z]/ && !/^==[0-9]+== (Memcheck,|Copyright|Using Valgrind|Command:|Parent PID|HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|For lists|For counts|For a detailed|Use --|Rerun|All heap|Warning:|Invalid debuginfo)/ {
			if (block != "") flush()
			block = $0 "\n"; mine = 0; where = ""
			kind = $0; sub(/^==[0-9]+== /, "", kind)
			next
		}
		/^==[0-9]+==  +(at|by|Address|Uninitialised|Block) / && block != "" {
			block = block $0 "\n"
			if ($0 ~ ours_re) mine = 1
			if (where == "" && $0 ~ /^==[0-9]+==  +(at|by) / && $0 !~ /vgpreload/) { where = $0; sub(/^.*: /, "", where) }
			next
		}
		/^==[0-9]+== *$/ { if (block != "") flush(); next }
		END {
			if (block != "") flush()
			for (k in kinds) printf "  not ours: %d x %s\n", kinds[k], k
			printf "valgrind: %d error(s) with an mlpipe frame, %d elsewhere (postgres, libraries)\n", n_ours, n_other
			exit (n_ours > 0 ? 1 : 0)
		}
	' "$@"
}

suite_regress() {
	local rc=0
	scripts/pg.sh stop >/dev/null
	pg_start_valgrind || return 1
	(unset PGDATABASE; make -s -C pg_extension installcheck) || {
		[ -f build/regress/regression.diffs ] && head -100 build/regress/regression.diffs
		rc=1
	}
	scripts/pg.sh stop >/dev/null
	if ! valgrind_errors "$home"/valgrind/valgrind.*.log; then
		echo "asan.sh: valgrind errors in mlpipe.so (logs in var/asan-valgrind-$$)"
		rm -rf "var/asan-valgrind-$$"
		cp -r "$home/valgrind" "var/asan-valgrind-$$"
		rc=1
	fi
	scripts/pg.sh start >/dev/null || { echo "asan.sh: could not restart the server"; return 1; }
	return $rc
}

suite_e2e() {
	local out rc logdir
	out=$(mktemp /tmp/mlpipe-asan-e2e.XXXXXX)
	MLPIPE_BIN="$top/build/bin-asan" E2E_KEEP_LOGS=1 tests/e2e/run.sh 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	logdir=$(sed -n 's/^e2e: logs kept in //p' "$out" | tail -1)
	rm -f "$out"
	if [ -z "$logdir" ] || [ ! -d "$logdir" ]; then
		echo "asan.sh: e2e left no service logs to check"
		return 1
	fi
	if grep -l -E "$sanitizer_pattern" "$logdir"/*.log; then
		echo "asan.sh: sanitizer reports in the services' logs (kept in $logdir):"
		grep -h -A30 -E "$sanitizer_pattern" "$logdir"/*.log | head -80
		return 1
	fi
	[ "$rc" -eq 0 ] || { echo "asan.sh: service logs kept in $logdir"; return 1; }
	rm -rf "$logdir"
}

run_suite unit suite_unit
run_suite regress suite_regress
run_suite e2e suite_e2e

suites_summary asan
