/*
 * registry.c — mlpipe-registry, the model registry service (port 8000).
 *
 * Models are rows of mlpipe.models, written and read through the extension's
 * mlpipe_* functions: this service only checks the form, sniffs the upload
 * and maps SQLSTATEs to the old pipeline's status codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_sniff.h"
#include "registry.h"
#include "importance.h"
#include "multipart.h"
#include "service.h"
#include "web.h"
#include "validate.h"

static const struct db_statement statements[] = {
	/* the artifact and the feature names training stored, for the importance */
	[ST_IMPORTANCE] = {"importance",
		"SELECT mlpipe_model_artifact($1::text, $2::text), i->>'version', "
		"(i->'additional_metadata'->'feature_names')::text "
		"FROM mlpipe_model_info($1::text, $2::text) i",
	2, 1},
	[ST_REGISTER] = {"register",
		"SELECT mlpipe_register_model($1::text, $2::text, $3::bytea, $4::jsonb, $5::jsonb, $6::jsonb)::text",
	6, 0},
	[ST_INFO] = {"info", "SELECT mlpipe_model_info($1::text, $2::text)::text", 2, 1},
	[ST_LIST] = {"list", "SELECT mlpipe_list_models()::text", 0, 1},
	/* the version that answered names the download; resolved once, so the two agree */
	[ST_ARTIFACT] = {"artifact",
		"SELECT v, mlpipe_model_artifact($1::text, v) FROM mlpipe_model_version($1::text, $2::text) AS v",
	2, 1},
	[ST_REMOVE] = {"remove", "SELECT mlpipe_remove_model($1::text, $2::text)::text", 2, 0},
	[ST_TRIALS] = {"trials", "SELECT mlpipe_tuning_trials($1::text)::text", 1, 1},
	[ST_ALIASES] = {"aliases", "SELECT mlpipe_list_aliases($1::text)::text", 1, 1},
	[ST_SET_ALIAS] = {"set_alias", "SELECT mlpipe_set_alias($1::text, $2::text, $3::text)::text", 3, 0},
	[ST_DELETE_ALIAS] = {"delete_alias", "SELECT mlpipe_delete_alias($1::text, $2::text)::text", 2, 0},
	[ST_ROLLBACK_ALIAS] = {"rollback_alias", "SELECT mlpipe_rollback_alias($1::text, $2::text)::text", 2, 0},
	[ST_HISTORY] = {"history", "SELECT mlpipe_alias_history($1::text)::text", 1, 1},
	/* monitoring: the version that answered, the since asked for, the rows */
	[ST_MONITOR] = {"monitor",
		"SELECT jsonb_build_object('model_name', $1::text,"
		" 'version', (SELECT m.version FROM mlpipe.models m"
		"             WHERE m.id = mlpipe.find_model_id($1::text, $2::text)),"
		" 'since', $3::timestamptz,"
		" 'months', coalesce((SELECT jsonb_agg(to_jsonb(r) ORDER BY r.month)"
		"                     FROM mlpipe_monitor($1::text, $2::text, $3::timestamptz) r), '[]'))::text",
	3, 1},
	[ST_DRIFT] = {"drift",
		"SELECT jsonb_build_object('model_name', $1::text,"
		" 'version', (SELECT m.version FROM mlpipe.models m"
		"             WHERE m.id = mlpipe.find_model_id($1::text, $2::text)),"
		" 'since', $3::timestamptz,"
		" 'features', (SELECT jsonb_agg(jsonb_build_object('feature', r.feature, 'psi', r.psi)"
		"                               ORDER BY r.n)"
		"              FROM mlpipe_drift($1::text, $2::text, $3::timestamptz)"
		"                   WITH ORDINALITY AS r(feature, psi, n)))::text",
	3, 1},
};

static const char *const json_fields[] = {
	"standardization_params", "model_params", "additional_metadata"
};

/*
 * Runs a statement that returns one jsonb text column and parses it.
 * NULL with rep filled on error (a NULL row means unknown model: 404).
 */
