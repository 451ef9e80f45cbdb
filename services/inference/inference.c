/*
 * inference.c — mlpipe-inference, the prediction service (port 8002).
 *
 * One purchase or a batch of purchases in, next month's amount out; each
 * request is exactly one database round trip (mlpipe_predict or
 * mlpipe_predict_batch), features and model evaluation happen inside
 * PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "validate.h"

enum
{
	ST_PREDICT,
	ST_BATCH,
	ST_LIST
};

static const struct db_statement statements[] = {
	[ST_PREDICT] = {"predict",
		"SELECT mlpipe_predict($1::text, $2::text, $3::bigint, $4::timestamptz, "
		"$5::float8, $6::float8, $7::integer, $8::text)",
	8, 1},
	[ST_BATCH] = {"predict_batch",
	"SELECT mlpipe_predict_batch($1::text, $2::text, $3::jsonb)::text", 3, 1},
	[ST_LIST] = {"list", "SELECT mlpipe_list_models()::text", 0, 1},
};

/* model_name (required string) and model_version (optional string or null). */
static void
model_fields(json_t *body, json_t *errors, const char **name, const char **version)
{
	json_t	   *loc = loc_make("body", NULL);

	*name = validate_string(body, loc, "model_name", errors, 0);
	*version = validate_string(body, loc, "model_version", errors, 1);
	json_decref(loc);
}

static void
reply_model_not_found(struct reply *rep, const struct db_error *err,
					  const char *name, const char *version)
{
	if (err->http_status != 404)
	{
		reply_db_error(rep, err);
		return;
	}
	if (version)
		reply_detail(rep, 404, "Model %s version %s not found", name, version);
	else
		reply_detail(rep, 404, "Model %s not found", name);
}

/* value is borrowed; a non-number (the extension's null) stays null */
static json_t *
prediction(json_t *purchase, json_t *value)
{
	return json_pack("{s:O,s:O,s:o}",
					 "customer_id", json_object_get(purchase, "customer_id"),
					 "purchase_date", json_object_get(purchase, "purchase_date"),
					 "predicted_purchase_amount",
					 json_is_number(value) ? json_real(json_number_value(value)) : json_null());
}

static void
handle_predict(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	json_t	   *loc;
	json_t	   *purchase;
	const char *name = NULL;
	const char *version = NULL;
	struct raw_purchase rp;
	const char *values[8];
	struct db_error err;
	PGresult   *res;

	if (body == NULL)
		return;
	errors = json_array();
	loc = loc_make("body", NULL);
	if (!json_is_object(body))
	{
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", body, NULL);
		json_decref(loc);
		goto invalid;
	}
	model_fields(body, errors, &name, &version);
	purchase = json_object_get(body, "purchase_data");
	if (purchase == NULL)
		verr_add(errors, loc, "purchase_data", "missing", "Field required", body, NULL);
	else
	{
		json_t	   *ploc = loc_make("body", "purchase_data");

		validate_raw_purchase(purchase, ploc, errors, &rp);
		json_decref(ploc);
	}
	json_decref(loc);
	if (json_array_size(errors) > 0)
		goto invalid;
	json_decref(errors);

	values[0] = name;
	values[1] = version;
	values[2] = rp.customer_id;
	values[3] = rp.purchase_date;
	values[4] = rp.purchase_amount;
	values[5] = rp.annual_income;
	values[6] = rp.age;
	values[7] = rp.gender;
	res = db_exec(ST_PREDICT, values, NULL, NULL, 0, &err);
	if (res == NULL)
		reply_model_not_found(rep, &err, name, version);
	else
	{
		if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
			reply_detail(rep, 500, "Internal Server Error");
		else
		{
			json_t	   *v = json_real(strtod(PQgetvalue(res, 0, 0), NULL));

			reply_json(rep, 200, prediction(purchase, v));
			json_decref(v);
		}
		PQclear(res);
	}
	json_decref(body);
	return;

invalid:
	reply_errors(rep, errors);
	json_decref(body);
}

