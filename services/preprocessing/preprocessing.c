/*
 * preprocessing.c — mlpipe-preprocessing, the feature service (port 8001).
 *
 * POST /preprocess turns one raw purchase into the 19 named features with
 * mlpipe_preprocess (the same C code that builds the training rows);
 * POST /purchases ingests raw purchases into mlpipe.purchases.
 */
#include <stdlib.h>

#include "service.h"
#include "web.h"
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
preprocess(const struct preprocess_request *pr, struct reply *rep)
{
	const struct raw_purchase *rp = &pr->raw;
	char	   *params_text = json_dumps(pr->params, JSON_COMPACT);
	const char *values[7] = {rp->customer_id, rp->purchase_date, rp->purchase_amount,
		rp->annual_income, rp->age, rp->gender, params_text};
	struct db_error err;
	PGresult   *res = db_exec(ST_PREPROCESS, values, NULL, NULL, 0, &err);
	json_t	   *features;

	free(params_text);
	if (res == NULL)
	{
		reply_db_error(rep, &err);
		return;
	}
	features = db_result_json(res);
	if (features == NULL)
		reply_detail(rep, 500, "Internal Server Error");
	else
		reply_json(rep, 200, json_pack("{s:o}", "features", features));
}

/* All or nothing: one mlpipe_ingest_purchases call inserts the whole list. */
static void
ingest(const struct purchases_request *pr, struct reply *rep)
{
	const char *values[1];
	char	   *text;
	struct db_error err;
	PGresult   *res;

	if (json_array_size(pr->purchases) == 0)
	{
		reply_json(rep, 201, json_pack("{s:i}", "inserted", 0));
		return;
	}
	text = json_dumps(pr->purchases, JSON_COMPACT);
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
}

static void
handle_preprocess(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	struct preprocess_request pr;

	if (body == NULL)
		return;
	errors = json_array();
	parse_preprocess_request(body, errors, &pr);
	if (!reply_if_invalid(rep, errors))
		preprocess(&pr, rep);
	json_decref(body);
}

/* Ingest: a JSON array of raw_data objects, or {"purchases": [...]}. */
static void
handle_purchases(struct request *req, struct reply *rep)
{
	json_t	   *body = request_json(req, rep);
	json_t	   *errors;
	struct purchases_request pr;

	if (body == NULL)
		return;
	errors = json_array();
	parse_purchases_request(body, errors, &pr);
	if (!reply_if_invalid(rep, errors))
		ingest(&pr, rep);
	json_decref(body);
}

/* this service's OpenAPI document, served at /openapi.json (web.h) */
EMBED(service_openapi, MLPIPE_SERVICES_DIR "/preprocessing/openapi.json");

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
		NULL,
	};

	return service_main(&svc, argc, argv);
}
