/*
 * oip_http.c — the Open Inference Protocol V2 routes (oip_http.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oip.h"
#include "oip_http.h"
#include "utf8.h"
#include "validate.h"

static int	st_meta = -1,
			st_infer_raw = -1,
			st_infer_features = -1;

void
oip_statements(int meta, int infer_raw, int infer_features)
{
	st_meta = meta;
	st_infer_raw = infer_raw;
	st_infer_features = infer_features;
}

static void
reply_error(struct reply *rep, unsigned status, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

/* The protocol's error body: {"error": "..."} */
static void
reply_error(struct reply *rep, unsigned status, const char *fmt,...)
{
	char		msg[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_scrub(msg, strlen(msg));
	reply_json(rep, status, json_pack("{s:s}", "error", msg));
}

/* The model of the path: name, and version (NULL: latest; "@alias" kept). */
struct model_path
{
	const char *name;
	const char *version;
};

static void
reply_not_found(struct reply *rep, const struct model_path *m)
{
	if (m->version)
		reply_error(rep, 404, "Model %s version %s not found", m->name, m->version);
	else
		reply_error(rep, 404, "Model %s not found", m->name);
}

/* 1 when the path names a model that may exist; else a 404 is in rep */
static int
model_path(const struct request *req, struct reply *rep, struct model_path *m)
{
	const char *v;

	m->name = req->params[0];
	m->version = req->nparams > 1 ? req->params[1] : NULL;
	v = m->version;
	if (model_ident_valid(IDENT_MODEL_NAME, m->name, strlen(m->name)) &&
		(v == NULL || model_ident_valid(IDENT_MODEL_VERSION, v, strlen(v)) ||
		 (v[0] == '@' && v[1] >= 'a' && v[1] <= 'z' &&
		  model_ident_valid(IDENT_MODEL_VERSION, v + 1, strlen(v + 1)))))
		return 1;
	reply_not_found(rep, m);
	return 0;
}

/* A failed statement in the protocol's shape: 404, 400 for bad values, 503, 500. */
static void
reply_db_failure(struct reply *rep, const struct db_error *err, const struct model_path *m)
{
	switch (err->http_status)
	{
		case 404:
			reply_not_found(rep, m);
			break;
		case 503:
			reply_error(rep, 503, "Database unavailable");
			break;
		case 422:
		case 415:
		case 409:
			reply_error(rep, 400, "%s", err->message);
			break;
		default:
			/* logged with the real message, then the generic answer */
			reply_db_error(rep, err);
			reply_error(rep, 500, "Internal Server Error");
	}
}

void
oip_handle_live(struct request *req, struct reply *rep)
{
	(void) req;
	reply_json(rep, 200, json_pack("{s:b}", "live", 1));
}

void
oip_handle_server_ready(struct request *req, struct reply *rep)
{
	struct db_error err;
	int			ready = db_ping(&err);

	(void) req;
	reply_json(rep, ready ? 200 : 503, json_pack("{s:b}", "ready", ready));
}

/* The version that answers and every version; NULL with rep filled on error. */
static PGresult *
resolve(const struct model_path *m, struct reply *rep)
{
	const char *values[2] = {m->name, m->version};
	struct db_error err;
	PGresult   *res = db_exec(st_meta, values, NULL, NULL, 0, &err);

	if (res == NULL)
	{
		reply_db_failure(rep, &err, m);
		return NULL;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		reply_not_found(rep, m);
		return NULL;
	}
	return res;
}

static json_t *
tensor(const char *name, const char *datatype, int rows, int cols)
{
	return cols ? json_pack("{s:s,s:s,s:[i,i]}", "name", name, "datatype", datatype, "shape", rows, cols)
		: json_pack("{s:s,s:s,s:[i]}", "name", name, "datatype", datatype, "shape", rows);
}

void
oip_handle_metadata(struct request *req, struct reply *rep)
{
	struct model_path m;
	PGresult   *res;
	json_t	   *inputs;
	json_t	   *out;

	if (!model_path(req, rep, &m) || (res = resolve(&m, rep)) == NULL)
		return;
	/* -1: any number of rows; "features" is the other form, alone */
	inputs = json_array();
	for (int k = 0; k < OIP_NRAW; k++)
		json_array_append_new(inputs, tensor(oip_raw_names[k], oip_raw_types[k], -1, 0));
	json_array_append_new(inputs, tensor("features", "FP64", -1, OIP_NFEATURES));
	out = json_pack("{s:s,s:s,s:o,s:s,s:o,s:[o,o]}",
					"name", m.name,
					"version", PQgetvalue(res, 0, 0),
					"versions", json_loads(PQgetvalue(res, 0, 1), 0, NULL),
					"platform", "mlpipe (XGBoost models evaluated in PostgreSQL)",
					"inputs", inputs,
					"outputs",
					tensor(oip_output_name(OIP_RAW), "FP64", -1, 0),
					tensor(oip_output_name(OIP_FEATURES), "FP64", -1, 0));
	PQclear(res);
	if (out == NULL)
		reply_error(rep, 500, "Internal Server Error");
	else
		reply_json(rep, 200, out);
}

void
oip_handle_model_ready(struct request *req, struct reply *rep)
{
	struct model_path m;
	PGresult   *res;

	if (!model_path(req, rep, &m) || (res = resolve(&m, rep)) == NULL)
		return;
	reply_json(rep, 200, json_pack("{s:s,s:s,s:b}", "name", m.name,
								   "version", PQgetvalue(res, 0, 0), "ready", 1));
	PQclear(res);
}

void
oip_handle_infer(struct request *req, struct reply *rep)
{
	struct model_path m;
	struct oip_request r;
	struct db_error err;
	json_error_t jerr;
	json_t	   *body;
	PGresult   *res;
	const char *values[8];
	char		msg[512];
	char	   *text;
	size_t		len = 0;

	if (!model_path(req, rep, &m))
		return;
	body = json_loadb(req->body, req->body_len, 0, &jerr);
	if (body == NULL)
	{
		reply_error(rep, 400, "the body is not JSON: %s (at byte %d)", jerr.text, jerr.position);
		return;
	}
	if (oip_parse_infer(body, &r, msg, sizeof(msg)) != 0)
	{
		reply_error(rep, 400, "%s", msg);
		json_decref(body);
		return;
	}
	values[0] = m.name;
	values[1] = m.version;
	for (int k = 0; k < OIP_NRAW; k++)
		values[2 + k] = r.arrays[k];
	res = db_exec(r.form == OIP_RAW ? st_infer_raw : st_infer_features, values, NULL, NULL, 0, &err);
	if (res == NULL)
		reply_db_failure(rep, &err, &m);
	else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		reply_not_found(rep, &m);
	else
	{
		/* no rows: array_agg gives NULL */
		text = oip_infer_reply(m.name, PQgetvalue(res, 0, 0), r.id, r.form, r.rows,
							   PQgetisnull(res, 0, 1) ? "{}" : PQgetvalue(res, 0, 1), &len);
		if (text == NULL)
			reply_error(rep, 500, "Internal Server Error");
		else
		{
			reply_clear(rep);
			rep->status = 200;
			rep->body = text;
			rep->body_len = len;
		}
	}
	if (res)
		PQclear(res);
	oip_request_free(&r);
	json_decref(body);
}
