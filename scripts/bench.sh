#!/usr/bin/env bash
# make bench: side-by-side benchmarks of mlpipe against a reference, on the
# same data and the same machine, in one run.  Builds and installs, starts a
# throwaway cluster (never the one of `make run`), and removes it at exit.
#
#   features  mlpipe_training_rows() against an ordered scan of the same
#             purchases; mlpipe_preprocess per call
#   predict   mlpipe_predict over 1,000,000 feature rows, serial and with two
#             parallel workers, against XGBoost's own single-thread batch
#             prediction of the same rows (tests/bench/predict_ref.c)
#   predlog   POST /predict at 32 connections with the prediction log at
#             rate 1 against the log off (two inference services, wrk rounds
#             alternating), goal >= 0.9 of the rate
#   http      POST /predict through mlpipe-inference (wrk) against the same
#             prediction as a prepared statement (pgbench)
#   training  linear training (ridge in closed form) against computing its
#             training rows alone; mlpipe_tune's time per trial
#
# Results: var/bench/results.md (printed at the end), var/bench/results.env
# (every number, key=value), raw outputs and logs in var/bench/.
# tests/bench/README.md says how to read them.
#
# Settings (environment), for quicker partial runs:
#   BENCH_SECTIONS="features predict http training predlog"   which sections run
#   BENCH_PURCHASES=1000000   purchases generated (seed 1)
#   BENCH_ROWS=1000000        rows of the prediction table
#   BENCH_FEATURE_RUNS=5      runs of each feature query (alternating)
#   BENCH_PREDICT_RUNS=3      runs of each prediction query (alternating)
#   BENCH_PREPROCESS_CALLS=10000  calls per mlpipe_preprocess timing loop
#   BENCH_HTTP_SECONDS=6      duration of each wrk and pgbench run
#   BENCH_HTTP_ROUNDS=3       rounds of (wrk, pgbench) per connection count
#   BENCH_CONNECTIONS="1 8 32"
#   BENCH_TRAIN_RUNS=3        runs of linear training and of its reference
#   BENCH_TUNE_TRIALS=3       trials of the timed xgboost tuning run
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

sections=${BENCH_SECTIONS:-features predict http training predlog}
purchases=${BENCH_PURCHASES:-1000000}
nrows=${BENCH_ROWS:-1000000}
feature_runs=${BENCH_FEATURE_RUNS:-5}
predict_runs=${BENCH_PREDICT_RUNS:-3}
preprocess_calls=${BENCH_PREPROCESS_CALLS:-10000}
http_seconds=${BENCH_HTTP_SECONDS:-6}
http_rounds=${BENCH_HTTP_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-1 8 32}
train_runs=${BENCH_TRAIN_RUNS:-3}
tune_trials=${BENCH_TUNE_TRIALS:-3}

out=$top/var/bench
mkdir -p "$out" "$out/log"
rm -f "$out"/results.env "$out"/results.md "$out"/timings.txt "$out"/pgbench-* "$out"/wrk-*
started=$(date +%s)

# every number goes here as key=value, and into R for the table
declare -A R
put() {
	R[$1]=$2
	echo "$1=$2" >>"$out/results.env"
}
elapsed() { echo "$(($(date +%s) - started))s"; }
step() { say "[$(elapsed)] $*"; }
want() { [[ " $sections " == *" $1 "* ]]; }

# ---- build, install, cluster -------------------------------------------

hold_install_lock
step "building and installing"
make -s all || die "build failed"
make -s install >/dev/null || die "install failed"
make -s -C tests/bench >/dev/null || die "benchmark harness build failed"

service_pids=()
cleanup() {
	local pid
	for pid in "${service_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${service_pids[@]}"; do wait "$pid" 2>/dev/null; done
	destroy_throwaway_cluster
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_throwaway_cluster bench 30500 mlpipe_bench
psql -XqAt -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning' \
	-c 'CREATE EXTENSION mlpipe' || die "CREATE EXTENSION failed"
put load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
put machine "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo), PostgreSQL $(pg_config --version | awk '{print $2}')"

q() { psql -XqAt -v ON_ERROR_STOP=1 "$@"; }

# Runs a psql script and times its statements.  A line "\echo @@T label"
# before a statement tags psql's next "Time:" line; "\echo @@V key value"
# records a value.  Prints each timing as it arrives; appends "label ms" and
# "key value" lines to $out/timings.txt.  Fails if psql fails.
timed_psql() {
	local label="" line ms
	psql -X -v ON_ERROR_STOP=1 -f "$1" 2>&1 | while IFS= read -r line; do
		case $line in
		"@@T "*) label=${line#@@T } ;;
		"@@V "*) echo "${line#@@V }" >>"$out/timings.txt" ;;
		"Time: "*)
			if [ -n "$label" ]; then
				ms=${line#Time: }
				ms=${ms%% ms*}
				echo "$label $ms" >>"$out/timings.txt"
				printf '    %-34s %10.1f ms\n' "$label" "$ms"
				label=""
			fi
			;;
		*ERROR*|*FATAL*|psql:*) echo "    $line" >&2 ;;
		esac
	done
	return "${PIPESTATUS[0]}"
}

