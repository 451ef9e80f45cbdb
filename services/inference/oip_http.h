/*
 * oip_http.h — the Open Inference Protocol V2 routes of mlpipe-inference
 * (SPEC section 8): server and model health, model metadata, infer; each
 * model route also under /versions/{version}, where the version may be
 * @alias.  Errors on these routes are the protocol's {"error": "..."}.
 *
 * inference.c owns the one statement table: it adds OIP_STATEMENTS' three
 * statements and tells this file their numbers with oip_statements().
 */
#ifndef MLPIPE_OIP_HTTP_H
#define MLPIPE_OIP_HTTP_H

#include "service.h"

/*
 * The version that answers ($1 name, $2 version, @alias or NULL for the
 * latest) and every version of the model.
 */
#define OIP_SQL_META \
	"SELECT mlpipe_model_info($1::text, $2::text)->>'version', " \
	"coalesce((SELECT e->'versions' FROM jsonb_array_elements(mlpipe_list_models()) e " \
	"WHERE e->>'model_name' = $1::text), '[]')::text"

/*
 * N raw purchases in one round trip: $3..$8 are the six columns as arrays;
 * the model row is resolved once, so every row uses the same version.
 */
#define OIP_SQL_INFER_RAW \
	"WITH m AS (SELECT mlpipe_model_info($1::text, $2::text)->>'version' AS v) " \
	"SELECT m.v, (SELECT array_agg(mlpipe_predict($1::text, m.v, c, d, a, i, g, s) ORDER BY n) " \
	"FROM unnest($3::bigint[], $4::timestamptz[], $5::float8[], $6::float8[], $7::integer[], " \
	"$8::text[]) WITH ORDINALITY AS u(c, d, a, i, g, s, n))::text FROM m"

/* N feature vectors: $3 is a text[] of float8[] literals, one per row */
#define OIP_SQL_INFER_FEATURES \
	"WITH m AS (SELECT mlpipe_model_info($1::text, $2::text)->>'version' AS v) " \
	"SELECT m.v, (SELECT array_agg(mlpipe_predict($1::text, m.v, r::float8[]) ORDER BY n) " \
	"FROM unnest($3::text[]) WITH ORDINALITY AS u(r, n))::text FROM m"

void		oip_statements(int meta, int infer_raw, int infer_features);

void		oip_handle_live(struct request *req, struct reply *rep);
void		oip_handle_server_ready(struct request *req, struct reply *rep);
void		oip_handle_metadata(struct request *req, struct reply *rep);
void		oip_handle_model_ready(struct request *req, struct reply *rep);
void		oip_handle_infer(struct request *req, struct reply *rep);

/* the routes, for inference.c's table */
#define OIP_ROUTES \
	{"GET", "/v2/health/live", oip_handle_live, 0}, \
	{"GET", "/v2/health/ready", oip_handle_server_ready, 0}, \
	{"GET", "/v2/models/{name}", oip_handle_metadata, 0}, \
	{"GET", "/v2/models/{name}/versions/{version}", oip_handle_metadata, 0}, \
	{"GET", "/v2/models/{name}/ready", oip_handle_model_ready, 0}, \
	{"GET", "/v2/models/{name}/versions/{version}/ready", oip_handle_model_ready, 0}, \
	{"POST", "/v2/models/{name}/infer", oip_handle_infer, ROUTE_BULK}, \
	{"POST", "/v2/models/{name}/versions/{version}/infer", oip_handle_infer, ROUTE_BULK}

#endif
