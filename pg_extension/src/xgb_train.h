/*
 * xgb_train.h — training through the XGBoost C library (docs/models.md).
 *
 * Plain C, no PostgreSQL headers.  The caller passes a dense row-major float
 * matrix (NaN = missing) and a training spec, and gets back the model as
 * XGBoost JSON, exactly what Booster.save_model("m.json") writes.
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

/* The training rows: X is nrows x ncols, row-major; y has nrows targets. */
typedef struct MlpTrainData
{
	const float *X;
	const float *y;
	size_t		nrows;
	size_t		ncols;
} MlpTrainData;

/*
 * What to train.  params are set with XGBoosterSetParam in order, after
 * mlpipe's fixed ones (objective reg:squarederror, tree_method hist,
 * nthread); they never hold n_estimators (that is `rounds`), nor, for a
 * forest, num_parallel_tree or seed.
 */
typedef struct MlpTrainSpec
{
	const MlpTrainParam *params;
	size_t		nparams;
	int			rounds;			/* boosting rounds, or a forest's trees */
	bool		forest;			/* XGBoost's random forest mode (xgb_forest.c) */
	unsigned long seed;			/* forest only: chunk c uses seed + c */
	bool		ridge;			/* linear: ridge in closed form (xgb_linear.c) */
	double		lambda;			/* ridge only: the L2 penalty, as gblinear's */
	int			nthread;
	MlpTrainStop stop;			/* may be NULL */
	void	   *stop_arg;
} MlpTrainSpec;

/* The outcome: json (malloc'd, NUL-terminated, caller frees with free())
 * on success; a sentence in error otherwise. */
typedef struct MlpTrainResult
{
	char	   *json;
	size_t		json_len;
	char		error[512];
} MlpTrainResult;

/*
 * Train as the spec says.  On success returns true with result->json; on
 * failure or stop returns false, json NULL, and a sentence in
 * result->error (XGBoost's first error line when it failed; "canceled"
 * when stopped).  Nothing leaks on any path.
 */
bool		mlp_xgb_train(const MlpTrainData *data, const MlpTrainSpec *spec,
						  MlpTrainResult *result);

/*
 * The forest half of mlp_xgb_train (xgb_forest.c): spec->rounds trees grown
 * in chunks, so that `stop` is asked every few trees, then merged into one
 * model.
 */
bool		mlp_xgb_train_forest(const MlpTrainData *data, const MlpTrainSpec *spec,
								 MlpTrainResult *result);

/*
 * The ridge half of mlp_xgb_train (xgb_linear.c): the optimum of gblinear's
 * objective with spec->lambda, solved directly, as a gblinear model.
 */
bool		mlp_xgb_train_ridge(const MlpTrainData *data, const MlpTrainSpec *spec,
								MlpTrainResult *result);

#endif							/* MLPIPE_XGB_TRAIN_H */
