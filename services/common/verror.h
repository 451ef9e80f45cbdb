/*
 * verror.h — FastAPI/pydantic v2 style validation errors, the items of a
 * 422's {"detail":[{"type","loc","msg","input","ctx"}]}.  The parsers of
 * validate.c, the multipart form of the registry and reply.c build them
 * here; reply_errors() sends them.
 */
#ifndef MLPIPE_VERROR_H
#define MLPIPE_VERROR_H

#include <jansson.h>

/*
 * Appends one error to the errors array.  loc is copied, field (may be NULL)
 * appended to the copy; input is borrowed (NULL: no "input" key); ctx is
 * stolen (may be NULL).
 */
void		verr_add(json_t *errors, json_t *loc, const char *field,
					 const char *type, const char *msg, json_t *input, json_t *ctx);

/* pydantic's "missing": input is the object the field was looked up in. */
void		verr_missing(json_t *errors, json_t *loc, const char *field, json_t *obj);

/* json_pack-like shortcut for a loc: loc_make("body", "purchase_data") */
json_t	   *loc_make(const char *a, const char *b);

/* A copy of loc with one more element (stolen): a list index or a field. */
json_t	   *loc_with(json_t *loc, json_t *last);

#endif
