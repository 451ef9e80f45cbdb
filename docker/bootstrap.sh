#!/bin/bash
# mlpipe-bootstrap: prepare a fresh mlpipe database, once.
#
#   1. wait until the server accepts connections (bounded),
#   2. CREATE EXTENSION IF NOT EXISTS mlpipe, then ALTER EXTENSION mlpipe UPDATE,
#   3. the least-privilege roles: sql/roles.sql (group roles mlpipe_reader,
#      mlpipe_writer, mlpipe_ingest; one LOGIN role per service), then each
#      service role's password from the environment,
#   4. when mlpipe.purchases is empty: generate purchases with
#      mlpipe-gen-purchases (or take MLPIPE_CSV) and load them with
#      sql/load_purchases.sql,
#   5. for each default model that has no row in mlpipe.models yet, train it
#      with mlpipe_train(name, name, '1.0', '{}').
#
# Every step checks before it acts, so running the script again (a restarted
# Kubernetes Job, a second "docker compose up") changes nothing; the
# passwords are set again, so changing one and running the script again is
# how a password is rotated.
#
# Runs as the database owner, which in the official image (docker compose,
# the k8s StatefulSet) is a superuser.  Under CloudNativePG the owner is not:
# there the roles and their grants come from the Cluster's
# postInitApplicationSQL and the passwords from its managed roles (see
# k8s/scale-out/10-cnpg-cluster.yaml), and this script only checks that the
# roles exist.
#
# Connection: libpq's own PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, or
# DATABASE_URL.  Settings:
#   MLPIPE_CUSTOMERS      customers to generate (default 2000)
#   MLPIPE_SEED           generator seed (default 42)
#   MLPIPE_CSV            load this CSV instead of generating one
#   MLPIPE_MODELS         models to train (default "xgboost random_forest linear")
#   MLPIPE_WAIT_SECONDS   how long to wait for the server (default 120)
#   MLPIPE_SQL_DIR        where load_purchases.sql and roles.sql are
#                         (default /usr/share/mlpipe/sql)
#   MLPIPE_GEN            the generator (default mlpipe-gen-purchases on PATH)
#   MLPIPE_REGISTRY_PASSWORD, MLPIPE_PREPROCESSING_PASSWORD,
#   MLPIPE_INFERENCE_PASSWORD
#                         passwords of the LOGIN roles mlpipe_registry,
#                         mlpipe_preprocessing, mlpipe_inference (required,
#                         not empty); they reach the server through psql
#                         variables, never pasted into SQL text nor on a
#                         command line
set -euo pipefail

customers=${MLPIPE_CUSTOMERS:-2000}
seed=${MLPIPE_SEED:-42}
models=${MLPIPE_MODELS:-xgboost random_forest linear}
wait_seconds=${MLPIPE_WAIT_SECONDS:-120}
sql_dir=${MLPIPE_SQL_DIR:-/usr/share/mlpipe/sql}
gen=${MLPIPE_GEN:-mlpipe-gen-purchases}

log() { echo "bootstrap: $*" >&2; }
die() { log "$*"; exit 1; }

for n in "$customers" "$seed" "$wait_seconds"; do
	case $n in
	''|*[!0-9]*) die "not a non-negative integer: '$n'" ;;
	esac
done
# the service roles and the variables holding their passwords
service_roles="mlpipe_registry mlpipe_preprocessing mlpipe_inference"
password_var() { # mlpipe_registry -> MLPIPE_REGISTRY_PASSWORD
	local r=${1#mlpipe_}
	echo "MLPIPE_${r^^}_PASSWORD"
}
for r in $service_roles; do
	v=$(password_var "$r")
	[ -n "${!v:-}" ] || die "$v is empty or unset: every service role needs a password"
done
for m in $models; do
	# model names go into SQL literals below: allow only plain identifiers
	case $m in
	''|*[!a-z0-9_]*) die "bad model name '$m'" ;;
	esac
done

