/*
 * builtin.c — the routes every service has: /healthz (the process is up),
 * /readyz (its database answers, recent enough on a standby: readiness.c) and /metrics (Prometheus text).
 */
#include "metrics.h"
#include "readiness.h"
#include "router.h"

static void
handle_healthz(struct request *req, struct reply *rep)
{
	(void) req;
	reply_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

static void
handle_readyz(struct request *req, struct reply *rep)
{
	(void) req;
	readiness_reply(rep);
}

static void
handle_metrics(struct request *req, struct reply *rep)
{
	size_t		len = 0;
	char	   *text = metrics_render(&len);

	(void) req;
	if (text == NULL)
	{
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	reply_clear(rep);
	rep->status = 200;
	rep->body = text;
	rep->body_len = len;
	rep->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

const struct route builtin_routes[] = {
	{"GET", "/healthz", handle_healthz, 0},
	{"GET", "/readyz", handle_readyz, 0},
	{"GET", "/metrics", handle_metrics, 0},
};
const size_t builtin_nroutes = sizeof(builtin_routes) / sizeof(builtin_routes[0]);
