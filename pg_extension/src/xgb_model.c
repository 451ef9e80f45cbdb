/*
 * xgb_model.c — reader of XGBoost JSON models (docs/models.md).
 *
 * mlp_model_parse() is a pure function of its input bytes (no global state,
 * no I/O), so it can be fuzzed directly.  It works in three steps:
 *
 *  1. sniff: refuse things that are not JSON text at all (pickle, joblib's
 *     compressed files, UBJSON, XGBoost's legacy binary format, empty input)
 *     with a message saying what the bytes look like;
 *  2. parse the JSON with jansson and validate every field we use;
 *  3. build the compact form that xgb_eval.c walks (xgb_model_int.h),
 *     dropping everything else; trees are read by xgb_tree.c.
 *
 * Limits (documented refusals, to keep evaluation bounded):
 *   - tree depth at most MLP_MAX_DEPTH (64) edges from root to leaf;
 *   - num_feature at most MLP_MAX_FEATURES;
 *   - at most MLP_MAX_NODES nodes in the whole model.
 *
 * Numbers: jansson parses JSON numbers as double; we round them to float as
 * XGBoost stores them.  XGBoost writes the shortest text that round-trips a
 * float, for which double-then-float rounding gives the same float.
 */
#include "xgb_model_int.h"

#include "artifact_sniff.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

