#!/usr/bin/env bash
# The model layer against XGBoost itself (docs/models.md, issue 4):
#
#  1. for each algorithm (xgboost, random_forest, linear): mlpipe_train on
#     generated purchases, then mlpipe_predict(name, version, features) in SQL
#     equals XGBoost's own prediction of the exported artifact within 1e-5 on
#     at least 10,000 feature rows, about 10% of the values missing;
#  2. a model trained and saved by Python XGBoost (save_model("m.json"))
#     registers and predicts the same values in SQL as in Python;
#  3. a cancel during training (statement_timeout) stops it promptly and
#     registers nothing.
#
# Needs a running cluster with the extension installed, reached through
# PGHOST/PGPORT/PGUSER (scripts/test.sh provides them), the data generator
# (build/bin/mlpipe-gen-purchases, `make` builds it) and /usr/bin/python3
# with numpy and xgboost (Debian python3-xgboost).  It works in a database of
# its own (created, then dropped), so it leaves the others as they were;
# MLPIPE_MODELS_KEEP=1 keeps that database and the work directory.
#
# Prints one line per check and, last, "models: N passed, M failed".
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
py=/usr/bin/python3
check_py=$top/tests/models/check.py
gen=$top/build/bin/mlpipe-gen-purchases
db=mlpipe_models_$$
algorithms=(xgboost random_forest linear)

passed=0 failed=0
pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
	echo "models: $passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit
}

