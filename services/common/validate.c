/*
 * validate.c — the request parsers: field checks done before anything
 * reaches the database, so a client gets every problem of its request at
 * once, with the same "loc", "type" and "msg" pydantic v2 would have
 * produced (the error items themselves are built by verror.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iso8601.h"
#include "validate.h"
#include "verror.h"

int
iso8601_valid(const char *s)
{
	int64_t		usec;
	const char *why;

	/* the extension's parser: one definition of a valid purchase date */
	return mlp_parse_iso8601(s, strlen(s), &usec, &why);
}

/* s[0..len): a first character of first_chars, then up to maxlen - 1 of rest */
static int
ident_matches(const char *s, size_t len, size_t maxlen, const char *first_chars,
			  const char *rest)
{
	if (s == NULL || len < 1 || len > maxlen)
		return 0;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		/* strchr would find the terminating NUL: test c first */
		if (c == '\0' || strchr(i == 0 ? first_chars : rest, c) == NULL)
			return 0;
	}
	return 1;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define ALNUM LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

int
model_ident_valid(enum model_ident kind, const char *s, size_t len)
{
	switch (kind)
	{
		case IDENT_MODEL_NAME:
			return ident_matches(s, len, 128, ALNUM, ALNUM "_.-");
		case IDENT_MODEL_VERSION:
			return ident_matches(s, len, 64, ALNUM, ALNUM "_.+-");
		case IDENT_ALIAS:
			return ident_matches(s, len, 63, LOWER, LOWER "0123456789_-");
		case IDENT_VERSION_REF:
			if (s != NULL && len > 0 && s[0] == '@')
				return model_ident_valid(IDENT_ALIAS, s + 1, len - 1);
			return model_ident_valid(IDENT_MODEL_VERSION, s, len);
	}
	return 0;
}

static const char *
ident_pattern(enum model_ident kind)
{
	switch (kind)
	{
		case IDENT_MODEL_NAME:
			return "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$";
		case IDENT_MODEL_VERSION:
			return "^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$";
		case IDENT_ALIAS:
			return "^[a-z][a-z0-9_-]{0,62}$";
		case IDENT_VERSION_REF:
			return "^([A-Za-z0-9][A-Za-z0-9_.+-]{0,63}|@[a-z][a-z0-9_-]{0,62})$";
	}
	return "";
}

int
check_model_ident(enum model_ident kind, const char *s, size_t len, json_t *loc,
				  const char *field, json_t *input, json_t *errors)
{
	const char *pattern = ident_pattern(kind);
	char		msg[128];

	if (model_ident_valid(kind, s, len))
		return 1;
	snprintf(msg, sizeof(msg), "String should match pattern '%s'", pattern);
	verr_add(errors, loc, field, "string_pattern_mismatch", msg, input,
			 json_pack("{s:s}", "pattern", pattern));
	return 0;
}

const char *
validate_string(json_t *obj, json_t *loc, const char *field, json_t *errors, int optional)
{
	json_t	   *v = json_object_get(obj, field);

	if (v == NULL || (optional && json_is_null(v)))
	{
		if (!optional)
			verr_missing(errors, loc, field, obj);
		return NULL;
	}
	if (!json_is_string(v))
	{
		verr_add(errors, loc, field, "string_type", "Input should be a valid string", v, NULL);
		return NULL;
	}
	return json_string_value(v);
}

/*
 * An integer field within [lo, hi].  pydantic accepts a float with no
 * fractional part for an int, so do we; strings and booleans are refused.
 */
static int
check_int(json_t *obj, json_t *loc, const char *field, long long lo, long long hi,
		  json_t *errors, char *out, size_t outsz)
{
	json_t	   *v = json_object_get(obj, field);
	long long	x;
	char		msg[96];

	if (v == NULL)
	{
		verr_missing(errors, loc, field, obj);
		return 1;
	}
	if (json_is_integer(v))
		x = json_integer_value(v);
	else if (json_is_real(v))
	{
		double		r = json_real_value(v);

		if (r != floor(r))
		{
			verr_add(errors, loc, field, "int_from_float",
					 "Input should be a valid integer, got a number with a fractional part",
					 v, NULL);
			return 1;
		}
		if (r < -9.2e18 || r > 9.2e18)
		{
			verr_add(errors, loc, field, "int_parsing",
					 "Input should be a valid integer, unable to parse number as an integer",
					 v, NULL);
			return 1;
		}
		x = (long long) r;
	}
	else
	{
		verr_add(errors, loc, field, "int_type", "Input should be a valid integer", v, NULL);
		return 1;
	}
	if (x < lo)
	{
		snprintf(msg, sizeof(msg), "Input should be greater than or equal to %lld", lo);
		verr_add(errors, loc, field, "greater_than_equal", msg, v,
				 json_pack("{s:I}", "ge", (json_int_t) lo));
		return 1;
	}
	if (x > hi)
	{
		snprintf(msg, sizeof(msg), "Input should be less than or equal to %lld", hi);
		verr_add(errors, loc, field, "less_than_equal", msg, v,
				 json_pack("{s:I}", "le", (json_int_t) hi));
		return 1;
	}
	snprintf(out, outsz, "%lld", x);
	return 0;
}

