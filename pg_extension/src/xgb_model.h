/*
 * xgb_model.h — reader and evaluator of XGBoost JSON models (docs/models.md).
 *
 * mlp_model_parse() reads exactly what Booster.save_model("m.json") writes in
 * XGBoost 1.7 (gbtree, including num_parallel_tree > 1, and gblinear),
 * validates everything, and builds a compact in-memory form that
 * mlp_model_predict() walks without touching JSON again.  Plain C (jansson),
 * no PostgreSQL headers: jansson's names clash with PostgreSQL's.
 *
 * Memory: the model is a few blocks from the caller's allocator (malloc by
 * default; the extension points it at a memory context), released with
 * mlp_model_free().  Parsing's own scratch space is malloc'd and freed
 * before it returns.  On failure nothing is leaked.
 */
#ifndef MLPIPE_XGB_MODEL_H
#define MLPIPE_XGB_MODEL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct MlpModel MlpModel;

typedef enum MlpModelKind
{
	MLP_MODEL_GBTREE,
	MLP_MODEL_GBLINEAR
} MlpModelKind;

/* Result codes of mlp_model_parse(). */
typedef enum MlpModelError
{
	MLP_MODEL_OK = 0,
	MLP_MODEL_NOT_JSON,			/* not an XGBoost JSON model at all: pickle,
								 * joblib, UBJSON, binary, empty...; errmsg
								 * says what it looks like */
	MLP_MODEL_INVALID,			/* JSON, but not a valid/consistent model */
	MLP_MODEL_UNSUPPORTED,		/* valid, but not servable here: objective
								 * other than reg:squarederror, categorical
								 * splits, dart, ... */
	MLP_MODEL_NO_MEMORY
} MlpModelError;

/*
 * Where a model's memory comes from.  alloc and realloc return NULL when
 * out of memory and must not throw (the parser then frees what it holds
 * and fails with MLP_MODEL_NO_MEMORY); realloc is told the old size.
 */
typedef struct MlpAllocator
{
	void	   *(*alloc) (void *arg, size_t size);
	void	   *(*realloc) (void *arg, void *ptr, size_t old_size, size_t new_size);
	void		(*free) (void *arg, void *ptr);
	void	   *arg;
} MlpAllocator;

/*
 * Parse and validate a model.  On success returns MLP_MODEL_OK and *out;
 * otherwise *out is NULL and errmsg (errlen bytes, always NUL-terminated)
 * holds one human-readable sentence naming what is wrong.
 */
MlpModelError mlp_model_parse(const char *data, size_t len, MlpModel **out,
							  char *errmsg, size_t errlen);

/* The same, with the model's memory from allocator (NULL: malloc); the
 * model keeps a copy of *allocator for mlp_model_free. */
MlpModelError mlp_model_parse_with(const char *data, size_t len, const MlpAllocator *allocator,
								   MlpModel **out, char *errmsg, size_t errlen);

void		mlp_model_free(MlpModel *model);

MlpModelKind mlp_model_kind(const MlpModel *model);
int			mlp_model_num_features(const MlpModel *model);
int			mlp_model_num_trees(const MlpModel *model);	/* 0 for gblinear */
int			mlp_model_num_parallel_tree(const MlpModel *model);	/* 1 for gblinear */

/* "xgboost" (gbtree, one tree per round), "random_forest" (gbtree with
 * num_parallel_tree > 1) or "linear" (gblinear). */
const char *mlp_model_algorithm(const MlpModel *model);

/*
 * Raw model output (what XGBoost's predict returns for reg:squarederror) for
 * one row of nfeatures values; NaN means missing.  nfeatures must equal
 * mlp_model_num_features().  Bit-for-bit equal to XGBoost 1.7's output
 * (float32 accumulation, as XGBoost does).
 */
float		mlp_model_predict(const MlpModel *model, const double *x, int nfeatures);

#endif							/* MLPIPE_XGB_MODEL_H */
