/*
 * importance.c — feature importance from an XGBoost JSON model (importance.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "importance.h"

#define MAX_FEATURES 100000

struct stat
{
	double		total_gain;
	long long	splits;
	double		weight;
	size_t		index;
};

/* descending importance, then feature order */
static int
by_importance(const void *a, const void *b)
{
	const struct stat *x = a,
			   *y = b;
	double		ix = x->splits ? x->total_gain / (double) x->splits : x->weight;
	double		iy = y->splits ? y->total_gain / (double) y->splits : y->weight;

	if (ix != iy)
		return ix < iy ? 1 : -1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Adds each tree's splits to stats; -1 on a malformed tree. */
static int
tree_stats(json_t *trees, struct stat *stats, size_t nfeatures)
{
	size_t		t;
	json_t	   *tree;

	json_array_foreach(trees, t, tree)
	{
		json_t	   *left = json_object_get(tree, "left_children");
		json_t	   *split = json_object_get(tree, "split_indices");
		json_t	   *loss = json_object_get(tree, "loss_changes");
		size_t		n = json_array_size(left);

		if (!json_is_array(left) || json_array_size(split) != n || json_array_size(loss) != n)
			return -1;
		for (size_t i = 0; i < n; i++)
		{
			json_int_t	f;

			if (json_integer_value(json_array_get(left, i)) == -1)
				continue;		/* a leaf */
			f = json_integer_value(json_array_get(split, i));
			if (f < 0 || (size_t) f >= nfeatures)
				return -1;
			stats[f].total_gain += json_number_value(json_array_get(loss, i));
			stats[f].splits++;
		}
	}
	return 0;
}

static json_t *
feature_name(json_t *names, json_t *own, size_t i)
{
	const char *s = json_string_value(json_array_get(names, i));
	char		buf[32];

	if (s == NULL)
		s = json_string_value(json_array_get(own, i));
	if (s == NULL)
	{
		snprintf(buf, sizeof(buf), "f%zu", i);
		s = buf;
	}
	return json_string(s);
}

json_t *
importance_from_artifact(const char *json, size_t len, json_t *names, const char **kind,
						 char *err, size_t errsz)
{
	json_t	   *root = json_loadb(json, len, 0, NULL);
	json_t	   *learner = json_object_get(root, "learner");
	json_t	   *booster = json_object_get(learner, "gradient_booster");
	const char *bname = json_string_value(json_object_get(booster, "name"));
	const char *nf = json_string_value(json_object_get(json_object_get(learner, "learner_model_param"),
													   "num_feature"));
	size_t		nfeatures = nf ? strtoul(nf, NULL, 10) : 0;
	struct stat *stats;
	json_t	   *out = NULL;
	int			linear = bname && strcmp(bname, "gblinear") == 0;

	if (bname == NULL || nfeatures == 0 || nfeatures > MAX_FEATURES)
	{
		snprintf(err, errsz, "not an XGBoost JSON model (learner.gradient_booster, num_feature)");
		json_decref(root);
		return NULL;
	}
	stats = calloc(nfeatures, sizeof(*stats));
	if (stats == NULL)
	{
		snprintf(err, errsz, "out of memory");
		json_decref(root);
		return NULL;
	}
	for (size_t i = 0; i < nfeatures; i++)
		stats[i].index = i;
	if (linear)
	{
		/* weights: num_feature rows of num_output_group, then the biases */
		json_t	   *w = json_object_get(json_object_get(booster, "model"), "weights");
		size_t		groups = json_array_size(w) / (nfeatures + 1);

		if (groups == 0 || json_array_size(w) != groups * (nfeatures + 1))
			snprintf(err, errsz, "gblinear weights of an unexpected size");
		else
		{
			for (size_t i = 0; i < nfeatures; i++)
				stats[i].weight = fabs(json_number_value(json_array_get(w, i * groups)));
			out = json_array();
		}
	}
	else
	{
		/* dart keeps its trees one level down */
		json_t	   *gbtree = strcmp(bname, "dart") == 0 ? json_object_get(booster, "gbtree") : booster;
		json_t	   *trees = json_object_get(json_object_get(gbtree, "model"), "trees");

		if (!json_is_array(trees) || tree_stats(trees, stats, nfeatures) != 0)
			snprintf(err, errsz, "trees of an unexpected form (%s)", bname);
		else
			out = json_array();
	}
	if (out)
	{
		json_t	   *own = json_object_get(learner, "feature_names");

		qsort(stats, nfeatures, sizeof(*stats), by_importance);
		for (size_t i = 0; i < nfeatures; i++)
		{
			struct stat *s = &stats[i];

			if (linear)
				json_array_append_new(out, json_pack("{s:o,s:f}", "feature", feature_name(names, own, s->index),
													 "importance", s->weight));
			else if (s->splits > 0)
				json_array_append_new(out, json_pack("{s:o,s:f,s:f,s:I}",
													 "feature", feature_name(names, own, s->index),
													 "importance", s->total_gain / (double) s->splits,
													 "total_gain", s->total_gain,
													 "splits", (json_int_t) s->splits));
		}
		*kind = linear ? "weight" : "gain";
	}
	free(stats);
	json_decref(root);
	return out;
}
