#!/usr/bin/env bash
# Runs the fuzz targets built by tests/fuzz/Makefile (use make, which builds
# them first).
#
#   run.sh check SECS [NAME...]  replay each seed corpus, then fuzz SECS more
#                                seconds into a scratch corpus (the committed
#                                seeds are never modified); ends with
#                                "fuzz: N passed, M failed", exits 1 on any failure
#   run.sh fuzz SECS [NAME...]   fuzz each target SECS seconds with a
#                                persistent working corpus var/fuzz/<name>
#                                (seeded from corpus/<name>), then print
#                                exec/s and coverage (cov: ft:) of each run
#
# A crash, leak, UB report or timeout fails the target; the input that
# caused it is saved as var/fuzz/artifacts/<name>-crash-<sha1> (or -leak-,
# -timeout-, -oom-) and the log as var/fuzz/<name>.log.  Reproduce with
# build/fuzz/fuzz_<name> <that file>.
#
# Environment: FUZZ_BUILD (binaries, default build/fuzz).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$top/build/fuzz}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
mode=${1:-}
secs=${2:-}
shift 2 2>/dev/null || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(iso8601 csv_row xgb_model features multipart validate oip)

if [ "$mode" != check ] && [ "$mode" != fuzz ] || ! [[ "$secs" =~ ^[0-9]+$ ]]; then
	sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi

# Largest input per target: enough for every meaningful case, small enough
# that each run is bounded (and the fuzzer does not drift into huge inputs).
max_len() {
	case $1 in
	iso8601) echo 64 ;;
	csv_row) echo 512 ;;
	xgb_model) echo 16384 ;;
	features) echo 4096 ;;
	multipart) echo 8192 ;;
	validate) echo 8192 ;;
	*) echo 4096 ;;
	esac
}

export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

state="$top/var/fuzz"
mkdir -p "$state/artifacts"
passed=0 failed=0 failed_names=()

for name in "${names[@]}"; do
	bin="$build/fuzz_$name"
	seeds="$here/corpus/$name"
	log="$state/$name.log"
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built (make -C tests/fuzz)"
		failed=$((failed + 1)); failed_names+=("$name")
		continue
	fi
	opts=(-max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048
		-max_total_time="$secs" -print_final_stats=1
		-artifact_prefix="$state/artifacts/$name-")
	[ -f "$here/dict/$name.dict" ] && opts+=(-dict="$here/dict/$name.dict")
	if [ "$mode" = check ]; then
		work=$(mktemp -d "/tmp/mlpipe-fuzz-$name.XXXXXX")
		dirs=("$work" "$seeds")
	else
		work=
		mkdir -p "$state/$name"
		dirs=("$state/$name" "$seeds")
	fi
	[ -d "$seeds" ] || dirs=("${dirs[0]}")
	"$bin" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	[ -n "$work" ] && rm -rf "$work"
	# the last status line: "#N DONE cov: C ft: F corp: ... exec/s: E rss: R"
	stats=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/runs: \1 /')
	eps=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log")
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'ok   %-10s %s  (avg exec/s %s)\n' "$name" "$stats" "${eps:-?}"
	else
		failed=$((failed + 1)); failed_names+=("$name")
		printf 'FAIL %-10s exit %d; log %s\n' "$name" "$rc" "$log"
		grep -E 'ERROR: |runtime error:|SUMMARY:|Test unit written to' "$log" | head -8 | sed 's/^/     /'
	fi
done

[ $failed -gt 0 ] && echo "failed fuzz targets: ${failed_names[*]}"
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
