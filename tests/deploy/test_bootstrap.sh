#!/usr/bin/env bash
# docker/bootstrap.sh against a fake psql and generator that keep the
# database's state in files: the first run creates the extension, generates,
# loads and trains the three models; a second run does nothing; a run after a
# half-finished bootstrap trains only the missing models; bad settings fail.
# The roles: sql/roles.sql runs, the three service passwords are set through
# psql variables (never in SQL text or on a command line), empty ones are
# refused, and a non-superuser owner (CloudNativePG) only checks the roles.
# When a database is at hand (PGHOST set, as in make test), the real script
# also runs once against a scratch database with the real psql.
#
#   test_bootstrap.sh [--root DIR]   (DIR/docker/bootstrap.sh: the self-tests)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
root=$top
if [ "${1:-}" = --root ] && [ -n "${2:-}" ]; then
	root=$(cd "$2" && pwd)
fi
boot="$root/docker/bootstrap.sh"
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
echo "argv $*" >>"$db/argv"
while [ $# -gt 0 ]; do
	case $1 in
	-c) cmd=$2; shift ;;
	-f) file=$2; shift ;;
	-v) case $2 in csv=*) csv=${2#csv=} ;; esac; shift ;;
	esac
	shift
done
echo "psql ${cmd:-$file}" >>"$db/log"
case $file in
*/roles.sql)
	[ -e "$db/ext" ] || { echo 'schema "mlpipe" does not exist' >&2; exit 3; }
	touch "$db/roles"; exit 0 ;;
-)
	# psql reading SQL from stdin: \getenv and :'var' as psql does them
	[ -e "$db/roles" ] || { echo 'role "mlpipe_registry" does not exist' >&2; exit 3; }
	while IFS= read -r line; do
		echo "$line" >>"$db/stdin"
		case $line in
		'\unset pw') var= ;;
		'\getenv '*) set -- $line; var=$2; val=$(printenv "$3") || { echo "no $3" >&2; exit 3; } ;;
		"ALTER ROLE "*" PASSWORD :'$var';") r=${line#ALTER ROLE }; r=${r%% *}; echo "$r=$val" >>"$db/passwords" ;;
		'SET '*) ;;
		*) echo "fake psql: unexpected SQL $line" >&2; exit 3 ;;
		esac
	done
	exit 0 ;;
esac
if [ -n "$file" ]; then
	[ -s "$csv" ] || { echo "no csv" >&2; exit 1; }
	[ -e "$db/ext" ] || { echo 'relation "mlpipe.purchases" does not exist' >&2; exit 3; }
	echo $(( $(wc -l <"$csv") - 1 )) >"$db/purchases"; exit 0
fi
case $cmd in
'SELECT 1') echo 1 ;;
'CREATE EXTENSION IF NOT EXISTS mlpipe') touch "$db/ext" ;;
'ALTER EXTENSION mlpipe UPDATE') [ -e "$db/ext" ] || { echo "fake psql: no extension to update" >&2; exit 3; } ;;
'SELECT rolsuper FROM pg_roles WHERE rolname = current_user') echo "${FAKE_SUPER:-t}" ;;
'SELECT current_user') echo mlpipe ;;
"SELECT count(*) FROM pg_roles WHERE rolname = '"*) [ -e "$db/roles" ] && echo 1 || echo 0 ;;
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

# a password psql must take as data: quotes, a statement, a comment, a variable
tricky="it's \"x\"; DROP ROLE mlpipe; -- :'pw' \$HOME"
run() { env PATH="$tmp/bin:$PATH" FAKE_DB="$tmp/db" MLPIPE_GEN=gen MLPIPE_SQL_DIR="$tmp/sql" \
	MLPIPE_CUSTOMERS=5 MLPIPE_SEED=7 MLPIPE_WAIT_SECONDS=0 \
	MLPIPE_REGISTRY_PASSWORD="$tricky" MLPIPE_PREPROCESSING_PASSWORD=pw-pre MLPIPE_INFERENCE_PASSWORD=pw-inf \
	"$@" bash "$boot" >/dev/null 2>"$tmp/err"; }

run; rc=$?
log=$(cat "$tmp/db/log" 2>/dev/null)
if [ $rc -eq 0 ] && grep -qx 'gen --customers 5 --seed 7' <<<"$log" && grep -q 'load_purchases.sql' <<<"$log" \
	&& [ "$(tr '\n' ' ' <"$tmp/db/models")" = "xgboost random_forest linear " ] && [ "$(cat "$tmp/db/purchases")" = 2 ]; then
	ok "fresh database: extension, generated data loaded, three models trained"
else
	bad "fresh database" "rc=$rc" "$(cat "$tmp/err")" "$log"
fi
want=$(printf '%s\n' "mlpipe_registry=$tricky" mlpipe_preprocessing=pw-pre mlpipe_inference=pw-inf)
if [ -e "$tmp/db/roles" ] && [ "$(cat "$tmp/db/passwords" 2>/dev/null)" = "$want" ] \
	&& [ "$(grep -n 'roles.sql' <<<"$log" | cut -d: -f1)" -lt "$(grep -n 'load_purchases' <<<"$log" | cut -d: -f1)" ]; then
	ok "roles.sql runs (before the data) and the three service passwords are set"
else
	bad "roles and passwords" "$(cat "$tmp/err")" "$log" "$(cat "$tmp/db/passwords" 2>/dev/null)"
fi
if ! grep -qF -e "$tricky" -e pw-pre -e pw-inf "$tmp/db/stdin" "$tmp/db/argv"; then
	ok "no password in SQL text or on a psql command line"
