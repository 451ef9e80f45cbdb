#!/usr/bin/env bash
# The tools suite: the data generator, make run and batch scoring as the
# README shows them.
set -uo pipefail
dir=$(dirname "$0")
status=0
"$dir/test_generator.sh" || status=1
"$dir/test_make_run.sh" || status=1
"$dir/test_batch_score.sh" || status=1
exit $status
