/*
 * inference.c — mlpipe-inference, the prediction service (port 8002).
 *
 * One purchase or a batch of purchases in, next month's amount out; each
 * request is at most one database round trip (mlpipe_predict or
 * mlpipe_predict_batch), features and model evaluation happen inside
 * PostgreSQL.  /predict is deferred (service.h): concurrent ones share a
 * round trip, mlpipe_predict over arrays of their parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oip_http.h"
#include "prediction.h"
#include "predlog.h"
#include "service.h"
#include "web.h"
#include "validate.h"

enum
{
	ST_PREDICT,
	ST_PREDICT_MANY,
	ST_BATCH,
	ST_LIST,
	ST_OIP_META,
	ST_OIP_INFER_RAW,
	ST_OIP_INFER_FEATURES
};

/*
 * Replies name the version that answered ("model_version"): the version,
 * '@alias' or latest of the request is resolved once per statement
 * (mlpipe_model_version, remembered per backend like prediction's own
 * lookup) and that version predicts, so an alias flipped meanwhile cannot
 * make the reply name one version and the amount come from another.  A
 * /predict answers "<version> <amount>" in one text value, as the
 * coalescer carries one value per request; versions hold no space.
 */
static const struct db_statement statements[] = {
	/* the Open Inference Protocol V2 (oip_http.h) */
	[ST_OIP_META] = {"oip_meta", OIP_SQL_META, 2, 1},
	[ST_OIP_INFER_RAW] = {"oip_infer_raw", OIP_SQL_INFER_RAW, 8, 1},
	[ST_OIP_INFER_FEATURES] = {"oip_infer_features", OIP_SQL_INFER_FEATURES, 3, 1},
	[ST_PREDICT] = {"predict",
		"SELECT v || ' ' || mlpipe_predict($1::text, v, $3::bigint, $4::timestamptz, "
		"$5::float8, $6::float8, $7::integer, $8::text)::text "
		"FROM mlpipe_model_version($1::text, $2::text) AS v",
	8, 1},
	/* ST_PREDICT's batch form, for concurrent requests (coalesce.h) */
	[ST_PREDICT_MANY] = {"predict_many",
		"SELECT n, v || ' ' || mlpipe_predict(m, v, c, d, a, i, g, s)::text "
		"FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], "
		"$5::float8[], $6::float8[], $7::integer[], $8::text[]) "
		"WITH ORDINALITY AS u(m, mv, c, d, a, i, g, s, n), "
		"LATERAL mlpipe_model_version(m, mv) AS v",
	8, 1},
	[ST_BATCH] = {"predict_batch",
		"SELECT v, mlpipe_predict_batch($1::text, v, $3::jsonb)::text "
		"FROM mlpipe_model_version($1::text, $2::text) AS v",
	3, 1},
	[ST_LIST] = {"list", "SELECT mlpipe_list_models()::text", 0, 1},
};

/* A 404 from the database means the model (or that version) does not exist. */
static void
reply_model_error(struct reply *rep, const struct db_error *err, const struct model_ref *model)
{
	if (err->http_status == 404)
		reply_model_not_found(rep, model->name, model->version, err);
	else
		reply_db_error(rep, err);
}

/* A /predict waiting for the database: the body keeps the request's strings alive. */
struct pending_predict
{
	json_t	   *body;
	struct predict_request pr;
};

static void
finish_predict(void *arg, const char *value, const struct db_error *err, struct reply *rep)
{
	struct pending_predict *pp = arg;
	const char *space = value ? strchr(value, ' ') : NULL;
	char		version[65];	/* mlpipe.models.version: 64 characters */
	json_t	   *v;

	if (err)
		reply_model_error(rep, err, &pp->pr.model);
	else if (space == NULL || space - value >= (ptrdiff_t) sizeof(version))
		reply_detail(rep, 500, "Internal Server Error");
	else
	{
		memcpy(version, value, space - value);
		version[space - value] = '\0';
		if (!reply_prediction_text(rep, pp->pr.purchase, space + 1, version))
		{
			v = json_real(strtod(space + 1, NULL));
			reply_json(rep, 200, prediction(pp->pr.purchase, v, version));
			json_decref(v);
		}
		predlog_offer(pp->pr.model.name, version, pp->pr.fields.customer_id,
					  pp->pr.fields.purchase_date, space + 1);
	}
	json_decref(pp->body);
	free(pp);
}