json_t *
query_json(int stmt, const char *const *values, struct reply *rep, const char *name,
		   const char *version)
{
	struct db_error err;
	PGresult   *res = db_exec(stmt, values, NULL, NULL, 0, &err);
	json_t	   *j;

	if (res == NULL)
	{
		/* 42704 from the extension: the old pipeline's wording, not the SQL one */
		if (err.http_status == 404 && name && name[0])
			reply_model_not_found(rep, name, version, &err);
		else
			reply_db_error(rep, &err);
		return NULL;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		PQclear(res);
		reply_model_not_found(rep, name, version, NULL);
		return NULL;
	}
	j = db_result_json(res);
	if (j == NULL)
		reply_detail(rep, 500, "Internal Server Error");
	return j;
}

/*
 * A name or version form field: mlpipe.models' patterns (validate.c), so the
 * client gets a 422 naming the field instead of a constraint violation, and
 * the value is safe in URL paths and file names.  No "input": a form field
 * may be any bytes.
 */
static int
check_identifier(enum model_ident kind, const char *field, const struct mp_part *part,
				 json_t *errors, char **out)
{
	json_t	   *loc = loc_make("body", NULL);
	int			ok = check_model_ident(kind, part->data, part->len, loc, field, NULL, errors);

	json_decref(loc);
	if (ok)
		*out = strndup(part->data, part->len);
	return ok;
}

/*
 * Path parameters {name}[/{version}]: one that breaks mlpipe.models' patterns
 * cannot name a model, so it is a 404 at once (what FastAPI answers for an
 * unknown model), without a database round trip for 5 kB of anything.  A
 * version may be '@alias'.
 */
int
path_model_valid(const struct request *req, struct reply *rep)
{
	const char *name = req->params[0];
	const char *version = req->nparams > 1 ? req->params[1] : NULL;

	if (model_ident_valid(IDENT_MODEL_NAME, name, strlen(name)) &&
		(version == NULL || model_ident_valid(IDENT_VERSION_REF, version, strlen(version))))
		return 1;
	reply_model_not_found(rep, name, version, NULL);
	return 0;
}

