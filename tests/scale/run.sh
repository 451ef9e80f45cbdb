#!/usr/bin/env bash
# The scale suite (docs/scaling.md): hot standbys, failover, sharding.
#
#   tests/scale/run.sh            (make test runs it as the suite "scale")
#
# Starts its own throwaway clusters (never the one of make run, nor the one
# the other suites share, since it stops and promotes servers): a primary
# and a hot standby streaming from it with synchronous_commit remote_apply.
#   1. the e2e suite (tests/e2e) with preprocessing and inference on the
#      standby and the registry on the primary; ingestion must get 503;
#   2. tests/scale/test_standby.py: /readyz on a standby, a registration made
#      with asynchronous commit reaches the standby-backed inference service
#      within 1 s, failover under load (primary crashed, standby promoted,
#      services reconnect through their multi-host strings, no acknowledged
#      registration lost, the error window reported);
#   3. tests/scale/test_shard.py: PL/Proxy sharding by customer, a proxy and
#      shard 0 on the primary's cluster, shard 1 on a cluster of its own (so
#      that it can be stopped), a one-node database as the reference.
# SCALE_PARTS="shard" (or "standby") runs only that part.
# Removes every cluster it made, whatever the outcome.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"
cd "$top"

bin=${MLPIPE_BIN:-$top/build/bin}
failed=0
standby_name="scale-standby-$$"
shard1_name="scale-shard1-$$"

cleanup() {
	MLPIPE_PG_NAME=$standby_name "$top/scripts/pg.sh" destroy >/dev/null 2>&1
	MLPIPE_PG_NAME=$shard1_name "$top/scripts/pg.sh" destroy >/dev/null 2>&1
	destroy_throwaway_cluster
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_throwaway_cluster scale 28000 mlpipe_scale
primary_port=$MLPIPE_PGPORT
primary_host=$PGHOST
standby_port=$(free_port $((primary_port + 1))) || die "no free port"

psql -XAtq -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS mlpipe" -f sql/roles.sql >/dev/null ||
	die "cannot create the extension and the roles"
"$bin/mlpipe-gen-purchases" --customers 400 --seed 3 --output "$top/var/$MLPIPE_PG_NAME/purchases.csv" >/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -v csv="$top/var/$MLPIPE_PG_NAME/purchases.csv" -f sql/load_purchases.sql >/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -c "SELECT mlpipe_train('scale', 'xgboost', '1.0', '{\"n_estimators\": 20}')" >/dev/null ||
	die "cannot load and train"

parts=" ${SCALE_PARTS:-shard standby} "
if [[ $parts == *" shard "* ]]; then
say "sharding: proxy and shard 0 on port $primary_port, shard 1 on its own cluster"
shard1_port=$(free_port $((primary_port + 2))) || die "no free port"
MLPIPE_PG_NAME=$shard1_name MLPIPE_PGPORT=$shard1_port MLPIPE_PGDATABASE=mlpipe_shard_1 \
	"$top/scripts/pg.sh" start >/dev/null || die "cannot start the second shard's cluster"
createdb mlpipe_single && createdb mlpipe_proxy && createdb mlpipe_shard_0 || die "cannot create the databases"
psql -XAtq -d mlpipe_single -c "CREATE EXTENSION mlpipe" || die "cannot create the extension"
"$top/scripts/shard.sh" init mlpipe_proxy "host=127.0.0.1 port=$primary_port dbname=mlpipe_shard_0" \
	"host=127.0.0.1 port=$shard1_port dbname=mlpipe_shard_1" || die "cannot set the shards up"
"$bin/mlpipe-gen-purchases" --customers 1500 --seed 11 --output "$top/var/$MLPIPE_PG_NAME/shard.csv" >/dev/null
CSV="$top/var/$MLPIPE_PG_NAME/shard.csv" SHARD1_PORT=$shard1_port SHARD1_NAME=$shard1_name \
	MLPIPE_BIN=$bin TOP=$top /usr/bin/python3 tests/scale/test_shard.py || failed=1
MLPIPE_PG_NAME=$shard1_name "$top/scripts/pg.sh" destroy >/dev/null 2>&1
fi

[[ $parts == *" standby "* ]] || exit $failed
say "standby on port $standby_port (synchronous_commit remote_apply)"
MLPIPE_STANDBY_NAME=$standby_name MLPIPE_STANDBY_PORT=$standby_port MLPIPE_SYNC_COMMIT=remote_apply \
	"$top/scripts/pg.sh" standby >/dev/null || die "cannot start the standby"
standby_host=$(MLPIPE_PG_NAME=$standby_name MLPIPE_PGPORT=$standby_port "$top/scripts/pg.sh" env |
	sed -n "s/.*PGHOST='\([^']*\)'.*/\1/p")

say "e2e with preprocessing and inference on the standby"
# no MLPIPE_PG_NAME: the e2e suite must not stop this primary for its outage checks
MLPIPE_PG_NAME='' E2E_READ_PGHOST=$standby_host E2E_READ_PGPORT=$standby_port \
	tests/e2e/run.sh || failed=1

say "standby readiness, replication delay, failover under load"
PRIMARY_PORT=$primary_port STANDBY_PORT=$standby_port PRIMARY_HOST=$primary_host \
	STANDBY_HOST=$standby_host STANDBY_NAME=$standby_name MLPIPE_BIN=$bin TOP=$top \
	/usr/bin/python3 tests/scale/test_standby.py || failed=1

[ "$failed" -eq 0 ]