/* Hands the prediction to the coalescer; body is stolen. */
static void
predict_one(struct request *req, json_t *body, const struct predict_request *pr, struct reply *rep)
{
	const struct raw_purchase *rp = &pr->fields;
	const char *values[8] = {pr->model.name, pr->model.version, rp->customer_id,
		rp->purchase_date, rp->purchase_amount, rp->annual_income, rp->age, rp->gender};
	struct pending_predict *pp = malloc(sizeof(*pp));

	/* the job copies the values; the reply needs the model and the purchase */
	if (pp == NULL)
	{
		json_decref(body);
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	pp->body = body;
	pp->pr = *pr;
	if (request_defer(req, rep, ST_PREDICT, ST_PREDICT_MANY, values, 8, finish_predict, pp) != 0)
	{
		json_decref(body);
		free(pp);
	}
}

/* The sampled answers of a batch to the prediction log. */
static void
log_batch(const char *model_name, const char *version, json_t *list, json_t *preds)
{
	json_t	   *item;
	size_t		i;

	json_array_foreach(list, i, item)
	{
		json_t	   *value = json_array_get(preds, i);
		json_t	   *id = json_object_get(item, "customer_id");
		char		id_text[24];
		char		value_text[32];

		if (!predlog_sample() || !json_is_number(value))
			continue;
		/* validated: an integer, or a float without fraction */
		if (json_is_integer(id))
			snprintf(id_text, sizeof(id_text), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		else
			snprintf(id_text, sizeof(id_text), "%.0f", json_number_value(id));
		snprintf(value_text, sizeof(value_text), "%.17g", json_number_value(value));
		predlog_add(model_name, version, id_text,
					json_string_value(json_object_get(item, "purchase_date")), value_text);
	}
}

/* One mlpipe_predict_batch call; the reply keeps the order of the request. */
static void
predict_batch(const struct batch_request *br, struct reply *rep)
{
	json_t	   *list = br->purchases;
	json_t	   *out = json_array();
	json_t	   *preds;
	json_t	   *item;
	char	   *text;
	const char *values[3];
	struct db_error err;
	PGresult   *res;
	char	   *version;
	size_t		i;

	/* nothing to predict: no version answered */
	if (json_array_size(list) == 0)
	{
		reply_json(rep, 200, json_pack("{s:n,s:o}", "model_version", "predictions", out));
		return;
	}
	text = json_dumps(list, JSON_COMPACT);
	if (text == NULL)
	{
		json_decref(out);
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	values[0] = br->model.name;
	values[1] = br->model.version;
	values[2] = text;
	res = db_exec(ST_BATCH, values, NULL, NULL, 0, &err);
	free(text);
	if (res == NULL)
	{
		json_decref(out);
		reply_model_error(rep, &err, &br->model);
		return;
	}
	/* one row: the version that answered, the predictions */
	version = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
	preds = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 1), JSON_DECODE_ANY, NULL) : NULL;
	PQclear(res);
	if (version == NULL || !json_is_array(preds) || json_array_size(preds) != json_array_size(list))
	{
		free(version);
		json_decref(preds);
		json_decref(out);
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	json_array_foreach(list, i, item)
		json_array_append_new(out, prediction(item, json_array_get(preds, i), NULL));
	log_batch(br->model.name, version, list, preds);
	json_decref(preds);
	reply_json(rep, 200, json_pack("{s:s,s:o}", "model_version", version, "predictions", out));
	free(version);
}

static void
handle_predict(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	struct predict_request pr;

	if (body == NULL)
		return;
	errors = json_array();
	parse_predict_request(body, errors, &pr);
	if (reply_if_invalid(rep, errors))
		json_decref(body);
	else
		predict_one(req, body, &pr, rep);
}

static void
handle_predict_batch(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	struct batch_request br;

	if (body == NULL)
		return;
	errors = json_array();
	parse_batch_request(body, errors, &br);
	if (!reply_if_invalid(rep, errors))
		predict_batch(&br, rep);
	json_decref(body);
}

static void
handle_models(struct request *req, struct reply *rep)
{
	struct db_error err;
	PGresult   *res = db_exec(ST_LIST, NULL, NULL, NULL, 0, &err);
	json_t	   *list;

	if (res == NULL)
	{
		reply_db_error(rep, &err);
		return;
	}
	list = db_result_json(res);
	if (list == NULL)
		list = json_array();
	if (!reply_if_bad_paging(req, rep, &list))
		reply_json(rep, 200, list);
}

/* this service's OpenAPI document, served at /openapi.json (web.h) */
EMBED(service_openapi, MLPIPE_SERVICES_DIR "/inference/openapi.json");

static const struct route routes[] = {
	OIP_ROUTES,
	{"POST", "/predict", handle_predict, ROUTE_DEFER},
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
		"Prediction log (a sample of answers written to mlpipe.predictions):\n"
		"  MLPIPE_PREDICTION_LOG_RATE  share of answers logged, 0..1 (default 0.01,\n"
		"                      0 = off); a full or failing log drops rows and counts\n"
		"                      them in /metrics, it never slows a prediction\n"
		"  MLPIPE_PREDICTION_LOG_URL   where to log (default: DATABASE_URL / PG*),\n"
		"                      e.g. the primary when DATABASE_URL is a standby\n"
		"  MLPIPE_PREDICTION_LOG_ROLE  role the log's session SETs (default\n"
		"                      mlpipe_predlog: INSERT on mlpipe.predictions; empty: none)\n",
	};
	int			status;

	oip_statements(ST_OIP_META, ST_OIP_INFER_RAW, ST_OIP_INFER_FEATURES);
	if (predlog_configure(svc.name) != 0)
		return 2;
	status = service_main(&svc, argc, argv);
	predlog_stop();
	return status;
}
