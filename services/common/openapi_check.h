/*
 * openapi_check.h — the route table a service answers and its OpenAPI
 * document must not drift apart.  `mlpipe-<service> --check-openapi` runs
 * this against the embedded document (make test's api suite does, for all
 * three); the unit test adds a route to a table and sees it reported.
 */
#ifndef MLPIPE_OPENAPI_CHECK_H
#define MLPIPE_OPENAPI_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "router.h"

/*
 * Compares every (method, pattern) of tables with the operations of the
 * document's "paths" (HEAD and OPTIONS are the server's own, for every
 * path: neither side lists them).  Writes one line per difference to out
 * (NULL: silent).  Returns the number of differences, or -1 when doc is
 * not JSON with a "paths" object.
 */
int			openapi_route_diff(const char *doc, size_t len, const struct route_table *tables,
							   size_t ntables, FILE *out);

#endif
