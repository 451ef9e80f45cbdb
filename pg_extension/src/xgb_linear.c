/*
 * xgb_linear.c — writing solved linear weights as XGBoost's gblinear model.
 */
#include "xgb_linear.h"
#include "ridge.h"
#include "xgb_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#define BASE_SCORE 0.5

/* The shortest decimal text that reads back as the same float32, with an
 * exponent: XGBoost's JSON reader takes "1" for an integer, which a weight
 * cannot be. */
static void
format_float(float v, char *buf, size_t len)
{
	for (int digits = 1; digits <= 9; digits++)
	{
		snprintf(buf, len, "%.*g", digits, (double) v);
		if (strtof(buf, NULL) == v)
			break;
	}
	if (strpbrk(buf, ".eE") == NULL)
		strncat(buf, "E0", len - strlen(buf) - 1);
}

static void
xgb_error(char *err, size_t errlen, const char *call)
{
	const char *e = XGBGetLastError();

	snprintf(err, errlen, "XGBoost %s failed: %.*s", call,
			 (int) strcspn(e ? e : "", "\n"), e ? e : "");
}

bool
mlp_xgb_linear_json(const double *w, double bias, size_t ncols,
					char **json, size_t *json_len,
					char *err, size_t errlen)
{
	size_t		cap = 512 + 32 * (ncols + 1);
	char	   *text = malloc(cap);
	size_t		len;
	char		num[32];
	int			major,
				minor,
				patch;
	BoosterHandle booster = NULL;
	bst_ulong	out_len = 0;
	const char *out = NULL;
	bool		ok = false;

	*json = NULL;
	*json_len = 0;
	if (text == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	XGBoostVersion(&major, &minor, &patch);
	len = (size_t) snprintf(text, cap,
							"{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
							"\"gradient_booster\":{\"model\":{\"boosted_rounds\":1,\"weights\":[");
	for (size_t j = 0; j <= ncols; j++)
	{
		double		v = j < ncols ? w[j] : bias - BASE_SCORE;

		if (!isfinite((float) v))
		{
			snprintf(err, errlen, "a solved weight is not a finite float32");
			free(text);
			return false;
		}
		format_float((float) v, num, sizeof(num));
		len += (size_t) snprintf(text + len, cap - len, "%s%s", j ? "," : "", num);
	}
	len += (size_t) snprintf(text + len, cap - len,
							 "]},\"name\":\"gblinear\"},"
							 "\"learner_model_param\":{\"base_score\":\"5E-1\",\"boost_from_average\":\"1\","
							 "\"num_class\":\"0\",\"num_feature\":\"%zu\",\"num_target\":\"1\"},"
							 "\"objective\":{\"name\":\"reg:squarederror\",\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}}},"
							 "\"version\":[%d,%d,%d]}",
							 ncols, major, minor, patch);

	/* through XGBoost and back: its own serialization, and proof it loads */
	if (XGBoosterCreate(NULL, 0, &booster) != 0)
	{
		xgb_error(err, errlen, "XGBoosterCreate");
		goto done;
	}
	if (XGBoosterLoadModelFromBuffer(booster, text, (bst_ulong) len) != 0)
	{
		xgb_error(err, errlen, "XGBoosterLoadModelFromBuffer");
		goto done;
	}
	if (XGBoosterSaveModelToBuffer(booster, "{\"format\":\"json\"}", &out_len, &out) != 0)
	{
		xgb_error(err, errlen, "XGBoosterSaveModelToBuffer");
		goto done;
	}
	*json = malloc((size_t) out_len + 1);
	if (*json == NULL)
	{
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	memcpy(*json, out, (size_t) out_len);
	(*json)[out_len] = '\0';
	*json_len = (size_t) out_len;
	ok = true;

done:
	if (booster != NULL)
		XGBoosterFree(booster);
	free(text);
	return ok;
}

bool
mlp_xgb_train_ridge(const MlpTrainData *data, const MlpTrainSpec *spec, MlpTrainResult *result)
{
	double		w[MLP_RIDGE_MAX_COLS],
				bias;

	if (!mlp_ridge_fit(data->X, data->y, data->nrows, data->ncols, spec->lambda,
					   spec->stop, spec->stop_arg, w, &bias, result->error, sizeof(result->error)))
		return false;
	return mlp_xgb_linear_json(w, bias, data->ncols, &result->json, &result->json_len,
							   result->error, sizeof(result->error));
}
