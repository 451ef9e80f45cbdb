/*
 * xgb_train.c — training through the XGBoost C API.
 *
 * Only the public C API (xgboost/c_api.h) is used.  Every call's return code
 * is checked; the DMatrix and Booster handles are released on every path by
 * a single cleanup block at the end of each function.
 *
 * Notes on XGBoost 1.7 behaviour that this file relies on:
 *  - XGBoosterSaveModelToBuffer returns a buffer owned by the booster, valid
 *    until the next call on it: we copy it out before freeing the booster.
 */
#include "xgb_train.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

/* Copy the first line of XGBoost's last error into errmsg, after a prefix
 * naming the call that failed.  XGBoost appends a stack trace on later
 * lines; only the first line is useful to a user. */
static void
set_xgb_error(char *errmsg, size_t errlen, const char *call)
{
	const char *err = XGBGetLastError();
	size_t		n;

	if (errmsg == NULL || errlen == 0)
		return;
	if (err == NULL)
		err = "unknown error";
	n = strcspn(err, "\n");
	snprintf(errmsg, errlen, "XGBoost %s failed: %.*s", call, (int) n, err);
}

static void
set_error(char *errmsg, size_t errlen, const char *msg)
{
	if (errmsg != NULL && errlen > 0)
		snprintf(errmsg, errlen, "%s", msg);
}

/* nrows * ncols must fit both size_t and XGBoost's bst_ulong. */
static bool
matrix_size_ok(size_t nrows, size_t ncols)
{
	if (nrows == 0 || ncols == 0)
		return false;
	if (nrows > SIZE_MAX / ncols || nrows > SIZE_MAX / sizeof(float) / ncols)
		return false;
	return true;
}

/* Every input checked before XGBoost sees it. */
static bool
spec_ok(const MlpTrainData *data, const MlpTrainSpec *spec, char *errmsg, size_t errlen)
{
	if (data->X == NULL || data->y == NULL || !matrix_size_ok(data->nrows, data->ncols))
	{
		set_error(errmsg, errlen, "training data is empty or too large");
		return false;
	}
	if (spec->rounds < 1)
	{
		set_error(errmsg, errlen, spec->forest ? "a forest needs at least one tree"
				  : "the number of boosting rounds must be at least 1");
		return false;
	}
	if (spec->nparams > 0 && spec->params == NULL)
	{
		set_error(errmsg, errlen, "parameter list is missing");
		return false;
	}
	for (size_t i = 0; i < spec->nparams; i++)
	{
		if (spec->params[i].key == NULL || spec->params[i].value == NULL)
		{
			set_error(errmsg, errlen, "a training parameter has no name or no value");
			return false;
		}
	}
	return true;
}

bool
mlp_xgb_train(const MlpTrainData *data, const MlpTrainSpec *spec, MlpTrainResult *result)
{
	DMatrixHandle dtrain = NULL;
	BoosterHandle booster = NULL;
	bst_ulong	out_len = 0;
	const char *out_buf = NULL;
	char		nthread_text[32];
	bool		ok = false;
	char	   *errmsg = result->error;
	size_t		errlen = sizeof(result->error);
	const float *X = data->X;
	size_t		nrows = data->nrows;
	int			nthread = spec->nthread;
	MlpTrainStop stop = spec->stop;
	void	   *stop_arg = spec->stop_arg;

	result->json = NULL;
	result->json_len = 0;
	result->error[0] = '\0';
	if (!spec_ok(data, spec, errmsg, errlen))
		return false;
	if (spec->forest)
		return mlp_xgb_train_forest(data, spec, result);
	if (spec->ridge)
		return mlp_xgb_train_ridge(data, spec, result);

	if (XGDMatrixCreateFromMat(X, (bst_ulong) nrows, (bst_ulong) data->ncols, NAN, &dtrain) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGDMatrixCreateFromMat");
		goto done;
	}
	if (XGDMatrixSetFloatInfo(dtrain, "label", data->y, (bst_ulong) nrows) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGDMatrixSetFloatInfo(label)");
		goto done;
	}
	if (XGBoosterCreate(&dtrain, 1, &booster) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterCreate");
		goto done;
	}

	/* mlpipe's fixed parameters first, so that the caller's can refine
	 * tree_method (but the objective is checked again by the reader). */
	snprintf(nthread_text, sizeof(nthread_text), "%d", nthread > 0 ? nthread : 0);
	if (XGBoosterSetParam(booster, "objective", "reg:squarederror") != 0 ||
		XGBoosterSetParam(booster, "tree_method", "hist") != 0 ||
		XGBoosterSetParam(booster, "nthread", nthread_text) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterSetParam");
		goto done;
	}
	for (size_t i = 0; i < spec->nparams; i++)
	{
		if (XGBoosterSetParam(booster, spec->params[i].key, spec->params[i].value) != 0)
		{
			set_xgb_error(errmsg, errlen, "XGBoosterSetParam");
			goto done;
		}
	}

	for (int iter = 0; iter < spec->rounds; iter++)
	{
		if (stop != NULL && stop(stop_arg))
		{
			set_error(errmsg, errlen, "canceled");
			goto done;
		}
		if (XGBoosterUpdateOneIter(booster, iter, dtrain) != 0)
		{
			set_xgb_error(errmsg, errlen, "XGBoosterUpdateOneIter");
			goto done;
		}
	}
	if (stop != NULL && stop(stop_arg))
	{
		set_error(errmsg, errlen, "canceled");
		goto done;
	}

	if (XGBoosterSaveModelToBuffer(booster, "{\"format\":\"json\"}", &out_len, &out_buf) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterSaveModelToBuffer");
		goto done;
	}
	if (out_buf == NULL || out_len == 0 || out_len >= SIZE_MAX)
	{
		set_error(errmsg, errlen, "XGBoost returned an empty model");
		goto done;
	}

	/* The buffer belongs to the booster: copy it (NUL-terminated, handy for
	 * callers that treat it as text) before the booster is freed. */
	result->json = malloc((size_t) out_len + 1);
	if (result->json == NULL)
	{
		set_error(errmsg, errlen, "out of memory copying the trained model");
		goto done;
	}
	memcpy(result->json, out_buf, (size_t) out_len);
	result->json[out_len] = '\0';
	result->json_len = (size_t) out_len;
	ok = true;

done:
	if (booster != NULL)
		XGBoosterFree(booster);
	if (dtrain != NULL)
		XGDMatrixFree(dtrain);
	return ok;
}
