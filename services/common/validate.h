/*
 * validate.h — typed validation of request JSON with FastAPI/pydantic v2
 * style 422 details: {"detail":[{"type","loc","msg","input","ctx"}]}.
 */
#ifndef MLPIPE_VALIDATE_H
#define MLPIPE_VALIDATE_H

#include <jansson.h>

#include "verror.h"

#define PREDICT_BATCH_MAX 10000

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

/*
 * Model names, versions and aliases: the patterns of the CHECK constraints
 * of mlpipe.models and mlpipe.aliases, checked before the database
 * wherever one comes in.  A version reference (what a path or body may
 * name to read a model) is a version or '@' and an alias.
 */
enum model_ident
{
	IDENT_MODEL_NAME,			/* ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ */
	IDENT_MODEL_VERSION,		/* ^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$ */
	IDENT_ALIAS,				/* ^[a-z][a-z0-9_-]{0,62}$ */
	IDENT_VERSION_REF			/* a version, or '@' and an alias */
};

/* 1 when s[0..len) matches the pattern of kind. */
int			model_ident_valid(enum model_ident kind, const char *s, size_t len);

/*
 * The same check with pydantic's string_pattern_mismatch at loc + field
 * when it fails (input borrowed; NULL: no "input").  Returns 1 when valid.
 */
int			check_model_ident(enum model_ident kind, const char *s, size_t len,
							  json_t *loc, const char *field, json_t *input,
							  json_t *errors);

/* Required string field; returns it or NULL with an error added. */
const char *validate_string(json_t *obj, json_t *loc, const char *field,
							json_t *errors, int optional);

/*
 * pydantic's model_attributes_type at loc when obj is not a JSON object.
 * Returns 1 when it added that error, 0 when obj is an object.
 */
int			validate_object(json_t *obj, json_t *loc, json_t *errors);

/*
 * The request bodies of the JSON routes.  Each parse_*_request() checks a
 * whole body, appends every problem to errors (locs start with "body") and
 * returns the number it added; out is complete only when that is 0.
 * Strings and JSON values in out are borrowed from body.
 */

/* model_name (required string), model_version (string; null or absent: latest) */
struct model_ref
{
	const char *name;
	const char *version;		/* NULL: latest */
};

/* POST /predict {model_name, model_version, purchase_data} */
struct predict_request
{
	struct model_ref model;
	json_t	   *purchase;		/* purchase_data, echoed back in the reply */
	struct raw_purchase fields; /* purchase_data as text parameters */
};

/* POST /predict/batch {model_name, model_version, purchases: [<= PREDICT_BATCH_MAX]} */
struct batch_request
{
	struct model_ref model;
	json_t	   *purchases;		/* array of valid raw purchases */
};

/* POST /preprocess {raw_data, standardization_params} */
struct preprocess_request
{
	struct raw_purchase raw;
	json_t	   *params;			/* standardization_params, an object */
};

/* POST /purchases: [raw purchases] or {purchases: [raw purchases]} */
struct purchases_request
{
	json_t	   *purchases;		/* array of valid raw purchases */
};

int			parse_predict_request(json_t *body, json_t *errors,
								  struct predict_request *out);
int			parse_batch_request(json_t *body, json_t *errors,
								struct batch_request *out);
int			parse_preprocess_request(json_t *body, json_t *errors,
									 struct preprocess_request *out);
int			parse_purchases_request(json_t *body, json_t *errors,
									struct purchases_request *out);

#endif
