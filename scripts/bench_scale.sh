#!/usr/bin/env bash
# make bench-scale: POST /predict against a PL/Proxy proxy with 2 shards next
# to a single node, same data, same model, same run; plus the figures
# docs/scaling.md computes capacity from (bytes per purchase and per model,
# per-row cost of features and scoring).  Results: var/bench/scale.md.
#
#   BENCH_CUSTOMERS=20000  BENCH_HTTP_SECONDS=6  BENCH_HTTP_ROUNDS=3  BENCH_CONNECTIONS=32
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$top"

customers=${BENCH_CUSTOMERS:-20000}
seconds=${BENCH_HTTP_SECONDS:-6}
rounds=${BENCH_HTTP_ROUNDS:-3}
conns=${BENCH_CONNECTIONS:-32}
out=$top/var/bench
mkdir -p "$out"
rm -f "$out"/scale-*.txt "$out/scale.md"
pids=()

say "building"
make -s all || die "build failed"
command -v wrk >/dev/null || die "wrk is not installed (scripts/deps.sh)"
hold_install_lock
make -s install >/dev/null || die "install failed"
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	destroy_throwaway_cluster
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_throwaway_cluster bench-scale 29000 mlpipe_single

say "data: $customers customers, loaded into one node and through the proxy"
psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE EXTENSION mlpipe" -f sql/roles.sql >/dev/null || die "cannot create the extension"
PGDATABASE=postgres "$top/scripts/shard.sh" create 2 >/dev/null || die "cannot set the shards up"
csv=$out/scale-purchases.csv
build/bin/mlpipe-gen-purchases --customers "$customers" --seed 42 --output "$csv" 2>/dev/null
for db in mlpipe_single mlpipe_proxy; do
	psql -XAtq -d "$db" -v ON_ERROR_STOP=1 -v csv="$csv" -f sql/load_purchases.sql >/dev/null || die "load into $db failed"
	psql -XAtq -d "$db" -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE mlpipe.purchases" >/dev/null 2>&1
done
for db in mlpipe_shard_0 mlpipe_shard_1; do psql -XAtq -d "$db" -c "VACUUM ANALYZE mlpipe.purchases" >/dev/null; done
psql -XAtq -d mlpipe_single -c "SELECT mlpipe_train('xgboost', 'xgboost', '1.0')" >/dev/null || die "training failed"
psql -XAtq -d mlpipe_proxy -c "SELECT mlpipe_train('xgboost', 'xgboost', '1.0')" >/dev/null || die "training through the proxy failed"

# a psql statement's wall time in ms (client timing, median of 3)
time_sql() {	# db sql
	for _ in 1 2 3; do
		psql -XAtq -d "$1" -c '\timing on' -c "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
	done | sort -n | sed -n 2p
}
say "per-row costs and sizes"
npurchases=$(psql -XAtq -d mlpipe_single -c "SELECT count(*) FROM mlpipe.purchases")
purchase_bytes=$(psql -XAtq -d mlpipe_single -c "SELECT round(pg_total_relation_size('mlpipe.purchases')::numeric / count(*), 1) FROM mlpipe.purchases")
model_bytes=$(psql -XAtq -d mlpipe_single -c "SELECT octet_length(artifact) || ' ' || pg_column_size(artifact) FROM mlpipe.models WHERE model_name = 'xgboost'")
nrows=$(psql -XAtq -d mlpipe_single -c "SELECT count(*) FROM mlpipe_training_rows()")
rows_ms=$(time_sql mlpipe_single "SELECT count(*) FROM mlpipe_training_rows()")
cust_ms=$(time_sql mlpipe_single "SELECT count(*) FROM mlpipe_predict_customers('xgboost', '1.0')")
cust_proxy_ms=$(time_sql mlpipe_proxy "SELECT count(*) FROM mlpipe_predict_customers('xgboost', '1.0')")
one_sql="SELECT mlpipe_predict('xgboost', '1.0', c, '2024-05-01T10:00:00Z', 250, 65000, 35, 'Female') FROM generate_series(1, 2000) c"
one_ms=$(time_sql mlpipe_single "SELECT count(*) FROM ($one_sql) s")
one_proxy_ms=$(time_sql mlpipe_proxy "SELECT count(*) FROM ($one_sql) s")

