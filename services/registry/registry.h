/*
 * registry.h — what the registry's route files share: its statements and
 * the helpers that run them and check path parameters (registry.c).
 */
#ifndef MLPIPE_REGISTRY_H
#define MLPIPE_REGISTRY_H

#include <jansson.h>

#include "service.h"

/* indexes into registry.c's statement table */
enum
{
	ST_REGISTER,
	ST_INFO,
	ST_LIST,
	ST_ARTIFACT,
	ST_REMOVE,
	ST_TRIALS,
	ST_ALIASES,
	ST_SET_ALIAS,
	ST_DELETE_ALIAS,
	ST_ROLLBACK_ALIAS,
	ST_HISTORY,
	ST_IMPORTANCE,
	ST_MONITOR,
	ST_DRIFT
};

json_t	   *query_json(int stmt, const char *const *values, struct reply *rep, const char *name,
		   const char *version);
int			path_model_valid(const struct request *req, struct reply *rep);

/* aliases and their history (aliases.c) */
void		handle_list_aliases(struct request *req, struct reply *rep);
void		handle_history(struct request *req, struct reply *rep);
void		handle_set_alias(struct request *req, struct reply *rep);
void		handle_delete_alias(struct request *req, struct reply *rep);
void		handle_rollback_alias(struct request *req, struct reply *rep);

#endif
