#!/usr/bin/env bash
# sql/batch_score.sql as its users run it: reports appended to a log that
# already holds lines (2>>app.log), a non-zero exit without -v model, and
# every customer or row left out named on standard error.  On a throwaway
# cluster of its own; the extension must be installed (make test does).
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
tmp=$(mktemp -d)
cleanup() { destroy_throwaway_cluster; [ -n "${KEEP:-}" ] && cat "$tmp"/*.log "$tmp"/new_scored.csv; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0 fail=0
check() {
	local what=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
score() { psql -X -v ON_ERROR_STOP=1 "$@" -f "$top/sql/batch_score.sql"; }

start_throwaway_cluster batchscore 27700 mlpipe_batch >/dev/null
"$top/build/bin/mlpipe-gen-purchases" --customers 120 --seed 5 --quiet --output "$tmp/p.csv"
psql -XqAt -v ON_ERROR_STOP=1 >/dev/null <<SQL || { echo "FAIL: setup"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION mlpipe;
\\set csv '$tmp/p.csv'
\\i $top/sql/load_purchases.sql
-- two customers the features cannot use: no age, and age 0
INSERT INTO mlpipe.purchases VALUES
	(900001, NULL, 'Male', 50000, 120, '2024-01-05'), (900001, NULL, 'Male', 50000, 80, '2024-02-05'),
	(900002, 0, 'Female', 40000, 60, '2024-03-01');
SELECT mlpipe_train('lin', 'linear', '1', '{}');
SQL

# every customer, with a log that already holds a line
echo "an earlier log line" >"$tmp/app.log"
score -v model=lin >"$tmp/all.csv" 2>>"$tmp/app.log"
check "every customer: exits 0" test $? = 0
check "every customer: the log keeps its earlier line" test "$(head -1 "$tmp/app.log")" = "an earlier log line"
check "every customer: customer 900001 (no age) is reported" \
	grep -q "customer 900001: no purchase with an age between 1 and 120" "$tmp/app.log"
check "every customer: customer 900002 (age 0) is reported" grep -q "customer 900002: " "$tmp/app.log"
check "every customer: 120 scored" test "$(tail -n +2 "$tmp/all.csv" | wc -l)" = 120

# a CSV of new purchases with a bad row, appending to the same log
printf '%s\n' "customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount" \
	"1,30,Male,50000,100,2024-05-01," "2,,Female,40000,50,2024-05-02," >"$tmp/new.csv"
before=$(wc -l <"$tmp/app.log")
score -v model=lin -v csv="$tmp/new.csv" >"$tmp/new_scored.csv" 2>>"$tmp/app.log"
check "csv: exits 0" test $? = 0
check "csv: the log keeps what it held" test "$(head -"$before" "$tmp/app.log" | head -1)" = "an earlier log line"
check "csv: line 3 is reported" grep -q "line 3: age must be between 1 and 120" "$tmp/app.log"
check "csv: one row scored" test "$(tail -n +2 "$tmp/new_scored.csv" | wc -l)" = 1

# no model: the usage, and a failure
score >/dev/null 2>"$tmp/usage.err"
check "no -v model: exits non-zero" test $? != 0
check "no -v model: prints the usage" grep -q "usage: psql -v model=NAME" "$tmp/usage.err"

echo "batch_score: $pass passed, $fail failed"
[ "$fail" = 0 ]
