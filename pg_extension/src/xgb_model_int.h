/*
 * xgb_model_int.h — the compact in-memory model shared by the reader
 * (xgb_model.c, xgb_tree.c) and the evaluator (xgb_eval.c).  Not for other
 * files: they use xgb_model.h.
 */
#ifndef MLPIPE_XGB_MODEL_INT_H
#define MLPIPE_XGB_MODEL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "xgb_model.h"

#define MLP_MAX_DEPTH		64
#define MLP_MAX_FEATURES	(1 << 24)
#define MLP_MAX_TREES		(1 << 24)
#define MLP_MAX_NODES		(1u << 30)

/*
 * Input rows of models with at most this many features are converted on the
 * stack (2 * 256 + 1 floats, about 2 kB); wider models use a slower walk
 * that reads the double input directly.
 */
#define MLP_STACK_FEATURES	256

/* XGBoost stores "no parent" and "deleted node" as all-ones 31-bit fields. */
#define XGB_NO_PARENT		2147483647
#define XGB_DELETED_SPLIT	2147483647

typedef struct MlpNode
{
	float		value;			/* split: threshold; leaf: leaf value */
	uint32_t	slot;			/* index into the converted row; see above */
	uint32_t	left;			/* absolute index of left child; right is
								 * left + 1; a leaf points to itself */
} MlpNode;

typedef struct MlpTree
{
	uint32_t	root;			/* absolute index of the root node */
	uint32_t	depth;			/* steps from the root to the deepest leaf */
} MlpTree;

struct MlpModel
{
	MlpModelKind kind;
	int			num_features;
	int			num_trees;
	int			num_parallel_tree;
	float		base_score;
	MlpTree    *trees;			/* gbtree: num_trees entries */
	MlpNode    *nodes;			/* gbtree: all nodes of all trees */
	size_t		num_nodes;
	float	   *weights;		/* gblinear: num_features weights, then bias */
	MlpAllocator alloc;			/* where all of the above came from */
};

/* Parse state: where errors go, and growable scratch space. */
typedef struct ParseCtx
{
	char	   *errmsg;
	size_t		errlen;
	int			num_features;

	/* per-tree scratch, sized for the largest tree seen so far */
	size_t		cap;
	int32_t    *left;
	int32_t    *right;
	int32_t    *parent;
	int32_t    *split_index;
	uint8_t    *default_left;
	float	   *cond;
	uint32_t   *queue;			/* BFS order: queue[k] = old index */
	uint8_t    *visited;
	uint8_t    *depth;			/* depth of queue[k] */

	/* the node array being built */
	MlpNode    *nodes;
	size_t		num_nodes;
	size_t		nodes_cap;

	const MlpAllocator *alloc;	/* for the model's memory, nodes included */
} ParseCtx;

MlpModelError xgb_fail(ParseCtx *ctx, MlpModelError code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Field readers; each names the field (in `where`) in its error message. */
MlpModelError xgb_get_object(ParseCtx *ctx, json_t *parent, const char *key,
							 const char *where, json_t **out);
MlpModelError xgb_get_count(ParseCtx *ctx, json_t *parent, const char *key, const char *where,
							bool required, long long dflt, long long lo, long long hi,
							long long *out);
bool		xgb_number_to_float(const json_t *v, float *out);

/* The model's memory, from ctx->alloc; NULL when out of memory. */
void	   *xgb_alloc(const MlpAllocator *a, size_t size);
void	   *xgb_realloc(const MlpAllocator *a, void *ptr, size_t old_size, size_t new_size);
void		xgb_free(const MlpAllocator *a, void *ptr);

/* Validates tree t and appends its nodes to ctx->nodes (xgb_tree.c). */
MlpModelError xgb_read_tree(ParseCtx *ctx, json_t *tree, int t, MlpTree *out);

/* Frees the per-tree scratch arrays of ctx (not the nodes). */
void		xgb_free_scratch(ParseCtx *ctx);

#endif							/* MLPIPE_XGB_MODEL_INT_H */