start_inference() {	# db port
	PGDATABASE=$1 PGUSER=mlpipe_inference HOST=127.0.0.1 PORT=$2 MLPIPE_DISPATCHERS=1 \
		build/bin/mlpipe-inference 2>/dev/null &
	pids+=($!)
	for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
	die "inference on $1 did not start"
}
p1=$(free_port 29800) && start_inference mlpipe_single "$p1"
p2=$(free_port $((p1 + 1))) && start_inference mlpipe_proxy "$p2"

run_wrk() {	# label port round
	BENCH_CUSTOMERS=$customers wrk -t2 -c"$conns" -d"${seconds}s" --latency -s tests/bench/predict.lua \
		"http://127.0.0.1:$2/predict" >"$out/scale-wrk-$1-$3.txt" 2>&1 || die "wrk failed"
	local line n us p50 p99 err
	line=$(grep '^BENCH ' "$out/scale-wrk-$1-$3.txt")
	n=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
	us=$(sed 's/.*duration_us=\([0-9]*\).*/\1/' <<<"$line")
	p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$line")
	p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")
	err=$(sed 's/.*status_errors=\([0-9]*\).*/\1/' <<<"$line")
	[ "$err" = 0 ] || die "$1: $err requests failed"
	echo "$1 $(awk -v n="$n" -v us="$us" 'BEGIN { printf "%.0f", n / (us / 1e6) }') $p50 $p99" >>"$out/scale-wrk.txt"
}
for r in $(seq 1 "$rounds"); do
	say "round $r/$rounds: wrk POST /predict, $conns connections, ${seconds}s each, one node then the proxy"
	run_wrk single "$p1" "$r"
	run_wrk proxy "$p2" "$r"
done
med() {	# label column
	awk -v l="$1" -v c="$2" '$1 == l { print $c }' "$out/scale-wrk.txt" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
rs=$(med single 2) rp=$(med proxy 2)
{
	echo "# make bench-scale ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
	echo
	echo "$customers customers, $npurchases purchases, $nrows training rows; model xgboost 1.0 (200 trees of depth 2)."
	echo
	echo "| POST /predict, $conns connections, median of $rounds rounds | requests/s | p50 ms | p99 ms |"
	echo "| --- | --- | --- | --- |"
	echo "| one node | $rs | $(awk -v x="$(med single 3)" 'BEGIN{printf "%.2f", x/1000}') | $(awk -v x="$(med single 4)" 'BEGIN{printf "%.2f", x/1000}') |"
	echo "| PL/Proxy, 2 shards (same server) | $rp | $(awk -v x="$(med proxy 3)" 'BEGIN{printf "%.2f", x/1000}') | $(awk -v x="$(med proxy 4)" 'BEGIN{printf "%.2f", x/1000}') |"
	echo "| ratio proxy / one node | $(awk -v a="$rp" -v b="$rs" 'BEGIN{printf "%.2f", a/b}') | | |"
	echo
	echo "| SQL, median of 3 | one node | proxy, 2 shards |"
	echo "| --- | --- | --- |"
	echo "| 2,000 x mlpipe_predict(…, customer_id, …), µs each | $(awk -v t="$one_ms" 'BEGIN{printf "%.1f", t*1000/2000}') | $(awk -v t="$one_proxy_ms" 'BEGIN{printf "%.1f", t*1000/2000}') |"
	echo "| mlpipe_predict_customers, all $customers customers, ms | $cust_ms | $cust_proxy_ms |"
	echo "| mlpipe_training_rows, µs per row (features of one customer-month) | $(awk -v t="$rows_ms" -v n="$nrows" 'BEGIN{printf "%.2f", t*1000/n}') | |"
	echo
	echo "Sizes: $purchase_bytes bytes per stored purchase (heap, index, TOAST); model artifact $model_bytes (JSON bytes, stored bytes)."
} | tee "$out/scale.md"
