/*
 * test_openapi_check.c — services/common/openapi_check.c: a route the
 * document lacks and an operation the routes lack are both reported, and
 * adding a route to a table that agreed makes the check fail.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "openapi_check.h"

static void
h(struct request *req, struct reply *rep)
{
	(void) req;
	(void) rep;
}

static const char doc[] =
	"{\"openapi\":\"3.1.0\",\"paths\":{"
	"\"/healthz\":{\"get\":{}},"
	"\"/m/{name}\":{\"get\":{},\"delete\":{},\"parameters\":[]},"
	"\"/predict\":{\"post\":{}}}}";

static const struct route builtin[] = {
	{"GET", "/healthz", h, 0},
};

static const struct route svc[] = {
	{"GET", "/m/{name}", h, 0},
	{"DELETE", "/m/{name}", h, ROUTE_AUTH},
	{"POST", "/predict", h, 0},
};

/* the same, plus a route nobody documented */
static const struct route svc_plus[] = {
	{"GET", "/m/{name}", h, 0},
	{"DELETE", "/m/{name}", h, ROUTE_AUTH},
	{"POST", "/predict", h, 0},
	{"GET", "/m/{name}/importance", h, 0},
};

/* one documented operation missing */
static const struct route svc_minus[] = {
	{"GET", "/m/{name}", h, 0},
	{"POST", "/predict", h, 0},
};

static int
diff(const struct route *routes, size_t n, const char *text, char *out, size_t outsz)
{
	struct route_table t[2] = {{builtin, 1}, {routes, n}};
	FILE	   *f = fmemopen(out, outsz, "w");
	int			d = openapi_route_diff(text, strlen(text), t, 2, f);

	fclose(f);
	return d;
}

int
main(void)
{
	char		out[1024];

	CHECK(diff(svc, 3, doc, out, sizeof(out)) == 0, "routes and document agree");
	CHECK(diff(svc_plus, 4, doc, out, sizeof(out)) == 1, "an added route is reported");
	CHECK(strstr(out, "route GET /m/{name}/importance is not in the OpenAPI document") != NULL,
		  "the message names the route");
	CHECK(diff(svc_minus, 2, doc, out, sizeof(out)) == 1, "a documented operation without a route");
	CHECK(strstr(out, "has DELETE /m/{name}, which the service does not answer") != NULL,
		  "the message names the operation");
	CHECK(diff(svc, 3, "{\"openapi\":\"3.1.0\"}", out, sizeof(out)) == -1, "no paths: -1");
	CHECK(diff(svc, 3, "not json", out, sizeof(out)) == -1, "not JSON: -1");
	return check_summary();
}
