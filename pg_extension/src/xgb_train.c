/*
 * xgb_train.c — training and reference prediction through the XGBoost C API.
 *
 * Only the public C API (xgboost/c_api.h) is used.  Every call's return code
 * is checked; the DMatrix and Booster handles are released on every path by
 * a single cleanup block at the end of each function.
 *
 * Notes on XGBoost 1.7 behaviour that this file relies on:
 *  - XGBoosterSaveModelToBuffer and XGBoosterPredictFromDense return buffers
 *    owned by the booster, valid until the next call on it: we copy them out
 *    before freeing the booster.
 *  - XGBoosterPredictFromDense wants "cache_id" in its configuration, and is
 *    not implemented for gblinear ("Inplace predict is not supported by
 *    current booster"); for that case we predict through a DMatrix.
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

bool
mlp_xgb_train(const float *X, const float *y, size_t nrows, size_t ncols,
			  const MlpTrainParam *params, size_t nparams, int rounds,
			  int nthread, MlpTrainStop stop, void *stop_arg,
			  char **json, size_t *json_len,
			  char *errmsg, size_t errlen)
{
	DMatrixHandle dtrain = NULL;
	BoosterHandle booster = NULL;
	bst_ulong	out_len = 0;
	const char *out_buf = NULL;
	char		nthread_text[32];
	bool		ok = false;

	if (json == NULL || json_len == NULL)
	{
		set_error(errmsg, errlen, "no output buffer given for the trained model");
		return false;
	}
	*json = NULL;
	*json_len = 0;

	if (X == NULL || y == NULL || !matrix_size_ok(nrows, ncols))
	{
		set_error(errmsg, errlen, "training data is empty or too large");
		return false;
	}
	if (rounds < 1)
	{
		set_error(errmsg, errlen, "the number of boosting rounds must be at least 1");
		return false;
	}
	if (nparams > 0 && params == NULL)
	{
		set_error(errmsg, errlen, "parameter list is missing");
		return false;
	}
	for (size_t i = 0; i < nparams; i++)
	{
		if (params[i].key == NULL || params[i].value == NULL)
		{
			set_error(errmsg, errlen, "a training parameter has no name or no value");
			return false;
		}
	}

	if (XGDMatrixCreateFromMat(X, (bst_ulong) nrows, (bst_ulong) ncols, NAN, &dtrain) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGDMatrixCreateFromMat");
		goto done;
	}
	if (XGDMatrixSetFloatInfo(dtrain, "label", y, (bst_ulong) nrows) != 0)
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
	for (size_t i = 0; i < nparams; i++)
	{
		if (XGBoosterSetParam(booster, params[i].key, params[i].value) != 0)
		{
			set_xgb_error(errmsg, errlen, "XGBoosterSetParam");
			goto done;
		}
	}

	for (int iter = 0; iter < rounds; iter++)
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
	*json = malloc((size_t) out_len + 1);
	if (*json == NULL)
	{
		set_error(errmsg, errlen, "out of memory copying the trained model");
		goto done;
	}
	memcpy(*json, out_buf, (size_t) out_len);
	(*json)[out_len] = '\0';
	*json_len = (size_t) out_len;
	ok = true;

done:
	if (booster != NULL)
		XGBoosterFree(booster);
	if (dtrain != NULL)
		XGDMatrixFree(dtrain);
	return ok;
}

/* Copy a prediction result of exactly nrows values into out. */
static bool
copy_predictions(const bst_ulong *shape, bst_ulong dim, const float *result,
				 size_t nrows, float *out, char *errmsg, size_t errlen)
{
	bst_ulong	total = 1;

	if (result == NULL || shape == NULL || dim == 0)
	{
		set_error(errmsg, errlen, "XGBoost returned no predictions");
		return false;
	}
	for (bst_ulong i = 0; i < dim; i++)
		total *= shape[i];
	if (total != (bst_ulong) nrows)
	{
		if (errmsg != NULL && errlen > 0)
			snprintf(errmsg, errlen,
					 "XGBoost returned %" PRIu64 " predictions for %zu rows (not a single-output regression model?)",
					 (uint64_t) total, nrows);
		return false;
	}
	memcpy(out, result, nrows * sizeof(float));
	return true;
}

bool
mlp_xgb_predict_dense(const char *json, size_t json_len,
					  const float *X, size_t nrows, size_t ncols,
					  int nthread, float *out,
					  char *errmsg, size_t errlen)
{
	BoosterHandle booster = NULL;
	DMatrixHandle dmat = NULL;
	const bst_ulong *shape = NULL;
	bst_ulong	dim = 0;
	const float *result = NULL;
	char		nthread_text[32];
	char		array_iface[256];
	bool		ok = false;

	/* Same NaN-as-missing convention as training; cache_id is required by
	 * XGBoost 1.7's inplace prediction. */
	static const char *const inplace_config =
		"{\"type\":0,\"training\":false,\"iteration_begin\":0,"
		"\"iteration_end\":0,\"strict_shape\":false,\"missing\":NaN,"
		"\"cache_id\":0}";
	static const char *const dmatrix_config =
		"{\"type\":0,\"training\":false,\"iteration_begin\":0,"
		"\"iteration_end\":0,\"strict_shape\":false}";

	if (json == NULL || json_len == 0 || X == NULL || out == NULL ||
		!matrix_size_ok(nrows, ncols))
	{
		set_error(errmsg, errlen, "prediction input is empty or too large");
		return false;
	}

	if (XGBoosterCreate(NULL, 0, &booster) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterCreate");
		goto done;
	}
	if (XGBoosterLoadModelFromBuffer(booster, json, (bst_ulong) json_len) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterLoadModelFromBuffer");
		goto done;
	}
	snprintf(nthread_text, sizeof(nthread_text), "%d", nthread > 0 ? nthread : 0);
	if (XGBoosterSetParam(booster, "nthread", nthread_text) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterSetParam(nthread)");
		goto done;
	}

	/* __array_interface__ of the row-major float32 matrix. */
	snprintf(array_iface, sizeof(array_iface),
			 "{\"data\":[%" PRIuPTR ",true],\"shape\":[%zu,%zu],"
			 "\"typestr\":\"<f4\",\"version\":3}",
			 (uintptr_t) X, nrows, ncols);
	if (XGBoosterPredictFromDense(booster, array_iface, inplace_config, NULL,
								  &shape, &dim, &result) == 0)
	{
		ok = copy_predictions(shape, dim, result, nrows, out, errmsg, errlen);
		goto done;
	}

	/* gblinear has no inplace prediction in 1.7: go through a DMatrix. */
	if (XGDMatrixCreateFromMat(X, (bst_ulong) nrows, (bst_ulong) ncols, NAN, &dmat) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGDMatrixCreateFromMat");
		goto done;
	}
	if (XGBoosterPredictFromDMatrix(booster, dmat, dmatrix_config,
									&shape, &dim, &result) != 0)
	{
		set_xgb_error(errmsg, errlen, "XGBoosterPredictFromDMatrix");
		goto done;
	}
	ok = copy_predictions(shape, dim, result, nrows, out, errmsg, errlen);

done:
	if (dmat != NULL)
		XGDMatrixFree(dmat);
	if (booster != NULL)
		XGBoosterFree(booster);
	return ok;
}
