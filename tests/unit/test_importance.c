/*
 * test_importance.c — services/registry/importance.c against Python
 * XGBoost's get_score on the models of tests/unit/data (written by
 * gen_python_model.py): "gain" is total_gain / weight per feature.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "importance.h"

static char *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t) ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len + 1);
	if (buf && fread(buf, 1, *len, f) != *len)
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static json_t *
find(json_t *list, const char *feature)
{
	size_t		i;
	json_t	   *e;

	json_array_foreach(list, i, e)
		if (strcmp(json_string_value(json_object_get(e, "feature")), feature) == 0)
		return e;
	return NULL;
}

static int
near(double a, double b)
{
	return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(b));
}

/* get_score's numbers, printed by Python XGBoost 1.7 for these files */
static void
test_trees(const char *file, const char *f, double gain, double total, int splits, size_t nfeat)
{
	size_t		len;
	char	   *text = slurp(file, &len);
	const char *kind = NULL;
	char		err[256];
	json_t	   *imp = text ? importance_from_artifact(text, len, NULL, &kind, err, sizeof(err)) : NULL;
	json_t	   *e = imp ? find(imp, f) : NULL;
	char		what[200];

	snprintf(what, sizeof(what), "%s: %s gain %.6f, total %.3f, %d splits", file, f, gain, total, splits);
	CHECK(imp != NULL && kind && strcmp(kind, "gain") == 0 && json_array_size(imp) == nfeat,
		  "tree model: every split feature, kind gain");
	CHECK(e && near(json_real_value(json_object_get(e, "importance")), gain) &&
		  near(json_real_value(json_object_get(e, "total_gain")), total) &&
		  json_integer_value(json_object_get(e, "splits")) == splits, what);
	json_decref(imp);
	free(text);
}

static const char bad_split[] =
	"{\"learner\":{\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"trees\":"
	"[{\"left_children\":[1,-1,-1],\"split_indices\":[7,0,0],\"loss_changes\":[1,0,0]}]}},"
	"\"learner_model_param\":{\"num_feature\":\"3\"}}}";

int
main(void)
{
	size_t		len;
	char	   *text;
	const char *kind = NULL;
	char		err[256];
	json_t	   *imp;
	json_t	   *names;

	test_trees("data/python_gbtree.json", "f0", 178.2602081298828, 2673.903076171875, 15, 3);
	test_trees("data/python_gbtree.json", "f1", 16.987659454345703, 67.95063781738281, 4, 3);
	test_trees("data/python_rf.json", "f0", 300.27728271484375, 4203.8818359375, 14, 4);
	test_trees("data/python_rf.json", "f2", 36.56300354003906, 73.12600708007812, 2, 4);

	text = slurp("data/python_gbtree.json", &len);
	names = json_pack("[s,s]", "age", "gender");
	imp = importance_from_artifact(text, len, names, &kind, err, sizeof(err));
	CHECK(imp && strcmp(json_string_value(json_object_get(json_array_get(imp, 0), "feature")), "age") == 0,
		  "names given: feature 0 is age, and the most important");
	CHECK(imp && json_real_value(json_object_get(json_array_get(imp, 0), "importance")) >=
		  json_real_value(json_object_get(json_array_get(imp, 1), "importance")), "most important first");
	json_decref(imp);
	json_decref(names);
	free(text);

	text = slurp("data/python_gblinear.json", &len);
	imp = text ? importance_from_artifact(text, len, NULL, &kind, err, sizeof(err)) : NULL;
	CHECK(imp && strcmp(kind, "weight") == 0 && json_array_size(imp) > 0, "linear model: |weight|");
	json_decref(imp);
	free(text);

	CHECK(importance_from_artifact("{}", 2, NULL, &kind, err, sizeof(err)) == NULL &&
		  strstr(err, "not an XGBoost JSON model"), "not a model: refused");
	CHECK(importance_from_artifact(bad_split, strlen(bad_split), NULL, &kind, err, sizeof(err)) == NULL,
		  "a split on a feature past num_feature: refused");
	return check_summary();
}
