/*
 * test_router.c — unit tests of services/common/router.c: which route a
 * method and path reach, the decoded path parameters, and the 405's Allow
 * list taken from the tables during the one match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "router.h"

static void
h(struct request *req, struct reply *rep)
{
	(void) req;
	(void) rep;
}

static const struct route builtin[] = {
	{"GET", "/healthz", h, 0},
};

static const struct route svc[] = {
	{"POST", "/register_model", h, ROUTE_AUTH | ROUTE_UPLOAD},
	{"GET", "/get_model/{name}/{version}", h, 0},
	{"DELETE", "/remove_model/{name}/{version}", h, ROUTE_AUTH},
	{"GET", "/m/{name}", h, 0},
	{"DELETE", "/m/{name}", h, 0},
	{"POST", "/m/{name}", h, 0},
	{"GET", "/m/{name}/x", h, 0},
};

static const struct route_table tables[] = {
	{builtin, sizeof(builtin) / sizeof(builtin[0])},
	{svc, sizeof(svc) / sizeof(svc[0])},
};

/* router_find on the tables above; frees the parameters unless asked for them */
static const struct route *
find(const char *method, const char *path, char **params, int *nparams, char *allow)
{
	char	   *p[ROUTE_MAX_PARAMS];
	int			n = 0;
	const struct route *r = router_find(tables, 2, method, path, p, &n, allow);

	if (params)
		memcpy(params, p, sizeof(p[0]) * (size_t) n);
	else
		for (int i = 0; i < n; i++)
			free(p[i]);
	if (nparams)
		*nparams = n;
	return r;
}

int
main(void)
{
	char		allow[ROUTE_ALLOW_MAX];
	char	   *params[ROUTE_MAX_PARAMS];
	int			n;
	const struct route *r;

	r = find("GET", "/healthz", NULL, &n, allow);
	CHECK(r == &builtin[0] && n == 0 && allow[0] == '\0', "a built-in route");
	r = find("POST", "/register_model", NULL, NULL, allow);
	CHECK(r == &svc[0], "a service route");

	r = find("GET", "/get_model/my%20model/1.0", params, &n, allow);
	CHECK(r == &svc[1] && n == 2, "two parameters");
	if (r && n == 2)
	{
		CHECK(strcmp(params[0], "my model") == 0, "percent-decoded parameter");
		CHECK(strcmp(params[1], "1.0") == 0, "second parameter");
		free(params[0]);
		free(params[1]);
	}
	r = find("GET", "/get_model/a%2Fb/1", params, &n, allow);
	CHECK(r == &svc[1] && n == 2 && strcmp(params[0], "a/b") == 0, "%2F stays inside its segment");
	for (int i = 0; r && i < n; i++)
		free(params[i]);

	/* no match: 404 (allow empty) */
	CHECK(find("GET", "/nope", NULL, NULL, allow) == NULL && allow[0] == '\0', "unknown path: 404");
	CHECK(find("GET", "/get_model/a", NULL, NULL, allow) == NULL && allow[0] == '\0',
		  "a parameter missing: 404");
	CHECK(find("GET", "/get_model//1", NULL, NULL, allow) == NULL && allow[0] == '\0',
		  "an empty segment: 404");
	CHECK(find("GET", "/get_model/a/1/", NULL, NULL, allow) == NULL, "a trailing slash: 404");
	CHECK(find("GET", "/get_model/a%00b/1", NULL, NULL, allow) == NULL && allow[0] == '\0',
		  "an encoded NUL: 404");
	CHECK(find("GET", "/get_model/a%zzb/1", NULL, NULL, allow) == NULL, "a bad escape: 404");
	CHECK(find("GET", "/get_model/a%2/1", NULL, NULL, allow) == NULL, "a truncated escape: 404");
	CHECK(find("GET", "/get_model/%C0%AF/1", NULL, NULL, allow) == NULL,
		  "an overlong UTF-8 form: 404");
	CHECK(find("GET", "/get_model/%ED%A0%80/1", NULL, NULL, allow) == NULL, "a surrogate: 404");
	CHECK(find("GET", "/get_model/%C3%A9/1", NULL, NULL, allow) == &svc[1], "UTF-8 é is fine");

	/* the path is known, the method is not: 405 and its Allow list */
	CHECK(find("PUT", "/healthz", NULL, NULL, allow) == NULL && strcmp(allow, "GET, HEAD") == 0,
		  "405 on a built-in route: Allow GET");
	CHECK(find("GET", "/register_model", NULL, NULL, allow) == NULL &&
		  strcmp(allow, "POST") == 0, "405: Allow POST");
	CHECK(find("PUT", "/m/x", NULL, NULL, allow) == NULL &&
		  strcmp(allow, "GET, HEAD, DELETE, POST") == 0, "405: every method of the path, in table order");
	CHECK(find("POST", "/remove_model/a/b", NULL, NULL, allow) == NULL &&
		  strcmp(allow, "DELETE") == 0, "405 on a path with parameters");
	CHECK(find("DELETE", "/m/x/x", NULL, NULL, allow) == NULL && strcmp(allow, "GET, HEAD") == 0,
		  "405: only the routes whose pattern matched");
	r = find("DELETE", "/m/x", NULL, NULL, allow);
	CHECK(r == &svc[4] && allow[0] == '\0', "a later route with the method matches, Allow empty");
	return check_summary();
}