work=$(mktemp -d /tmp/mlpipe-models.XXXXXX)
created_db=0
cleanup() {
	if [ "${MLPIPE_MODELS_KEEP:-0}" = 1 ]; then
		echo "kept database $db and $work"
		return
	fi
	[ "$created_db" = 1 ] && psql -XqAt -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# ---- preconditions: a failure here is one failed check, not a crash ----
if ! "$py" -c 'import numpy, xgboost' 2>/dev/null; then
	fail "$py cannot import numpy and xgboost (apt-get install python3-xgboost)"
	finish
fi
if [ ! -x "$gen" ]; then
	fail "no data generator at $gen (run make first)"
	finish
fi
if ! psql -XqAt -d postgres -c "CREATE DATABASE $db" >/dev/null; then
	fail "cannot create database $db (is the cluster running? PGHOST=${PGHOST:-} PGPORT=${PGPORT:-})"
	finish
fi
created_db=1
export PGDATABASE=$db
q() { psql -XqAt -v ON_ERROR_STOP=1 "$@"; }
if ! q -c "CREATE EXTENSION mlpipe" >/dev/null; then
	fail "CREATE EXTENSION mlpipe failed (make -C pg_extension install?)"
	finish
fi

# ---- data ----
"$gen" --customers 3000 --seed 11 --quiet --output "$work/purchases.csv" || {
	fail "data generator failed"
	finish
}
if psql -X -v csv="$work/purchases.csv" -v replace=1 -f sql/load_purchases.sql >"$work/load.log" 2>&1 &&
	grep -q 'rejected 0' "$work/load.log"; then
	pass "loaded $(q -c 'SELECT count(*) FROM mlpipe.purchases') generated purchases"
else
	fail "loading purchases: $(tail -3 "$work/load.log")"
	finish
fi

# Training rows (features, target) and the test vectors made from them.
q -c "\\copy (SELECT features, target FROM mlpipe_training_rows() ORDER BY customer_id, month) TO '$work/rows.tsv'" &&
	"$py" "$check_py" vectors "$work/rows.tsv" "$work/vectors.csv" 10000 >"$work/vectors.log" 2>&1
if [ $? -eq 0 ] && [ "$(wc -l <"$work/vectors.csv")" -ge 10000 ]; then
	pass "$(cat "$work/vectors.log")"
else
	fail "making test vectors: $(tail -3 "$work/vectors.log" 2>/dev/null)"
	finish
fi

# SQL predictions of model $1 version $2 for every test vector, to $3.
sql_predict() {
	q >"$work/psql.log" 2>&1 <<-EOF
		CREATE TEMP TABLE vectors (id integer PRIMARY KEY, features double precision[]);
		\\copy vectors FROM '$work/vectors.csv' WITH (FORMAT csv)
		\\copy (SELECT id, mlpipe_predict('$1', '$2', features) FROM vectors ORDER BY id) TO '$3' WITH (FORMAT csv)
	EOF
}

# Compare SQL and XGBoost on model $1 version $2; $3 = the artifact file.
compare() {
	local name=$1 version=$2 file=$3 out
	if ! sql_predict "$name" "$version" "$work/$name.sql.csv"; then
		fail "$name: mlpipe_predict over the vectors: $(tail -3 "$work/psql.log")"
		return
	fi
	if out=$("$py" "$check_py" compare "$file" "$work/vectors.csv" "$work/$name.sql.csv" 1e-5 2>&1); then
		pass "$name: $out"
	else
		fail "$name: $out"
	fi
}

# ---- 1. each algorithm, trained by mlpipe_train ----
for algo in "${algorithms[@]}"; do
	name=models-test-$algo
	start=$(date +%s.%N)
	if ! metrics=$(q -c "SELECT mlpipe_train('$name', '$algo', '1.0')" 2>&1); then
		fail "$algo: mlpipe_train: $metrics"
		continue
	fi
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	rmse=$(q -c "SELECT round((metadata->>'rmse_test')::numeric, 1) FROM mlpipe.models WHERE model_name = '$name'")
	got=$(q -c "SELECT mlpipe_model_info('$name', '1.0') ->> 'algorithm'")
	if [ "$got" = "$algo" ]; then
		pass "$algo: trained and registered in ${secs:0:5} s (test RMSE $rmse), algorithm $got"
	else
		fail "$algo: registered with algorithm '$got'"
	fi
	if ! q -c "SELECT encode(mlpipe_model_artifact('$name', '1.0'), 'base64')" | base64 -d >"$work/$name.json"; then
		fail "$algo: exporting the artifact"
		continue
	fi
	compare "$name" 1.0 "$work/$name.json"
done

# ---- 1b. linear is the ridge optimum, in closed form ----
name=models-test-ridge
if q -c "SELECT mlpipe_train('$name', 'linear', '1', '{\"lambda\": 0.01}') IS NOT NULL" >/dev/null &&
	q -c "SELECT encode(mlpipe_model_artifact('$name', '1'), 'base64')" | base64 -d >"$work/$name.json" &&
	q -c "\\copy (SELECT customer_id, features, target FROM mlpipe_training_rows() ORDER BY customer_id, month) TO '$work/rows-id.tsv'" &&
	out=$("$py" "$check_py" ridge "$work/rows-id.tsv" "$work/$name.json" 0.01 2>&1); then
	pass "linear: $out"
else
	fail "linear: closed form is not the ridge optimum: ${out:-training or export failed}"
fi

# ---- 1c. a short tune reports each trial, and its model predicts as XGBoost does ----
name=models-test-tune
if q -c "SELECT mlpipe_tune('$name', 'xgboost', '1', '{\"trials\": 4}') IS NOT NULL" >"$work/tune.log" 2>&1 &&
	[ "$(grep -c 'NOTICE:  trial [1-4]/4: CV RMSE [0-9.]*; best [0-9.]* (trial [1-4]); [0-9.]* s elapsed, about [0-9]* s left' "$work/tune.log")" = 4 ]; then
	pass "tune: 4 trials, 4 progress lines, the last: $(grep NOTICE "$work/tune.log" | tail -1)"
	q -c "SELECT encode(mlpipe_model_artifact('$name', '1'), 'base64')" | base64 -d >"$work/$name.json" &&
		compare "$name" 1 "$work/$name.json"
else
	fail "tune: $(tail -3 "$work/tune.log")"
fi

# ---- 2. a model trained and saved by Python XGBoost ----
name=models-test-python
if "$py" "$check_py" train "$work/rows.tsv" "$work/$name.json" >"$work/train.log" 2>&1 &&
	q -v model="$(base64 -w0 "$work/$name.json")" >"$work/psql.log" 2>&1 <<-'EOF'
		SELECT mlpipe_register_model('models-test-python', '1', decode(:'model', 'base64'),
			mlpipe_standardization_params(), '{"trained_by": "python xgboost"}') IS NOT NULL;
	EOF
then
	pass "python: $(cat "$work/train.log"), registered as $(q -c "SELECT algorithm FROM mlpipe.models WHERE model_name = '$name'")"
	compare "$name" 1 "$work/$name.json"
	# it also scores purchases end to end (finite amounts in currency units)
	n=$(q -c "SELECT count(*) FROM mlpipe_predict_customers('$name', NULL) WHERE predicted_purchase_amount::text NOT IN ('NaN', 'Infinity', '-Infinity')")
	c=$(q -c "SELECT count(DISTINCT customer_id) FROM mlpipe.purchases")
	if [ "$n" -gt 0 ] && [ "$n" -le "$c" ]; then
		pass "python: mlpipe_predict_customers scored $n of $c customers"
	else
		fail "python: mlpipe_predict_customers scored $n of $c customers"
	fi
else
	fail "python: training or registering: $(tail -3 "$work/train.log" "$work/psql.log")"
fi

# ---- 3. a cancel during training ----
# Each case trains far longer than its timeout (100,000 boosting rounds take
# minutes; a forest of 5,000 trees grows in one round for about 10 s); the
# timeout must stop it at once, with SQLSTATE 57014, and leave no row.  50 ms
# may land while the training set is built; 2 s lands inside XGBoost's work.
# cancel_case WHAT TIMEOUT_MS BOUND_S NAME SQL: SQL under statement_timeout
# must end with 57014 within BOUND_S of the timeout, leaving no model and no
# trial row of NAME.
cancel_case() {
	local what=$1 timeout_ms=$2 bound=$3 name=$4 sql=$5 start secs over rows out
	start=$(date +%s.%N)
	out=$(psql -XqAt -v VERBOSITY=verbose -c "SET statement_timeout = '${timeout_ms}ms'" -c "$sql" 2>&1)
	secs=$(echo "$(date +%s.%N) - $start" | bc)
	over=$(echo "$secs - $timeout_ms / 1000" | bc -l)
	rows=$(q -c "SELECT (SELECT count(*) FROM mlpipe.models WHERE model_name = '$name') + (SELECT count(*) FROM mlpipe.tuning_trials WHERE model_name = '$name')")
	what="$what after $timeout_ms ms"
	if [[ "$out" == *57014* ]] && [ "$rows" = 0 ] && [ "$(echo "$over < $bound" | bc)" = 1 ]; then
		pass "$what: stopped $(printf '%.2f' "$over") s later, no model and no trial rows"
	else
		fail "$what: stopped $(printf '%.2f' "$over") s later (bound $bound s), models + trial rows $rows, psql said: $(echo "$out" | head -1)"
	fi
}
for case in xgboost:50:100000 xgboost:2000:100000 random_forest:1000:5000; do
	IFS=: read -r algo timeout_ms trees <<<"$case"
	cancel_case "cancel of $algo (n_estimators $trees)" "$timeout_ms" 5 models-test-cancel \
		"SELECT mlpipe_train('models-test-cancel', '$algo', '1', '{\"n_estimators\": $trees}')"
done
# a tune cancelled while building the training set, and one in its trials
# (1,000 trials of 2,000 rounds would take hours): nothing registered and
# no trial row left, by a timeout or by pg_cancel_backend from another session
for timeout_ms in 50 3000; do
	cancel_case "cancel of mlpipe_tune" "$timeout_ms" 1 models-test-tune-cancel \
		"SELECT mlpipe_tune('models-test-tune-cancel', 'xgboost', '1', '{\"trials\": 1000, \"space\": {\"n_estimators\": [2000], \"max_depth\": [4, 5, 6]}}')"
done
name=models-test-tune-cancel
psql -XqAt -v VERBOSITY=verbose -c "SET application_name = 'models-test-tune'" \
	-c "SELECT mlpipe_tune('$name', 'xgboost', '1', '{\"trials\": 1000, \"space\": {\"n_estimators\": [2000]}}')" \
	>"$work/tune-cancel.log" 2>&1 &
tune_pid=$!
sleep 4
start=$(date +%s.%N)
q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'models-test-tune' AND datname = current_database()" >/dev/null
wait "$tune_pid"
over=$(echo "$(date +%s.%N) - $start" | bc)
rows=$(q -c "SELECT (SELECT count(*) FROM mlpipe.models WHERE model_name = '$name') + (SELECT count(*) FROM mlpipe.tuning_trials WHERE model_name = '$name')")
notices=$(grep -c 'NOTICE:.*trial [0-9]*/1000' "$work/tune-cancel.log")
if grep -q 57014 "$work/tune-cancel.log" && [ "$rows" = 0 ] && [ "$(echo "$over < 1" | bc)" = 1 ]; then
	pass "pg_cancel_backend of mlpipe_tune after 4 s ($notices trial NOTICEs seen): stopped in $(printf '%.2f' "$over") s, no model and no trial rows"
else
	fail "pg_cancel_backend of mlpipe_tune: stopped in $(printf '%.2f' "$over") s (bound 1 s), models + trial rows $rows: $(tail -2 "$work/tune-cancel.log")"
fi
# nothing is left behind that stops the next training (a lock, a half row)
if q -c "SELECT mlpipe_train('models-test-after-cancel', 'linear', '1') IS NOT NULL" >/dev/null 2>&1; then
	pass "training works again after the cancels"
else
	fail "training after the cancels failed"
fi

# ---- clean up what this suite made (the database goes too) ----
q -c "DELETE FROM mlpipe.models WHERE model_name LIKE 'models-test-%'; TRUNCATE mlpipe.purchases" >/dev/null ||
	fail "cleaning up"
finish
