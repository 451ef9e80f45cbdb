/*
 * xgb_eval.c — the evaluator of models read by xgb_model.c.
 *
 * Compact form of tree models
 * ---------------------------
 * All trees live in one array of 12-byte nodes.  Each tree is renumbered in
 * breadth-first order, so the two children of a split are adjacent (right =
 * left + 1) and the hot top levels of a tree share cache lines.  A step of
 * the walk is then branch-free:
 *
 *     idx = node.left + !(row[node.slot] < node.value)
 *
 * where row[] is the input row converted to float once per call, in two
 * copies: slots [0, nf) hold the value or +inf when missing (a missing value
 * then goes right), slots [nf, 2nf) the value or -inf when missing (goes
 * left); a split with default_left uses the second copy.  Thresholds are
 * finite (validated), so +inf/-inf always go the intended way, exactly as
 * XGBoost's "missing goes to the default child" rule.
 *
 * Leaves point to themselves (left = own index) and read slot 2nf, which
 * holds -inf: -inf < leaf value is always true, so a walk that reaches a
 * leaf stays there.  This lets every tree be walked for exactly its depth
 * with no data-dependent branch, and several trees to be walked in lock
 * step (see walk_trees) so that their independent loads overlap.
 *
 * The prediction is base_score plus the leaf values in tree order, summed in
 * float, which is what XGBoost 1.7's CPU predictor does: results are bit for
 * bit equal.
 *
 */
#include "xgb_model_int.h"

#include <math.h>

/* XGBoost's gblinear: bias + base_score, then weight * value for every
 * present feature in index order, all in float. */
static float
predict_linear(const MlpModel *m, const double *x)
{
	int			nf = m->num_features;
	float		sum = m->weights[nf] + m->base_score;

	for (int f = 0; f < nf; f++)
	{
		float		v = (float) x[f];

		if (!isnan(v))
			sum += v * m->weights[f];
	}
	return sum;
}

/*
 * The branch-free walk described at the top of this file.  Trees are walked
 * eight at a time in lock step (for the deepest of the eight; leaves loop on
 * themselves) so that the CPU has eight independent chains of dependent
 * loads to overlap; the leaf values are still added in tree order (the
 * measurements behind eight: tests/bench/README.md, "Measurements behind
 * design choices").
 */
static inline uint32_t
step(const MlpNode *nodes, const float *row, uint32_t idx)
{
	const MlpNode *node = &nodes[idx];

	return node->left + (uint32_t) !(row[node->slot] < node->value);
}

static float
walk_trees(const MlpModel *m, const float *row)
{
	const MlpNode *nodes = m->nodes;
	const MlpTree *trees = m->trees;
	int			ntrees = m->num_trees;
	float		sum = m->base_score;
	int			t = 0;

	for (; t + 8 <= ntrees; t += 8)
	{
		uint32_t	i0 = trees[t].root;
		uint32_t	i1 = trees[t + 1].root;
		uint32_t	i2 = trees[t + 2].root;
		uint32_t	i3 = trees[t + 3].root;
		uint32_t	i4 = trees[t + 4].root;
		uint32_t	i5 = trees[t + 5].root;
		uint32_t	i6 = trees[t + 6].root;
		uint32_t	i7 = trees[t + 7].root;
		uint32_t	d = trees[t].depth;

		for (int k = 1; k < 8; k++)
		{
			if (trees[t + k].depth > d)
				d = trees[t + k].depth;
		}
		for (; d > 0; d--)
		{
			i0 = step(nodes, row, i0);
			i1 = step(nodes, row, i1);
			i2 = step(nodes, row, i2);
			i3 = step(nodes, row, i3);
			i4 = step(nodes, row, i4);
			i5 = step(nodes, row, i5);
			i6 = step(nodes, row, i6);
			i7 = step(nodes, row, i7);
		}
		sum += nodes[i0].value;
		sum += nodes[i1].value;
		sum += nodes[i2].value;
		sum += nodes[i3].value;
		sum += nodes[i4].value;
		sum += nodes[i5].value;
		sum += nodes[i6].value;
		sum += nodes[i7].value;
	}
	for (; t < ntrees; t++)
	{
		uint32_t	idx = trees[t].root;

		for (uint32_t d = trees[t].depth; d > 0; d--)
			idx = step(nodes, row, idx);
		sum += nodes[idx].value;
	}
	return sum;
}

/* Same walk for models too wide for the stack row: decode slots on the fly. */
static float
walk_trees_wide(const MlpModel *m, const double *x)
{
	const MlpNode *nodes = m->nodes;
	uint32_t	nf = (uint32_t) m->num_features;
	float		sum = m->base_score;

	for (int t = 0; t < m->num_trees; t++)
	{
		uint32_t	idx = m->trees[t].root;

		for (uint32_t d = m->trees[t].depth; d > 0; d--)
		{
			const MlpNode *node = &nodes[idx];
			uint32_t	slot = node->slot;
			float		v;

			if (slot == 2 * nf)
				break;			/* leaf */
			v = (float) x[slot >= nf ? slot - nf : slot];
			if (isnan(v))
				v = slot >= nf ? -INFINITY : INFINITY;
			idx = node->left + (uint32_t) !(v < node->value);
		}
		sum += nodes[idx].value;
	}
	return sum;
}

float
mlp_model_predict(const MlpModel *model, const double *x, int nfeatures)
{
	float		row[2 * MLP_STACK_FEATURES + 1];
	int			nf;

	if (model == NULL || x == NULL || nfeatures != model->num_features)
		return NAN;
	if (model->kind == MLP_MODEL_GBLINEAR)
		return predict_linear(model, x);

	nf = model->num_features;
	if (nf > MLP_STACK_FEATURES)
		return walk_trees_wide(model, x);

	/* Convert once: value or +inf (missing goes right) in [0, nf), value or
	 * -inf (missing goes left) in [nf, 2nf), and -inf for leaves. */
	for (int f = 0; f < nf; f++)
	{
		float		v = (float) x[f];

		if (isnan(v))
		{
			row[f] = INFINITY;
			row[nf + f] = -INFINITY;
		}
		else
		{
			row[f] = v;
			row[nf + f] = v;
		}
	}
	row[2 * nf] = -INFINITY;
	return walk_trees(model, row);
}