/* A non-negative number; integers are fine for floats. */
static int
check_amount(json_t *obj, json_t *loc, const char *field, json_t *errors,
			 char *out, size_t outsz)
{
	json_t	   *v = json_object_get(obj, field);
	double		x;

	if (v == NULL)
	{
		verr_missing(errors, loc, field, obj);
		return 1;
	}
	if (!json_is_number(v))
	{
		verr_add(errors, loc, field, "float_type", "Input should be a valid number", v, NULL);
		return 1;
	}
	x = json_number_value(v);
	if (!isfinite(x))
	{
		verr_add(errors, loc, field, "finite_number", "Input should be a finite number", v, NULL);
		return 1;
	}
	if (x < 0)
	{
		verr_add(errors, loc, field, "greater_than_equal",
				 "Input should be greater than or equal to 0", v,
				 json_pack("{s:i}", "ge", 0));
		return 1;
	}
	if (json_is_integer(v))
		snprintf(out, outsz, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(out, outsz, "%.17g", x);
	return 0;
}

int
validate_object(json_t *obj, json_t *loc, json_t *errors)
{
	if (json_is_object(obj))
		return 0;
	verr_add(errors, loc, NULL, "model_attributes_type",
			 "Input should be a valid dictionary or object to extract fields from",
			 obj, NULL);
	return 1;
}

int
validate_raw_purchase(json_t *obj, json_t *loc, json_t *errors, struct raw_purchase *out)
{
	size_t		before = json_array_size(errors);
	const char *s;

	if (validate_object(obj, loc, errors))
		return 1;
	/* customer ids are bigint in PostgreSQL */
	check_int(obj, loc, "customer_id", 0, 9223372036854775807LL, errors,
			  out->customer_id, sizeof(out->customer_id));

	s = validate_string(obj, loc, "purchase_date", errors, 0);
	if (s && !iso8601_valid(s))
		verr_add(errors, loc, "purchase_date", "datetime_parsing",
				 "Input should be a valid datetime in ISO 8601 format "
				 "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM])",
				 json_object_get(obj, "purchase_date"), NULL);
	out->purchase_date = s;

	check_amount(obj, loc, "purchase_amount", errors,
				 out->purchase_amount, sizeof(out->purchase_amount));
	check_amount(obj, loc, "annual_income", errors,
				 out->annual_income, sizeof(out->annual_income));
	check_int(obj, loc, "age", 1, 120, errors, out->age, sizeof(out->age));

	s = validate_string(obj, loc, "gender", errors, 0);
	if (s && strcmp(s, "Male") != 0 && strcmp(s, "Female") != 0)
		verr_add(errors, loc, "gender", "literal_error", "Input should be 'Male' or 'Female'",
				 json_object_get(obj, "gender"),
				 json_pack("{s:s}", "expected", "'Male' or 'Female'"));
	out->gender = s;

	return (int) (json_array_size(errors) - before);
}

/*
 * model_name and model_version of the prediction routes: strings matching
 * mlpipe.models' patterns (the version may be '@alias'), so what reaches
 * the database (and the 404 message) is a plausible name, never 10 kB of
 * anything.
 */
static void
model_fields(json_t *body, json_t *loc, json_t *errors, struct model_ref *out)
{
	const char *name = validate_string(body, loc, "model_name", errors, 0);
	const char *version = validate_string(body, loc, "model_version", errors, 1);
	json_t	   *jname = json_object_get(body, "model_name");
	json_t	   *jversion = json_object_get(body, "model_version");

	/* json_string_length, not strlen: "a\u0000b" must not pass as "a" */
	if (name && !check_model_ident(IDENT_MODEL_NAME, name, json_string_length(jname), loc,
								   "model_name", jname, errors))
		name = NULL;
	if (version && !check_model_ident(IDENT_VERSION_REF, version,
									  json_string_length(jversion), loc, "model_version",
									  jversion, errors))
		version = NULL;
	out->name = name;
	out->version = version;
}

/*
 * A required raw purchase held in body's field; returns it (borrowed) or
 * NULL when it is absent.
 */
static json_t *
purchase_field(json_t *body, json_t *loc, const char *field, json_t *errors,
			   struct raw_purchase *out)
{
	json_t	   *v = json_object_get(body, field);
	json_t	   *vloc;

	if (v == NULL)
	{
		verr_missing(errors, loc, field, body);
		return NULL;
	}
	vloc = loc_with(loc, json_string(field));
	validate_raw_purchase(v, vloc, errors, out);
	json_decref(vloc);
	return v;
}

/*
 * A list of raw purchases at loc, each item at loc + index.  Stops once the
 * request holds 100 errors: enough to fix, and a long list of bad items
 * must not build a huge reply.
 */
static void
purchase_list(json_t *list, json_t *loc, json_t *errors)
{
	json_t	   *item;
	size_t		i;

	if (!json_is_array(list))
	{
		verr_add(errors, loc, NULL, "list_type", "Input should be a valid list", list, NULL);
		return;
	}
	json_array_foreach(list, i, item)
	{
		struct raw_purchase rp;
		json_t	   *iloc = loc_with(loc, json_integer((json_int_t) i));

		validate_raw_purchase(item, iloc, errors, &rp);
		json_decref(iloc);
		if (json_array_size(errors) >= 100)
			break;
	}
}

/* pydantic's too_long; no "input", which would echo the whole list */
static void
add_too_long(json_t *errors, json_t *loc, const char *field, size_t n)
{
	char		msg[128];

	snprintf(msg, sizeof(msg), "List should have at most %d items after validation, not %zu",
			 PREDICT_BATCH_MAX, n);
	verr_add(errors, loc, field, "too_long", msg, NULL,
			 json_pack("{s:s,s:i,s:I}", "field_type", "List", "max_length", PREDICT_BATCH_MAX,
					   "actual_length", (json_int_t) n));
}

/* How many errors a parse added, errors having held before when it began. */
static int
errors_since(json_t *errors, size_t before)
{
	return (int) (json_array_size(errors) - before);
}

int
parse_predict_request(json_t *body, json_t *errors, struct predict_request *out)
{
	size_t		before = json_array_size(errors);
	json_t	   *loc = loc_make("body", NULL);

	memset(out, 0, sizeof(*out));
	if (!validate_object(body, loc, errors))
	{
		model_fields(body, loc, errors, &out->model);
		out->purchase = purchase_field(body, loc, "purchase_data", errors, &out->fields);
	}
	json_decref(loc);
	return errors_since(errors, before);
}

int
parse_batch_request(json_t *body, json_t *errors, struct batch_request *out)
{
	size_t		before = json_array_size(errors);
	json_t	   *loc = loc_make("body", NULL);
	json_t	   *list;

	memset(out, 0, sizeof(*out));
	if (!validate_object(body, loc, errors))
	{
		model_fields(body, loc, errors, &out->model);
		list = json_object_get(body, "purchases");
		if (list == NULL)
			verr_missing(errors, loc, "purchases", body);
		else if (json_is_array(list) && json_array_size(list) > PREDICT_BATCH_MAX)
			add_too_long(errors, loc, "purchases", json_array_size(list));
		else
		{
			json_t	   *lloc = loc_with(loc, json_string("purchases"));

			purchase_list(list, lloc, errors);
			json_decref(lloc);
		}
		out->purchases = list;
	}
	json_decref(loc);
	return errors_since(errors, before);
}

int
parse_preprocess_request(json_t *body, json_t *errors, struct preprocess_request *out)
{
	size_t		before = json_array_size(errors);
	json_t	   *loc = loc_make("body", NULL);
	json_t	   *params;

	memset(out, 0, sizeof(*out));
	if (!validate_object(body, loc, errors))
	{
		purchase_field(body, loc, "raw_data", errors, &out->raw);
		params = json_object_get(body, "standardization_params");
		if (params == NULL)
			verr_missing(errors, loc, "standardization_params", body);
		else if (!json_is_object(params))
			verr_add(errors, loc, "standardization_params", "dict_type",
					 "Input should be a valid dictionary", params, NULL);
		out->params = params;
	}
	json_decref(loc);
	return errors_since(errors, before);
}

/*
 * The old pipeline took a bare list; {"purchases": [...]} is accepted too.
 * Any other body is reported as pydantic reports a bad list: "missing" for
 * an object without the field, "list_type" for the rest.
 */
int
parse_purchases_request(json_t *body, json_t *errors, struct purchases_request *out)
{
	size_t		before = json_array_size(errors);
	json_t	   *loc = loc_make("body", NULL);
	json_t	   *list = json_is_object(body) ? json_object_get(body, "purchases") : NULL;

	memset(out, 0, sizeof(*out));
	if (json_is_array(body))
		list = body;
	else if (list != NULL)
		json_array_append_new(loc, json_string("purchases"));
	else if (json_is_object(body))
		verr_missing(errors, loc, "purchases", body);
	else
		verr_add(errors, loc, NULL, "list_type", "Input should be a valid list", body, NULL);
	if (list != NULL)
		purchase_list(list, loc, errors);
	out->purchases = list;
	json_decref(loc);
	return errors_since(errors, before);
}