# median of the values recorded under a label
median_of() {
	awk -v k="$1" '$1 == k {print $2}' "$out/timings.txt" | sort -g |
		awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
record() { echo "$1 $2" >>"$out/timings.txt"; }
sum_of() { awk -v k="$1" '$1 == k {s += $2} END {print s + 0}' "$out/timings.txt"; }
value_of() { awk -v k="$1" '$1 == k {v = $2} END {print v}' "$out/timings.txt"; }
calc() { awk "BEGIN {printf \"%.${2:-2}f\", $1}"; }

# ---- data ----------------------------------------------------------------

csv=$out/purchases-$purchases-1.csv
step "generating $purchases purchases (seed 1)"
build/bin/mlpipe-gen-purchases --purchases "$purchases" --seed 1 --output "$csv" --quiet ||
	die "generator failed"
step "loading them"
psql -X -v ON_ERROR_STOP=1 -v csv="$csv" -f sql/load_purchases.sql || die "load failed"
# The throwaway cluster commits asynchronously: until the WAL is flushed,
# VACUUM may not set the rows' commit hint bits, so it leaves the pages
# out of the visibility map, and the reference's index-only scan then
# visits the heap for every row (twice as slow).  CHECKPOINT first: the
# table is then as a settled table is on any server.
q -c 'CHECKPOINT' -c 'VACUUM ANALYZE mlpipe.purchases' || die "VACUUM failed"
put all_visible "$(q -c "SELECT relallvisible || ' of ' || relpages FROM pg_class WHERE oid = 'mlpipe.purchases'::regclass")"
ncustomers=$(q -c 'SELECT max(customer_id) FROM mlpipe.purchases')
put purchases "$purchases"
put customers "$(q -c 'SELECT count(DISTINCT customer_id) FROM mlpipe.purchases')"

# ---- 1. features -------------------------------------------------------

if want features; then
	step "features: mlpipe_training_rows() vs ordered scan, $feature_runs runs each, alternating"
	ntraining=$(q -c 'SELECT count(*) FROM mlpipe_training_rows()') || die "mlpipe_training_rows() failed"
	{
		echo '\timing on'
		echo '\o /dev/null'
		# warm both up (buffers, the extension loaded), untimed
		echo 'SELECT count(*) FROM mlpipe_training_rows();'
		echo 'SELECT count(*) FROM (SELECT * FROM mlpipe.purchases ORDER BY customer_id, purchase_date) s;'
		for i in $(seq 1 "$feature_runs"); do
			echo '\echo @@T training_rows'
			echo 'SELECT count(*) FROM mlpipe_training_rows();'
			echo '\echo @@T ordered_scan'
			echo 'SELECT count(*) FROM (SELECT * FROM mlpipe.purchases ORDER BY customer_id, purchase_date) s;'
			# the same order, but every column fetched and formed into a row
			echo '\echo @@T ordered_scan_full_rows'
			echo 'SELECT count(s) FROM (SELECT * FROM mlpipe.purchases ORDER BY customer_id, purchase_date) s;'
			# what forming as many rows of the same shape costs, nothing read
			echo '\echo @@T rows_floor'
			echo "SELECT count(r) FROM (SELECT row(i::bigint, DATE '2024-01-01' + i % 1000, a, i::float8) AS r"
			echo "  FROM (SELECT generate_series(1, $ntraining) AS i) g, (SELECT array_fill(0.5::float8, ARRAY[19]) AS a) x) s;"
		done
	} >"$out/features.sql"
	timed_psql "$out/features.sql" || die "feature benchmark failed"
	put training_rows "$ntraining"
	put feat_floor_ms "$(calc "$(median_of rows_floor)" 1)"
	put feat_plan "$(q -c 'EXPLAIN SELECT count(*) FROM (SELECT * FROM mlpipe.purchases ORDER BY customer_id, purchase_date) s' | sed -n 2p | sed 's/ *(cost.*//; s/^ *-> *//')"
	put feat_ours_ms "$(calc "$(median_of training_rows)" 1)"
	put feat_ref_ms "$(calc "$(median_of ordered_scan)" 1)"
	put feat_full_ms "$(calc "$(median_of ordered_scan_full_rows)" 1)"
	put feat_ratio "$(calc "${R[feat_ours_ms]} / ${R[feat_ref_ms]}")"
	put feat_ratio_full "$(calc "${R[feat_ours_ms]} / ${R[feat_full_ms]}")"

	step "features: mlpipe_preprocess, $preprocess_calls calls per run, 3 runs"
	cid=$(q -c 'SELECT customer_id FROM mlpipe.purchases GROUP BY 1 HAVING count(*) = 15 ORDER BY 1 LIMIT 1')
	[ -n "$cid" ] || die "no customer with 15 purchases"
	put preprocess_customer "$cid"
	{
		echo '\timing on'
		echo '\o /dev/null'
		echo 'SET client_min_messages = warning;'
		echo 'DROP TABLE IF EXISTS bench_params;'
		echo '\echo @@T standardization_params'
		echo 'CREATE TABLE bench_params AS SELECT mlpipe_standardization_params() AS p;'
		for i in 1 2 3; do
			for what in preprocess loop_only; do
				if [ $what = preprocess ]; then
					call="r := mlpipe_preprocess($cid, '2024-05-01T10:00:00Z', 250, 65000, 35, 'Female', p);"
				else
					call="r := p;"	# the loop and assignment alone, to subtract
				fi
				echo "\\echo @@T $what"
				cat <<-SQL
				DO \$\$
				DECLARE
					p jsonb := (SELECT bench_params.p FROM bench_params);
					r jsonb;
				BEGIN
					FOR i IN 1..$preprocess_calls LOOP
						$call
					END LOOP;
				END
				\$\$;
				SQL
			done
		done
	} >"$out/preprocess.sql"
	timed_psql "$out/preprocess.sql" || die "preprocess benchmark failed"
	put std_params_ms "$(calc "$(value_of standardization_params)" 1)"
	put preprocess_us "$(calc "($(median_of preprocess) - $(median_of loop_only)) * 1000 / $preprocess_calls" 1)"
	put preprocess_loop_us "$(calc "$(median_of loop_only) * 1000 / $preprocess_calls" 2)"
fi

# ---- training (issue 13) -------------------------------------------------

if want training; then
	# linear is solved in closed form: its cost should be the training rows'
	# cost plus little.  Each run registers a new version (versions are
	# immutable); the reference computes the same rows and counts them.
	step "training: linear (ridge, closed form) vs its training rows alone, $train_runs runs each, alternating"
	{
		echo '\timing on'
		echo 'SET client_min_messages = warning;'
		echo '\echo @@T warmup'
		echo 'SELECT count(*) FROM mlpipe_training_rows();'
		for i in $(seq 1 "$train_runs"); do
			echo '\echo @@T train_linear'
			echo "SELECT mlpipe_train('benchlinear', 'linear', 'r$i') ->> 'rows_train';"
			echo '\echo @@T train_rows'
			echo 'SELECT count(*) FROM mlpipe_training_rows();'
		done
	} >"$out/train.sql"
	timed_psql "$out/train.sql" || die "linear training benchmark failed"
	put train_linear_ms "$(calc "$(median_of train_linear)" 0)"
	put train_rows_ms "$(calc "$(median_of train_rows)" 0)"
	put train_linear_ratio "$(calc "${R[train_linear_ms]} / ${R[train_rows_ms]}")"
	put train_linear_rmse "$(q -c "SELECT round((metadata->>'rmse_test')::numeric, 2) FROM mlpipe.models WHERE model_name = 'benchlinear' AND version = 'r1'")"

	step "training: mlpipe_tune xgboost, default search, $tune_trials trials (trial 1: the defaults), and one default mlpipe_train"
	{
		echo '\timing on'
		echo 'SET client_min_messages = warning;'
		echo '\echo @@T train_xgboost'
		echo "SELECT mlpipe_train('benchxgb', 'xgboost', '1') ->> 'rows_train';"
		echo '\echo @@T tune_xgboost'
		echo "SELECT mlpipe_tune('benchtune', 'xgboost', '1', '{\"trials\": $tune_trials}') ->> 'rmse_test';"
		echo '\echo @@T tune_linear'
		echo "SELECT mlpipe_tune('benchtune-linear', 'linear', '1') ->> 'rmse_test';"
	} >"$out/tune.sql"
	timed_psql "$out/tune.sql" || die "tuning benchmark failed"
	put train_xgboost_s "$(calc "$(median_of train_xgboost) / 1000" 1)"
	put tune_xgboost_s "$(calc "$(median_of tune_xgboost) / 1000" 1)"
	put tune_linear_s "$(calc "$(median_of tune_linear) / 1000" 1)"
	put tune_trial_s "$(q -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::numeric, 1) FROM mlpipe.tuning_trials WHERE model_name = 'benchtune'")"
	put tune_trial_first_s "$(q -c "SELECT round(seconds::numeric, 1) FROM mlpipe.tuning_trials WHERE model_name = 'benchtune' AND trial = 1")"
	put tune_linear_trial_ms "$(q -c "SELECT round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds)::numeric, 0) FROM mlpipe.tuning_trials WHERE model_name = 'benchtune-linear'")"
	put tune_xgboost_rmse "$(q -c "SELECT round((metadata->>'rmse_test')::numeric, 2) || ' (CV ' || round((metadata->'tuning'->>'cv_rmse')::numeric, 2) || ', default model ' || (SELECT round((metadata->>'rmse_test')::numeric, 2) FROM mlpipe.models WHERE model_name = 'benchxgb') || ')' FROM mlpipe.models WHERE model_name = 'benchtune'")"
	put tune_folds "$(q -c "SELECT string_agg(format('%s..%s / %s..%s', f->>'train_from', f->>'train_to', f->>'valid_from', f->>'valid_to'), '; ') FROM mlpipe.tuning_trials t, jsonb_array_elements(t.folds) f WHERE model_name = 'benchtune' AND trial = 1")"
