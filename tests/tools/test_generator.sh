#!/usr/bin/env bash
# The data generator: deterministic bytes per seed, the columns of the real
# sample, the requested sizes, and the kinds of gaps real files have.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
gen=$top/build/bin/mlpipe-gen-purchases
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {
	local what=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}

"$gen" --customers 2000 --seed 7 --quiet >"$tmp/a.csv"
"$gen" --customers 2000 --seed 7 --quiet >"$tmp/b.csv"
"$gen" --customers 2000 --seed 8 --quiet >"$tmp/c.csv"
"$gen" --customers 2000 --seed 7 --quiet --output "$tmp/d.csv"
check "same seed, same bytes" cmp -s "$tmp/a.csv" "$tmp/b.csv"
check "--output writes the same bytes" cmp -s "$tmp/a.csv" "$tmp/d.csv"
check "another seed, other bytes" bash -c "! cmp -s '$tmp/a.csv' '$tmp/c.csv'"
check "the header of the real sample" test "$(head -1 "$tmp/a.csv")" = \
	"customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount"
check "7 columns on every line" test "$(awk -F, 'NF != 7' "$tmp/a.csv" | wc -l)" = 0
check "the last column is empty" test "$(awk -F, 'NR > 1 && $7 != ""' "$tmp/a.csv" | wc -l)" = 0
check "2000 customers" test "$(tail -n +2 "$tmp/a.csv" | cut -d, -f1 | sort -u | wc -l)" = 2000
per_customer=$(tail -n +2 "$tmp/a.csv" | cut -d, -f1 | uniq -c | awk '{print $1}' | sort -n | uniq)
check "1 to 15 purchases per customer" test "$(echo "$per_customer" | head -1)" -ge 1 -a "$(echo "$per_customer" | tail -1)" -le 15
check "some customers buy once, some many times" test "$(echo "$per_customer" | wc -l)" -ge 10
check "ISO 8601 dates with offsets" test "$(awk -F, 'NR > 1 && $6 !~ /^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](Z|[+-][0-9][0-9]:[0-9][0-9])$/' "$tmp/a.csv" | wc -l)" = 0
check "genders are Male, Female or missing" test "$(awk -F, 'NR > 1 && $3 != "Male" && $3 != "Female" && $3 != ""' "$tmp/a.csv" | wc -l)" = 0
"$gen" --customers 60000 --seed 1 --quiet >"$tmp/big.csv"
check "missing ages occur" test "$(awk -F, '$2 == ""' "$tmp/big.csv" | wc -l)" -gt 0
check "zero ages occur" test "$(awk -F, '$2 == "0"' "$tmp/big.csv" | wc -l)" -gt 0
check "missing genders occur" test "$(awk -F, 'NR > 1 && $3 == ""' "$tmp/big.csv" | wc -l)" -gt 0
check "missing incomes occur" test "$(awk -F, 'NR > 1 && $4 == ""' "$tmp/big.csv" | wc -l)" -gt 0
check "gaps are rare (< 2% of rows)" test "$(awk -F, 'NR > 1 && ($2 == "" || $3 == "" || $4 == "")' "$tmp/big.csv" | wc -l)" -lt "$(($(wc -l <"$tmp/big.csv") / 50))"
"$gen" --purchases 12345 --seed 3 --quiet >"$tmp/n.csv"
check "--purchases N gives exactly N rows" test "$(($(wc -l <"$tmp/n.csv") - 1))" = 12345
check "a bad option is refused" bash -c "! '$gen' --customers abc 2>/dev/null"
check "--help answers" bash -c "'$gen' --help | grep -q Usage"

echo "generator: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
