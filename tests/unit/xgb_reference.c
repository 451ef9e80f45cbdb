/*
 * xgb_reference.c — XGBoost's own prediction of a JSON model, for tests and
 * benchmarks only: it checks mlpipe's evaluator (xgb_model.c) against the
 * reference.  Not part of the extension.
 *
 * XGBoost 1.7 behaviour relied on: XGBoosterPredictFromDense returns a
 * buffer owned by the booster (copied out before the booster is freed),
 * wants "cache_id" in its configuration, and is not implemented for
 * gblinear; for that case the prediction goes through a DMatrix.
 */
#include "xgb_reference.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

static void
set_error(char *errmsg, size_t errlen, const char *msg)
{
	if (errmsg != NULL && errlen > 0)
		snprintf(errmsg, errlen, "%s", msg);
}

/* "XGBoost <call> failed: " and the first line of XGBoost's last error. */
static void
set_xgb_error(char *errmsg, size_t errlen, const char *call)
{
	const char *err = XGBGetLastError();

	if (errmsg != NULL && errlen > 0)
		snprintf(errmsg, errlen, "XGBoost %s failed: %.*s", call,
				 (int) strcspn(err ? err : "", "\n"), err ? err : "");
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
		nrows == 0 || ncols == 0 || nrows > SIZE_MAX / sizeof(float) / ncols)
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
