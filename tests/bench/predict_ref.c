/*
 * predict_ref.c — the reference side of the prediction benchmark.
 *
 *   predict_ref MODEL.json ROWS.csv [RUNS]
 *
 * Reads an XGBoost JSON artifact (what mlpipe_model_artifact returns) and a
 * CSV of feature rows (no header; an empty field is a missing value, as a
 * NULL is for mlpipe_predict), then times, on ONE thread:
 *
 *   - XGBoost's own batch prediction of all rows (mlp_xgb_predict_dense,
 *     nthread 1).  That call also creates the booster and loads the JSON, so
 *     the same call on a single row is timed too and reported as the setup
 *     cost; "xgb_net" is the batch time minus that setup.
 *   - mlp_model_parse of the artifact: what each backend pays once per model.
 *   - mlpipe's evaluator, mlp_model_predict, in a loop over the same rows:
 *     the raw per-row cost of the tree walk, without PostgreSQL around it.
 *
 * Parsing the files is not timed.  It also reports the shape of the model
 * (trees, deepest tree) and the sums of both predictions, so that the
 * driver can check them against each other and against SQL.
 *
 * Output: one "key value" line per number, for scripts/bench.sh.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "xgb_model.h"
#include "xgb_reference.h"

#define MAX_RUNS 15

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t) n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Whole file into a malloc'd buffer; NULL (and a message) on failure. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	long		size;

	if (f == NULL)
	{
		fprintf(stderr, "predict_ref: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
	{
		fprintf(stderr, "predict_ref: %s: cannot size the file\n", path);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) size + 1);
	if (buf == NULL || fread(buf, 1, (size_t) size, f) != (size_t) size)
	{
		fprintf(stderr, "predict_ref: %s: cannot read the file\n", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[size] = '\0';
	fclose(f);
	*len = (size_t) size;
	return buf;
}

/*
 * Rows of exactly ncols comma-separated numbers (empty = NaN) into a
 * malloc'd row-major double matrix.  Returns the row count, or -1.
 */
static long
parse_rows(char *text, size_t len, int ncols, double **out)
{
	size_t		cap = 1024;
	long		nrows = 0;
	double	   *X = malloc(cap * (size_t) ncols * sizeof(double));
	char	   *p = text;
	char	   *end = text + len;

	if (X == NULL)
		return -1;
	while (p < end)
	{
		if (*p == '\n')
		{
			p++;
			continue;
		}
		if ((size_t) nrows == cap)
		{
			double	   *bigger;

			cap *= 2;
			bigger = realloc(X, cap * (size_t) ncols * sizeof(double));
			if (bigger == NULL)
			{
				free(X);
				return -1;
			}
			X = bigger;
		}
		for (int c = 0; c < ncols; c++)
		{
			double	   *cell = &X[(size_t) nrows * ncols + c];
			char	   *stop;

			if (*p == ',' || *p == '\n' || p >= end)
				*cell = NAN;
			else
			{
				errno = 0;
				*cell = strtod(p, &stop);
				if (stop == p || errno != 0)
				{
					fprintf(stderr, "predict_ref: row %ld column %d: not a number\n", nrows + 1, c + 1);
					free(X);
					return -1;
				}
				p = stop;
			}
			if (c < ncols - 1)
			{
				if (*p != ',')
				{
					fprintf(stderr, "predict_ref: row %ld: fewer than %d columns\n", nrows + 1, ncols);
					free(X);
					return -1;
				}
				p++;
			}
		}
		if (p < end && *p != '\n')
		{
			fprintf(stderr, "predict_ref: row %ld: more than %d columns\n", nrows + 1, ncols);
			free(X);
			return -1;
		}
		nrows++;
	}
	*out = X;
	return nrows;
}

/* Depth (edges from the root to the deepest leaf) of one tree of the JSON. */
static int
tree_depth(json_t *tree)
{
	json_t	   *left = json_object_get(tree, "left_children");
	json_t	   *right = json_object_get(tree, "right_children");
	size_t		n = json_array_size(left);
	int		   *depth;
	int			deepest = 0;

	if (n == 0 || json_array_size(right) != n)
		return -1;
	depth = calloc(n, sizeof(int));
	if (depth == NULL)
		return -1;
	/* XGBoost numbers children after their parents, so one pass suffices */
	for (size_t i = 0; i < n; i++)
	{
		json_int_t	l = json_integer_value(json_array_get(left, i));
		json_int_t	r = json_integer_value(json_array_get(right, i));

		if (depth[i] > deepest)
			deepest = depth[i];
		if (l > (json_int_t) i && (size_t) l < n)
			depth[l] = depth[i] + 1;
		if (r > (json_int_t) i && (size_t) r < n)
			depth[r] = depth[i] + 1;
	}
	free(depth);
	return deepest;
}