static void
handle_register(struct request *req, struct reply *rep)
{
	static const char *const required[] = {
		"model_name", "version", "standardization_params", "model_params", "model_file"
	};
	char		boundary[MULTIPART_MAX_BOUNDARY + 1];
	struct multipart mp;
	json_t	   *errors;
	json_t	   *loc;
	const struct mp_part *file;
	char	   *name = NULL;
	char	   *version = NULL;
	char	   *jsontext[3] = {NULL, NULL, NULL};
	const char *values[6];
	int			lengths[6] = {0};
	int			formats[6] = {0};
	struct db_error err;
	PGresult   *res;
	json_t	   *info;

	memset(&mp, 0, sizeof(mp));
	if (multipart_boundary(request_header(req, "Content-Type"), boundary, sizeof(boundary)) == 0)
	{
		if (multipart_parse(req->body, req->body_len, boundary, &mp) != 0)
		{
			reply_detail(rep, 400, "There was an error parsing the body");
			return;
		}
	}
	/* no multipart body at all: every field is missing, as FastAPI says */

	errors = json_array();
	loc = loc_make("body", NULL);
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (multipart_find(&mp, required[i]) == NULL)
			verr_add(errors, loc, required[i], "missing", "Field required", json_null(), NULL);
	if (json_array_size(errors) == 0)
	{
		check_identifier(IDENT_MODEL_NAME, "model_name", multipart_find(&mp, "model_name"),
						 errors, &name);
		check_identifier(IDENT_MODEL_VERSION, "version", multipart_find(&mp, "version"),
						 errors, &version);
		for (int i = 0; i < 3; i++)
		{
			const struct mp_part *p = multipart_find(&mp, json_fields[i]);
			json_error_t jerr;
			json_t	   *j;

			if (p == NULL)		/* additional_metadata is optional */
			{
				jsontext[i] = strdup("{}");
				continue;
			}
			j = json_loadb(p->data, p->len, JSON_DECODE_ANY, &jerr);
			if (j == NULL)
			{
				char		msg[300];

				snprintf(msg, sizeof(msg), "Invalid JSON: %s", jerr.text);
				verr_add(errors, loc, json_fields[i], "json_invalid", msg, NULL,
						 json_pack("{s:s}", "error", jerr.text));
				continue;
			}
			/*
			 * The text as the client sent it goes to the database: jansson
			 * would print 0.1 back as 0.10000000000000001, and jsonb keeps
			 * every number exactly as written.
			 */
			if (!json_is_object(j))
				verr_add(errors, loc, json_fields[i], "dict_type",
						 "Input should be a valid dictionary", j, NULL);
			else
				jsontext[i] = strndup(p->data, p->len);
			json_decref(j);
		}
	}
	json_decref(loc);
	if (json_array_size(errors) > 0)
	{
		reply_errors(rep, errors);
		goto done;
	}
	json_decref(errors);

	file = multipart_find(&mp, "model_file");
	{
		/*
		 * Refused here, before sending up to 64 MiB to the database: what
		 * cannot be an XGBoost model, by the extension's own sniffer.  Finer
		 * checks (JSON that is no model) are the extension's.
		 */
		MlpArtifactSniff sniffed;

		if (mlp_artifact_sniff(file->data, file->len, &sniffed) != MLP_ARTIFACT_JSON_OBJECT)
		{
			reply_detail(rep, 415, "Model file is not an XGBoost JSON model. %s %s",
						 sniffed.description, mlp_artifact_export_hint);
			goto done;
		}
	}

	values[0] = name;
	values[1] = version;
	values[2] = file->data;
	lengths[2] = (int) file->len;
	formats[2] = 1;				/* bytea sent binary: no escaping of 64 MiB */
	for (int i = 0; i < 3; i++)
		values[3 + i] = jsontext[i];
	res = db_exec(ST_REGISTER, values, lengths, formats, 0, &err);
	if (res == NULL)
	{
		if (err.http_status == 409 && strcmp(err.constraint, "registered_versions_pkey") == 0)
			reply_detail(rep, 409, "Model %s version %s was removed and cannot be registered "
						 "again with a different artifact: a version always means one model. %s",
						 name, version, err.detail);
		else if (err.http_status == 409)
			reply_detail(rep, 409, "Model %s version %s already exists", name, version);
		else
			reply_db_error(rep, &err);
		goto done;
	}
	info = json_loads(PQgetvalue(res, 0, 0), JSON_DECODE_ANY, NULL);
	PQclear(res);
	if (!json_is_object(info))
	{
		json_decref(info);
		info = json_object();
	}
	{
		char		msg[512];

		snprintf(msg, sizeof(msg), "Model %s version %s registered successfully", name, version);
		/* "message" first, then the info keys, like the old service */
		json_t	   *out = json_pack("{s:s}", "message", msg);

		json_object_update(out, info);
		json_decref(info);
		reply_json(rep, 200, out);
	}

done:
	free(name);
	free(version);
	for (int i = 0; i < 3; i++)
		free(jsontext[i]);
	multipart_free(&mp);
}

static void
handle_model_info(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], req->params[1]};
	json_t	   *info;

	if (!path_model_valid(req, rep))
		return;
	info = query_json(ST_INFO, values, rep, values[0], values[1]);
	if (info)
		reply_json(rep, 200, info);
}

static void
handle_latest_info(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], NULL};
	json_t	   *info;

	if (!path_model_valid(req, rep))
		return;
	info = query_json(ST_INFO, values, rep, values[0], NULL);
	if (info)
		reply_json(rep, 200, info);
}

static void
handle_list(struct request *req, struct reply *rep)
{
	json_t	   *list;

	list = query_json(ST_LIST, NULL, rep, "", NULL);
	if (list && !reply_if_bad_paging(req, rep, &list))
		reply_json(rep, 200, list);
	else if (rep->status == 404)
		reply_json(rep, 200, json_array());	/* NULL list: nothing registered */
}

/* Keeps a download file name to [A-Za-z0-9._-]. */
static void
safe_filename_part(char *dst, size_t dstsz, const char *src)
{
	size_t		o = 0;

	for (; *src && o + 1 < dstsz; src++)
	{
		char		c = *src;
		int			ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';

		dst[o++] = ok ? c : '_';
	}
	dst[o] = '\0';
}

/*
 * Runs a statement of one row about model values[0] version values[1]
 * (binary results); NULL with a 404 or the database's error in rep when
 * there is no such row or column col of it is NULL.
 */