MlpModelError
xgb_fail(ParseCtx *ctx, MlpModelError code, const char *fmt,...)
{
	va_list		ap;

	if (ctx->errmsg != NULL && ctx->errlen > 0)
	{
		va_start(ap, fmt);
		vsnprintf(ctx->errmsg, ctx->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---------------------------------------------------------------------
 * Step 2: field readers.  Each names the field in its error message.
 * --------------------------------------------------------------------- */

MlpModelError
xgb_get_object(ParseCtx *ctx, json_t *parent, const char *key, const char *where, json_t **out)
{
	json_t	   *v = json_object_get(parent, key);

	*out = NULL;
	if (!json_is_object(v))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "%s%s\"%s\" is missing or not an object",
					where, *where ? ": " : "", key);
	*out = v;
	return MLP_MODEL_OK;
}

/*
 * XGBoost writes counts such as num_feature as strings ("19"); accept a
 * string of decimal digits or a JSON integer, within [lo, hi].
 */
MlpModelError
xgb_get_count(ParseCtx *ctx, json_t *parent, const char *key, const char *where,
		  bool required, long long dflt, long long lo, long long hi, long long *out)
{
	json_t	   *v = json_object_get(parent, key);
	long long	n = 0;

	if (v == NULL && !required)
	{
		*out = dflt;
		return MLP_MODEL_OK;
	}
	if (json_is_integer(v))
		n = json_integer_value(v);
	else if (json_is_string(v))
	{
		const char *s = json_string_value(v);
		size_t		slen = json_string_length(v);

		if (slen == 0 || slen > 18 || strspn(s, "0123456789") != slen)
			return xgb_fail(ctx, MLP_MODEL_INVALID, "%s: \"%s\" is \"%.40s\", not a whole number",
						where, key, s);
		n = strtoll(s, NULL, 10);
	}
	else
		return xgb_fail(ctx, MLP_MODEL_INVALID, "%s: \"%s\" is missing or not a number", where, key);
	if (n < lo || n > hi)
		return xgb_fail(ctx, MLP_MODEL_INVALID, "%s: \"%s\" is %lld, outside [%lld, %lld]",
					where, key, n, lo, hi);
	*out = n;
	return MLP_MODEL_OK;
}

/* A JSON number as float; must be finite after rounding to float. */
bool
xgb_number_to_float(const json_t *v, float *out)
{
	double		d;
	float		f;

	if (!json_is_number(v))
		return false;
	d = json_number_value(v);
	f = (float) d;
	if (!isfinite(f))
		return false;
	*out = f;
	return true;
}

/*
 * base_score is written as a string holding a JSON number ("5E-1"); XGBoost
 * 2.x writes "[5E-1]".  Parsed with jansson (locale-independent).
 */
static MlpModelError
get_base_score(ParseCtx *ctx, json_t *lmp, float *out)
{
	json_t	   *v = json_object_get(lmp, "base_score");
	json_t	   *num;
	json_t	   *elem;
	json_error_t jerr;
	bool		ok;

	if (json_is_number(v))
	{
		if (!xgb_number_to_float(v, out))
			return xgb_fail(ctx, MLP_MODEL_INVALID, "learner_model_param: \"base_score\" is not a finite number");
		return MLP_MODEL_OK;
	}
	if (!json_is_string(v))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "learner_model_param: \"base_score\" is missing or not a number");
	num = json_loadb(json_string_value(v), json_string_length(v), JSON_DECODE_ANY, &jerr);
	elem = num;
	if (json_is_array(num) && json_array_size(num) == 1)
		elem = json_array_get(num, 0);
	ok = xgb_number_to_float(elem, out);
	json_decref(num);
	if (!ok)
		return xgb_fail(ctx, MLP_MODEL_INVALID,
					"learner_model_param: \"base_score\" is \"%.40s\", not a finite number",
					json_string_value(v));
	return MLP_MODEL_OK;
}

static MlpModelError
read_gbtree(ParseCtx *ctx, json_t *model, MlpModel *m)
{
	MlpModelError rc;
	json_t	   *param;
	json_t	   *trees;
	json_t	   *tree_info;
	long long	num_trees;
	long long	num_parallel;
	long long	slv;
	const char *where = "gbtree_model_param";

	if ((rc = xgb_get_object(ctx, model, "gbtree_model_param", "gradient_booster.model", &param)) != MLP_MODEL_OK)
		return rc;
	if ((rc = xgb_get_count(ctx, param, "num_trees", where, true, 0, 0, MLP_MAX_TREES, &num_trees)) != MLP_MODEL_OK ||
		(rc = xgb_get_count(ctx, param, "num_parallel_tree", where, false, 1, 1, MLP_MAX_TREES, &num_parallel)) != MLP_MODEL_OK ||
		(rc = xgb_get_count(ctx, param, "size_leaf_vector", where, false, 0, 0, MLP_MAX_FEATURES, &slv)) != MLP_MODEL_OK)
		return rc;
	if (slv > 1)
		return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED, "multi-target trees (size_leaf_vector %lld) are not supported", slv);
	if (num_trees % num_parallel != 0)
		return xgb_fail(ctx, MLP_MODEL_INVALID,
					"num_trees (%lld) is not a multiple of num_parallel_tree (%lld)", num_trees, num_parallel);

	trees = json_object_get(model, "trees");
	if (!json_is_array(trees))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "gradient_booster.model: \"trees\" is missing or not an array");
	if (json_array_size(trees) != (size_t) num_trees)
		return xgb_fail(ctx, MLP_MODEL_INVALID, "\"trees\" has %zu entries, but num_trees is %lld",
					json_array_size(trees), num_trees);
	tree_info = json_object_get(model, "tree_info");
	if (!json_is_array(tree_info) || json_array_size(tree_info) != (size_t) num_trees)
		return xgb_fail(ctx, MLP_MODEL_INVALID, "\"tree_info\" is missing or does not have num_trees (%lld) entries",
					num_trees);
	for (size_t i = 0; i < (size_t) num_trees; i++)
	{
		json_t	   *v = json_array_get(tree_info, i);

		if (!json_is_integer(v) || json_integer_value(v) != 0)
			return xgb_fail(ctx, MLP_MODEL_INVALID,
						"tree_info[%zu] is not 0 (the only output group of a regression model)", i);
	}

	m->num_trees = (int) num_trees;
	m->num_parallel_tree = (int) num_parallel;
	if (num_trees > 0)
	{
		m->trees = xgb_alloc(ctx->alloc, (size_t) num_trees * sizeof(MlpTree));
		if (m->trees == NULL)
			return xgb_fail(ctx, MLP_MODEL_NO_MEMORY, "out of memory for %lld trees", num_trees);
	}
	for (int t = 0; t < (int) num_trees; t++)
	{
		if ((rc = xgb_read_tree(ctx, json_array_get(trees, (size_t) t), t, &m->trees[t])) != MLP_MODEL_OK)
			return rc;
	}

	/* Hand the node array over to the model, trimmed to size. */
	if (ctx->num_nodes > 0 && ctx->num_nodes < ctx->nodes_cap)
	{
		MlpNode    *trimmed = xgb_realloc(ctx->alloc, ctx->nodes, ctx->nodes_cap * sizeof(MlpNode),
										  ctx->num_nodes * sizeof(MlpNode));

		if (trimmed != NULL)
			ctx->nodes = trimmed;
	}
	m->nodes = ctx->nodes;
	m->num_nodes = ctx->num_nodes;
	ctx->nodes = NULL;
	ctx->num_nodes = 0;
	ctx->nodes_cap = 0;
	return MLP_MODEL_OK;
}

