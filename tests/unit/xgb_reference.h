/*
 * xgb_reference.h — XGBoost's own prediction, the reference that tests and
 * benchmarks compare mlpipe's evaluator with (not part of the extension).
 */
#ifndef MLPIPE_XGB_REFERENCE_H
#define MLPIPE_XGB_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * XGBoost's prediction of a JSON model on X (nrows x ncols, row-major,
 * NaN = missing) with nthread threads, into out[nrows].  False with a
 * sentence in errmsg on failure.
 */
bool		mlp_xgb_predict_dense(const char *json, size_t json_len,
								  const float *X, size_t nrows, size_t ncols,
								  int nthread, float *out,
								  char *errmsg, size_t errlen);

#endif							/* MLPIPE_XGB_REFERENCE_H */
