/*
 * fuzz_xgb_model.c — libFuzzer target for the XGBoost JSON model reader and
 * the artifact sniffer in front of it (shared with the registry service).
 *
 * mlp_artifact_sniff() on the raw bytes: a kind, a JSON start inside the
 * input, a description for every refused kind.  mlp_model_parse() on them; on success the accessors and
 * mlp_model_predict() on a few rows derived from the input (missing values,
 * zeros, huge values, and values taken from the input bytes so that the
 * fuzzer can steer rows across thresholds), then mlp_model_free().  A
 * failure must come with a message; a success must describe itself
 * consistently.  Leaks are found by LeakSanitizer at exit of each run.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_sniff.h"
#include "xgb_model.h"

/* Rows wider than this are not evaluated (the input allocation stays small);
 * mlp_model_parse accepts up to 2^24 features. */
#define MAX_EVAL_FEATURES 65536

static double
value_from_byte(uint8_t b)
{
	switch (b & 7)
	{
		case 0:
			return NAN;
		case 1:
			return 0.0;
		case 2:
			return -1e300;
		case 3:
			return 1e300;
		case 4:
			return INFINITY;
		default:
			return ((double) b - 128.0) / 8.0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	MlpModel   *model = NULL;
	char		errmsg[256];
	MlpModelError rc;
	int			nf;
	double	   *x;
	MlpArtifactSniff sniffed;

	switch (mlp_artifact_sniff(data, size, &sniffed))
	{
		case MLP_ARTIFACT_JSON_OBJECT:
		case MLP_ARTIFACT_JSON_OTHER:
			if (sniffed.json_start > size)
				abort();
			break;
		default:
			if (sniffed.description[0] == '\0' ||
				memchr(sniffed.description, '\0', sizeof(sniffed.description)) == NULL)
				abort();
	}

	rc = mlp_model_parse((const char *) data, size, &model, errmsg, sizeof(errmsg));
	if (rc != MLP_MODEL_OK)
	{
		if (model != NULL || errmsg[0] == '\0')
			abort();
		return 0;
	}
	if (model == NULL)
		abort();

	nf = mlp_model_num_features(model);
	if (nf < 1 || mlp_model_num_trees(model) < 0 || mlp_model_num_parallel_tree(model) < 1)
		abort();
	if (mlp_model_kind(model) == MLP_MODEL_GBLINEAR && mlp_model_num_trees(model) != 0)
		abort();
	if (mlp_model_algorithm(model) == NULL)
		abort();
	/* a wrong width is refused with NaN, never read past */
	if (!isnan(mlp_model_predict(model, NULL, nf)))
		abort();

	if (nf <= MAX_EVAL_FEATURES && (x = malloc((size_t) nf * sizeof(double))) != NULL)
	{
		double		one;

		if (!isnan(mlp_model_predict(model, &one, nf + 1)))
			abort();
		for (int row = 0; row < 4; row++)
		{
			for (int f = 0; f < nf; f++)
			{
				switch (row)
				{
					case 0:
						x[f] = NAN;
						break;
					case 1:
						x[f] = 0.0;
						break;
					default:
						/* bytes from the end of the input, walked backwards */
						x[f] = value_from_byte(data[(size - 1 - ((size_t) f * 7 + (size_t) row)) % size] + row);
						break;
				}
			}
			(void) mlp_model_predict(model, x, nf);
		}
		free(x);
	}
	mlp_model_free(model);
	return 0;
}