static MlpModelError
read_gblinear(ParseCtx *ctx, json_t *model, MlpModel *m)
{
	json_t	   *weights = json_object_get(model, "weights");
	size_t		expected = (size_t) m->num_features + 1;

	if (!json_is_array(weights))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "gradient_booster.model: \"weights\" is missing or not an array");
	if (json_array_size(weights) != expected)
		return xgb_fail(ctx, MLP_MODEL_INVALID,
					"\"weights\" has %zu entries, expected num_feature + 1 = %zu for one output",
					json_array_size(weights), expected);
	m->weights = xgb_alloc(ctx->alloc, expected * sizeof(float));
	if (m->weights == NULL)
		return xgb_fail(ctx, MLP_MODEL_NO_MEMORY, "out of memory for %zu weights", expected);
	for (size_t i = 0; i < expected; i++)
	{
		if (!xgb_number_to_float(json_array_get(weights, i), &m->weights[i]))
			return xgb_fail(ctx, MLP_MODEL_INVALID, "weights[%zu] is not a finite number", i);
	}
	m->num_trees = 0;
	m->num_parallel_tree = 1;
	return MLP_MODEL_OK;
}

static MlpModelError
read_model(ParseCtx *ctx, json_t *root, MlpModel *m)
{
	MlpModelError rc;
	json_t	   *learner;
	json_t	   *objective;
	json_t	   *lmp;
	json_t	   *gb;
	json_t	   *model;
	json_t	   *name;
	const char *booster;
	long long	num_feature;
	long long	num_target;
	long long	num_class;

	if (!json_is_object(root))
		return xgb_fail(ctx, MLP_MODEL_INVALID,
					"the JSON document is not an XGBoost model (expected an object with a \"learner\")");
	if ((rc = xgb_get_object(ctx, root, "learner", "", &learner)) != MLP_MODEL_OK)
		return rc;

	if ((rc = xgb_get_object(ctx, learner, "objective", "learner", &objective)) != MLP_MODEL_OK)
		return rc;
	name = json_object_get(objective, "name");
	if (!json_is_string(name))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "learner.objective: \"name\" is missing or not a string");
	if (strcmp(json_string_value(name), "reg:squarederror") != 0)
		return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED,
					"objective \"%.60s\" is not supported: mlpipe serves regression models "
					"trained with objective \"reg:squarederror\"", json_string_value(name));

	if ((rc = xgb_get_object(ctx, learner, "learner_model_param", "learner", &lmp)) != MLP_MODEL_OK)
		return rc;
	if ((rc = xgb_get_count(ctx, lmp, "num_feature", "learner_model_param", true, 0,
						1, MLP_MAX_FEATURES, &num_feature)) != MLP_MODEL_OK ||
		(rc = xgb_get_count(ctx, lmp, "num_target", "learner_model_param", false, 1,
						0, MLP_MAX_FEATURES, &num_target)) != MLP_MODEL_OK ||
		(rc = xgb_get_count(ctx, lmp, "num_class", "learner_model_param", false, 0,
						0, MLP_MAX_FEATURES, &num_class)) != MLP_MODEL_OK)
		return rc;
	if (num_target > 1 || num_class > 1)
		return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED,
					"multi-output models (num_target %lld, num_class %lld) are not supported; "
					"mlpipe serves single-output regression", num_target, num_class);
	if ((rc = get_base_score(ctx, lmp, &m->base_score)) != MLP_MODEL_OK)
		return rc;
	m->num_features = (int) num_feature;
	ctx->num_features = (int) num_feature;

	if ((rc = xgb_get_object(ctx, learner, "gradient_booster", "learner", &gb)) != MLP_MODEL_OK)
		return rc;
	name = json_object_get(gb, "name");
	if (!json_is_string(name))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "learner.gradient_booster: \"name\" is missing or not a string");
	booster = json_string_value(name);
	if (strcmp(booster, "dart") == 0)
		return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED, "dart boosters are not supported; use gbtree or gblinear");
	if (strcmp(booster, "gbtree") != 0 && strcmp(booster, "gblinear") != 0)
		return xgb_fail(ctx, MLP_MODEL_INVALID, "unknown booster \"%.40s\" (expected gbtree or gblinear)", booster);
	if ((rc = xgb_get_object(ctx, gb, "model", "learner.gradient_booster", &model)) != MLP_MODEL_OK)
		return rc;

	if (strcmp(booster, "gbtree") == 0)
	{
		m->kind = MLP_MODEL_GBTREE;
		return read_gbtree(ctx, model, m);
	}
	m->kind = MLP_MODEL_GBLINEAR;
	return read_gblinear(ctx, model, m);
}

static void
free_ctx(ParseCtx *ctx)
{
	xgb_free_scratch(ctx);
	xgb_free(ctx->alloc, ctx->nodes);
}

