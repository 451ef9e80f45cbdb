/*
 * importance.h — feature importance of an XGBoost JSON model, read from
 * the trees' own statistics: for tree models (gbtree, dart, random forest)
 * the loss reduction each split recorded (loss_changes), summed and counted
 * per feature; XGBoost's get_score(importance_type="gain") is the average,
 * total_gain the sum, weight the count.  Linear models (gblinear) have no
 * splits: their importance is the absolute weight of each feature.
 * PostgreSQL-free; the registry serves it (GET
 * /models/{name}/versions/{version}/importance) and tests/unit checks it
 * against Python XGBoost's get_score.
 */
#ifndef MLPIPE_IMPORTANCE_H
#define MLPIPE_IMPORTANCE_H

#include <stddef.h>
#include <jansson.h>

/*
 * The importance of every feature that has any, most important first:
 * [{"feature", "importance", "total_gain", "splits"}] for trees,
 * [{"feature", "importance"}] for linear models; *kind is "gain" or
 * "weight".  names (borrowed, may be NULL) gives feature i's name, else the
 * model's own feature_names, else "f<i>".  NULL with err filled when the
 * artifact is not an XGBoost JSON model this understands.
 */
json_t	   *importance_from_artifact(const char *json, size_t len, json_t *names,
									 const char **kind, char *err, size_t errsz);

#endif
