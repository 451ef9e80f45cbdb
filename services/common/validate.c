/*
 * validate.c — field checks done before anything reaches the database, so a
 * client gets every problem of its request at once, with the same "loc",
 * "type" and "msg" pydantic v2 would have produced.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "iso8601.h"
#include "validate.h"

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

int
iso8601_valid(const char *s)
{
	int64_t		usec;
	const char *why;

	/* the extension's parser: one definition of a valid purchase date */
	return mlp_parse_iso8601(s, strlen(s), &usec, &why);
}

const char *
validate_string(json_t *obj, json_t *loc, const char *field, json_t *errors, int optional)
{
	json_t	   *v = json_object_get(obj, field);

	if (v == NULL || (optional && json_is_null(v)))
	{
		if (!optional)
			verr_add(errors, loc, field, "missing", "Field required", obj, NULL);
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
		verr_add(errors, loc, field, "missing", "Field required", obj, NULL);
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
		verr_add(errors, loc, field, "missing", "Field required", obj, NULL);
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
validate_raw_purchase(json_t *obj, json_t *loc, json_t *errors, struct raw_purchase *out)
{
	size_t		before = json_array_size(errors);
	const char *s;

	if (!json_is_object(obj))
	{
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from",
				 obj, NULL);
		return 1;
	}
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
