/*
 * mlpipe_models.h — the model registry's C side, shared by prediction and
 * training.
 */
#ifndef MLPIPE_MODELS_H
#define MLPIPE_MODELS_H

#include "postgres.h"

#include "xgb_model.h"

/* Parses and validates an artifact; ereport(ERROR) with the SQLSTATE the
 * services map to HTTP: 0A000 not a JSON model, 22023 an invalid one. */
extern MlpModel *mlpipe_parse_artifact(const char *data, size_t len);

/* The registry id of (name, version); version NULL means the latest.
 * ereport(ERROR, 42704) when there is none. */
extern int64 mlpipe_resolve_model(text *name, text *version);

#endif							/* MLPIPE_MODELS_H */
