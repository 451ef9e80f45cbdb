/*
 * xgb_tree.c — one tree of an XGBoost JSON model: validated and appended
 * to the model's node array in the compact form of xgb_eval.c.
 */
#include "xgb_model_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fetch an array member of a tree and check its length is num_nodes. */
static MlpModelError
get_tree_array(ParseCtx *ctx, json_t *tree, int t, const char *key, size_t n,
			   bool required, json_t **out)
{
	json_t	   *v = json_object_get(tree, key);

	*out = NULL;
	if (v == NULL && !required)
		return MLP_MODEL_OK;
	if (!json_is_array(v))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: \"%s\" is missing or not an array", t, key);
	if (json_array_size(v) != n)
		return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: \"%s\" has %zu entries, but num_nodes is %zu",
					t, key, json_array_size(v), n);
	*out = v;
	return MLP_MODEL_OK;
}

static MlpModelError
read_int_array(ParseCtx *ctx, json_t *tree, int t, const char *key, size_t n,
			   long long lo, long long hi, int32_t *dst)
{
	json_t	   *arr;
	MlpModelError rc = get_tree_array(ctx, tree, t, key, n, true, &arr);

	if (rc != MLP_MODEL_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
	{
		json_t	   *v = json_array_get(arr, i);
		long long	x;

		if (!json_is_integer(v))
			return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: %s[%zu] is not an integer", t, key, i);
		x = json_integer_value(v);
		if (x < lo || x > hi)
			return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: %s[%zu] is %lld, outside [%lld, %lld]",
						t, key, i, x, lo, hi);
		dst[i] = (int32_t) x;
	}
	return MLP_MODEL_OK;
}

/* The per-tree scratch arrays (not the model's nodes). */
void
xgb_free_scratch(ParseCtx *ctx)
{
	free(ctx->left);
	free(ctx->right);
	free(ctx->parent);
	free(ctx->split_index);
	free(ctx->default_left);
	free(ctx->cond);
	free(ctx->queue);
	free(ctx->visited);
	free(ctx->depth);
}

static bool
grow_scratch(ParseCtx *ctx, size_t n)
{
	if (n <= ctx->cap)
		return true;
	xgb_free_scratch(ctx);
	ctx->left = malloc(n * sizeof(int32_t));
	ctx->right = malloc(n * sizeof(int32_t));
	ctx->parent = malloc(n * sizeof(int32_t));
	ctx->split_index = malloc(n * sizeof(int32_t));
	ctx->default_left = malloc(n);
	ctx->cond = malloc(n * sizeof(float));
	ctx->queue = malloc(n * sizeof(uint32_t));
	ctx->visited = malloc(n);
	ctx->depth = malloc(n);
	if (!ctx->left || !ctx->right || !ctx->parent || !ctx->split_index ||
		!ctx->default_left || !ctx->cond || !ctx->queue || !ctx->visited || !ctx->depth)
	{
		ctx->cap = 0;			/* the non-NULL ones are freed at the end */
		return false;
	}
	ctx->cap = n;
	return true;
}

static bool
reserve_nodes(ParseCtx *ctx, size_t extra)
{
	size_t		need = ctx->num_nodes + extra;
	size_t		cap = ctx->nodes_cap ? ctx->nodes_cap : 256;
	MlpNode    *grown;

	if (need <= ctx->nodes_cap)
		return true;
	while (cap < need)
		cap *= 2;
	grown = xgb_realloc(ctx->alloc, ctx->nodes, ctx->nodes_cap * sizeof(MlpNode),
						cap * sizeof(MlpNode));
	if (grown == NULL)
		return false;
	ctx->nodes = grown;
	ctx->nodes_cap = cap;
	return true;
}

/*
 * Validate one tree and append its compact form.  The walk from the root
 * is breadth-first with a visited flag per node: a child index out of
 * range, a child pointing back to an earlier node (cycle) or a node
 * reached twice is refused, and every node must be reached except the
 * ones XGBoost marked deleted (pruned nodes it keeps for reuse).
 */