/* Prints trees, max_depth and the number of nodes of the artifact. */
static int
report_shape(const char *json, size_t len)
{
	json_error_t jerr;
	json_t	   *root = json_loadb(json, len, 0, &jerr);
	json_t	   *trees;
	size_t		i;
	json_t	   *tree;
	int			deepest = 0;
	long		nodes = 0;

	if (root == NULL)
	{
		fprintf(stderr, "predict_ref: model: %s\n", jerr.text);
		return -1;
	}
	trees = json_object_get(json_object_get(json_object_get(
			json_object_get(root, "learner"), "gradient_booster"), "model"), "trees");
	json_array_foreach(trees, i, tree)
	{
		int			d = tree_depth(tree);

		if (d > deepest)
			deepest = d;
		nodes += (long) json_array_size(json_object_get(tree, "left_children"));
	}
	printf("trees %zu\nmax_depth %d\nnodes %ld\n", json_array_size(trees), deepest, nodes);
	json_decref(root);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t		model_len,
				rows_len;
	char	   *model_json;
	char	   *rows_text;
	double	   *X = NULL;
	float	   *Xf = NULL;
	float	   *out = NULL;
	long		nrows;
	int			runs = argc > 3 ? atoi(argv[3]) : 3;
	int			ncols;
	MlpModel   *model = NULL;
	char		errmsg[512];
	double		t_xgb[MAX_RUNS],
				t_setup[MAX_RUNS],
				t_eval[MAX_RUNS],
				t_parse[MAX_RUNS];
	double		sum_xgb = 0,
				sum_eval = 0;
	int			status = 1;

	if (argc < 3 || runs < 1 || runs > MAX_RUNS)
	{
		fprintf(stderr, "usage: predict_ref MODEL.json ROWS.csv [RUNS 1-%d]\n", MAX_RUNS);
		return 2;
	}
	model_json = read_file(argv[1], &model_len);
	rows_text = read_file(argv[2], &rows_len);
	if (model_json == NULL || rows_text == NULL)
		goto done;
	/* what every backend (each parallel worker too) pays once per model */
	for (int r = 0; r < runs; r++)
	{
		double		t0 = now_seconds();

		mlp_model_free(model);
		model = NULL;
		if (mlp_model_parse(model_json, model_len, &model, errmsg, sizeof(errmsg)) != MLP_MODEL_OK)
		{
			fprintf(stderr, "predict_ref: model: %s\n", errmsg);
			goto done;
		}
		t_parse[r] = now_seconds() - t0;
	}
	printf("parse_s %.6f\n", median(t_parse, runs));
	if (report_shape(model_json, model_len) != 0)
		goto done;
	ncols = mlp_model_num_features(model);
	nrows = parse_rows(rows_text, rows_len, ncols, &X);
	if (nrows <= 0)
	{
		fprintf(stderr, "predict_ref: %s: no rows of %d columns\n", argv[2], ncols);
		goto done;
	}
	free(rows_text);
	rows_text = NULL;
	printf("rows %ld\ncols %d\nruns %d\n", nrows, ncols, runs);

	/* XGBoost reads float32; NaN is its missing value, as in mlpipe */
	Xf = malloc((size_t) nrows * ncols * sizeof(float));
	out = malloc((size_t) nrows * sizeof(float));
	if (Xf == NULL || out == NULL)
	{
		fprintf(stderr, "predict_ref: out of memory\n");
		goto done;
	}
	for (size_t i = 0; i < (size_t) nrows * ncols; i++)
		Xf[i] = (float) X[i];

	for (int r = 0; r < runs; r++)
	{
		double		t0,
					t1,
					t2;

		/* booster creation and JSON load alone: a one-row prediction */
		t0 = now_seconds();
		if (!mlp_xgb_predict_dense(model_json, model_len, Xf, 1, (size_t) ncols, 1, out,
								   errmsg, sizeof(errmsg)))
		{
			fprintf(stderr, "predict_ref: xgboost: %s\n", errmsg);
			goto done;
		}
		t1 = now_seconds();
		if (!mlp_xgb_predict_dense(model_json, model_len, Xf, (size_t) nrows, (size_t) ncols, 1, out,
								   errmsg, sizeof(errmsg)))
		{
			fprintf(stderr, "predict_ref: xgboost: %s\n", errmsg);
			goto done;
		}
		t2 = now_seconds();
		t_setup[r] = t1 - t0;
		t_xgb[r] = t2 - t1;
		sum_xgb = 0;
		for (long i = 0; i < nrows; i++)
			sum_xgb += out[i];

		t0 = now_seconds();
		sum_eval = 0;
		for (long i = 0; i < nrows; i++)
			sum_eval += mlp_model_predict(model, &X[(size_t) i * ncols], ncols);
		t1 = now_seconds();
		t_eval[r] = t1 - t0;
		fprintf(stderr, "  predict_ref run %d/%d: xgboost %.3f s (setup %.3f s), mlp_model_predict %.3f s\n",
				r + 1, runs, t_xgb[r], t_setup[r], t_eval[r]);
	}

	{
		double		xgb = median(t_xgb, runs);
		double		setup = median(t_setup, runs);
		double		eval = median(t_eval, runs);

		printf("xgb_total_s %.6f\nxgb_setup_s %.6f\nxgb_net_s %.6f\n", xgb, setup, xgb - setup);
		printf("xgb_us_per_row %.4f\n", (xgb - setup) * 1e6 / nrows);
		printf("eval_s %.6f\neval_us_per_row %.4f\n", eval, eval * 1e6 / nrows);
		printf("sum_xgb %.10g\nsum_eval %.10g\n", sum_xgb, sum_eval);
	}
	status = 0;

done:
	mlp_model_free(model);
	free(model_json);
	free(rows_text);
	free(X);
	free(Xf);
	free(out);
	return status;
}