fi

# ---- 2. prediction -------------------------------------------------------

features_list="c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17,c18,c19"
predict_sql="SELECT sum(mlpipe_predict('bench200','1.0', ARRAY[$features_list])) AS s FROM bench.rows"

if want predict; then
	step "predict: training bench200 (200 trees, max_depth 6) on the purchases"
	q -c "SELECT format('  %s training rows, %s s', m->>'rows_train', round((m->>'training_seconds')::numeric, 1))
		FROM mlpipe_train('bench200', 'xgboost', '1.0',
			'{\"n_estimators\":200,\"max_depth\":6,\"eta\":0.1,\"min_child_weight\":1}') m" ||
		die "training bench200 failed"
	step "predict: a table of $nrows rows x 19 float8 (about 5 % NULL), setseed"
	q -v rows="$nrows" -f tests/bench/predict_table.sql || die "could not make the prediction table"
	# settled, as the purchases are (see the load above)
	q -c 'CHECKPOINT' -c 'VACUUM ANALYZE bench.rows' || die "VACUUM failed"
	step "predict: exporting the rows and the artifact for the XGBoost reference"
	q -c "\\copy (SELECT $features_list FROM bench.rows ORDER BY id) TO '$out/rows.csv' WITH (FORMAT csv)" ||
		die "export of the rows failed"
	q -c "SELECT convert_from(mlpipe_model_artifact('bench200', '1.0'), 'UTF8')" >"$out/bench200.json" ||
		die "export of the artifact failed"

	step "predict: (a) serial SQL, (b) 2 parallel workers, (c) XGBoost 1 thread + mlp_model_predict; $predict_runs rounds, alternating"
	parallel_on="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"
	serial_on="SET max_parallel_workers_per_gather = 0;"
	q -c "$parallel_on" -c "EXPLAIN $predict_sql" >"$out/predict_parallel_plan.txt"
	put predict_workers_planned "$(awk -F': ' '/Workers Planned/ {print $2}' "$out/predict_parallel_plan.txt")"
	rm -f "$out/predict_ref.txt"
	for i in $(seq 0 "$predict_runs"); do
		{
			echo '\timing on'
			echo "$serial_on"
			if [ "$i" = 0 ]; then
				# round 0: warm-up (buffers, model cache) and the SQL floor:
				# what the query costs without the model (scan, array, aggregate)
				echo "$predict_sql \\g /dev/null"
				echo '\echo @@T array_only'
				echo "SELECT sum(array_length(ARRAY[$features_list], 1)) FROM bench.rows \\g /dev/null"
			else
				# the backend loads the model on a first row, untimed
				echo "SELECT mlpipe_predict('bench200','1.0', ARRAY[$features_list]) FROM bench.rows LIMIT 1 \\g /dev/null"
				echo '\echo @@T predict_serial'
				echo "$predict_sql \\gset serial_"
				echo "$parallel_on"
				echo '\echo @@T predict_parallel'
				echo "$predict_sql \\gset parallel_"
				echo '\echo @@V sum_serial' ":serial_s"
				echo '\echo @@V sum_parallel' ":parallel_s"
			fi
		} >"$out/predict.sql"
		timed_psql "$out/predict.sql" || die "prediction benchmark failed"
		[ "$i" = 0 ] && continue
		# (c) and the evaluator alone, one run, right after the SQL of this round
		build/bench/predict_ref "$out/bench200.json" "$out/rows.csv" 1 >"$out/predict_ref.txt" ||
			die "the reference harness failed"
		awk '$1 == "xgb_us_per_row" {print "xgb_us", $2}
			$1 == "eval_us_per_row" {print "eval_us", $2}
			$1 == "xgb_setup_s" {print "xgb_setup_ms", $2 * 1000}
			$1 == "parse_s" {print "parse_ms", $2 * 1000}' "$out/predict_ref.txt" >>"$out/timings.txt"
	done
	ref() { awk -v k="$1" '$1 == k {print $2}' "$out/predict_ref.txt"; }

	put model_trees "$(ref trees)"
	put model_max_depth "$(ref max_depth)"
	put model_nodes "$(ref nodes)"
	put model_artifact_kb "$(($(stat -c %s "$out/bench200.json") / 1024))"
	a_ms=$(median_of predict_serial)
	b_ms=$(median_of predict_parallel)
	put predict_serial_us "$(calc "$a_ms * 1000 / $nrows" 3)"
	put predict_parallel_us "$(calc "$b_ms * 1000 / $nrows" 3)"
	put predict_array_only_us "$(calc "$(median_of array_only) * 1000 / $nrows" 3)"
	put predict_xgb_us "$(calc "$(median_of xgb_us)" 3)"
	put predict_xgb_setup_ms "$(calc "$(median_of xgb_setup_ms)" 1)"
	put predict_eval_us "$(calc "$(median_of eval_us)" 3)"
	put model_parse_ms "$(calc "$(median_of parse_ms)" 1)"
	put predict_ratio_a_c "$(calc "${R[predict_serial_us]} / ${R[predict_xgb_us]}")"
	put predict_ratio_a_b "$(calc "$a_ms / $b_ms")"
	put sum_serial "$(value_of sum_serial)"
	put sum_parallel "$(value_of sum_parallel)"
	put sum_xgb "$(ref sum_xgb)"
	put sum_eval "$(ref sum_eval)"
	put sum_rel_diff "$(awk -v a="${R[sum_serial]}" -v b="${R[sum_xgb]}" -v p="${R[sum_parallel]}" \
		'function abs(x) {return x < 0 ? -x : x}
		 BEGIN {d = abs(a - b); if (abs(p - b) > d) d = abs(p - b); printf "%.2g", d / (abs(b) > 0 ? abs(b) : 1)}')"