else
	bad "a password in SQL text or on a psql command line" "$(grep -F -e "$tricky" -e pw-pre -e pw-inf "$tmp/db/stdin" "$tmp/db/argv")"
fi

: >"$tmp/db/log"
run; rc=$?
if [ $rc -eq 0 ] && ! grep -qE '^gen|load_purchases|mlpipe_train' "$tmp/db/log" && grep -q roles.sql "$tmp/db/log" \
	&& [ "$(sort -u "$tmp/db/passwords" | wc -l)" = 3 ]; then
	ok "second run changes nothing (roles and passwords applied again, the same)"
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
for v in MLPIPE_REGISTRY_PASSWORD MLPIPE_PREPROCESSING_PASSWORD MLPIPE_INFERENCE_PASSWORD; do
	run "$v=" && bad "empty $v is refused" || ok "empty $v is refused"
done
run env -u MLPIPE_INFERENCE_PASSWORD && bad "unset MLPIPE_INFERENCE_PASSWORD is refused" || ok "unset MLPIPE_INFERENCE_PASSWORD is refused"
run MLPIPE_CUSTOMERS='5; rm -rf /' && bad "bad MLPIPE_CUSTOMERS is refused" || ok "bad MLPIPE_CUSTOMERS is refused"
run MLPIPE_MODELS="xgboost'); DROP TABLE x; --" && bad "bad model name is refused" || ok "bad model name is refused"
[ ! -e "$tmp/db/ext" ] && [ ! -e "$tmp/db/log" ] && ok "refused settings touch nothing" || bad "refused settings touch nothing"

# a non-superuser owner (CloudNativePG): no roles.sql, no passwords; fine
# when the roles exist, an error when they do not
rm -f "$tmp/db/"*
run FAKE_SUPER=f && bad "non-superuser owner without the roles fails" "$(cat "$tmp/db/log")" \
	|| { grep -q 'is no superuser' "$tmp/err" && ok "non-superuser owner without the roles fails" \
	|| bad "non-superuser owner without the roles fails" "$(cat "$tmp/err")"; }
rm -f "$tmp/db/"*; touch "$tmp/db/roles"
if run FAKE_SUPER=f && ! grep -q roles.sql "$tmp/db/log" && [ ! -e "$tmp/db/passwords" ] && [ -s "$tmp/db/models" ]; then
	ok "non-superuser owner with the roles made elsewhere: neither roles.sql nor passwords, the rest done"
else
	bad "non-superuser owner with the roles present" "$(cat "$tmp/err")" "$(cat "$tmp/db/log")"
fi

rm -f "$tmp/db/"*
printf 'customer_id,age\n' >"$tmp/empty.csv"
run MLPIPE_CSV="$tmp/empty.csv" && bad "a CSV that loads no rows fails" || ok "a CSV that loads no rows fails"

# ---- the real psql against a scratch database of the test cluster ----------
# (roles are cluster-wide: this sets the passwords of the mlpipe_* roles of
# the throwaway test cluster, which trusts local connections anyway)
if [ -n "${PGHOST:-}" ] && command -v psql >/dev/null && [ -x "$top/build/bin/mlpipe-gen-purchases" ]; then
	scratch_db=mlpipe_bootstrap_test_$$
	if createdb "$scratch_db" 2>"$tmp/err"; then
		pws=("$tricky" "pre-$$" "inf-$$")
		if env PGDATABASE="$scratch_db" MLPIPE_SQL_DIR="$top/sql" MLPIPE_GEN="$top/build/bin/mlpipe-gen-purchases" \
			MLPIPE_CUSTOMERS=30 MLPIPE_MODELS=linear MLPIPE_WAIT_SECONDS=0 \
			MLPIPE_REGISTRY_PASSWORD="${pws[0]}" MLPIPE_PREPROCESSING_PASSWORD="${pws[1]}" MLPIPE_INFERENCE_PASSWORD="${pws[2]}" \
			bash "$boot" >/dev/null 2>"$tmp/err"; then
			# each stored SCRAM verifier must be that of the exact password
			i=0 allgood=1 detail=
			for r in mlpipe_registry mlpipe_preprocessing mlpipe_inference; do
				verifier=$(psql -X -At -d "$scratch_db" -c "SELECT rolpassword FROM pg_authid WHERE rolname = '$r' AND rolcanlogin")
				if ! PW="${pws[$i]}" V="$verifier" node -e '
					const c = require("crypto");
					const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):/.exec(process.env.V || "");
					if (!m) process.exit(1);
					const salted = c.pbkdf2Sync(process.env.PW, Buffer.from(m[2], "base64"), +m[1], 32, "sha256");
					const stored = c.createHash("sha256").update(c.createHmac("sha256", salted).update("Client Key").digest()).digest("base64");
					process.exit(stored === m[3] ? 0 : 1);'; then
					allgood=0 detail="$detail $r"
				fi
				i=$((i + 1))
			done
			member=$(psql -X -At -d "$scratch_db" -c "SELECT pg_has_role('mlpipe_inference', 'mlpipe_reader', 'MEMBER') AND NOT pg_has_role('mlpipe_inference', 'mlpipe_writer', 'MEMBER')")
			if [ $allgood = 1 ] && [ "$member" = t ]; then
				ok "real psql: roles made, each service role's stored password is exactly the one given (quotes included)"
			else
				bad "real psql: passwords not as given:$detail (inference reader only: $member)"
			fi
		else
			bad "real psql: bootstrap failed" "$(tail -5 "$tmp/err")"
		fi
		dropdb "$scratch_db" 2>/dev/null
	else
		bad "real psql: createdb $scratch_db" "$(cat "$tmp/err")"
	fi
fi
[ "$fail" -eq 0 ]
