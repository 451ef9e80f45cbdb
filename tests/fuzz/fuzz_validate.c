/*
 * fuzz_validate.c — libFuzzer target for the services' request validation
 * (services/common/validate.c, with request_json and the 422 rendering of
 * services/common/reply.c).
 *
 * The input is a request body.  It is parsed by request_json() exactly as
 * the services parse it, then put through the validation steps of the
 * request handlers — the handlers themselves sit in the service programs
 * next to main(), so their few lines of glue are repeated here:
 *
 *   POST /preprocess      raw_data (validate_raw_purchase), standardization_params
 *   POST /predict         model_name, model_version (validate_string), purchase_data
 *   POST /predict_batch   model_name, model_version, purchases[] (at most
 *   POST /purchases       PREDICT_BATCH_MAX, 100 errors) or a bare list
 *
 * and every error list is rendered with reply_errors() as the client would
 * get it.  iso8601_valid() also gets every string of the document and the
 * raw input (NUL-terminated).  A valid record must carry what validate.h
 * promises (NUL-terminated numbers, a date and a gender).  LeakSanitizer
 * checks that every reference is dropped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "service.h"
#include "validate.h"

static void
check_record(const struct raw_purchase *rp)
{
	if (memchr(rp->customer_id, '\0', sizeof(rp->customer_id)) == NULL ||
		memchr(rp->purchase_amount, '\0', sizeof(rp->purchase_amount)) == NULL ||
		memchr(rp->annual_income, '\0', sizeof(rp->annual_income)) == NULL ||
		memchr(rp->age, '\0', sizeof(rp->age)) == NULL ||
		rp->purchase_date == NULL || rp->gender == NULL)
		abort();
	if (!iso8601_valid(rp->purchase_date))
		abort();
	if (strcmp(rp->gender, "Male") != 0 && strcmp(rp->gender, "Female") != 0)
		abort();
}

/* Renders errors as the 422 reply (stealing them) or drops them. */
static void
finish(json_t *errors)
{
	struct reply rep;

	memset(&rep, 0, sizeof(rep));
	if (json_array_size(errors) > 0)
	{
		reply_errors(&rep, errors);
		if (rep.status != 422 || rep.body == NULL)
			abort();
		reply_clear(&rep);
	}
	else
		json_decref(errors);
}

static void
one_purchase(json_t *obj, const char *a, const char *b, json_t *errors)
{
	struct raw_purchase rp;
	json_t	   *loc = loc_make(a, b);

	memset(&rp, 0, sizeof(rp));
	if (validate_raw_purchase(obj, loc, errors, &rp) == 0)
		check_record(&rp);
	json_decref(loc);
}

static void
preprocess(json_t *body)
{
	json_t	   *errors = json_array();
	json_t	   *loc = loc_make("body", NULL);
	json_t	   *params;

	if (!json_is_object(body))
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", body, NULL);
	else
	{
		if (json_object_get(body, "raw_data") == NULL)
			verr_add(errors, loc, "raw_data", "missing", "Field required", body, NULL);
		else
			one_purchase(json_object_get(body, "raw_data"), "body", "raw_data", errors);
		params = json_object_get(body, "standardization_params");
		if (params == NULL)
			verr_add(errors, loc, "standardization_params", "missing", "Field required", body, NULL);
		else if (!json_is_object(params))
			verr_add(errors, loc, "standardization_params", "dict_type",
					 "Input should be a valid dictionary", params, NULL);
	}
	json_decref(loc);
	finish(errors);
}

static void
model_fields(json_t *body, json_t *errors)
{
	json_t	   *loc = loc_make("body", NULL);
	const char *name = validate_string(body, loc, "model_name", errors, 0);
	const char *version = validate_string(body, loc, "model_version", errors, 1);

	if (name)
		(void) strlen(name);
	if (version)
		(void) strlen(version);
	json_decref(loc);
}

static void
predict(json_t *body)
{
	json_t	   *errors = json_array();
	json_t	   *loc = loc_make("body", NULL);

	if (!json_is_object(body))
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", body, NULL);
	else
	{
		model_fields(body, errors);
		if (json_object_get(body, "purchase_data") == NULL)
			verr_add(errors, loc, "purchase_data", "missing", "Field required", body, NULL);
		else
			one_purchase(json_object_get(body, "purchase_data"), "body", "purchase_data", errors);
	}
	json_decref(loc);
	finish(errors);
}

/* /predict_batch (with model fields) and /purchases (object or bare list). */
static void
batch(json_t *body, int with_model)
{
	json_t	   *errors = json_array();
	json_t	   *loc = loc_make("body", NULL);
	json_t	   *list = NULL;
	json_t	   *item;
	size_t		i;

	if (!with_model && json_is_array(body))
		list = body;
	else if (!json_is_object(body))
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", body, NULL);
	else
	{
		if (with_model)
			model_fields(body, errors);
		list = json_object_get(body, "purchases");
		if (list == NULL)
			verr_add(errors, loc, "purchases", "missing", "Field required", body, NULL);
		else if (!json_is_array(list))
			verr_add(errors, loc, "purchases", "list_type", "Input should be a valid list", list, NULL);
		else if (json_array_size(list) > PREDICT_BATCH_MAX)
			verr_add(errors, loc, "purchases", "too_long", "List too long", NULL, NULL);
	}
	if (json_is_array(list) && json_array_size(list) <= PREDICT_BATCH_MAX)
	{
		json_array_foreach(list, i, item)
		{
			struct raw_purchase rp;
			json_t	   *iloc = json_pack("[s,s,I]", "body", "purchases", (json_int_t) i);

			memset(&rp, 0, sizeof(rp));
			if (validate_raw_purchase(item, iloc, errors, &rp) == 0)
				check_record(&rp);
			json_decref(iloc);
			if (json_array_size(errors) >= 100)
				break;
		}
	}
	json_decref(loc);
	finish(errors);
}

/* iso8601_valid on every string in the document, depth-limited. */
static void
all_strings(json_t *j, int depth)
{
	const char *key;
	json_t	   *v;
	size_t		i;

	if (depth > 32)
		return;
	if (json_is_string(j))
		(void) iso8601_valid(json_string_value(j));
	else if (json_is_array(j))
	{
		json_array_foreach(j, i, v)
			all_strings(v, depth + 1);
	}
	else if (json_is_object(j))
	{
		json_object_foreach(j, key, v)
		{
			(void) iso8601_valid(key);
			all_strings(v, depth + 1);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	struct reply rep;
	json_t	   *body;
	char	   *text;

	/* the services hand handlers a NUL-terminated copy of the body */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void) iso8601_valid(text);

	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	req.method = "POST";
	req.path = "/predict";
	req.body = text;
	req.body_len = size;
	body = request_json(&req, &rep);
	if (body == NULL)
	{
		if (rep.status != 422 || rep.body == NULL)
			abort();
		reply_clear(&rep);
		free(text);
		return 0;
	}
	preprocess(body);
	predict(body);
	batch(body, 1);
	batch(body, 0);
	all_strings(body, 0);
	json_decref(body);
	reply_clear(&rep);
	free(text);
	return 0;
}