fi

# ---- 3. HTTP -------------------------------------------------------------

if want http; then
	step "http: training xgboost 1.0 (default hyperparameters)"
	q -c "SELECT format('  %s training rows, %s s', m->>'rows_train', round((m->>'training_seconds')::numeric, 1))
		FROM mlpipe_train('xgboost', 'xgboost', '1.0', '{}') m" || die "training xgboost failed"

	# the roles the services expect, among them the prediction log's (the
	# inference service logs 1 % of its answers by default)
	q -f sql/roles.sql >/dev/null || die "sql/roles.sql failed"
	step "http: starting the three services on free ports"
	declare -A svc_port svc_pid
	p=$((18000 + $$ % 1000))
	for name in registry preprocessing inference; do
		port=$(free_port "$p") || die "no free port"
		p=$((port + 1))
		PORT=$port HOST=127.0.0.1 build/bin/mlpipe-$name 2>"$out/log/$name.log" &
		svc_pid[$name]=$!
		service_pids+=($!)
		svc_port[$name]=$port
	done
	for name in registry preprocessing inference; do
		for _ in $(seq 1 100); do
			curl -sf "http://127.0.0.1:${svc_port[$name]}/healthz" >/dev/null && break
			kill -0 "${svc_pid[$name]}" 2>/dev/null || die "mlpipe-$name exited; see $out/log/$name.log"
			sleep 0.1
		done
		echo "    mlpipe-$name pid ${svc_pid[$name]} on 127.0.0.1:${svc_port[$name]}"
	done
	iport=${svc_port[inference]}

	# one request by hand: it must answer 200 with what SQL says
	body='{"model_name":"xgboost","model_version":"1.0","purchase_data":{"customer_id":1,"purchase_date":"2024-05-01T10:00:00Z","purchase_amount":250.0,"annual_income":65000,"age":35,"gender":"Female"}}'
	code=$(curl -s -o "$out/http_check.json" -w '%{http_code}' -H 'Content-Type: application/json' \
		-d "$body" "http://127.0.0.1:$iport/predict")
	sqlv=$(q -c "SELECT mlpipe_predict('xgboost','1.0', 1, '2024-05-01T10:00:00Z', 250, 65000, 35, 'Female')")
	httpv=$(sed -n 's/.*"predicted_purchase_amount": *\([-0-9.eE+]*\).*/\1/p' "$out/http_check.json")
	echo "    check: HTTP $code, predicted $httpv; SQL says $sqlv"
	[ "$code" = 200 ] || die "POST /predict answered $code: $(cat "$out/http_check.json")"
	put http_check "$(awk -v a="$httpv" -v b="$sqlv" 'BEGIN {d = a - b; if (d < 0) d = -d; print (d <= 1e-6 * (b < 0 ? -b : b) + 1e-9) ? "same as SQL" : "DIFFERS from SQL"}')"

	# the coalescer's counters: "batches batched-requests"
	db_counts() {
		curl -s "http://127.0.0.1:$iport/metrics" |
			awk '/^mlpipe_db_batches_total / {b = $2} /^mlpipe_db_batched_requests_total / {j = $2} END {print b + 0, j + 0}'
	}
	# one round: wrk then pgbench; every number goes to timings.txt, the
	# table takes the medians over the rounds
	http_round() {	# connections threads round
		local c=$1 t=$2 r=$3 line non2xx failed b0 j0 b1 j1 n
		step "http: round $r/$http_rounds, wrk POST /predict, $c connections, $t threads, ${http_seconds}s"
		read -r b0 j0 <<<"$(db_counts)"
		BENCH_CUSTOMERS=$ncustomers wrk -t"$t" -c"$c" -d"${http_seconds}s" --latency \
			-s tests/bench/predict.lua "http://127.0.0.1:$iport/predict" >"$out/wrk-c$c-r$r.txt" 2>&1 ||
			die "wrk failed: $(cat "$out/wrk-c$c-r$r.txt")"
		line=$(grep '^BENCH ' "$out/wrk-c$c-r$r.txt") || die "wrk printed no summary: $(cat "$out/wrk-c$c-r$r.txt")"
		get() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $line"; }
		n=$(get requests)
		record "wrk_c${c}_rps" "$(calc "$n / ($(get duration_us) / 1e6)" 0)"
		record "wrk_c${c}_p50_ms" "$(calc "$(get p50_us) / 1000" 2)"
		record "wrk_c${c}_p99_ms" "$(calc "$(get p99_us) / 1000" 2)"
		non2xx=$(awk -F': *' '/Non-2xx/ {print $2}' "$out/wrk-c$c-r$r.txt")
		record "wrk_c${c}_non2xx" "${non2xx:-0}"
		record "wrk_c${c}_socket_errors" "$(get socket_errors)"
		# statements the dispatcher ran: batches, plus the requests that ran alone
		read -r b1 j1 <<<"$(db_counts)"
		record "wrk_c${c}_per_statement" "$(calc "$n / ($b1 - $b0 + $n - ($j1 - $j0))" 1)"
		echo "    $(calc "$n / ($(get duration_us) / 1e6)" 0) req/s, p50 $(calc "$(get p50_us) / 1000" 2) ms, p99 $(calc "$(get p99_us) / 1000" 2) ms, non-2xx ${non2xx:-0}, socket errors $(get socket_errors), $(calc "$n / ($b1 - $b0 + $n - ($j1 - $j0))" 1) requests per database statement"

		step "http: round $r/$http_rounds, pgbench, the same prediction as a prepared statement, $c clients, $t threads, ${http_seconds}s"
		rm -f "$out"/pgbench-c"$c"-r"$r"*
		pgbench -n -M prepared -c "$c" -j "$t" -T "$http_seconds" -D ncustomers="$ncustomers" \
			-f tests/bench/predict.pgbench -l --log-prefix="$out/pgbench-c$c-r$r" >"$out/pgbench-c$c-r$r.txt" 2>&1 ||
			die "pgbench failed: $(tail -5 "$out/pgbench-c$c-r$r.txt")"
		# per-transaction log: client, transaction, latency in microseconds, ...
		cat "$out"/pgbench-c"$c"-r"$r".[0-9]* | awk '{print $3}' | sort -n >"$out/pgbench-c$c-r$r.latencies"
		pct() { awk -v p="$1" '{v[NR] = $1} END {i = int(NR * p / 100 + 0.999); if (i < 1) i = 1; printf "%.2f", v[i] / 1000}' "$out/pgbench-c$c-r$r.latencies"; }
		record "pgb_c${c}_tps" "$(awk '/^tps = / {printf "%.0f", $3}' "$out/pgbench-c$c-r$r.txt")"
		record "pgb_c${c}_p50_ms" "$(pct 50)"
		record "pgb_c${c}_p99_ms" "$(pct 99)"
		failed=$(awk -F': *' '/number of failed transactions/ {split($2, a, " "); print a[1]}' "$out/pgbench-c$c-r$r.txt")
		record "pgb_c${c}_failed" "${failed:-0}"
		rm -f "$out"/pgbench-c"$c"-r"$r".[0-9]*
		echo "    $(awk '/^tps = / {printf "%.0f", $3}' "$out/pgbench-c$c-r$r.txt") tps, p50 $(pct 50) ms, p99 $(pct 99) ms, failed ${failed:-0}"
	}
	for c in $connections; do
		t=$((c < 2 ? c : 2))
		for r in $(seq 1 "$http_rounds"); do
			http_round "$c" "$t" "$r"
		done
		for k in wrk_c${c}_rps:0 wrk_c${c}_p50_ms:2 wrk_c${c}_p99_ms:2 wrk_c${c}_per_statement:1 \
			pgb_c${c}_tps:0 pgb_c${c}_p50_ms:2 pgb_c${c}_p99_ms:2; do
			put "${k%:*}" "$(calc "$(median_of "${k%:*}")" "${k#*:}")"
		done
		for k in wrk_c${c}_non2xx wrk_c${c}_socket_errors pgb_c${c}_failed; do
			put "$k" "$(sum_of "$k")"
		done
		put "http_ratio_c$c" "$(calc "${R[wrk_c${c}_rps]} / ${R[pgb_c${c}_tps]}")"
		put "http_rounds_c$c" "$(paste -d/ <(awk -v k="wrk_c${c}_rps" '$1 == k {print $2}' "$out/timings.txt") \
			<(awk -v k="pgb_c${c}_tps" '$1 == k {print $2}' "$out/timings.txt") | tr '\n' ' ')"
		echo "    medians of $http_rounds rounds: ${R[wrk_c${c}_rps]} req/s against ${R[pgb_c${c}_tps]} tps, ratio ${R[http_ratio_c$c]}"
	done
	# Where a call's time goes, inside the server: PERFORM runs each
	# statement as a new query, as every request of the service is, so
	# mlpipe_predict resolves (name, version) on each call, as it does there.
	step "http: per-call breakdown in the server, 3 rounds of 5,000 calls each, alternating"
	{
		echo '\timing on'
		for i in 1 2 3; do
			for what in empty:"PERFORM 1" \
				lookup:"PERFORM mlpipe.find_model_id('xgboost', '1.0')" \
				history:"PERFORM age, gender, annual_income, purchase_amount, purchase_date FROM mlpipe.purchases WHERE customer_id = 1 ORDER BY purchase_date" \
				predict:"PERFORM mlpipe_predict('xgboost', '1.0', 1, '2024-05-01T10:00:00Z', 250, 65000, 35, 'Female')"; do
				echo "\\echo @@T call_${what%%:*}"
				echo "DO \$\$ BEGIN FOR i IN 1..5000 LOOP ${what#*:}; END LOOP; END \$\$;"
			done
		done
	} >"$out/calls.sql"
	timed_psql "$out/calls.sql" || die "per-call breakdown failed"
	for what in empty lookup history predict; do
		put "call_${what}_us" "$(calc "$(median_of call_$what) * 1000 / 5000" 1)"
	done

	# Rows per second through each way of predicting: one purchase per
	# request (/predict, OIP infer with N=1) against 100 per request
	# (/predict/batch, OIP infer with N=100), alternating, 8 connections
	rows_kinds="predict:1:/predict oip:1:/v2/models/xgboost/versions/1.0/infer batch:100:/predict/batch oip:100:/v2/models/xgboost/versions/1.0/infer"
	for r in $(seq 1 "$http_rounds"); do
		for spec in $rows_kinds; do
			IFS=: read -r kind n path <<<"$spec"
			step "http: rows per second, round $r/$http_rounds, $kind with $n row(s) per request, 8 connections, ${http_seconds}s"
			BENCH_KIND=$kind BENCH_N=$n BENCH_CUSTOMERS=$ncustomers wrk -t2 -c8 -d"${http_seconds}s" \
				-s tests/bench/rows.lua "http://127.0.0.1:$iport$path" >"$out/rows-$kind-$n-r$r.txt" 2>&1 ||
				die "wrk failed: $(cat "$out/rows-$kind-$n-r$r.txt")"
			line=$(grep '^BENCH ' "$out/rows-$kind-$n-r$r.txt") || die "wrk printed no summary: $(cat "$out/rows-$kind-$n-r$r.txt")"
			get() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $line"; }
			[ "$(get status_errors)" = 0 ] || die "$kind with $n rows: $(get status_errors) error answers; see $out/rows-$kind-$n-r$r.txt"
			record "rows_${kind}_${n}_rps" "$(calc "$(get requests) / ($(get duration_us) / 1e6)" 0)"
			record "rows_${kind}_${n}_rows" "$(calc "$(get requests) * $n / ($(get duration_us) / 1e6)" 0)"
			echo "    $(calc "$(get requests) / ($(get duration_us) / 1e6)" 0) requests/s, $(calc "$(get requests) * $n / ($(get duration_us) / 1e6)" 0) rows/s"
		done
	done
	for spec in $rows_kinds; do
		IFS=: read -r kind n path <<<"$spec"
		put "rows_${kind}_${n}_rps" "$(calc "$(median_of "rows_${kind}_${n}_rps")" 0)"
		put "rows_${kind}_${n}_rows" "$(calc "$(median_of "rows_${kind}_${n}_rows")" 0)"
	done

	for name in registry preprocessing inference; do
		put "rss_$name" "$(awk '/^VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/${svc_pid[$name]}/status")"
	done
	put inference_log_lines "$(wc -l <"$out/log/inference.log")"
