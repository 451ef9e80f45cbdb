/*
 * aliases.c — the registry's alias routes: list, set, delete, roll back,
 * and the history of alias changes (README: "Model lifecycle").
 */
#include <string.h>

#include "registry.h"
#include "validate.h"

/*
 * {name} and {alias} of an alias route.  An alias that breaks the pattern
 * cannot exist: 404 when reading or changing one, 422 (pydantic's
 * string_pattern_mismatch at ["path", "alias"]) when creating one.
 */
static int
path_alias_valid(const struct request *req, struct reply *rep, int creating)
{
	const char *alias = req->params[1];

	if (!path_model_valid(req, rep))
		return 0;
	if (model_ident_valid(IDENT_ALIAS, alias, strlen(alias)))
		return 1;
	if (creating)
	{
		json_t	   *errors = json_array();
		json_t	   *loc = loc_make("path", NULL);
		json_t	   *input = json_string(alias);

		check_model_ident(IDENT_ALIAS, alias, strlen(alias), loc, "alias", input, errors);
		json_decref(input);
		json_decref(loc);
		reply_errors(rep, errors);
	}
	else
		reply_detail(rep, 404, "Model %s has no alias %s", req->params[0], alias);
	return 0;
}

/*
 * Runs an alias statement and answers its JSON: 200, or the database's
 * error with its detail (404 unknown model, version or alias; 409 nothing
 * to roll back to; 422 a bad value).
 */
static void
reply_alias_statement(int stmt, const char *const *values, struct reply *rep)
{
	struct db_error err;
	PGresult   *res = db_exec(stmt, values, NULL, NULL, 0, &err);
	json_t	   *j;

	if (res == NULL)
	{
		reply_db_error(rep, &err);
		return;
	}
	j = db_result_json(res);
	if (j == NULL)
		reply_detail(rep, 500, "Internal Server Error");
	else
		reply_json(rep, 200, j);
}

/* A list of a model as {"model_name": name, key: [...]} */
static void
reply_model_list(int stmt, const char *key, struct request *req, struct reply *rep)
{
	const char *values[1] = {req->params[0]};
	struct db_error err;
	PGresult   *res;
	json_t	   *list;

	if (!path_model_valid(req, rep))
		return;
	res = db_exec(stmt, values, NULL, NULL, 0, &err);
	if (res == NULL)
	{
		if (err.http_status == 404)
			reply_model_not_found(rep, values[0], NULL, &err);
		else
			reply_db_error(rep, &err);
		return;
	}
	list = db_result_json(res);
	if (!json_is_array(list))
	{
		json_decref(list);
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	reply_json(rep, 200, json_pack("{s:s,s:o}", "model_name", values[0], key, list));
}

void
handle_list_aliases(struct request *req, struct reply *rep)
{
	reply_model_list(ST_ALIASES, "aliases", req, rep);
}

void
handle_history(struct request *req, struct reply *rep)
{
	reply_model_list(ST_HISTORY, "history", req, rep);
}

/* PUT /models/{name}/aliases/{alias} {"version": "1.2"} (or "@other") */
void
handle_set_alias(struct request *req, struct reply *rep)
{
	json_t	   *body;
	json_t	   *errors;
	json_t	   *loc;
	const char *version;

	if (!path_alias_valid(req, rep, 1))
		return;
	body = request_json(req, rep);
	if (body == NULL)
		return;
	errors = json_array();
	loc = loc_make("body", NULL);
	if (!validate_object(body, loc, errors))
	{
		version = validate_string(body, loc, "version", errors, 0);
		if (version)
			check_model_ident(IDENT_VERSION_REF, version,
							  json_string_length(json_object_get(body, "version")), loc,
							  "version", json_object_get(body, "version"), errors);
	}
	json_decref(loc);
	if (!reply_if_invalid(rep, errors))
	{
		const char *values[3] = {req->params[0], req->params[1],
		json_string_value(json_object_get(body, "version"))};

		reply_alias_statement(ST_SET_ALIAS, values, rep);
	}
	json_decref(body);
}

void
handle_delete_alias(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], req->params[1]};

	if (path_alias_valid(req, rep, 0))
		reply_alias_statement(ST_DELETE_ALIAS, values, rep);
}

void
handle_rollback_alias(struct request *req, struct reply *rep)
{
	const char *values[2] = {req->params[0], req->params[1]};

	if (path_alias_valid(req, rep, 0))
		reply_alias_statement(ST_ROLLBACK_ALIAS, values, rep);
}
