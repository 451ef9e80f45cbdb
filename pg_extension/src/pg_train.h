/*
 * pg_train.h — the steps mlpipe_train and mlpipe_tune share (pg_train.c):
 * read the request, split the training set, train, evaluate, register.
 */
#ifndef MLPIPE_PG_TRAIN_H
#define MLPIPE_PG_TRAIN_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "mlpipe_pg.h"
#include "train_params.h"
#include "xgb_model.h"

/* What the caller asked for: arguments checked, hyperparameters resolved. */
typedef struct TrainRequest
{
	text	   *name;
	text	   *version;
	char	   *algorithm;
	MlpParamList params;		/* defaults with the caller's on top */
	MlpTrainParam *xgb;			/* what spec.params points at */
	MlpTrainSpec spec;
} TrainRequest;

/* The training set split per customer: the first floor(0.8 n) rows with a
 * target train, the rest test. */
typedef struct TrainSplit
{
	float	   *X_train,
			   *y_train,
			   *X_test,
			   *y_test;
	int32	   *month_train;	/* each training row's month index */
	int64		n_train,
				n_test;
} TrainSplit;

/* Calls fn for each key (palloc'd) and value of a JSON object. */
typedef void (*MlpJsonbPairFn) (const char *key, JsonbValue *v, void *arg);
extern void mlpipe_jsonb_object_each(JsonbContainer *c, MlpJsonbPairFn fn, void *arg);

/* A JSON number, string or boolean as text (palloc'd); NULL for others. */
extern char *mlpipe_jsonb_scalar_text(const JsonbValue *v);

/* Arguments 0-2 (model_name, algorithm, version), not NULL, and the
 * algorithm's defaults in req->params; 22023 for an unknown algorithm. */
extern void mlpipe_read_train_args(FunctionCallInfo fcinfo, TrainRequest *req);

/* 22023 unless algorithm takes the hyperparameter key; `where` names the
 * argument in the message (hyperparams, search.space). */
extern void mlpipe_check_hyperparam_name(const char *algorithm, const char *key, const char *where);

/* Checks req->params and builds req->spec (22023 naming a bad value). */
extern void mlpipe_resolve_request(TrainRequest *req);

/* 23505 when (name, version) is taken or was removed (a tombstone): checked
 * before any training (mlpipe.check_version_free). */
extern void mlpipe_check_version_free(text *name, text *version);

extern void mlpipe_split_rows(const TrainingSet *ts, TrainSplit *split);

/* Trains on n rows; the model's JSON as a bytea and how long it took.
 * Cancellable; NOTICEs progress when it runs longer than 2 s. */
extern bytea *mlpipe_train_artifact(const TrainRequest *req, const float *X, const float *y,
									int64 n, double *seconds);

/* RMSE of model over n rows (target units: scale it), NaN for no rows. */
extern double mlpipe_rmse(const MlpModel *model, const float *X, const float *y, int64 n);

/* The metadata of a trained model: metrics and what produced them. */
extern char *mlpipe_metadata_json(const TrainRequest *req, const TrainingSet *ts,
								  const TrainSplit *split, double rmse_train,
								  double rmse_test, double seconds);

/* The hyperparameters as stored with the model: every value as text. */
extern char *mlpipe_params_json(const MlpParamList *pl);

/* A hyperparameter's text as a JSON value: a number when it is one. */
extern void mlpipe_json_value(StringInfo buf, const char *text);

/* Registers in the caller's transaction: a failure leaves no row. */
extern void mlpipe_register_trained(FunctionCallInfo fcinfo, const TrainRequest *req,
									bytea *artifact, const TrainingSet *ts,
									const char *params, const char *metadata);

#endif							/* MLPIPE_PG_TRAIN_H */
