/*
 * paging.c — ?limit= and ?offset= on the list endpoints (service.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "service.h"
#include "verror.h"

/* -1: absent; -2: error added; else the value */
static long long
query_count(const struct request *req, const char *name, json_t *errors)
{
	const char *v = request_query(req, name);
	json_t	   *loc = loc_make("query", NULL);
	json_t	   *in;
	char	   *end;
	long long	x;

	if (v == NULL)
	{
		json_decref(loc);
		return -1;
	}
	in = json_string(v);		/* NULL (no "input") when v is not UTF-8 */
	errno = 0;
	x = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0)
	{
		verr_add(errors, loc, name, "int_parsing",
				 "Input should be a valid integer, unable to parse string as an integer", in, NULL);
		x = -2;
	}
	else if (x < 0)
	{
		verr_add(errors, loc, name, "greater_than_equal", "Input should be greater than or equal to 0",
				 in, json_pack("{s:i}", "ge", 0));
		x = -2;
	}
	json_decref(in);
	json_decref(loc);
	return x;
}

int
reply_if_bad_paging(const struct request *req, struct reply *rep, json_t **list)
{
	json_t	   *errors = json_array();
	long long	limit = query_count(req, "limit", errors);
	long long	offset = query_count(req, "offset", errors);
	json_t	   *page;
	size_t		n = json_array_size(*list);

	if (reply_if_invalid(rep, errors))
	{
		json_decref(*list);
		*list = NULL;
		return 1;
	}
	if (limit < 0 && offset <= 0)
		return 0;
	page = json_array();
	for (size_t i = offset > 0 ? (size_t) offset : 0;
		 i < n && (limit < 0 || json_array_size(page) < (size_t) limit); i++)
		json_array_append(page, json_array_get(*list, i));
	json_decref(*list);
	*list = page;
	return 0;
}
