#!/usr/bin/env bash
# docker/bootstrap.sh against a fake psql and generator that keep the
# database's state in files: the first run creates the extension, generates,
# loads and trains the three models; a second run does nothing; a run after a
# half-finished bootstrap trains only the missing models; bad settings fail.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
boot="$here/../../docker/bootstrap.sh"
pass=0 fail=0
ok() { echo "ok - bootstrap: $1"; pass=$((pass + 1)); }
bad() { echo "not ok - bootstrap: $1"; shift; for l in "$@"; do echo "#   $l"; done; fail=$((fail + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/sql" "$tmp/db"
echo '-- fake' >"$tmp/sql/load_purchases.sql"
cat >"$tmp/bin/psql" <<'FAKE'
#!/usr/bin/env bash
# fake psql: state in $FAKE_DB (ext, purchases, models), calls logged
db=$FAKE_DB; cmd= file= csv=
while [ $# -gt 0 ]; do
	case $1 in
	-c) cmd=$2; shift ;;
	-f) file=$2; shift ;;
	-v) case $2 in csv=*) csv=${2#csv=} ;; esac; shift ;;
	esac
	shift
done
echo "psql ${cmd:-$file}" >>"$db/log"
if [ -n "$file" ]; then
	[ -s "$csv" ] || { echo "no csv" >&2; exit 1; }
	[ -e "$db/ext" ] || { echo 'relation "mlpipe.purchases" does not exist' >&2; exit 3; }
	echo $(( $(wc -l <"$csv") - 1 )) >"$db/purchases"; exit 0
fi
case $cmd in
'SELECT 1') echo 1 ;;
'CREATE EXTENSION IF NOT EXISTS mlpipe') touch "$db/ext" ;;
'SELECT count(*) FROM mlpipe.purchases') cat "$db/purchases" 2>/dev/null || echo 0 ;;
'SELECT count(*) FROM mlpipe.models') touch "$db/models"; wc -l <"$db/models" ;;
*"WHERE model_name = '"*) m=${cmd#*model_name = \'}; m=${m%\'}; grep -cx "$m" "$db/models" || true ;;
"SELECT mlpipe_train("*) m=${cmd#SELECT mlpipe_train(\'}; m=${m%%\'*}; echo "$m" >>"$db/models"; echo '{}' ;;
*) echo "fake psql: unexpected $cmd" >&2; exit 3 ;;
esac
FAKE
cat >"$tmp/bin/gen" <<'FAKE'
#!/usr/bin/env bash
echo "gen $*" >>"$FAKE_DB/log"
echo customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount
echo 1,30,Male,50000,10.5,2024-01-01T00:00:00Z,
echo 1,30,Male,50000,12.0,2024-02-01T00:00:00Z,
FAKE
chmod +x "$tmp/bin/psql" "$tmp/bin/gen"

run() { env PATH="$tmp/bin:$PATH" FAKE_DB="$tmp/db" MLPIPE_GEN=gen MLPIPE_SQL_DIR="$tmp/sql" \
	MLPIPE_CUSTOMERS=5 MLPIPE_SEED=7 MLPIPE_WAIT_SECONDS=0 "$@" bash "$boot" >/dev/null 2>"$tmp/err"; }

run; rc=$?
log=$(cat "$tmp/db/log" 2>/dev/null)
if [ $rc -eq 0 ] && grep -qx 'gen --customers 5 --seed 7' <<<"$log" && grep -q 'load_purchases.sql' <<<"$log" \
	&& [ "$(tr '\n' ' ' <"$tmp/db/models")" = "xgboost random_forest linear " ] && [ "$(cat "$tmp/db/purchases")" = 2 ]; then
	ok "fresh database: extension, generated data loaded, three models trained"
else
	bad "fresh database" "rc=$rc" "$(cat "$tmp/err")" "$log"
fi

: >"$tmp/db/log"
run; rc=$?
if [ $rc -eq 0 ] && ! grep -qE '^gen|load_purchases|mlpipe_train' "$tmp/db/log"; then
	ok "second run changes nothing"
else
	bad "second run changes nothing" "rc=$rc" "$(cat "$tmp/db/log")"
fi

echo xgboost >"$tmp/db/models"; : >"$tmp/db/log"
run; rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c mlpipe_train "$tmp/db/log")" = 2 ] && ! grep -q "mlpipe_train('xgboost'" "$tmp/db/log"; then
	ok "after a half-finished run only the missing models are trained"
else
	bad "half-finished run" "rc=$rc" "$(cat "$tmp/db/log")"
fi

rm -f "$tmp/db/"*
run MLPIPE_CUSTOMERS='5; rm -rf /' && bad "bad MLPIPE_CUSTOMERS is refused" || ok "bad MLPIPE_CUSTOMERS is refused"
run MLPIPE_MODELS="xgboost'); DROP TABLE x; --" && bad "bad model name is refused" || ok "bad model name is refused"
[ ! -e "$tmp/db/ext" ] && ok "refused settings touch nothing" || bad "refused settings touch nothing"

printf 'customer_id,age\n' >"$tmp/empty.csv"
run MLPIPE_CSV="$tmp/empty.csv" && bad "a CSV that loads no rows fails" || ok "a CSV that loads no rows fails"
[ "$fail" -eq 0 ]