fi

# ---- 4. prediction log ----------------------------------------------------

if want predlog; then
	if [ "$(q -c "SELECT count(*) FROM mlpipe.models WHERE model_name = 'xgboost' AND version = '1.0'")" = 0 ]; then
		step "predlog: training xgboost 1.0 (default hyperparameters)"
		q -c "SELECT mlpipe_train('xgboost', 'xgboost', '1.0', '{}')" >/dev/null || die "training xgboost failed"
	fi
	step "predlog: the log's role (sql/roles.sql), two inference services: log at rate 1, log off"
	q -f sql/roles.sql >/dev/null || die "sql/roles.sql failed"
	declare -A log_port log_pid
	p=$((19000 + $$ % 1000))
	for mode in on off; do
		port=$(free_port "$p") || die "no free port"
		p=$((port + 1))
		rate=0
		[ $mode = on ] && rate=1
		MLPIPE_PREDICTION_LOG_RATE=$rate PORT=$port HOST=127.0.0.1 build/bin/mlpipe-inference \
			2>"$out/log/inference-log-$mode.log" &
		log_pid[$mode]=$!
		service_pids+=($!)
		log_port[$mode]=$port
		for _ in $(seq 1 100); do
			curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
			kill -0 "${log_pid[$mode]}" 2>/dev/null || die "mlpipe-inference exited; see $out/log/inference-log-$mode.log"
			sleep 0.1
		done
	done
	logged0=$(q -c "SELECT count(*) FROM mlpipe.predictions")
	c=32
	for r in $(seq 1 "$http_rounds"); do
		for mode in on off; do
			step "predlog: round $r/$http_rounds, wrk POST /predict, log $mode, $c connections, ${http_seconds}s"
			BENCH_CUSTOMERS=$ncustomers wrk -t2 -c"$c" -d"${http_seconds}s" --latency \
				-s tests/bench/predict.lua "http://127.0.0.1:${log_port[$mode]}/predict" \
				>"$out/wrk-log-$mode-r$r.txt" 2>&1 || die "wrk failed: $(cat "$out/wrk-log-$mode-r$r.txt")"
			line=$(grep '^BENCH ' "$out/wrk-log-$mode-r$r.txt") || die "wrk printed no summary"
			get() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<" $line"; }
			record "log_${mode}_rps" "$(calc "$(get requests) / ($(get duration_us) / 1e6)" 0)"
			record "log_${mode}_p99_ms" "$(calc "$(get p99_us) / 1000" 2)"
			non2xx=$(awk -F': *' '/Non-2xx/ {print $2}' "$out/wrk-log-$mode-r$r.txt")
			record "log_${mode}_errors" "$(( ${non2xx:-0} + $(get socket_errors) ))"
			echo "    $(calc "$(get requests) / ($(get duration_us) / 1e6)" 0) req/s, p99 $(calc "$(get p99_us) / 1000" 2) ms, non-2xx ${non2xx:-0}"
		done
	done
	for k in log_on_rps:0 log_off_rps:0 log_on_p99_ms:2 log_off_p99_ms:2; do
		put "${k%:*}" "$(calc "$(median_of "${k%:*}")" "${k#*:}")"
	done
	put log_errors "$(( $(sum_of log_on_errors) + $(sum_of log_off_errors) ))"
	put log_ratio "$(calc "${R[log_on_rps]} / ${R[log_off_rps]}")"
	put log_rounds "$(paste -d/ <(awk '$1 == "log_on_rps" {print $2}' "$out/timings.txt") \
		<(awk '$1 == "log_off_rps" {print $2}' "$out/timings.txt") | tr '\n' ' ')"
	sleep 0.5	# the last batch
	put log_rows "$(( $(q -c "SELECT count(*) FROM mlpipe.predictions") - logged0 ))"
	put log_dropped "$(curl -s "http://127.0.0.1:${log_port[on]}/metrics" |
		awk '/^mlpipe_prediction_log_dropped_total/ {s += $2} END {print s + 0}')"
	echo "    medians: log on ${R[log_on_rps]} req/s, off ${R[log_off_rps]} req/s, ratio ${R[log_ratio]}; ${R[log_rows]} rows logged, ${R[log_dropped]} dropped"