MlpModelError
xgb_read_tree(ParseCtx *ctx, json_t *tree, int t, MlpTree *out)
{
	MlpModelError rc;
	json_t	   *tree_param;
	json_t	   *arr;
	long long	num_nodes;
	long long	num_deleted;
	long long	tree_nfeat;
	size_t		n;
	size_t		head;
	size_t		tail;
	size_t		base;
	size_t		ndeleted = 0;
	uint32_t	max_depth = 0;
	uint32_t	nf = (uint32_t) ctx->num_features;
	char		where[48];

	if (!json_is_object(tree))
		return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d is not an object", t);
	snprintf(where, sizeof(where), "tree %d", t);

	{
		json_t	   *id = json_object_get(tree, "id");

		if (id != NULL && (!json_is_integer(id) || json_integer_value(id) != t))
			return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: \"id\" is not %d", t, t);
	}
	if ((rc = xgb_get_object(ctx, tree, "tree_param", where, &tree_param)) != MLP_MODEL_OK)
		return rc;
	if ((rc = xgb_get_count(ctx, tree_param, "num_nodes", where, true, 0,
						1, MLP_MAX_NODES, &num_nodes)) != MLP_MODEL_OK)
		return rc;
	if ((rc = xgb_get_count(ctx, tree_param, "num_deleted", where, false, 0,
						0, num_nodes - 1, &num_deleted)) != MLP_MODEL_OK)
		return rc;
	if ((rc = xgb_get_count(ctx, tree_param, "num_feature", where, false, ctx->num_features,
						1, MLP_MAX_FEATURES, &tree_nfeat)) != MLP_MODEL_OK)
		return rc;
	{
		long long	slv;

		if ((rc = xgb_get_count(ctx, tree_param, "size_leaf_vector", where, false, 0,
							0, MLP_MAX_FEATURES, &slv)) != MLP_MODEL_OK)
			return rc;
		if (slv > 1)
			return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED,
						"tree %d has vector leaves (multi-target trees), which are not supported", t);
	}
	n = (size_t) num_nodes;

	/*
	 * Check the length of the arrays before allocating anything: then the
	 * allocation is bounded by the size of the input, whatever num_nodes
	 * claims.
	 */
	{
		static const char *const required[] = {
			"left_children", "right_children", "parents", "split_indices",
			"split_conditions", "default_left"
		};

		for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		{
			if ((rc = get_tree_array(ctx, tree, t, required[k], n, true, &arr)) != MLP_MODEL_OK)
				return rc;
		}
	}
	if (ctx->num_nodes + n > MLP_MAX_NODES)
		return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED, "the model has more than %u nodes", MLP_MAX_NODES);
	if (!grow_scratch(ctx, n) || !reserve_nodes(ctx, n))
		return xgb_fail(ctx, MLP_MODEL_NO_MEMORY, "out of memory reading tree %d", t);

	if ((rc = read_int_array(ctx, tree, t, "left_children", n, -1, INT32_MAX, ctx->left)) != MLP_MODEL_OK ||
		(rc = read_int_array(ctx, tree, t, "right_children", n, -1, INT32_MAX, ctx->right)) != MLP_MODEL_OK ||
		(rc = read_int_array(ctx, tree, t, "parents", n, -1, INT32_MAX, ctx->parent)) != MLP_MODEL_OK ||
		(rc = read_int_array(ctx, tree, t, "split_indices", n, 0, INT32_MAX, ctx->split_index)) != MLP_MODEL_OK)
		return rc;

	/* default_left: 0/1 (XGBoost 1.7) or booleans (older writers). */
	if ((rc = get_tree_array(ctx, tree, t, "default_left", n, true, &arr)) != MLP_MODEL_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
	{
		json_t	   *v = json_array_get(arr, i);

		if (json_is_boolean(v))
			ctx->default_left[i] = json_is_true(v) ? 1 : 0;
		else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
			ctx->default_left[i] = (uint8_t) json_integer_value(v);
		else
			return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: default_left[%zu] is not 0 or 1", t, i);
	}

	/* split_conditions: thresholds of splits, values of leaves. */
	if ((rc = get_tree_array(ctx, tree, t, "split_conditions", n, true, &arr)) != MLP_MODEL_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
	{
		if (!xgb_number_to_float(json_array_get(arr, i), &ctx->cond[i]))
			return xgb_fail(ctx, MLP_MODEL_INVALID,
						"tree %d: split_conditions[%zu] is not a finite number", t, i);
	}

	/* split_type (absent before XGBoost 1.4): 0 numeric, 1 categorical. */
	if ((rc = get_tree_array(ctx, tree, t, "split_type", n, false, &arr)) != MLP_MODEL_OK)
		return rc;
	for (size_t i = 0; arr != NULL && i < n; i++)
	{
		json_t	   *v = json_array_get(arr, i);

		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1)
			return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: split_type[%zu] is not 0 or 1", t, i);
		if (json_integer_value(v) == 1 && ctx->left[i] != -1)
			return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED,
						"tree %d uses a categorical split (node %zu); categorical features are not supported",
						t, i);
	}
	/* Not used for prediction, but a model is consistent or it is refused. */
	if ((rc = get_tree_array(ctx, tree, t, "base_weights", n, false, &arr)) != MLP_MODEL_OK)
		return rc;

	/* Breadth-first walk from the root (old index 0). */
	memset(ctx->visited, 0, n);
	if (ctx->parent[0] != XGB_NO_PARENT && ctx->parent[0] != -1)
		return xgb_fail(ctx, MLP_MODEL_INVALID, "tree %d: the root node has a parent (%d)", t, ctx->parent[0]);
	ctx->queue[0] = 0;
	ctx->depth[0] = 0;
	ctx->visited[0] = 1;
	head = 0;
	tail = 1;
	base = ctx->num_nodes;
	while (head < tail)
	{
		uint32_t	i = ctx->queue[head];
		MlpNode    *node = &ctx->nodes[base + head];
		int32_t		l = ctx->left[i];
		int32_t		r = ctx->right[i];

		if (l == -1)
		{
			if (r != -1)
				return xgb_fail(ctx, MLP_MODEL_INVALID,
							"tree %d: node %u has no left child but a right child", t, i);
			if (ctx->split_index[i] == XGB_DELETED_SPLIT)
				return xgb_fail(ctx, MLP_MODEL_INVALID,
							"tree %d: node %u is marked deleted but is reachable", t, i);
			node->value = ctx->cond[i];
			node->slot = 2 * nf;
			node->left = (uint32_t) (base + head);
			if (ctx->depth[head] > max_depth)
				max_depth = ctx->depth[head];
		}
		else
		{
			uint32_t	f = (uint32_t) ctx->split_index[i];

			if (l < 0 || (size_t) l >= n || r < 0 || (size_t) r >= n)
				return xgb_fail(ctx, MLP_MODEL_INVALID,
							"tree %d: node %u has a child index out of range (%d, %d; num_nodes %zu)",
							t, i, l, r, n);
			if (l == r || ctx->visited[l] || ctx->visited[r])
				return xgb_fail(ctx, MLP_MODEL_INVALID,
							"tree %d: node %d is reachable more than once (a cycle or a shared node): "
							"not a tree", t, ctx->visited[l] || l == r ? l : r);
			if (ctx->parent[l] != (int32_t) i || ctx->parent[r] != (int32_t) i)
				return xgb_fail(ctx, MLP_MODEL_INVALID,
							"tree %d: the parents of nodes %d and %d are not node %u", t, l, r, i);
			if (f >= nf || f >= (uint32_t) tree_nfeat)
				return xgb_fail(ctx, MLP_MODEL_INVALID,
							"tree %d: node %u splits on feature %u, but the model has %u features",
							t, i, f, nf);
			if (ctx->depth[head] >= MLP_MAX_DEPTH)
				return xgb_fail(ctx, MLP_MODEL_UNSUPPORTED,
							"tree %d is deeper than %d levels, the most mlpipe evaluates", t, MLP_MAX_DEPTH);
			node->value = ctx->cond[i];
			node->slot = f + (ctx->default_left[i] ? nf : 0);
			node->left = (uint32_t) (base + tail);
			ctx->visited[l] = 1;
			ctx->visited[r] = 1;
			ctx->queue[tail] = (uint32_t) l;
			ctx->depth[tail] = (uint8_t) (ctx->depth[head] + 1);
			ctx->queue[tail + 1] = (uint32_t) r;
			ctx->depth[tail + 1] = (uint8_t) (ctx->depth[head] + 1);
			tail += 2;
		}
		head++;
	}

	/* Nodes never reached must be ones XGBoost deleted (pruned). */
	for (size_t i = 0; i < n; i++)
	{
		if (ctx->visited[i])
			continue;
		if (ctx->split_index[i] != XGB_DELETED_SPLIT || ctx->left[i] != -1 || ctx->right[i] != -1)
			return xgb_fail(ctx, MLP_MODEL_INVALID,
						"tree %d: node %zu is not reachable from the root", t, i);
		ndeleted++;
	}
	if (ndeleted != (size_t) num_deleted)
		return xgb_fail(ctx, MLP_MODEL_INVALID,
					"tree %d: %zu nodes are deleted, but num_deleted is %lld", t, ndeleted, num_deleted);

	ctx->num_nodes += tail;
	out->root = (uint32_t) base;
	out->depth = max_depth;
	return MLP_MODEL_OK;
}