/* ---------------------------------------------------------------------
 * Memory of the model: the caller's allocator, or malloc.
 * --------------------------------------------------------------------- */

static void *
malloc_alloc(void *arg, size_t size)
{
	(void) arg;
	return malloc(size);
}

static void *
malloc_realloc(void *arg, void *ptr, size_t old_size, size_t new_size)
{
	(void) arg;
	(void) old_size;
	return realloc(ptr, new_size);
}

static void
malloc_free(void *arg, void *ptr)
{
	(void) arg;
	free(ptr);
}

static const MlpAllocator malloc_allocator = {malloc_alloc, malloc_realloc, malloc_free, NULL};

void *
xgb_alloc(const MlpAllocator *a, size_t size)
{
	return a->alloc(a->arg, size);
}

void *
xgb_realloc(const MlpAllocator *a, void *ptr, size_t old_size, size_t new_size)
{
	return ptr == NULL ? a->alloc(a->arg, new_size) : a->realloc(a->arg, ptr, old_size, new_size);
}

void
xgb_free(const MlpAllocator *a, void *ptr)
{
	if (ptr != NULL)
		a->free(a->arg, ptr);
}

MlpModelError
mlp_model_parse(const char *data, size_t len, MlpModel **out,
				char *errmsg, size_t errlen)
{
	return mlp_model_parse_with(data, len, NULL, out, errmsg, errlen);
}

MlpModelError
mlp_model_parse_with(const char *data, size_t len, const MlpAllocator *allocator,
					 MlpModel **out, char *errmsg, size_t errlen)
{
	ParseCtx	ctx;
	MlpModelError rc;
	json_t	   *root;
	json_error_t jerr;
	size_t		start;
	MlpArtifactSniff sniffed;
	MlpModel   *m;

	memset(&ctx, 0, sizeof(ctx));
	ctx.alloc = allocator ? allocator : &malloc_allocator;
	ctx.errmsg = errmsg;
	ctx.errlen = errlen;
	if (errmsg != NULL && errlen > 0)
		errmsg[0] = '\0';
	if (out == NULL)
		return xgb_fail(&ctx, MLP_MODEL_INVALID, "no place to return the model");
	*out = NULL;
	if (data == NULL)
		len = 0;

	/* step 1: refuse what is not JSON text at all, saying what it looks like */
	switch (mlp_artifact_sniff(data, len, &sniffed))
	{
		case MLP_ARTIFACT_JSON_OBJECT:
		case MLP_ARTIFACT_JSON_OTHER:	/* parsed, then refused as no model */
			break;
		default:
			return xgb_fail(&ctx, MLP_MODEL_NOT_JSON, "%s", sniffed.description);
	}
	start = sniffed.json_start;

	root = json_loadb(data + start, len - start, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		bool		at_end = jerr.position >= 0 && (size_t) jerr.position >= len - start;

		return xgb_fail(&ctx, MLP_MODEL_INVALID, "the model JSON is %s: %s (line %d, column %d)",
					at_end ? "truncated or malformed" : "malformed",
					jerr.text, jerr.line, jerr.column);
	}

	m = xgb_alloc(ctx.alloc, sizeof(MlpModel));
	if (m == NULL)
	{
		json_decref(root);
		return xgb_fail(&ctx, MLP_MODEL_NO_MEMORY, "out of memory for the model");
	}
	memset(m, 0, sizeof(*m));
	m->alloc = *ctx.alloc;
	rc = read_model(&ctx, root, m);
	json_decref(root);
	free_ctx(&ctx);
	if (rc != MLP_MODEL_OK)
	{
		mlp_model_free(m);
		return rc;
	}
	*out = m;
	return MLP_MODEL_OK;
}

void
mlp_model_free(MlpModel *model)
{
	MlpAllocator a;

	if (model == NULL)
		return;
	a = model->alloc;
	xgb_free(&a, model->trees);
	xgb_free(&a, model->nodes);
	xgb_free(&a, model->weights);
	xgb_free(&a, model);
}

MlpModelKind
mlp_model_kind(const MlpModel *model)
{
	return model->kind;
}

int
mlp_model_num_features(const MlpModel *model)
{
	return model->num_features;
}

int
mlp_model_num_trees(const MlpModel *model)
{
	return model->num_trees;
}

int
mlp_model_num_parallel_tree(const MlpModel *model)
{
	return model->num_parallel_tree;
}

const char *
mlp_model_algorithm(const MlpModel *model)
{
	if (model->kind == MLP_MODEL_GBLINEAR)
		return "linear";
	return model->num_parallel_tree > 1 ? "random_forest" : "xgboost";
}