fi

put total_seconds "$(($(date +%s) - started))"
put load_after "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the table -----------------------------------------------------------

# "yes"/"NO" for a comparison, "-" when a number is missing
verdict() {
	awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		if (a == "" || a == "nan") { print "-"; exit }
		ok = (op == "<=") ? a + 0 <= b + 0 : (op == ">=") ? a + 0 >= b + 0 : a + 0 < b + 0
		print ok ? "yes" : "NO" }'
}
v() { echo "${R[$1]:--}"; }

{
	echo "# mlpipe benchmarks"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(v machine), $(v purchases) purchases of $(v customers) customers (seed 1), heap pages all-visible after VACUUM: $(v all_visible); total $(v total_seconds) s."
	echo "Load average (1, 5, 15 min) before: $(v load_before), after: $(v load_after) — anything well above 0 before the run is someone else's work sharing these cores."
	echo "Medians; ours and the reference alternate within one run. See tests/bench/README.md."
	if want features; then
		echo
		echo "## 1. Features (issue 3)"
		echo
		echo "| measurement | ours | reference | ratio | goal | met |"
		echo "| --- | ---: | ---: | ---: | --- | --- |"
		echo "| \`count(*) FROM mlpipe_training_rows()\` ($(v training_rows) rows) vs \`count(*)\` of the ordered scan [$(v feat_plan)] | $(v feat_ours_ms) ms | $(v feat_ref_ms) ms | $(v feat_ratio) | ≤ 2 | $(verdict "${R[feat_ratio]:-}" "<=" 2) |"
		echo "| same, reference forming every row (\`count(s)\`) | $(v feat_ours_ms) ms | $(v feat_full_ms) ms | $(v feat_ratio_full) | (info) | |"
		echo "| (info) $(v training_rows) rows of the same shape formed in SQL, nothing read (\`row(bigint, date, float8[19], float8)\`) | | $(v feat_floor_ms) ms | | | |"
		echo "| \`mlpipe_preprocess\`, customer $(v preprocess_customer) (15 purchases), plpgsql loop, loop cost ($(v preprocess_loop_us) µs) subtracted | $(v preprocess_us) µs/call | | | | |"
		echo "| \`mlpipe_standardization_params()\` (one call) | $(v std_params_ms) ms | | | | |"
	fi
	if want predict; then
		echo
		echo "## 2. Prediction (issue 4)"
		echo
		echo "Model bench200: $(v model_trees) trees, deepest $(v model_max_depth), $(v model_nodes) nodes; $nrows rows × 19 float8, ~5 % NULL."
		echo
		echo "| measurement | µs/row | vs | ratio | goal | met |"
		echo "| --- | ---: | --- | ---: | --- | --- |"
		echo "| (a) \`sum(mlpipe_predict(..., ARRAY[c1..c19]))\`, serial | $(v predict_serial_us) | (c) | $(v predict_ratio_a_c) | (a)/(c) ≤ 1 | $(verdict "${R[predict_ratio_a_c]:-}" "<=" 1) |"
		echo "| (b) same, 2 parallel workers (planned: $(v predict_workers_planned)) | $(v predict_parallel_us) | (a) | $(v predict_ratio_a_b) | (a)/(b) ≥ 1.6 | $(verdict "${R[predict_ratio_a_b]:-}" ">=" 1.6) |"
		echo "| (c) XGBoost 1.7 \`XGBoosterPredictFromDense\`, 1 thread (load $(v predict_xgb_setup_ms) ms not counted) | $(v predict_xgb_us) | | | | |"
		echo "| mlp_model_predict alone, C loop (the evaluator's raw cost) | $(v predict_eval_us) | | | | |"
		echo "| scan + ARRAY[...] + sum, no model (SQL floor) | $(v predict_array_only_us) | | | | |"
		echo
		echo "Loading the model (mlp_model_parse of the $(v model_artifact_kb) kB artifact), once per backend and so once per parallel worker per query: $(v model_parse_ms) ms."
		echo
		echo "Sums: serial $(v sum_serial), parallel $(v sum_parallel), XGBoost $(v sum_xgb), evaluator $(v sum_eval); largest relative difference to XGBoost $(v sum_rel_diff) (goal ≤ 1e-3: $(verdict "${R[sum_rel_diff]:-}" "<=" 0.001))."
	fi
	if want training; then
		echo
		echo "## Training and tuning (issue 13)"
		echo
		echo "| measurement | ours | reference | ratio | goal | met |"
		echo "| --- | ---: | ---: | ---: | --- | --- |"
		echo "| \`mlpipe_train(..., 'linear', ...)\` (ridge in closed form, test RMSE $(v train_linear_rmse)) vs \`count(*) FROM mlpipe_training_rows()\` | $(v train_linear_ms) ms | $(v train_rows_ms) ms | $(v train_linear_ratio) | ≤ 1.5 | $(verdict "${R[train_linear_ratio]:-}" "<=" 1.5) |"
		echo "| \`mlpipe_tune(..., 'xgboost', ...)\`, $tune_trials trials × 3 folds + refit, whole call | $(v tune_xgboost_s) s | one default \`mlpipe_train\`: $(v train_xgboost_s) s | | | |"
		echo "| per xgboost trial (median; trial 1, the defaults: $(v tune_trial_first_s) s) | $(v tune_trial_s) s | | | | |"
		echo "| \`mlpipe_tune(..., 'linear', ...)\`, 20 trials × 3 folds + refit | $(v tune_linear_s) s ($(v tune_linear_trial_ms) ms per trial) | | | | |"
		echo
		echo "Tuned xgboost test RMSE $(v tune_xgboost_rmse). Folds (train / validate months): $(v tune_folds)."
	fi
	if want http; then
		echo
		echo "## 3. HTTP (issue 5)"
		echo
		echo "POST /predict on mlpipe-inference (wrk, --latency) vs the same \`mlpipe_predict\` as a prepared statement (pgbench -M prepared), random existing customers: $http_rounds rounds of wrk then pgbench, ${http_seconds} s each, medians (errors: totals). Check request: $(v http_check)."
		echo
		echo "| connections | HTTP req/s | HTTP p50 ms | HTTP p99 ms | non-2xx | socket errors | requests per statement | pgbench tps | pgbench p50 ms | pgbench p99 ms | HTTP / pgbench |"
		echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for c in $connections; do
			echo "| $c | $(v wrk_c${c}_rps) | $(v wrk_c${c}_p50_ms) | $(v wrk_c${c}_p99_ms) | $(v wrk_c${c}_non2xx) | $(v wrk_c${c}_socket_errors) | $(v wrk_c${c}_per_statement) | $(v pgb_c${c}_tps) | $(v pgb_c${c}_p50_ms) | $(v pgb_c${c}_p99_ms) | $(v http_ratio_c$c) |"
		done
		echo
		echo "Each round, req/s / tps: $(for c in $connections; do printf '%s connections: %s; ' "$c" "$(v http_rounds_c$c)"; done)"
		last=${connections##* }
		echo
		echo "Goals at $last connections: ≥ 60 % of pgbench ($(v http_ratio_c$last): $(verdict "${R[http_ratio_c$last]:-}" ">=" 0.6)), ≥ 5,000 req/s ($(verdict "${R[wrk_c${last}_rps]:-}" ">=" 5000)), p99 < 20 ms ($(verdict "${R[wrk_c${last}_p99_ms]:-}" "<" 20)), no errors ($(verdict "$(( ${R[wrk_c${last}_non2xx]:-1} + ${R[wrk_c${last}_socket_errors]:-1} ))" "<=" 0))."
		echo
		echo "Per call inside the server (plpgsql PERFORM loop, each call a new query as each request is): empty statement $(v call_empty_us) µs, registry lookup alone (\`mlpipe.find_model_id('xgboost','1.0')\`, which a backend runs once per model until the registry changes) $(v call_lookup_us) µs, the customer's history (the query the features run) $(v call_history_us) µs, whole \`mlpipe_predict(...)\` $(v call_predict_us) µs."
		echo
		echo "RSS after the runs (VmRSS): registry $(v rss_registry), preprocessing $(v rss_preprocessing), inference $(v rss_inference)."
		echo
		echo "Rows per second (wrk, 8 connections, random existing customers, medians of $http_rounds alternating rounds): one purchase per request against 100, through the old API and the Open Inference Protocol V2 (six raw input tensors; each request is one database round trip)."
		echo
		echo "| endpoint | rows per request | requests/s | rows/s |"
		echo "| --- | ---: | ---: | ---: |"
		echo "| POST /predict | 1 | $(v rows_predict_1_rps) | $(v rows_predict_1_rows) |"
		echo "| POST /v2/models/xgboost/versions/1.0/infer | 1 | $(v rows_oip_1_rps) | $(v rows_oip_1_rows) |"
		echo "| POST /predict/batch | 100 | $(v rows_batch_100_rps) | $(v rows_batch_100_rows) |"
		echo "| POST /v2/models/xgboost/versions/1.0/infer | 100 | $(v rows_oip_100_rps) | $(v rows_oip_100_rows) |"
	fi
	if want predlog; then
		echo
		echo "## 4. Prediction log (issue 17)"
		echo
		echo "POST /predict at 32 connections on two inference services side by side, the prediction log at MLPIPE_PREDICTION_LOG_RATE=1 (every answer written to mlpipe.predictions) and at 0, wrk rounds alternating (on, off) × $http_rounds, ${http_seconds} s each, medians."
		echo
		echo "| log | req/s | p99 ms |"
		echo "| --- | ---: | ---: |"
		echo "| rate 1 | $(v log_on_rps) | $(v log_on_p99_ms) |"
		echo "| off | $(v log_off_rps) | $(v log_off_p99_ms) |"
		echo
		echo "Ratio $(v log_ratio) (goal ≥ 0.9: $(verdict "${R[log_ratio]:-}" ">=" 0.9)); each round on/off: $(v log_rounds); errors $(v log_errors); rows logged $(v log_rows), dropped $(v log_dropped)."
	fi
} >"$out/results.md"

echo
cat "$out/results.md"
echo
echo "results: var/bench/results.md, every number: var/bench/results.env, raw outputs: var/bench/"
