/*
 * mlpipe_models.h — the model registry's C side, shared by prediction and
 * training: artifact parsing, the per-backend model cache
 * (pg_model_cache.c) and name resolution (pg_model_resolve.c).
 */
#ifndef MLPIPE_MODELS_H
#define MLPIPE_MODELS_H

#include "postgres.h"

#include "fmgr.h"

#include "features.h"
#include "xgb_model.h"

/* Parses and validates an artifact into CurrentMemoryContext (freed with
 * it, or by mlp_model_free); ereport(ERROR) with the SQLSTATE the services
 * map to HTTP: 0A000 not a JSON model, 22023 an invalid one. */
extern MlpModel *mlpipe_parse_artifact(const char *data, size_t len);

/* A registry row, parsed: valid for the backend's life (rows never change). */
typedef struct CachedModel
{
	int64		id;				/* hash key: mlpipe.models.id */
	MemoryContext context;		/* holds model, and nothing else */
	MlpModel   *model;
	bool		has_std;
	MlpStandardization std;
} CachedModel;

/* The parsed model of registry row id, loading it on first use. */
extern CachedModel *mlpipe_cached_model(int64 id);

/*
 * The registry id of (name, version); version NULL means the latest and
 * '@alias' the version the alias points at.  ereport(ERROR, 42704) when
 * there is none, 22023 for ''.  Every way of naming a model goes through
 * here.  The _version form also copies the row's version to version_out
 * (MLP_VERSION_LEN bytes) when that is not NULL.
 */
#define MLP_VERSION_LEN 65		/* mlpipe.models.version: 64 characters */
extern int64 mlpipe_resolve_model(text *name, text *version);
extern int64 mlpipe_resolve_model_version(text *name, text *version, char *version_out);

/* The model of a call's arguments 0 (name) and 1 (version, NULL = latest),
 * resolved once per call site and query. */
extern CachedModel *mlpipe_model_for_call(FunctionCallInfo fcinfo);

#endif							/* MLPIPE_MODELS_H */
