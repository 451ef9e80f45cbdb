/*
 * xgb_linear.h — a gblinear artifact from weights solved elsewhere (ridge.c).
 *
 * Plain C and the XGBoost C API, no PostgreSQL.
 */
#ifndef MLPIPE_XGB_LINEAR_H
#define MLPIPE_XGB_LINEAR_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The XGBoost JSON model of the linear function bias + x . w
 * (reg:squarederror, gblinear, ncols features), exactly as
 * Booster.save_model("m.json") writes it: the model is handed to XGBoost,
 * which loads it and saves it again, so its format is XGBoost's own.
 * Weights are stored as float32, as gblinear holds them; base_score stays
 * XGBoost's default 0.5 and the stored bias is bias - 0.5.
 * *json is malloc'd (free()), NUL-terminated.  false + err on failure.
 */
bool		mlp_xgb_linear_json(const double *w, double bias, size_t ncols,
								char **json, size_t *json_len,
								char *err, size_t errlen);

#endif							/* MLPIPE_XGB_LINEAR_H */
