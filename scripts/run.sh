#!/usr/bin/env bash
# make run: build, install, start the embedded cluster, create the extension,
# load data (generated, or DATA=path.csv), and report what is there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

customers=${CUSTOMERS:-3000}
seed=${SEED:-42}

say "building"
make -s all >/dev/null
say "installing the extension into $(pg_config --pkglibdir)"
make -s install >/dev/null

say "starting the embedded PostgreSQL"
scripts/pg.sh start
eval "$(scripts/pg.sh env)"

psql -XqAt -v ON_ERROR_STOP=1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS mlpipe;
-- a database made by an older mlpipe moves up to the installed version
ALTER EXTENSION mlpipe UPDATE;
SQL
# one least-privilege role per service (sql/roles.sql says what each may do)
psql -XqAt -v ON_ERROR_STOP=1 -f sql/roles.sql
# the prediction log's partitions for this month and the next two
psql -XqAt -v ON_ERROR_STOP=1 -c 'SELECT count(*) FROM mlpipe_prediction_partitions(2)' >/dev/null

if [ -n "${DATA:-}" ]; then
	[ -r "$DATA" ] || die "DATA=$DATA: no such readable file"
	say "loading $DATA (replacing what was loaded before)"
	psql -X -v csv="$(readlink -f "$DATA")" -v replace=1 -f sql/load_purchases.sql
elif [ "$(psql -XAtc 'SELECT count(*) FROM mlpipe.purchases')" = 0 ]; then
	csv=var/data/purchases-$customers-$seed.csv
	mkdir -p var/data
	say "generating $customers customers (seed $seed) into $csv"
	build/bin/mlpipe-gen-purchases --customers "$customers" --seed "$seed" --output "$csv"
	say "loading $csv"
	psql -X -v csv="$csv" -f sql/load_purchases.sql
else
	say "purchases already loaded (DATA=path.csv replaces them)"
fi

for algo in xgboost random_forest linear; do
	if [ "$(psql -XAtc "SELECT count(*) FROM mlpipe.models WHERE model_name = '$algo' AND version = '1.0'")" = 0 ]; then
		say "training $algo 1.0"
		psql -XAtc "SELECT format('  test RMSE %s, train RMSE %s, %s training rows, %s s',
			round((m->>'rmse_test')::numeric, 1), round((m->>'rmse_train')::numeric, 1),
			m->>'rows_train', round((m->>'training_seconds')::numeric, 2))
			FROM mlpipe_train('$algo', '$algo', '1.0', '{}') m"
	fi
done

say "what is there"
psql -X <<'SQL'
SELECT count(*) AS purchases, count(DISTINCT customer_id) AS customers,
       min(purchase_date)::date AS first, max(purchase_date)::date AS last
FROM mlpipe.purchases;
SELECT model_name, version, algorithm, round((metadata->>'rmse_test')::numeric, 1) AS rmse_test,
       pg_size_pretty(octet_length(artifact)::bigint) AS size
FROM mlpipe.models ORDER BY model_name, version;
SQL

if [ "${NO_SERVICES:-0}" = 1 ]; then
	echo "NO_SERVICES=1: not starting the HTTP services"
	exit 0
fi

# The services, in the foreground, until Ctrl-C.
pids=()
stop_all() {
	trap - INT TERM EXIT
	echo
	say "stopping the services and the database"
	[ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
	wait 2>/dev/null
	scripts/pg.sh stop
	exit 0
}
trap stop_all INT TERM EXIT
mkdir -p var/log
for svc in registry:8000 preprocessing:8001 inference:8002; do
	name=${svc%%:*} port=${svc##*:}
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "port $port is taken: stop what listens there (the old pipeline?) and run make run again"
	fi
	# own session: Ctrl-C reaches this script, which stops them in order.
	# The service writes its log itself and starts a new file past
	# MLPIPE_LOG_MAX_BYTES (16 MiB here), keeping one old one (.1): a
	# benchmark against it no longer fills the disk.  A mistake in the
	# settings still shows here, before the log is opened.
	PGUSER=mlpipe_$name PORT=$port MLPIPE_LOG_FILE="var/log/$name.log" \
		MLPIPE_LOG_MAX_BYTES=${MLPIPE_LOG_MAX_BYTES:-16777216} setsid build/bin/mlpipe-$name &
	pids+=($!)
done
for port in 8000 8001 8002; do
	for _ in $(seq 1 50); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
		sleep 0.1
	done
done
std=$(psql -XAtc "SELECT standardization_params FROM mlpipe.models WHERE model_name = 'xgboost' AND version = '1.0'")

cat <<EOF

mlpipe is up.  PostgreSQL: 127.0.0.1:$PGPORT (database $PGDATABASE, user $PGUSER).
Services (each as its own database role; one JSON log line per request in
var/log/<service>.log, at most 16 MiB, then renamed to .log.1):
  registry       http://127.0.0.1:8000
  preprocessing  http://127.0.0.1:8001
  inference      http://127.0.0.1:8002

Try:
  curl -s localhost:8000/list_models
  curl -s localhost:8000/get_latest_model_info/random_forest
  curl -s localhost:8000/get_model/xgboost/1.0 -o model.json
  curl -s localhost:8002/predict -H 'Content-Type: application/json' -d '{"model_name":"xgboost","model_version":"1.0","purchase_data":{"customer_id":1,"purchase_date":"2024-05-01T10:00:00+03:00","purchase_amount":250.0,"annual_income":65000,"age":35,"gender":"Female"}}'
  curl -s localhost:8001/preprocess -H 'Content-Type: application/json' -d '{"raw_data":{"customer_id":1,"purchase_date":"2024-05-01T10:00:00Z","purchase_amount":250.0,"annual_income":65000,"age":35,"gender":"Female"},"standardization_params":{"params":$std}}'
  curl -s 'localhost:8000/models/xgboost/drift?version=1.0'
  make psql, then: SELECT mlpipe_predict('xgboost', NULL, 1, now(), 250, 65000, 35, 'Female');
  monitoring report: eval "\$(scripts/pg.sh env)"; psql -v model=xgboost -f sql/monitor.sql

Ctrl-C stops the services and the database.
EOF
wait -n "${pids[@]}"
die "a service exited; see var/log/"
