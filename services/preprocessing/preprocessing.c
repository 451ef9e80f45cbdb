/*
 * preprocessing.c — mlpipe-preprocessing, the feature service (port 8001).
 *
 * POST /preprocess turns one raw purchase into the 19 named features with
 * mlpipe_preprocess (the same C code that builds the training rows);
 * POST /purchases ingests raw purchases into mlpipe.purchases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "validate.h"

enum
{
	ST_PREPROCESS,
	ST_INGEST
};

static const struct db_statement statements[] = {
	[ST_PREPROCESS] = {"preprocess",
		"SELECT mlpipe_preprocess($1::bigint, $2::timestamptz, $3::float8, $4::float8, "
		"$5::integer, $6::text, $7::jsonb)::text",
	7, 1},
	[ST_INGEST] = {"ingest", "SELECT mlpipe_ingest_purchases($1::jsonb)", 1, 0},
};

static void
handle_preprocess(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	json_t	   *loc;
	json_t	   *params;
	struct raw_purchase rp;
	char	   *params_text = NULL;
	const char *values[7];
	struct db_error err;
	PGresult   *res;
	json_t	   *features;

	if (body == NULL)
		return;
	errors = json_array();
	if (!json_is_object(body))
	{
		loc = loc_make("body", NULL);
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", body, NULL);
		json_decref(loc);
		goto invalid;
	}
	loc = loc_make("body", NULL);
	if (json_object_get(body, "raw_data") == NULL)
		verr_add(errors, loc, "raw_data", "missing", "Field required", body, NULL);
	else
	{
		json_t	   *rloc = loc_make("body", "raw_data");

		validate_raw_purchase(json_object_get(body, "raw_data"), rloc, errors, &rp);
		json_decref(rloc);
	}
	params = json_object_get(body, "standardization_params");
	if (params == NULL)
		verr_add(errors, loc, "standardization_params", "missing", "Field required", body, NULL);
	else if (!json_is_object(params))
		verr_add(errors, loc, "standardization_params", "dict_type",
				 "Input should be a valid dictionary", params, NULL);
	json_decref(loc);
	if (json_array_size(errors) > 0)
		goto invalid;
	json_decref(errors);

	params_text = json_dumps(params, JSON_COMPACT);
	values[0] = rp.customer_id;
	values[1] = rp.purchase_date;
	values[2] = rp.purchase_amount;
	values[3] = rp.annual_income;
	values[4] = rp.age;
	values[5] = rp.gender;
	values[6] = params_text;
	res = db_exec(ST_PREPROCESS, values, NULL, NULL, 0, &err);
	if (res == NULL)
		reply_db_error(rep, &err);
	else
	{
		features = PQgetisnull(res, 0, 0) ? NULL
			: json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
		PQclear(res);
		if (features == NULL)
			reply_detail(rep, 500, "Internal Server Error");
		else
			reply_json(rep, 200, json_pack("{s:o}", "features", features));
	}
	free(params_text);
	json_decref(body);
	return;

invalid:
	reply_errors(rep, errors);
	json_decref(body);
}

/* Ingest: a JSON array of raw_data objects, or {"purchases": [...]}; all or nothing. */
static void
handle_purchases(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *list;
	json_t	   *loc;
	json_t	   *errors;
	size_t		i;
	json_t	   *item;
	char	   *text;
	const char *values[1];
	struct db_error err;
	PGresult   *res;

	if (body == NULL)
		return;
	errors = json_array();
	if (json_is_array(body))
	{
		list = body;
		loc = loc_make("body", NULL);
	}
	else if (json_is_object(body) && json_object_get(body, "purchases"))
	{
		list = json_object_get(body, "purchases");
		loc = loc_make("body", "purchases");
	}
	else
	{
		loc = loc_make("body", NULL);
		verr_add(errors, loc, json_is_object(body) ? "purchases" : NULL,
				 json_is_object(body) ? "missing" : "list_type",
				 json_is_object(body) ? "Field required" : "Input should be a valid list",
				 body, NULL);
		json_decref(loc);
		goto invalid;
	}
	if (!json_is_array(list))
		verr_add(errors, loc, NULL, "list_type", "Input should be a valid list", list, NULL);
	else
	{
		json_array_foreach(list, i, item)
		{
			struct raw_purchase rp;
			json_t	   *iloc = json_copy(loc);

			json_array_append_new(iloc, json_integer((json_int_t) i));
			validate_raw_purchase(item, iloc, errors, &rp);
			json_decref(iloc);
			if (json_array_size(errors) >= 100)
				break;			/* enough to fix; don't build a huge reply */
		}
	}
	json_decref(loc);
	if (json_array_size(errors) > 0)
		goto invalid;
	json_decref(errors);

	if (json_array_size(list) == 0)
	{
		json_decref(body);
		reply_json(rep, 201, json_pack("{s:i}", "inserted", 0));
		return;
	}
	text = json_dumps(list, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
	{
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	values[0] = text;
	res = db_exec(ST_INGEST, values, NULL, NULL, 0, &err);
	free(text);
	if (res == NULL)
	{
		reply_db_error(rep, &err);
		return;
	}
	reply_json(rep, 201, json_pack("{s:I}", "inserted",
								   (json_int_t) strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
	PQclear(res);
	return;

invalid:
	reply_errors(rep, errors);
	json_decref(body);
}

static const struct route routes[] = {
	{"POST", "/preprocess", handle_preprocess, 0},
	{"POST", "/purchases", handle_purchases, ROUTE_AUTH | ROUTE_BULK},
};

int
main(int argc, char **argv)
{
	static const struct service svc = {
		"mlpipe-preprocessing",
		"mlpipe preprocessing: features of one purchase, ingest of raw purchases.",
		8001,
		routes, sizeof(routes) / sizeof(routes[0]),
		statements, sizeof(statements) / sizeof(statements[0]),
	};

	return service_main(&svc, argc, argv);
}
