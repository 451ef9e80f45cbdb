/*
 * readiness.c — /readyz.
 *
 * A service pointed at a hot standby serves what the standby has replayed.
 * /readyz says which kind of server it reached and, on a standby, how far
 * behind it is, and turns not-ready past MLPIPE_MAX_REPLICA_LAG seconds so
 * that a load balancer sends the traffic to fresher replicas.
 *
 * The lag in seconds must stay honest when the primary is idle: the time
 * since the last replayed commit grows forever on an idle primary although
 * the standby is fully caught up.  So while the WAL receiver streams and has
 * replayed everything it received, the lag is 0; otherwise (replay behind,
 * or the primary unreachable) it is the age of the last replayed commit,
 * which is what the standby's data may be missing at most.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "readiness.h"

static double max_lag = DEFAULT_MAX_REPLICA_LAG;

/*
 * pg_stat_wal_receiver shows its row (pid) to every role, its details only
 * to pg_read_all_stats: the services' roles need no extra privilege.
 */
static const char readiness_sql[] =
	"SELECT pg_is_in_recovery(), "
	"CASE WHEN NOT pg_is_in_recovery() THEN 0 "
	"WHEN EXISTS (SELECT FROM pg_stat_wal_receiver) "
	"AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
	"ELSE extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), "
	"pg_postmaster_start_time())) END::float8, "
	"coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint, "
	"EXISTS (SELECT FROM pg_stat_wal_receiver)";

int
readiness_init(const char *service_name)
{
	const char *v = getenv("MLPIPE_MAX_REPLICA_LAG");
	char	   *end;
	double		x;

	if (v == NULL || *v == '\0')
		return 0;
	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !isfinite(x) || x < 0 || x > 86400 * 365.0)
	{
		fprintf(stderr, "%s: MLPIPE_MAX_REPLICA_LAG must be a number of seconds "
				"between 0 (no limit) and 31536000\n", service_name);
		return -1;
	}
	max_lag = x;
	return 0;
}

void
readiness_reply(struct reply *rep)
{
	struct db_error err;
	PGresult   *res = db_query(readiness_sql, &err);
	double		lag;
	long long	lag_bytes;
	json_t	   *j;

	if (res == NULL || PQntuples(res) != 1)
	{
		PQclear(res);
		reply_json(rep, 503, json_pack("{s:s}", "detail", "Database unavailable"));
		return;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
	{
		PQclear(res);
		reply_json(rep, 200, json_pack("{s:s,s:s,s:s}", "status", "ready",
									   "database", "ok", "role", "primary"));
		return;
	}
	lag = strtod(PQgetvalue(res, 0, 1), NULL);
	lag_bytes = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	j = json_pack("{s:s,s:f,s:I,s:s}", "role", "standby", "replay_lag_seconds", lag,
				  "replay_lag_bytes", (json_int_t) lag_bytes, "wal_receiver",
				  strcmp(PQgetvalue(res, 0, 3), "t") == 0 ? "streaming" : "not streaming");
	PQclear(res);
	if (j == NULL)
	{
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	if (max_lag > 0 && lag > max_lag)
	{
		char		detail[200];

		snprintf(detail, sizeof(detail),
				 "Standby replay lag %.1f s is past MLPIPE_MAX_REPLICA_LAG (%g s)",
				 lag, max_lag);
		json_object_set_new(j, "detail", json_string(detail));
		reply_json(rep, 503, j);
		return;
	}
	json_object_set_new(j, "status", json_string("ready"));
	json_object_set_new(j, "database", json_string("ok"));
	reply_json(rep, 200, j);
}
