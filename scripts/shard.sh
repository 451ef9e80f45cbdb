#!/usr/bin/env bash
# Sharding by customer with PL/Proxy: a proxy database in front of N shard
# databases (N a power of two).  See docs/scaling.md.
#
#   scripts/shard.sh create N      on the cluster the PG* variables reach (the
#                                  embedded one: eval "$(scripts/pg.sh env)"),
#                                  databases mlpipe_proxy and mlpipe_shard_0..N-1
#   scripts/shard.sh init PROXY_DB CONNINFO...
#                                  PROXY_DB on that cluster becomes the proxy of
#                                  the shard databases the connection strings
#                                  name (they exist, on any cluster)
#
# Each database gets the mlpipe extension and the roles of sql/roles.sql; the
# shards get sql/shard/shard.sql, the proxy plproxy and sql/shard/proxy.sql.
# Then point the services at the proxy (PGDATABASE=mlpipe_proxy) and load
# purchases through it (psql -d mlpipe_proxy -v csv=FILE -f sql/load_purchases.sql).
# Every step is idempotent.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "shard.sh: $*" >&2; exit 1; }
run_psql() { PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 "$@" >/dev/null; }

prepare_db() {	# conninfo
	run_psql -d "$1" -c "CREATE EXTENSION IF NOT EXISTS mlpipe" -f "$top/sql/roles.sql" ||
		die "cannot prepare '$1'"
}

cmd_init() {
	local proxy=$1
	shift
	[ $# -ge 1 ] || die "init needs the proxy database and at least one shard connection string"
	local array="ARRAY[" sep=""
	for c in "$@"; do
		prepare_db "$c"
		run_psql -d "$c" -f "$top/sql/shard/shard.sql" || die "cannot install sql/shard/shard.sql in '$c'"
		array+="$sep\$c\$$c\$c\$"
		sep=", "
	done
	array+="]"
	prepare_db "$proxy"
	run_psql -d "$proxy" -c "CREATE EXTENSION IF NOT EXISTS plproxy" -f "$top/sql/shard/proxy.sql" ||
		die "cannot install sql/shard/proxy.sql in $proxy (is postgresql-15-plproxy installed? scripts/deps.sh)"
	run_psql -d "$proxy" -c "SELECT mlpipe_proxy.set_shards($array)" || die "cannot set the shards"
	echo "shard.sh: $proxy routes to $# shards"
}

cmd_create() {
	local n=$1 conns=() host port
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "create needs a number of shards"
	host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432}
	for db in mlpipe_proxy $(seq -f 'mlpipe_shard_%g' 0 $((n - 1))); do
		if [ "$(psql -XAtq -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
			createdb "$db"
		fi
	done
	for i in $(seq 0 $((n - 1))); do
		conns+=("host=$host port=$port dbname=mlpipe_shard_$i")
	done
	cmd_init mlpipe_proxy "${conns[@]}"
}

case "${1:-}" in
create) shift; cmd_create "$@" ;;
init) shift; cmd_init "$@" ;;
*) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] && exit 2; exit 0 ;;
esac