static PGresult *
model_row(int stmt, const char *const *values, int col, struct reply *rep)
{
	struct db_error err;
	PGresult   *res = db_exec(stmt, values, NULL, NULL, 1, &err);

	if (res == NULL)
	{
		if (err.http_status == 404)
			reply_model_not_found(rep, values[0], values[1], &err);
		else
			reply_db_error(rep, &err);
		return NULL;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, col))
	{
		PQclear(res);
		reply_model_not_found(rep, values[0], values[1], NULL);
		return NULL;
	}
	return res;
}

static void
handle_get_model(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], req->params[1]};
	PGresult   *res;
	char		n[129],
				v[65];
	char		disp[256];

	if (!path_model_valid(req, rep) || (res = model_row(ST_ARTIFACT, values, 1, rep)) == NULL)
		return;
	reply_bytes(rep, 200, PQgetvalue(res, 0, 1), (size_t) PQgetlength(res, 0, 1));
	/* named by the version that answered: @production downloads as its version */
	safe_filename_part(n, sizeof(n), values[0]);
	safe_filename_part(v, sizeof(v), PQgetvalue(res, 0, 0));
	PQclear(res);
	snprintf(disp, sizeof(disp), "attachment; filename=\"%s_%s.json\"", n, v);
	rep->disposition = strdup(disp);
}

static void
handle_remove(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], req->params[1]};
	json_t	   *info;
	char		msg[512];
	json_t	   *out;

	if (!path_model_valid(req, rep))
		return;
	info = query_json(ST_REMOVE, values, rep, values[0], values[1]);
	if (info == NULL)
		return;
	snprintf(msg, sizeof(msg), "Model %s version %s removed successfully", values[0], values[1]);
	out = json_pack("{s:s}", "message", msg);
	if (json_is_object(info))
		json_object_update(out, info);
	json_decref(info);
	reply_json(rep, 200, out);
}

/* GET /models/{name}/trials: mlpipe_tune's trials, newest run first */
static void
handle_trials(struct request *req, struct reply *rep)
{
	const char *values[1] = {req->params[0]};
	json_t	   *trials;

	if (!path_model_valid(req, rep))
		return;
	trials = query_json(ST_TRIALS, values, rep, values[0], NULL);
	if (trials)
		reply_json(rep, 200, trials);
}

/* GET /models/{name}/versions/{version}/importance (importance.h) */
static void
handle_importance(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], req->params[1]};
	PGresult   *res;
	json_t	   *names;
	json_t	   *features;
	const char *kind = NULL;
	char		why[256];

	if (!path_model_valid(req, rep) || (res = model_row(ST_IMPORTANCE, values, 0, rep)) == NULL)
		return;
	names = PQgetisnull(res, 0, 2) ? NULL : json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	features = importance_from_artifact(PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0),
										names, &kind, why, sizeof(why));
	if (features == NULL)
		reply_detail(rep, 415, "Cannot read the feature importance of model %s version %s: %s",
					 values[0], values[1], why);
	else
		reply_json(rep, 200, json_pack("{s:s,s:s,s:s,s:o}", "model_name", values[0],
									   "version", PQgetvalue(res, 0, 1), "kind", kind,
									   "features", features));
	json_decref(names);
	PQclear(res);
}

/* the model console: GET / and its files (services/web) */
EMBED(console_html, MLPIPE_SERVICES_DIR "/web/console.html");
EMBED(console_js, MLPIPE_SERVICES_DIR "/web/console.js");
EMBED(console_css, MLPIPE_SERVICES_DIR "/web/console.css");
EMBED(chart_js, MLPIPE_WEB_DIR "/node_modules/chart.js/dist/chart.umd.min.js");

static const struct asset console_assets[] = {
	{"console.js", "text/javascript; charset=utf-8", console_js, console_js_end},
	{"console.css", "text/css; charset=utf-8", console_css, console_css_end},
	{"chart.umd.min.js", "text/javascript; charset=utf-8", chart_js, chart_js_end},
};

static void
handle_console(struct request *req, struct reply *rep)
{
	(void) req;
	reply_bytes(rep, 200, console_html, (size_t) (console_html_end - console_html));
	if (rep->status == 200)
		rep->content_type = "text/html; charset=utf-8";
}

static void
handle_console_asset(struct request *req, struct reply *rep)
{
	web_reply_asset(rep, console_assets, sizeof(console_assets) / sizeof(console_assets[0]),
					req->params[0]);
}

/*
 * GET /models/{name}/monitor and /models/{name}/drift, ?version= (a version
 * or @alias; absent: the latest) &since= (ISO 8601; absent: everything).
 */
