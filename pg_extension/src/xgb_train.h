/*
 * xgb_train.h — training through the XGBoost C library (SPEC section 4).
 *
 * Plain C, no PostgreSQL headers.  The caller passes a dense row-major float
 * matrix (NaN = missing) and gets back the model as XGBoost JSON, exactly what
 * Booster.save_model("m.json") writes.
 */
#ifndef MLPIPE_XGB_TRAIN_H
#define MLPIPE_XGB_TRAIN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct MlpTrainParam
{
	const char *key;			/* an XGBoost parameter name, e.g. "max_depth" */
	const char *value;			/* its value as text, e.g. "6" */
} MlpTrainParam;

/* Called between boosting rounds; returning true stops training (cancel). */
typedef bool (*MlpTrainStop) (void *arg);

/*
 * Train `rounds` boosting rounds on X (nrows x ncols, row-major) and y.
 * params are set with XGBoosterSetParam in order, after mlpipe's fixed ones
 * (objective reg:squarederror, tree_method hist, nthread per `nthread`).
 * On success returns true, *json (malloc'd, caller frees with free()) and
 * *json_len.  On failure or stop returns false with a sentence in errmsg
 * (XGBoost's first error line when it failed; "canceled" when stopped).
 * Nothing leaks on any path.
 */
bool		mlp_xgb_train(const float *X, const float *y, size_t nrows, size_t ncols,
						  const MlpTrainParam *params, size_t nparams, int rounds,
						  int nthread, MlpTrainStop stop, void *stop_arg,
						  char **json, size_t *json_len,
						  char *errmsg, size_t errlen);

/*
 * A random forest of ntrees trees (XGBoost's random forest mode: parallel
 * trees, one round), grown in chunks so that `stop` is asked every few
 * trees, then merged into one model (xgb_forest.c).  params must not set
 * num_parallel_tree or seed; chunk c uses seed + c.  Same contract as
 * mlp_xgb_train otherwise.
 */
bool		mlp_xgb_train_forest(const float *X, const float *y, size_t nrows, size_t ncols,
								 const MlpTrainParam *params, size_t nparams, int ntrees,
								 unsigned long seed, int nthread, MlpTrainStop stop, void *stop_arg,
								 char **json, size_t *json_len,
								 char *errmsg, size_t errlen);

/*
 * XGBoost's own prediction of a JSON model on X (XGBoosterPredictFromDense,
 * nthread threads) into out[nrows].  For tests and benchmarks: checks
 * mlpipe's evaluator against the reference.
 */
bool		mlp_xgb_predict_dense(const char *json, size_t json_len,
								  const float *X, size_t nrows, size_t ncols,
								  int nthread, float *out,
								  char *errmsg, size_t errlen);

#endif							/* MLPIPE_XGB_TRAIN_H */
