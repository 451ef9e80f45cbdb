/*
 * openapi_check.c — route table against OpenAPI document (openapi_check.h).
 */
#include <ctype.h>
#include <string.h>

#include <jansson.h>

#include "openapi_check.h"

static const char *const methods[] = {"get", "put", "post", "delete", "patch", "trace"};

/* "GET" -> "get" into buf */
static void
lower(const char *s, char *buf, size_t size)
{
	size_t		i = 0;

	for (; s[i] && i + 1 < size; i++)
		buf[i] = (char) tolower((unsigned char) s[i]);
	buf[i] = '\0';
}

static int
in_tables(const struct route_table *tables, size_t ntables, const char *method,
		  const char *pattern)
{
	for (size_t t = 0; t < ntables; t++)
		for (size_t i = 0; i < tables[t].n; i++)
			if (strcasecmp(tables[t].routes[i].method, method) == 0 &&
				strcmp(tables[t].routes[i].pattern, pattern) == 0)
				return 1;
	return 0;
}

int
openapi_route_diff(const char *doc, size_t len, const struct route_table *tables,
				   size_t ntables, FILE *out)
{
	json_t	   *root = json_loadb(doc, len, 0, NULL);
	json_t	   *paths = json_object_get(root, "paths");
	const char *path;
	json_t	   *item;
	int			diffs = 0;

	if (!json_is_object(paths))
	{
		json_decref(root);
		return -1;
	}
	/* every route is documented */
	for (size_t t = 0; t < ntables; t++)
		for (size_t i = 0; i < tables[t].n; i++)
		{
			const struct route *r = &tables[t].routes[i];
			char		m[16];

			lower(r->method, m, sizeof(m));
			if (json_object_get(json_object_get(paths, r->pattern), m) == NULL)
			{
				diffs++;
				if (out)
					fprintf(out, "route %s %s is not in the OpenAPI document\n", r->method, r->pattern);
			}
		}
	/* every documented operation is a route */
	json_object_foreach(paths, path, item)
	{
		for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
		{
			char		upper[16];

			if (json_object_get(item, methods[k]) == NULL)
				continue;
			for (size_t i = 0; i <= strlen(methods[k]); i++)
				upper[i] = (char) toupper((unsigned char) methods[k][i]);
			if (!in_tables(tables, ntables, upper, path))
			{
				diffs++;
				if (out)
					fprintf(out, "the OpenAPI document has %s %s, which the service does not answer\n",
							upper, path);
			}
		}
	}
	json_decref(root);
	return diffs;
}
