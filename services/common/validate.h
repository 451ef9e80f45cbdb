/*
 * validate.h — typed validation of request JSON with FastAPI/pydantic v2
 * style 422 details: {"detail":[{"type","loc","msg","input","ctx"}]}.
 */
#ifndef MLPIPE_VALIDATE_H
#define MLPIPE_VALIDATE_H

#include <jansson.h>

#define PREDICT_BATCH_MAX 10000

/*
 * Appends one error to the errors array.  loc is copied, field (may be NULL)
 * appended to the copy; input is borrowed (NULL: no "input" key); ctx is
 * stolen (may be NULL).
 */
void		verr_add(json_t *errors, json_t *loc, const char *field,
					 const char *type, const char *msg, json_t *input, json_t *ctx);

/* json_pack-like shortcut for a loc: loc_make("body", "purchase_data") */
json_t	   *loc_make(const char *a, const char *b);

/* A validated raw purchase, as text parameters for PostgreSQL. */
struct raw_purchase
{
	char		customer_id[24];
	const char *purchase_date;	/* borrowed from the JSON */
	char		purchase_amount[32];
	char		annual_income[32];
	char		age[16];
	const char *gender;			/* borrowed from the JSON */
};

/*
 * Validates a raw_data object {customer_id, purchase_date, purchase_amount,
 * annual_income, age, gender}.  Errors go to errors with loc = loc + field.
 * Returns the number of errors added; out is filled when that is 0.
 */
int			validate_raw_purchase(json_t *obj, json_t *loc, json_t *errors,
								  struct raw_purchase *out);

/* YYYY-MM-DD[(T| )HH:MM[:SS[.f+]][Z|±HH[:MM]|±HHMM]] with real calendar ranges. */
int			iso8601_valid(const char *s);

/* Required string field; returns it or NULL with an error added. */
const char *validate_string(json_t *obj, json_t *loc, const char *field,
							json_t *errors, int optional);

#endif
