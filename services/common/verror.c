/*
 * verror.c — the FastAPI-style 422 error items (see verror.h).
 */
#include "verror.h"

void
verr_add(json_t *errors, json_t *loc, const char *field, const char *type,
		 const char *msg, json_t *input, json_t *ctx)
{
	json_t	   *item = json_object();
	json_t	   *l = loc ? json_deep_copy(loc) : json_array();

	if (field)
		json_array_append_new(l, json_string(field));
	json_object_set_new(item, "type", json_string(type));
	json_object_set_new(item, "loc", l);
	json_object_set_new(item, "msg", json_string(msg));
	if (input)
		json_object_set(item, "input", input);
	if (ctx)
		json_object_set_new(item, "ctx", ctx);
	json_array_append_new(errors, item);
}

void
verr_missing(json_t *errors, json_t *loc, const char *field, json_t *obj)
{
	verr_add(errors, loc, field, "missing", "Field required", obj, NULL);
}

json_t *
loc_make(const char *a, const char *b)
{
	json_t	   *l = json_array();

	if (a)
		json_array_append_new(l, json_string(a));
	if (b)
		json_array_append_new(l, json_string(b));
	return l;
}

json_t *
loc_with(json_t *loc, json_t *last)
{
	json_t	   *l = json_copy(loc);

	json_array_append_new(l, last);
	return l;
}
