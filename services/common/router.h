/*
 * router.h — matching a request's method and path against route tables.
 *
 * A pattern's {x} matches one non-empty path segment, percent-decoded
 * (it must then be UTF-8 without NUL, or the route does not match: no
 * model can have such a name).  The router knows nothing of HTTP
 * connections, so it is unit-tested on its own.
 */
#ifndef MLPIPE_ROUTER_H
#define MLPIPE_ROUTER_H

#include <stddef.h>

#include "service.h"

struct route_table
{
	const struct route *routes;
	size_t		n;
};

/* The Allow header of a 405: "GET, DELETE" */
#define ROUTE_ALLOW_MAX 64

/*
 * The first route of tables (in order) that matches method and path.  On
 * a match params[] holds its decoded segments (malloc'd, the caller frees
 * them) and *nparams their count.  Without one, NULL: allow then lists
 * every method registered for the path (405), or is empty when no route
 * has the path (404).
 */
const struct route *router_find(const struct route_table *tables, size_t ntables,
								const char *method, const char *path,
								char **params, int *nparams, char allow[ROUTE_ALLOW_MAX]);

/* Does path match pattern?  1 with params decoded (caller frees), else 0. */
int			route_match(const char *pattern, const char *path, char **params, int *nparams);

/* /healthz, /readyz and /metrics, present in every service (builtin.c) */
extern const struct route builtin_routes[];
extern const size_t builtin_nroutes;

#endif