static void
monitoring_reply(struct request *req, struct reply *rep, int stmt)
{
	const char *version = request_query(req, "version");
	const char *since = request_query(req, "since");
	const char *values[3] = {req->params[0], version, since};
	struct db_error err;
	PGresult   *res;
	json_t	   *out;

	if (version && version[0] == '\0')
		version = values[1] = NULL;
	if (since && since[0] == '\0')
		since = values[2] = NULL;
	if (since && !iso8601_valid(since))
	{
		json_t	   *errors = json_array();
		json_t	   *loc = loc_make("query", NULL);
		json_t	   *input = json_string(since);	/* NULL when not UTF-8: no "input" */

		verr_add(errors, loc, "since", "datetime_parsing",
				 "Input should be a valid datetime (ISO 8601, e.g. 2024-05-01T00:00:00Z)",
				 input, NULL);
		json_decref(input);
		json_decref(loc);
		reply_errors(rep, errors);
		return;
	}
	/* a version that cannot exist, unless it names an alias: 404 without the database */
	if (!model_ident_valid(IDENT_MODEL_NAME, values[0], strlen(values[0])) ||
		(version && version[0] != '@' &&
		 !model_ident_valid(IDENT_MODEL_VERSION, version, strlen(version))))
	{
		reply_model_not_found(rep, values[0], version, NULL);
		return;
	}
	res = db_exec(stmt, values, NULL, NULL, 0, &err);
	if (res == NULL)
	{
		if (err.http_status == 404)
			reply_model_not_found(rep, values[0], version, &err);
		else if (strcmp(err.sqlstate, "55000") == 0)
		{
			/* no training distribution: what, why and what to do */
			err.http_status = 409;
			reply_db_error(rep, &err);
		}
		else
			reply_db_error(rep, &err);
		return;
	}
	out = db_result_json(res);
	if (out == NULL)
		reply_detail(rep, 500, "Internal Server Error");
	else
		reply_json(rep, 200, out);
}

static void
handle_monitor(struct request *req, struct reply *rep)
{
	monitoring_reply(req, rep, ST_MONITOR);
}

static void
handle_drift(struct request *req, struct reply *rep)
{
	monitoring_reply(req, rep, ST_DRIFT);
}

/* this service's OpenAPI document, served at /openapi.json (web.h) */
EMBED(service_openapi, MLPIPE_SERVICES_DIR "/registry/openapi.json");

static const struct route routes[] = {
	{"GET", "/", handle_console, 0},
	{"GET", "/console/{file}", handle_console_asset, 0},
	{"GET", "/models/{name}/versions/{version}/importance", handle_importance, 0},
	{"POST", "/register_model", handle_register, ROUTE_AUTH | ROUTE_UPLOAD},
	{"GET", "/get_model_info/{name}/{version}", handle_model_info, 0},
	{"GET", "/get_latest_model_info/{name}", handle_latest_info, 0},
	{"GET", "/list_models", handle_list, 0},
	{"GET", "/get_model/{name}/{version}", handle_get_model, 0},
	{"DELETE", "/remove_model/{name}/{version}", handle_remove, ROUTE_AUTH},
	{"GET", "/models/{name}/trials", handle_trials, 0},
	{"GET", "/models/{name}/aliases", handle_list_aliases, 0},
	{"PUT", "/models/{name}/aliases/{alias}", handle_set_alias, ROUTE_AUTH},
	{"DELETE", "/models/{name}/aliases/{alias}", handle_delete_alias, ROUTE_AUTH},
	{"POST", "/models/{name}/aliases/{alias}/rollback", handle_rollback_alias, ROUTE_AUTH},
	{"GET", "/models/{name}/history", handle_history, 0},
	{"GET", "/models/{name}/monitor", handle_monitor, 0},
	{"GET", "/models/{name}/drift", handle_drift, 0},
};

int
main(int argc, char **argv)
{
	static const struct service svc = {
		"mlpipe-registry",
		"mlpipe model registry: register, list, download and remove XGBoost JSON models.",
		8000,
		routes, sizeof(routes) / sizeof(routes[0]),
		statements, sizeof(statements) / sizeof(statements[0]),
		NULL,
	};

	return service_main(&svc, argc, argv);
}
