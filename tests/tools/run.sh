#!/usr/bin/env bash
# The tools suite: the data generator, and make run as the README shows it.
set -uo pipefail
dir=$(dirname "$0")
status=0
"$dir/test_generator.sh" || status=1
"$dir/test_make_run.sh" || status=1
exit $status
