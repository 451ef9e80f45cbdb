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
SQL

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

say "what is there"
psql -X <<'SQL'
SELECT count(*) AS purchases, count(DISTINCT customer_id) AS customers,
       min(purchase_date)::date AS first, max(purchase_date)::date AS last
FROM mlpipe.purchases;
SQL
cat <<EOF

The embedded PostgreSQL runs on 127.0.0.1:$PGPORT (database $PGDATABASE, user $PGUSER).
  make psql      open psql on it
  make status    what runs and what it holds
  make stop      stop it
EOF
