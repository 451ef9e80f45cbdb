#!/bin/bash
# The images suite's stand-in for the entrypoint of postgres:15-bookworm
# (see Dockerfile.pg-base): as much of its behaviour as mlpipe's images and
# deployment files rely on.
#
#   - a command that is not "postgres" (mlpipe-bootstrap, psql...) runs as it is;
#   - "postgres" started as root prepares PGDATA and runs again as postgres;
#   - an empty PGDATA gets initdb with POSTGRES_USER as the superuser and
#     POSTGRES_PASSWORD as its password (required), password (scram-sha-256)
#     logins from anywhere, and the database POSTGRES_DB, made on a
#     temporary server that listens on the socket only (so that a
#     pg_isready -h 127.0.0.1 health check fails until the real start);
#   - then postgres, listening on every interface, replaces this script.
set -euo pipefail

if [ "${1:0:1}" = - ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	install -d -o postgres -g postgres -m 0700 "$PGDATA"
	install -d -o postgres -g postgres -m 2777 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "entrypoint: POSTGRES_PASSWORD is empty: the superuser needs a password" >&2
		exit 1
	fi
	initdb --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		--auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA" >/dev/null
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
	if [ "$db" != postgres ]; then
		psql -X -v ON_ERROR_STOP=1 -q -U "$user" -d postgres -v db="$db" \
			<<<'CREATE DATABASE :"db";'
	fi
	pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	echo "entrypoint: database cluster initialised, superuser $user, database $db" >&2
fi
exec "$@" -c listen_addresses='*'
