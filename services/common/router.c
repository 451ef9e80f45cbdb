/*
 * router.c — route tables: which handler a method and path reach, with the
 * path's decoded parameters, and which methods a known path accepts.
 */
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "utf8.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-decodes [s, s+n) into a new string; NULL on bad escapes, NUL, or a
 * result that is not UTF-8 (PostgreSQL would refuse it with 22021, and no
 * model can have such a name).
 */
static char *
segment_decode(const char *s, size_t n)
{
	char	   *out = malloc(n + 1);
	size_t		o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '%')
		{
			int			a = i + 2 < n ? hexval(s[i + 1]) : -1;
			int			b = i + 2 < n ? hexval(s[i + 2]) : -1;

			/* a truncated escape, a bad digit or an encoded NUL: refuse */
			if (a < 0 || b < 0 || (a == 0 && b == 0))
			{
				free(out);
				return NULL;
			}
			out[o++] = (char) (a * 16 + b);
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	if (!utf8_valid(out, o))
	{
		free(out);
		return NULL;
	}
	return out;
}

int
route_match(const char *pattern, const char *path, char **params, int *nparams)
{
	const char *p = pattern;
	const char *u = path;

	*nparams = 0;
	while (*p && *u)
	{
		if (*p == '{')
		{
			const char *seg_end = strchr(u, '/');
			size_t		n = seg_end ? (size_t) (seg_end - u) : strlen(u);
			char	   *v;

			if (n == 0 || *nparams == ROUTE_MAX_PARAMS)
				goto fail;
			v = segment_decode(u, n);
			if (v == NULL)
				goto fail;
			params[(*nparams)++] = v;
			p = strchr(p, '}');
			if (p == NULL)
				goto fail;
			p++;
			u += n;
		}
		else if (*p++ != *u++)
			goto fail;
	}
	if (*p == '\0' && *u == '\0')
		return 1;
fail:
	for (int i = 0; i < *nparams; i++)
		free(params[i]);
	*nparams = 0;
	return 0;
}

/* Adds method to the comma-separated list, once. */
static void
allow_add(char allow[ROUTE_ALLOW_MAX], const char *method)
{
	size_t		have = strlen(allow);
	size_t		mlen = strlen(method);

	for (const char *m = allow; (m = strstr(m, method)) != NULL; m += mlen)
		if ((m == allow || m[-1] == ' ') && (m[mlen] == ',' || m[mlen] == '\0'))
			return;
	if (have + mlen + 3 > ROUTE_ALLOW_MAX)
		return;
	if (have)
		memcpy(allow + have, ", ", 2), have += 2;
	memcpy(allow + have, method, mlen + 1);
}

const struct route *
router_find(const struct route_table *tables, size_t ntables, const char *method,
			const char *path, char **params, int *nparams, char allow[ROUTE_ALLOW_MAX])
{
	allow[0] = '\0';
	*nparams = 0;
	for (size_t t = 0; t < ntables; t++)
	{
		for (size_t i = 0; i < tables[t].n; i++)
		{
			const struct route *r = &tables[t].routes[i];
			char	   *found[ROUTE_MAX_PARAMS];
			int			nfound;

			if (!route_match(r->pattern, path, found, &nfound))
				continue;
			if (strcmp(r->method, method) == 0)
			{
				memcpy(params, found, sizeof(found[0]) * (size_t) nfound);
				*nparams = nfound;
				allow[0] = '\0';
				return r;
			}
			/* the path is known: remember the method for a 405's Allow */
			allow_add(allow, r->method);
			if (strcmp(r->method, "GET") == 0)
				allow_add(allow, "HEAD");	/* the server answers HEAD for every GET */
			for (int k = 0; k < nfound; k++)
				free(found[k]);
		}
	}
	return NULL;
}
