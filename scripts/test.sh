#!/usr/bin/env bash
# make test: build, install, start a throwaway cluster (never the one of
# `make run`), run every test suite against it, and remove the cluster
# whatever the outcome.  Exits non-zero if any suite failed.
#
#   SUITES="regress unit"  run only these suites
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

say "building"
make -s all || die "build failed"
say "installing the extension"
make -s install >/dev/null || die "install failed"

# The throwaway cluster: its own name, port and directory.
export MLPIPE_PG_NAME="test-$$" MLPIPE_PG_FAST=1
MLPIPE_PGPORT=$(free_port $((54000 + $$ % 1000))) || die "no free port"
export MLPIPE_PGPORT MLPIPE_PGDATABASE=mlpipe_test
cleanup() { scripts/pg.sh destroy >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
say "starting a throwaway cluster on port $MLPIPE_PGPORT"
scripts/pg.sh start || die "could not start the test cluster"
eval "$(scripts/pg.sh env)"
export MLPIPE_TOP="$top"

passed=0 failed=0 failed_names=()
run_suite() {
	local name=$1
	shift
	if [ -n "${SUITES:-}" ] && ! [[ " $SUITES " == *" $name "* ]]; then return; fi
	say "suite $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
	fi
}

suite_regress() {
	# pg_regress makes its own database on the test cluster
	(unset PGDATABASE; make -s -C pg_extension installcheck) || {
		[ -f build/regress/regression.diffs ] && head -100 build/regress/regression.diffs
		return 1
	}
}

run_suite regress suite_regress
run_suite tools tests/tools/test_generator.sh
[ -f tests/unit/Makefile ] && run_suite unit make -s -C tests/unit test
[ -f tests/fuzz/Makefile ] && run_suite fuzz make -s -C tests/fuzz check
[ -x tests/models/run.sh ] && run_suite models tests/models/run.sh
[ -x tests/e2e/run.sh ] && run_suite e2e tests/e2e/run.sh
[ -x tests/deploy/run.sh ] && run_suite deploy tests/deploy/run.sh

echo
[ $failed -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ $failed -eq 0 ]
