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

# The images suite builds and runs everything in containers, from the tree:
# it uses neither the system's PostgreSQL nor the extension installed into
# it, so it runs before this run takes the machine-wide install lock.
[ -x tests/images/run.sh ] && run_suite images tests/images/run.sh
if [ -n "${SUITES:-}" ] && [ -z "$(tr ' ' '\n' <<<"$SUITES" | grep -vx -e images -e '')" ]; then
	suites_summary suites
	exit
fi

hold_install_lock
say "installing the extension"
make -s install >/dev/null || die "install failed"

cleanup() { destroy_throwaway_cluster; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start_throwaway_cluster test 27000 mlpipe_test
export MLPIPE_TOP="$top"

suite_regress() {
	# pg_regress makes its own database on the test cluster
	(unset PGDATABASE; make -s -C pg_extension installcheck) || {
		[ -f build/regress/regression.diffs ] && head -100 build/regress/regression.diffs
		return 1
	}
}

run_suite regress suite_regress
run_suite tools tests/tools/run.sh
[ -f tests/unit/Makefile ] && run_suite unit make -s -C tests/unit test
[ -f tests/fuzz/Makefile ] && run_suite fuzz make -s -C tests/fuzz check
[ -x tests/models/run.sh ] && run_suite models tests/models/run.sh
[ -x tests/e2e/run.sh ] && run_suite e2e tests/e2e/run.sh
[ -x tests/fault/run.sh ] && run_suite fault tests/fault/run.sh
[ -x tests/deploy/run.sh ] && run_suite deploy tests/deploy/run.sh
[ -x tests/scale/run.sh ] && run_suite scale tests/scale/run.sh
[ -x tests/api/run.sh ] && run_suite api tests/api/run.sh

suites_summary suites
