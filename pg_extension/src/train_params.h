/*
 * train_params.h — mlpipe_train's hyperparameters: the table of what the
 * caller set over each algorithm's defaults, and the training spec built
 * from it (docs/models.md).  Plain C, no PostgreSQL headers, unit-tested
 * (tests/unit/test_train_params.c).
 */
#ifndef MLPIPE_TRAIN_PARAMS_H
#define MLPIPE_TRAIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "xgb_train.h"

#define MLP_MAX_PARAMS 64

/*
 * Hyperparameters as text, in the order first set; setting a key again
 * replaces its value in place.  The strings are the caller's (not copied).
 */
typedef struct MlpParamList
{
	int			n;
	const char *key[MLP_MAX_PARAMS];
	const char *value[MLP_MAX_PARAMS];
} MlpParamList;

/* A refusal in three parts, as SQL reports it: what, why, what to do.
 * detail and hint may be empty. */
typedef struct MlpParamError
{
	char		message[256];
	char		detail[256];
	char		hint[256];
} MlpParamError;

/* False (and nothing set) when the list already holds MLP_MAX_PARAMS keys. */
bool		mlp_params_set(MlpParamList *pl, const char *key, const char *value);

/* The value of key, or NULL. */
const char *mlp_params_get(const MlpParamList *pl, const char *key);

/* Fills pl with algorithm's defaults ("xgboost", "random_forest", "linear");
 * false for any other name. */
bool		mlp_params_defaults(MlpParamList *pl, const char *algorithm);

/* Whether a caller may set key for algorithm (an XGBoost parameter that
 * mlpipe's training of it uses). */
bool		mlp_params_known(const char *algorithm, const char *key);

/* The keys mlp_params_known accepts for algorithm, ", "-separated, for a
 * hint. */
void		mlp_params_known_list(const char *algorithm, char *buf, size_t len);

/* The algorithms mlp_params_defaults knows, for messages. */
extern const char *const mlp_algorithm_names;

/*
 * Checks the hyperparameters and builds what training needs: spec (rounds,
 * forest, seed, nthread; params pointing at xgb) and xgb, which must have
 * room for pl->n entries: every key but n_estimators, and for a forest
 * but seed.  spec->stop is left to the caller.  False with err filled
 * when a value is out of range or not allowed.
 */
bool		mlp_params_to_spec(const MlpParamList *pl, const char *algorithm,
							   MlpTrainParam *xgb, MlpTrainSpec *spec, MlpParamError *err);

#endif							/* MLPIPE_TRAIN_PARAMS_H */
