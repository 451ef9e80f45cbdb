/*
 * xgb_forest.c — random forests grown in chunks, so that a cancel is heard.
 *
 * XGBoost grows a random forest as one boosting round of num_parallel_tree
 * trees, and a round cannot be interrupted: a 5,000-tree forest ignores a
 * query cancel for as long as it takes.  So the forest is grown as several
 * independent forests of at most FOREST_CHUNK trees (one round each, each
 * with its own seed), with the stop callback asked between them, and the
 * chunks are merged into one model of num_parallel_tree = ntrees.
 *
 * The merge is exact bookkeeping: in a one-round forest every leaf holds
 * eta * w / num_parallel_tree, so a chunk's leaves are rescaled by
 * chunk / ntrees; the rescaled values are written as float32 values so that
 * any reader (XGBoost included) reads back the very same float.  Every tree
 * of every chunk starts from the same base_score, as in a single round, so
 * the result is a random forest of ntrees trees, not boosted forests.
 */
#include "xgb_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define FOREST_CHUNK 25

static void
forest_error(char *errmsg, size_t errlen, const char *msg)
{
	if (errmsg != NULL && errlen > 0)
		snprintf(errmsg, errlen, "%s", msg);
}

/* model.learner.gradient_booster.model, or NULL */
static json_t *
gbtree_model(json_t *root)
{
	json_t	   *gb = json_object_get(json_object_get(root, "learner"), "gradient_booster");

	if (!json_is_string(json_object_get(gb, "name")) ||
		strcmp(json_string_value(json_object_get(gb, "name")), "gbtree") != 0)
		return NULL;
	return json_object_get(gb, "model");
}

/* Multiplies every leaf of a tree by ratio, keeping values float32. */
static bool
scale_leaves(json_t *tree, double ratio)
{
	json_t	   *left = json_object_get(tree, "left_children");
	json_t	   *cond = json_object_get(tree, "split_conditions");
	size_t		n = json_array_size(left);

	if (!json_is_array(left) || !json_is_array(cond) || json_array_size(cond) != n)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		json_t	   *c = json_array_get(cond, i);

		if (json_integer_value(json_array_get(left, i)) != -1)
			continue;
		if (!json_is_number(c))
			return false;
		float		v = (float) (json_number_value(c) * ratio);

		if (json_array_set_new(cond, i, json_real((double) v)) != 0)
			return false;
	}
	return true;
}

/* Appends the trees of chunk to model, renumbered, leaves rescaled. */
static bool
append_chunk(json_t *model, json_t *chunk, double ratio)
{
	json_t	   *trees = json_object_get(model, "trees");
	json_t	   *info = json_object_get(model, "tree_info");
	json_t	   *more = json_object_get(chunk, "trees");
	size_t		i;
	json_t	   *t;

	if (!json_is_array(trees) || !json_is_array(info) || !json_is_array(more))
		return false;
	json_array_foreach(more, i, t)
	{
		if (!scale_leaves(t, ratio) ||
			json_object_set_new(t, "id", json_integer((json_int_t) json_array_size(trees))) != 0 ||
			json_array_append(trees, t) != 0 ||
			json_array_append_new(info, json_integer(0)) != 0)
			return false;
	}
	return true;
}

static bool
set_count(json_t *param, const char *key, size_t n)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%zu", n);
	return json_object_set_new(param, key, json_string(buf)) == 0;
}

bool
mlp_xgb_train_forest(const MlpTrainData *data, const MlpTrainSpec *spec, MlpTrainResult *result)
{
	MlpTrainParam *p = NULL;
	MlpTrainSpec chunk_spec = *spec;
	json_t	   *merged = NULL;
	json_t	   *chunk = NULL;
	char		chunk_trees[16],
				chunk_seed[32];
	bool		ok = false;
	int			ntrees = spec->rounds;
	size_t		nparams = spec->nparams;
	char	   *errmsg = result->error;
	size_t		errlen = sizeof(result->error);

	result->json = NULL;
	result->json_len = 0;
	if (ntrees < 1)
	{
		forest_error(errmsg, errlen, "a forest needs at least one tree");
		return false;
	}
	/* the caller's parameters, then ours for each chunk */
	p = malloc((nparams + 2) * sizeof(MlpTrainParam));
	if (p == NULL)
	{
		forest_error(errmsg, errlen, "out of memory");
		return false;
	}
	if (nparams > 0)
		memcpy(p, spec->params, nparams * sizeof(MlpTrainParam));
	p[nparams].key = "num_parallel_tree";
	p[nparams].value = chunk_trees;
	p[nparams + 1].key = "seed";
	p[nparams + 1].value = chunk_seed;
	chunk_spec.params = p;
	chunk_spec.nparams = nparams + 2;
	chunk_spec.rounds = 1;
	chunk_spec.forest = false;

	for (int done = 0, c = 0; done < ntrees; c++)
	{
		int			n = ntrees - done < FOREST_CHUNK ? ntrees - done : FOREST_CHUNK;
		MlpTrainResult part;
		json_error_t jerr;
		json_t	   *model;

		if (c > 0 && spec->stop != NULL && spec->stop(spec->stop_arg))
		{
			forest_error(errmsg, errlen, "canceled");
			goto done;
		}
		snprintf(chunk_trees, sizeof(chunk_trees), "%d", n);
		snprintf(chunk_seed, sizeof(chunk_seed), "%lu", spec->seed + (unsigned long) c);
		if (!mlp_xgb_train(data, &chunk_spec, &part))
		{
			forest_error(errmsg, errlen, part.error);
			goto done;
		}
		chunk = json_loadb(part.json, part.json_len, 0, &jerr);
		free(part.json);
		model = chunk ? gbtree_model(chunk) : NULL;
		if (model == NULL)
		{
			forest_error(errmsg, errlen, "XGBoost wrote a forest model mlpipe cannot read");
			goto done;
		}
		if (merged == NULL)
		{
			/* the first chunk is the skeleton: rescale it in place */
			json_t	   *trees = json_object_get(model, "trees");
			size_t		i;
			json_t	   *t;

			json_array_foreach(trees, i, t)
				if (!scale_leaves(t, (double) n / ntrees))
				{
					forest_error(errmsg, errlen, "XGBoost wrote a forest model mlpipe cannot read");
					goto done;
				}
			merged = chunk;
		}
		else
		{
			if (!append_chunk(gbtree_model(merged), model, (double) n / ntrees))
			{
				forest_error(errmsg, errlen, "out of memory while merging the forest");
				goto done;
			}
			json_decref(chunk);
		}
		chunk = NULL;
		done += n;
	}

	{
		json_t	   *param = json_object_get(gbtree_model(merged), "gbtree_model_param");

		if (!set_count(param, "num_parallel_tree", (size_t) ntrees) ||
			!set_count(param, "num_trees", (size_t) ntrees))
		{
			forest_error(errmsg, errlen, "out of memory while merging the forest");
			goto done;
		}
	}
	result->json = json_dumps(merged, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (result->json == NULL)
	{
		forest_error(errmsg, errlen, "out of memory while writing the forest");
		goto done;
	}
	result->json_len = strlen(result->json);
	ok = true;

done:
	json_decref(chunk);
	json_decref(merged);
	free(p);
	return ok;
}