# psql with the connection from the environment; DATABASE_URL wins when set
# (psql takes a URI as its database name).
db=()
if [ -n "${DATABASE_URL:-}" ]; then
	db=(-d "$DATABASE_URL")
fi
sql() { psql "${db[@]}" -X -v ON_ERROR_STOP=1 -q -t -A "$@"; }

log "waiting up to ${wait_seconds}s for the database"
waited=0
until sql -c 'SELECT 1' >/dev/null 2>&1; do
	if [ "$waited" -ge "$wait_seconds" ]; then
		sql -c 'SELECT 1' || true	# show libpq's reason
		die "database not reachable after ${wait_seconds}s"
	fi
	sleep 2
	waited=$((waited + 2))
done

sql -c 'CREATE EXTENSION IF NOT EXISTS mlpipe'
# a database made by an older image moves up to this image's version
sql -c 'ALTER EXTENSION mlpipe UPDATE'
log "extension mlpipe present, at the image's version"

# Roles.  CREATE ROLE and the grants on the extension's objects need a
# superuser; a non-superuser owner (CloudNativePG) finds them made already.
is_super=$(sql -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')
if [ "$is_super" = t ]; then
	psql "${db[@]}" -X -v ON_ERROR_STOP=1 -q -f "$sql_dir/roles.sql"
	log "roles.sql applied"
	# \getenv reads each password into a psql variable and :'var' quotes it
	# as a literal: no quoting by hand, and the value appears on no command
	# line (ps) and, with statement logging off, in no server log line.
	{
		echo 'SET log_statement = none;'
		echo 'SET log_min_error_statement = panic;'
		for r in $service_roles; do
			# \getenv leaves pw as it was when the variable is unset: unset
			# it first, so that a missing password is an error, never the
			# previous role's
			echo '\unset pw'
			echo "\\getenv pw $(password_var "$r")"
			echo "ALTER ROLE $r PASSWORD :'pw';"
		done
	} | psql "${db[@]}" -X -v ON_ERROR_STOP=1 -q -f -
	log "passwords of $service_roles set"
else
	for r in mlpipe_reader mlpipe_writer mlpipe_ingest $service_roles; do
		[ "$(sql -c "SELECT count(*) FROM pg_roles WHERE rolname = '$r'")" = 1 ] ||
			die "role $r is missing and $(sql -c 'SELECT current_user') is no superuser: run sql/roles.sql as one"
	done
	log "not a superuser: roles present, passwords left to whoever manages them"
fi

purchases=$(sql -c 'SELECT count(*) FROM mlpipe.purchases')
if [ "$purchases" = 0 ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	csv=${MLPIPE_CSV:-}
	if [ -z "$csv" ]; then
		csv=$tmp/purchases.csv
		log "generating purchases for $customers customers (seed $seed)"
		"$gen" --customers "$customers" --seed "$seed" >"$csv"
	fi
	[ -r "$csv" ] || die "cannot read $csv"
	log "loading $csv"
	psql "${db[@]}" -X -v ON_ERROR_STOP=1 -q -v csv="$csv" -f "$sql_dir/load_purchases.sql"
	purchases=$(sql -c 'SELECT count(*) FROM mlpipe.purchases')
	[ "$purchases" != 0 ] || die "load_purchases.sql loaded no rows"
fi
log "mlpipe.purchases holds $purchases rows"

# A fresh registry (the usual case) needs no per-model look-up; after a
# bootstrap that died half way, train only the models still missing.
registered=$(sql -c 'SELECT count(*) FROM mlpipe.models')
for m in $models; do
	have=0
	if [ "$registered" != 0 ]; then
		have=$(sql -c "SELECT count(*) FROM mlpipe.models WHERE model_name = '$m'")
	fi
	if [ "$have" != 0 ]; then
		log "model $m already registered: not retrained"
		continue
	fi
	log "training $m"
	sql -c "SELECT mlpipe_train('$m', '$m', '1.0', '{}')"
done
log "done"