static void
handle_predict_batch(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	json_t	   *loc;
	json_t	   *list;
	json_t	   *item;
	json_t	   *preds = NULL;
	json_t	   *out;
	const char *name = NULL;
	const char *version = NULL;
	char	   *text;
	const char *values[3];
	struct db_error err;
	PGresult   *res;
	size_t		i;

	if (body == NULL)
		return;
	errors = json_array();
	loc = loc_make("body", NULL);
	if (!json_is_object(body))
	{
		verr_add(errors, loc, NULL, "model_attributes_type",
				 "Input should be a valid dictionary or object to extract fields from", body, NULL);
		json_decref(loc);
		goto invalid;
	}
	model_fields(body, errors, &name, &version);
	list = json_object_get(body, "purchases");
	if (list == NULL)
		verr_add(errors, loc, "purchases", "missing", "Field required", body, NULL);
	else if (!json_is_array(list))
		verr_add(errors, loc, "purchases", "list_type", "Input should be a valid list", list, NULL);
	else if (json_array_size(list) > PREDICT_BATCH_MAX)
	{
		char		msg[128];

		snprintf(msg, sizeof(msg), "List should have at most %d items after validation, not %zu",
				 PREDICT_BATCH_MAX, json_array_size(list));
		verr_add(errors, loc, "purchases", "too_long", msg, NULL,
				 json_pack("{s:s,s:i,s:I}", "field_type", "List", "max_length", PREDICT_BATCH_MAX,
						   "actual_length", (json_int_t) json_array_size(list)));
	}
	else
	{
		json_array_foreach(list, i, item)
		{
			struct raw_purchase rp;
			json_t	   *iloc = json_pack("[s,s,I]", "body", "purchases", (json_int_t) i);

			validate_raw_purchase(item, iloc, errors, &rp);
			json_decref(iloc);
			if (json_array_size(errors) >= 100)
				break;
		}
	}
	json_decref(loc);
	if (json_array_size(errors) > 0)
		goto invalid;
	json_decref(errors);

	out = json_array();
	if (json_array_size(list) > 0)
	{
		text = json_dumps(list, JSON_COMPACT);
		values[0] = name;
		values[1] = version;
		values[2] = text;
		res = text ? db_exec(ST_BATCH, values, NULL, NULL, 0, &err) : NULL;
		free(text);
		if (res == NULL)
		{
			json_decref(out);
			if (text == NULL)
				reply_detail(rep, 500, "Internal Server Error");
			else
				reply_model_not_found(rep, &err, name, version);
			json_decref(body);
			return;
		}
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
			preds = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		PQclear(res);
		if (!json_is_array(preds) || json_array_size(preds) != json_array_size(list))
		{
			json_decref(preds);
			json_decref(out);
			json_decref(body);
			reply_detail(rep, 500, "Internal Server Error");
			return;
		}
		json_array_foreach(list, i, item)
			json_array_append_new(out, prediction(item, json_array_get(preds, i)));
		json_decref(preds);
	}
	reply_json(rep, 200, json_pack("{s:o}", "predictions", out));
	json_decref(body);
	return;

invalid:
	reply_errors(rep, errors);
	json_decref(body);
}

static void
handle_models(struct request *req, struct reply *rep)
{
	struct db_error err;
	PGresult   *res = db_exec(ST_LIST, NULL, NULL, NULL, 0, &err);
	json_t	   *list = NULL;

	(void) req;
	if (res == NULL)
	{
		reply_db_error(rep, &err);
		return;
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		list = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	reply_json(rep, 200, list ? list : json_array());
}

static const struct route routes[] = {
	{"POST", "/predict", handle_predict, 0},
	{"POST", "/predict/batch", handle_predict_batch, ROUTE_BULK},
	{"GET", "/models", handle_models, 0},
};

int
main(int argc, char **argv)
{
	static const struct service svc = {
		"mlpipe-inference",
		"mlpipe inference: next month's purchase amount for one purchase or a batch.",
		8002,
		routes, sizeof(routes) / sizeof(routes[0]),
		statements, sizeof(statements) / sizeof(statements[0]),
	};

	return service_main(&svc, argc, argv);
}
