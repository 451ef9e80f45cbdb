/*
 * test_xgb_model.c — unit tests of the XGBoost JSON reader/evaluator
 * (xgb_model.c) and the training wrapper (xgb_train.c).
 *
 *   test_xgb_model [DATA_DIR]     (default: ./data, then tests/unit/data)
 *
 * Prints one line per failed check and a final "N passed, M failed" line;
 * exits 1 on any failure.  The timing lines are information, not checks.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "check.h"
#include "xgb_model.h"
#include "xgb_reference.h"
#include "xgb_train.h"

#define NFEAT 19


/* Trains as spec says; the result's JSON and error copied out as the
 * callers below use them. */
static bool
train_json(const float *X, const float *y, size_t nrows, size_t ncols,
		   const MlpTrainSpec *spec, char **json, size_t *json_len, char *err, size_t errlen)
{
	MlpTrainData data = {X, y, nrows, ncols};
	MlpTrainResult result;
	bool		ok = mlp_xgb_train(&data, spec, &result);

	*json = result.json;
	*json_len = result.json_len;
	snprintf(err, errlen, "%s", result.error);
	return ok;
}


static bool stop_now(void *arg);
static const char *data_dir = "data";

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* ---- deterministic random numbers (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t
rng_next(void)
{
	uint64_t	z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
rng_uniform(void)
{
	return (double) (rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static double
rng_normal(void)
{
	double		u1 = rng_uniform() + 1e-300;
	double		u2 = rng_uniform();

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/*
 * nrows x NFEAT rows, ~10% missing, and a learnable target that uses
 * several features non-linearly (missing counts as 0 in the target).
 */
static void
make_data(size_t nrows, uint64_t seed, float *X, float *y)
{
	rng_state = seed;
	for (size_t i = 0; i < nrows; i++)
	{
		float	   *row = X + i * NFEAT;
		double		z[NFEAT];

		for (int f = 0; f < NFEAT; f++)
		{
			double		v = rng_normal();

			/* a few indicator-like columns, as in the real feature set */
			if (f >= 5 && f < 15)
				v = v > 0.8 ? 1.0 : 0.0;
			if (rng_uniform() < 0.10)
			{
				row[f] = NAN;
				z[f] = 0.0;
			}
			else
			{
				row[f] = (float) v;
				z[f] = v;
			}
		}
		if (y != NULL)
			y[i] = (float) (2.0 * sin(z[0]) + z[1] * z[2] + (z[3] > 0.5 ? 1.5 : 0.0)
							+ 0.5 * z[15] - 0.3 * z[16] + z[7] * z[17]
							+ 0.2 * rng_normal());
	}
}

static void
to_double(const float *src, double *dst)
{
	for (int f = 0; f < NFEAT; f++)
		dst[f] = (double) src[f];
}

/* ---- training against XGBoost's own prediction ---- */

static void
test_trained(const char *label, const MlpTrainParam *params, size_t nparams,
			 int rounds, MlpModelKind kind, const char *algorithm,
			 int expect_trees, bool bit_exact, int forest_trees)
{
	const size_t ntrain = 5000;
	const size_t ntest = 10000;
	float	   *X = malloc(ntrain * NFEAT * sizeof(float));
	float	   *y = malloc(ntrain * sizeof(float));
	float	   *T = malloc(ntest * NFEAT * sizeof(float));
	float	   *ref = malloc(ntest * sizeof(float));
	char	   *json = NULL;
	size_t		json_len = 0;
	char		err[512];
	MlpModel   *model = NULL;
	MlpModelError rc;
	double		max_diff = 0.0;
	size_t		mismatches = 0;
	double		mean = 0.0;
	double		var = 0.0;

	if (!X || !y || !T || !ref)
	{
		CHECKF(false, "%s: out of memory", label);
		goto done;
	}
	make_data(ntrain, 42, X, y);
	make_data(ntest, 4242, T, NULL);

	/* forest_trees > 0: grown in chunks by mlp_xgb_train_forest and merged */
	MlpTrainSpec spec = {.params = params, .nparams = nparams, .nthread = 1,
		.rounds = forest_trees > 0 ? forest_trees : rounds,
	.forest = forest_trees > 0, .seed = 7};

	if (!train_json(X, y, ntrain, NFEAT, &spec, &json, &json_len, err, sizeof(err)))
	{
		CHECKF(false, "%s: training failed: %s", label, err);
		goto done;
	}
	CHECKF(json != NULL && json_len > 0 && json[json_len] == '\0',
		  "%s: trained model is NUL-terminated JSON", label);

	rc = mlp_model_parse(json, json_len, &model, err, sizeof(err));
	CHECKF(rc == MLP_MODEL_OK, "%s: parse trained model: rc %d: %s", label, rc, err);
	if (rc != MLP_MODEL_OK)
		goto done;
	CHECKF(mlp_model_kind(model) == kind, "%s: kind", label);
	CHECKF(strcmp(mlp_model_algorithm(model), algorithm) == 0,
		  "%s: algorithm is %s, expected %s", label, mlp_model_algorithm(model), algorithm);
	CHECKF(mlp_model_num_features(model) == NFEAT, "%s: num_features %d", label,
		  mlp_model_num_features(model));
	CHECKF(mlp_model_num_trees(model) == expect_trees, "%s: num_trees %d, expected %d",
		  label, mlp_model_num_trees(model), expect_trees);

	if (!mlp_xgb_predict_dense(json, json_len, T, ntest, NFEAT, 1, ref, err, sizeof(err)))
	{
		CHECKF(false, "%s: mlp_xgb_predict_dense failed: %s", label, err);
		goto done;
	}
	for (size_t i = 0; i < ntest; i++)
	{
		double		x[NFEAT];
		float		p;
		double		d;

		to_double(T + i * NFEAT, x);
		p = mlp_model_predict(model, x, NFEAT);
		d = fabs((double) p - (double) ref[i]);
		if (!(d <= max_diff))
			max_diff = d;		/* also catches NaN */
		if (p != ref[i])
			mismatches++;
		mean += ref[i];
	}
	mean /= (double) ntest;
	for (size_t i = 0; i < ntest; i++)
		var += ((double) ref[i] - mean) * ((double) ref[i] - mean);
	var /= (double) ntest;

	CHECKF(max_diff <= 1e-5, "%s: max |mlpipe - xgboost| = %g over %zu rows (limit 1e-5)",
		  label, max_diff, ntest);
	if (bit_exact)
		CHECKF(mismatches == 0, "%s: %zu of %zu predictions not bit-equal to XGBoost's",
			  label, mismatches, ntest);
	/* a constant model would make the comparison meaningless */
	CHECKF(var > 0.1, "%s: predictions barely vary (variance %g): model did not learn", label, var);
	printf("   %-14s %zu bytes of JSON, max diff %g, %zu/%zu not bit-equal\n",
		   label, json_len, max_diff, mismatches, ntest);

	CHECKF(isnan(mlp_model_predict(model, (const double[NFEAT]) {0}, NFEAT - 1)),
		  "%s: wrong feature count gives NaN", label);

done:
	mlp_model_free(model);
	free(json);
	free(X);
	free(y);
	free(T);
	free(ref);
}

static void
test_training(void)
{
	static const MlpTrainParam gbtree[] = {
		{"max_depth", "6"}, {"eta", "0.3"}, {"seed", "1"},
	};
	static const MlpTrainParam forest[] = {
		{"num_parallel_tree", "100"}, {"subsample", "0.8"},
		{"colsample_bynode", "0.8"}, {"learning_rate", "1"},
		{"max_depth", "6"}, {"seed", "2"},
	};
	static const MlpTrainParam linear[] = {
		{"booster", "gblinear"}, {"lambda", "1"},
		{"updater", "coord_descent"}, {"verbosity", "0"},
	};

	static const MlpTrainParam chunked[] = {
		{"subsample", "0.8"}, {"colsample_bynode", "0.8"}, {"learning_rate", "1"},
		{"max_depth", "6"},
	};

	test_trained("gbtree", gbtree, 3, 100, MLP_MODEL_GBTREE, "xgboost", 100, true, 0);
	test_trained("random_forest", forest, 6, 1, MLP_MODEL_GBTREE, "random_forest", 100, true, 0);
	test_trained("gblinear", linear, 4, 50, MLP_MODEL_GBLINEAR, "linear", 0, false, 0);
	/* 110 trees: four chunks of 25 and one of 10, merged into one forest */
	test_trained("forest_chunks", chunked, 4, 1, MLP_MODEL_GBTREE, "random_forest", 110, true, 110);
}

/* A forest grown in chunks hears a stop between chunks. */
static void
test_forest_stop(void)
{
	const size_t n = 2000;
	float	   *X = malloc(n * NFEAT * sizeof(float));
	float	   *y = malloc(n * sizeof(float));
	char	   *json = NULL;
	size_t		json_len = 0;
	char		err[256];
	MlpTrainSpec spec = {.nthread = 1, .forest = true, .seed = 1};
	int			calls = 0;
	bool		ok;

	if (!X || !y)
	{
		CHECKF(false, "forest stop: out of memory");
		free(X);
		free(y);
		return;
	}
	make_data(n, 9, X, y);
	spec.rounds = 10000;
	spec.stop = stop_now;
	spec.stop_arg = &calls;
	ok = train_json(X, y, n, NFEAT, &spec, &json, &json_len, err, sizeof(err));
	CHECKF(!ok && json == NULL && strcmp(err, "canceled") == 0,
		  "forest of 10000 trees stopped early: ok=%d err=%s", ok, ok ? "" : err);
	CHECKF(calls <= 4, "forest stop asked %d times before stopping", calls);
	spec.rounds = 0;
	spec.stop = NULL;
	ok = train_json(X, y, n, NFEAT, &spec, &json, &json_len, err, sizeof(err));
	CHECKF(!ok, "a forest of 0 trees is refused");
	free(X);
	free(y);
}


static bool
stop_now(void *arg)
{
	int		   *calls = arg;

	return ++*calls >= 3;
}

static void
test_training_errors(void)
{
	float		X[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8};
	float		y[4] = {1, 2, 3, 4};
	char	   *json = (char *) "untouched";
	size_t		json_len = 99;
	char		err[512] = "";
	int			calls = 0;
	MlpTrainParam bad[] = {{"max_depth", "not-a-number"}};
	bool		ok;

	MlpTrainSpec spec = {.rounds = 10, .nthread = 1, .stop = stop_now, .stop_arg = &calls};

	ok = train_json(X, y, 4, 2, &spec, &json, &json_len, err, sizeof(err));
	CHECKF(!ok && json == NULL && json_len == 0, "train: stop callback cancels training");
	CHECKF(strcmp(err, "canceled") == 0, "train: stop message is \"canceled\", got \"%s\"", err);
	CHECKF(calls == 3, "train: stop callback called between rounds (%d calls)", calls);

	err[0] = '\0';
	spec = (MlpTrainSpec) {.params = bad, .nparams = 1, .rounds = 2, .nthread = 1};
	ok = train_json(X, y, 4, 2, &spec, &json, &json_len, err, sizeof(err));
	CHECKF(!ok && json == NULL, "train: a bad parameter fails");
	CHECKF(strstr(err, "XGBoost") != NULL && strchr(err, '\n') == NULL,
		  "train: XGBoost's error is reported on one line: \"%s\"", err);

	err[0] = '\0';
	spec = (MlpTrainSpec) {.rounds = 2, .nthread = 1};
	ok = train_json(X, y, 0, 2, &spec, &json, &json_len, err, sizeof(err));
	CHECKF(!ok && err[0] != '\0', "train: no rows is refused");

	err[0] = '\0';
	ok = mlp_xgb_predict_dense("{\"not\":\"a model\"}", 17, X, 4, 2, 1, y, err, sizeof(err));
	CHECKF(!ok && err[0] != '\0', "predict_dense: a bad model is refused: %s", err);
}

/* ---- files ---- */

static char *
read_file(const char *name, size_t *len)
{
	char		path[1024];
	FILE	   *fp;
	char	   *buf = NULL;
	long		size;

	snprintf(path, sizeof(path), "%s/%s", data_dir, name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 &&
		fseek(fp, 0, SEEK_SET) == 0 && (buf = malloc((size_t) size + 1)) != NULL)
	{
		if (fread(buf, 1, (size_t) size, fp) != (size_t) size)
		{
			free(buf);
			buf = NULL;
		}
		else
		{
			buf[size] = '\0';
			*len = (size_t) size;
		}
	}
	fclose(fp);
	return buf;
}

/* ---- models written by Python's xgboost ---- */

static void
test_python_fixtures(void)
{
	char	   *expected;
	size_t		len;
	char	   *line;
	char	   *save = NULL;
	int			rows = 0;

	expected = read_file("python_expected.txt", &len);
	CHECKF(expected != NULL, "python fixtures: cannot read %s/python_expected.txt", data_dir);
	if (expected == NULL)
		return;

	for (line = strtok_r(expected, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		char		name[128];
		char	   *p;
		char	   *end;
		double		want;
		double		x[5];
		char	   *json;
		size_t		json_len;
		MlpModel   *model = NULL;
		char		err[512];
		MlpModelError rc;
		float		got;
		int			nread = 0;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%127s%n", name, &nread) != 1)
			continue;
		p = line + nread;
		want = strtod(p, &end);
		p = end;
		for (int f = 0; f < 5; f++)
		{
			x[f] = strtod(p, &end);	/* "nan" parses as NaN */
			p = end;
		}

		json = read_file(name, &json_len);
		CHECKF(json != NULL, "python fixtures: cannot read %s", name);
		if (json == NULL)
			continue;
		rc = mlp_model_parse(json, json_len, &model, err, sizeof(err));
		CHECKF(rc == MLP_MODEL_OK, "python fixture %s: rc %d: %s", name, rc, err);
		if (rc == MLP_MODEL_OK)
		{
			got = mlp_model_predict(model, x, 5);
			CHECKF(fabs((double) got - want) <= 1e-6 * fmax(1.0, fabs(want)),
				  "python fixture %s row %d: got %.9g, Python printed %.9g", name, rows % 12, got, want);
			rows++;
		}
		mlp_model_free(model);
		free(json);
	}
	CHECKF(rows == 36, "python fixtures: %d rows compared, expected 36", rows);
	free(expected);
}

/* ---- broken artifacts ---- */

/* Parse and expect failure with a code and a message containing `needle`. */
static void
expect_refused(const char *label, const char *data, size_t len,
			   MlpModelError want, const char *needle)
{
	MlpModel   *model = (MlpModel *) &model;	/* must be reset to NULL */
	char		err[512];
	MlpModelError rc;

	memset(err, 'x', sizeof(err));
	rc = mlp_model_parse(data, len, &model, err, sizeof(err));
	CHECKF(rc == want, "%s: rc %d, expected %d (%s)", label, rc, want, err);
	CHECKF(model == NULL, "%s: *out is not NULL on failure", label);
	CHECKF(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0',
		  "%s: no error message", label);
	CHECKF(strstr(err, needle) != NULL, "%s: message \"%s\" does not mention \"%s\"",
		  label, err, needle);
	if (rc == MLP_MODEL_OK)
		mlp_model_free(model);
}

static void
expect_refused_json(const char *label, json_t *doc, MlpModelError want, const char *needle)
{
	char	   *text = json_dumps(doc, JSON_COMPACT);

	CHECKF(text != NULL, "%s: json_dumps", label);
	if (text != NULL)
		expect_refused(label, text, strlen(text), want, needle);
	free(text);
}

static json_t *
tree0(json_t *doc)
{
	return json_array_get(json_object_get(json_object_get(json_object_get(
		json_object_get(doc, "learner"), "gradient_booster"), "model"), "trees"), 0);
}

static void
set_int(json_t *tree, const char *key, size_t i, long long v)
{
	json_array_set_new(json_object_get(tree, key), i, json_integer(v));
}

static long long
get_int(json_t *tree, const char *key, size_t i)
{
	return json_integer_value(json_array_get(json_object_get(tree, key), i));
}

/* Replace the first `from` in doc's text with `to`, then expect refusal. */
static void
expect_refused_text(const char *label, json_t *doc, const char *from, const char *to,
					MlpModelError want, const char *needle)
{
	char	   *text = json_dumps(doc, JSON_COMPACT);
	char	   *at = text ? strstr(text, from) : NULL;
	char	   *edited;

	CHECKF(at != NULL, "%s: marker not found", label);
	if (at == NULL)
	{
		free(text);
		return;
	}
	edited = malloc(strlen(text) + strlen(to) + 1);
	memcpy(edited, text, (size_t) (at - text));
	strcpy(edited + (at - text), to);
	strcat(edited, at + strlen(from));
	expect_refused(label, edited, strlen(edited), want, needle);
	free(edited);
	free(text);
}

static void
test_broken(void)
{
	char	   *base;
	size_t		len;
	json_t	   *orig;
	json_t	   *doc;
	json_t	   *t;
	json_error_t jerr;
	long long	l0;
	long long	r0;
	static const char pickle[] = "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x07xgboost\x94.";
	static const char zlib[] = "\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00";
	static const char ubjson[] = "{L\x00\x00\x00\x00\x00\x00\x00\x07learner{";

	base = read_file("python_gbtree.json", &len);
	CHECKF(base != NULL, "broken: cannot read python_gbtree.json");
	if (base == NULL)
		return;
	orig = json_loadb(base, len, 0, &jerr);
	CHECKF(orig != NULL, "broken: jansson cannot read the fixture");
	if (orig == NULL)
	{
		free(base);
		return;
	}

	/* Not JSON at all. */
	expect_refused("empty", "", 0, MLP_MODEL_NOT_JSON, "empty");
	expect_refused("NULL data", NULL, 0, MLP_MODEL_NOT_JSON, "empty");
	expect_refused("pickle", pickle, sizeof(pickle) - 1, MLP_MODEL_NOT_JSON, "pickle");
	expect_refused("pickle message", pickle, sizeof(pickle) - 1, MLP_MODEL_NOT_JSON, "arbitrary code");
	expect_refused("joblib zlib", zlib, sizeof(zlib) - 1, MLP_MODEL_NOT_JSON, "compressed");
	expect_refused("ubjson", ubjson, sizeof(ubjson) - 1, MLP_MODEL_NOT_JSON, "UBJSON");
	expect_refused("gzip", "\x1f\x8b\x08\x00", 4, MLP_MODEL_NOT_JSON, "compressed");
	expect_refused("text", "hello world", 11, MLP_MODEL_NOT_JSON, "not JSON");
	expect_refused("text dump", "booster[0]:\n0:[f0<0.5] yes=1", 27, MLP_MODEL_NOT_JSON, "dump");
	expect_refused("whitespace", " \n\t ", 4, MLP_MODEL_NOT_JSON, "white space");
	expect_refused("binary", "\x01\x02\x03", 3, MLP_MODEL_NOT_JSON, "binary");

	/* JSON, but broken. */
	expect_refused("truncated", base, len / 2, MLP_MODEL_INVALID, "truncated");
	expect_refused("truncated by 1", base, len - 1, MLP_MODEL_INVALID, "truncated");
	expect_refused("array", "[1,2,3]", 7, MLP_MODEL_INVALID, "not an XGBoost model");
	expect_refused("no learner", "{\"version\":[1,7,4]}", 19, MLP_MODEL_INVALID, "learner");
	expect_refused("duplicate key", "{\"learner\":{},\"learner\":{}}", 27, MLP_MODEL_INVALID, "duplicate");

	t = tree0(orig);
	l0 = get_int(t, "left_children", 0);
	r0 = get_int(t, "right_children", 0);
	CHECKF(l0 > 0 && r0 > 0 && get_int(t, "left_children", (size_t) l0) > 0 &&
		  get_int(t, "left_children", (size_t) r0) > 0,
		  "broken: fixture tree 0 should have two levels of splits");

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "left_children", 0, 999);
	expect_refused_json("child out of range", doc, MLP_MODEL_INVALID, "out of range");
	json_decref(doc);

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "right_children", 0, -7);
	expect_refused_json("negative child", doc, MLP_MODEL_INVALID, "outside");
	json_decref(doc);

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "right_children", (size_t) l0, l0);	/* node points to itself */
	expect_refused_json("cycle (self)", doc, MLP_MODEL_INVALID, "more than once");
	json_decref(doc);

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "left_children", (size_t) l0, 0);	/* back to the root */
	expect_refused_json("cycle (root)", doc, MLP_MODEL_INVALID, "more than once");
	json_decref(doc);

	doc = json_deep_copy(orig);
	t = tree0(doc);
	set_int(t, "left_children", (size_t) r0, get_int(t, "left_children", (size_t) l0));
	expect_refused_json("reachable twice", doc, MLP_MODEL_INVALID, "more than once");
	json_decref(doc);

	doc = json_deep_copy(orig);
	t = tree0(doc);
	{
		/* cut the subtree under l0 off: its nodes become unreachable */
		set_int(t, "left_children", (size_t) l0, -1);
		set_int(t, "right_children", (size_t) l0, -1);
	}
	expect_refused_json("unreachable nodes", doc, MLP_MODEL_INVALID, "not reachable");
	json_decref(doc);

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "parents", (size_t) l0, r0);
	expect_refused_json("wrong parent", doc, MLP_MODEL_INVALID, "parent");
	json_decref(doc);

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "split_indices", 0, 5);
	expect_refused_json("feature == num_feature", doc, MLP_MODEL_INVALID, "feature 5");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_array_set_new(json_object_get(tree0(doc), "split_conditions"), 0, json_string("MARK"));
	expect_refused_text("threshold 1e999", doc, "\"MARK\"", "1e999", MLP_MODEL_INVALID, "overflow");
	expect_refused_text("threshold 1e300 (inf as float)", doc, "\"MARK\"", "1e300",
						MLP_MODEL_INVALID, "finite");
	expect_refused_text("threshold NaN", doc, "\"MARK\"", "NaN", MLP_MODEL_INVALID, "malformed");
	expect_refused_json("threshold string", doc, MLP_MODEL_INVALID, "split_conditions[0]");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(json_object_get(doc, "learner"), "objective"),
						"name", json_string("binary:logistic"));
	expect_refused_json("classifier", doc, MLP_MODEL_UNSUPPORTED, "binary:logistic");
	json_decref(doc);

	doc = json_deep_copy(orig);
	set_int(tree0(doc), "split_type", 0, 1);
	expect_refused_json("categorical", doc, MLP_MODEL_UNSUPPORTED, "categorical");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_array_remove(json_object_get(tree0(doc), "parents"), 0);
	expect_refused_json("short array", doc, MLP_MODEL_INVALID, "num_nodes");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(tree0(doc), "tree_param"), "num_nodes", json_string("7x"));
	expect_refused_json("num_nodes not a number", doc, MLP_MODEL_INVALID, "whole number");
	json_decref(doc);

	/* a huge num_nodes must be refused before anything is allocated for it */
	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(tree0(doc), "tree_param"), "num_nodes", json_string("1000000000"));
	expect_refused_json("num_nodes huge", doc, MLP_MODEL_INVALID, "but num_nodes is 1000000000");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(json_object_get(json_object_get(json_object_get(
		doc, "learner"), "gradient_booster"), "model"), "gbtree_model_param"),
		"num_trees", json_string("4"));
	expect_refused_json("num_trees mismatch", doc, MLP_MODEL_INVALID, "num_trees");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_array_remove(json_object_get(json_object_get(json_object_get(json_object_get(
		doc, "learner"), "gradient_booster"), "model"), "tree_info"), 0);
	expect_refused_json("tree_info length", doc, MLP_MODEL_INVALID, "tree_info");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(json_object_get(json_object_get(json_object_get(
		doc, "learner"), "gradient_booster"), "model"), "gbtree_model_param"),
		"num_parallel_tree", json_string("0"));
	expect_refused_json("num_parallel_tree 0", doc, MLP_MODEL_INVALID, "num_parallel_tree");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(json_object_get(doc, "learner"), "learner_model_param"),
						"num_class", json_string("3"));
	expect_refused_json("num_class 3", doc, MLP_MODEL_UNSUPPORTED, "multi-output");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(json_object_get(doc, "learner"), "learner_model_param"),
						"base_score", json_string("abc"));
	expect_refused_json("base_score", doc, MLP_MODEL_INVALID, "base_score");
	json_decref(doc);

	doc = json_deep_copy(orig);
	json_object_set_new(json_object_get(json_object_get(doc, "learner"), "gradient_booster"),
						"name", json_string("dart"));
	expect_refused_json("dart", doc, MLP_MODEL_UNSUPPORTED, "dart");
	json_decref(doc);

	/* Deleted nodes: the fixture has some; the count must match. */
	{
		json_t	   *trees = json_object_get(json_object_get(json_object_get(json_object_get(
			orig, "learner"), "gradient_booster"), "model"), "trees");
		size_t		i;
		json_t	   *tr;
		bool		found = false;

		json_array_foreach(trees, i, tr)
		{
			if (strcmp(json_string_value(json_object_get(json_object_get(tr, "tree_param"),
														  "num_deleted")), "0") != 0)
			{
				doc = json_deep_copy(orig);
				json_object_set_new(json_object_get(json_array_get(json_object_get(json_object_get(
					json_object_get(json_object_get(doc, "learner"), "gradient_booster"), "model"),
					"trees"), i), "tree_param"), "num_deleted", json_string("0"));
				expect_refused_json("num_deleted wrong", doc, MLP_MODEL_INVALID, "deleted");
				json_decref(doc);
				found = true;
				break;
			}
		}
		CHECKF(found, "fixture python_gbtree.json should contain deleted (pruned) nodes");
	}

	json_decref(orig);
	free(base);

	/* gblinear weights length */
	base = read_file("python_gblinear.json", &len);
	orig = base ? json_loadb(base, len, 0, &jerr) : NULL;
	CHECKF(orig != NULL, "broken: cannot read python_gblinear.json");
	if (orig != NULL)
	{
		doc = json_deep_copy(orig);
		json_array_remove(json_object_get(json_object_get(json_object_get(json_object_get(
			doc, "learner"), "gradient_booster"), "model"), "weights"), 0);
		expect_refused_json("gblinear weights length", doc, MLP_MODEL_INVALID, "weights");
		json_decref(doc);
		json_decref(orig);
	}
	free(base);
}

/* ---- hand-made trees: exact semantics, depth limit ---- */

static json_t *
int_array(const int *v, int n)
{
	json_t	   *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *
real_array(const double *v, int n)
{
	json_t	   *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	return a;
}

static json_t *
make_tree(int id, int n, const int *left, const int *right, const int *parent,
		  const int *sidx, const double *cond, const int *dl, int nfeat)
{
	json_t	   *t = json_object();
	json_t	   *param = json_object();
	int		   *zeros = calloc((size_t) n, sizeof(int));
	char		buf[32];

	snprintf(buf, sizeof(buf), "%d", n);
	json_object_set_new(param, "num_nodes", json_string(buf));
	json_object_set_new(param, "num_deleted", json_string("0"));
	snprintf(buf, sizeof(buf), "%d", nfeat);
	json_object_set_new(param, "num_feature", json_string(buf));
	json_object_set_new(param, "size_leaf_vector", json_string("0"));
	json_object_set_new(t, "tree_param", param);
	json_object_set_new(t, "id", json_integer(id));
	json_object_set_new(t, "left_children", int_array(left, n));
	json_object_set_new(t, "right_children", int_array(right, n));
	json_object_set_new(t, "parents", int_array(parent, n));
	json_object_set_new(t, "split_indices", int_array(sidx, n));
	json_object_set_new(t, "split_conditions", real_array(cond, n));
	json_object_set_new(t, "default_left", int_array(dl, n));
	json_object_set_new(t, "split_type", int_array(zeros, n));
	json_object_set_new(t, "base_weights", real_array(cond, n));
	free(zeros);
	return t;
}

static json_t *
make_gbtree_doc(json_t *trees, int nfeat, const char *base_score)
{
	json_t	   *doc = json_object();
	json_t	   *learner = json_object();
	json_t	   *lmp = json_object();
	json_t	   *gb = json_object();
	json_t	   *model = json_object();
	json_t	   *param = json_object();
	json_t	   *info = json_array();
	char		buf[32];

	for (size_t i = 0; i < json_array_size(trees); i++)
		json_array_append_new(info, json_integer(0));
	snprintf(buf, sizeof(buf), "%zu", json_array_size(trees));
	json_object_set_new(param, "num_trees", json_string(buf));
	json_object_set_new(param, "num_parallel_tree", json_string("1"));
	json_object_set_new(model, "gbtree_model_param", param);
	json_object_set_new(model, "trees", trees);
	json_object_set_new(model, "tree_info", info);
	json_object_set_new(gb, "name", json_string("gbtree"));
	json_object_set_new(gb, "model", model);
	snprintf(buf, sizeof(buf), "%d", nfeat);
	json_object_set_new(lmp, "num_feature", json_string(buf));
	json_object_set_new(lmp, "base_score", json_string(base_score));
	json_object_set_new(lmp, "num_class", json_string("0"));
	json_object_set_new(lmp, "num_target", json_string("1"));
	json_object_set_new(learner, "learner_model_param", lmp);
	json_object_set_new(learner, "gradient_booster", gb);
	json_object_set_new(learner, "objective", json_pack("{s:s}", "name", "reg:squarederror"));
	json_object_set_new(doc, "learner", learner);
	return doc;
}

static MlpModel *
parse_doc(json_t *doc, char *err, size_t errlen, MlpModelError *rc)
{
	char	   *text = json_dumps(doc, JSON_COMPACT);
	MlpModel   *model = NULL;

	*rc = mlp_model_parse(text, text ? strlen(text) : 0, &model, err, errlen);
	free(text);
	return model;
}

/* A chain of `depth` splits on feature 0: split k sends x < k to a leaf of
 * value k + 0.25, the last right child is a leaf of value -1. */
static json_t *
make_chain_doc(int depth)
{
	int			n = 2 * depth + 1;
	int		   *left = malloc(sizeof(int) * (size_t) n);
	int		   *right = malloc(sizeof(int) * (size_t) n);
	int		   *parent = malloc(sizeof(int) * (size_t) n);
	int		   *sidx = calloc((size_t) n, sizeof(int));
	int		   *dl = calloc((size_t) n, sizeof(int));
	double	   *cond = malloc(sizeof(double) * (size_t) n);
	json_t	   *trees = json_array();

	parent[0] = 2147483647;
	for (int k = 0; k < depth; k++)
	{
		int			s = 2 * k;

		left[s] = s + 1;
		right[s] = s + 2;
		cond[s] = k;
		left[s + 1] = right[s + 1] = -1;
		cond[s + 1] = k + 0.25;
		parent[s + 1] = parent[s + 2] = s;
	}
	left[n - 1] = right[n - 1] = -1;
	cond[n - 1] = -1.0;
	json_array_append_new(trees, make_tree(0, n, left, right, parent, sidx, cond, dl, 2));
	free(left);
	free(right);
	free(parent);
	free(sidx);
	free(dl);
	free(cond);
	return make_gbtree_doc(trees, 2, "0E0");
}

static void
test_handmade(void)
{
	char		err[512];
	MlpModelError rc;
	MlpModel   *model;
	json_t	   *doc;
	json_t	   *trees;

	/*
	 * Tree 0: f1 < 0.5 ? 1 : 2, missing goes left.
	 * Tree 1: f0 < -1  ? 10 : (f1 < 0.25 ? 20 : 40), missing goes right.
	 */
	{
		int			l0[] = {1, -1, -1}, r0[] = {2, -1, -1}, p0[] = {2147483647, 0, 0};
		int			s0[] = {1, 0, 0}, d0[] = {1, 0, 0};
		double		c0[] = {0.5, 1.0, 2.0};
		int			l1[] = {1, -1, 3, -1, -1}, r1[] = {2, -1, 4, -1, -1};
		int			p1[] = {2147483647, 0, 0, 2, 2}, s1[] = {0, 0, 1, 0, 0}, d1[] = {0, 0, 0, 0, 0};
		double		c1[] = {-1.0, 10.0, 0.25, 20.0, 40.0};

		trees = json_array();
		json_array_append_new(trees, make_tree(0, 3, l0, r0, p0, s0, c0, d0, 2));
		json_array_append_new(trees, make_tree(1, 5, l1, r1, p1, s1, c1, d1, 2));
		doc = make_gbtree_doc(trees, 2, "5E-1");
	}
	model = parse_doc(doc, err, sizeof(err), &rc);
	CHECKF(rc == MLP_MODEL_OK, "handmade: rc %d: %s", rc, err);
	if (model != NULL)
	{
		struct
		{
			double		x0,
						x1;
			float		want;
		}			cases[] = {
			{0.0, 0.0, 0.5f + 1 + 20},
			{0.0, 0.5, 0.5f + 2 + 40},	/* equal to threshold goes right */
			{0.0, 0.49999999999, 0.5f + 2 + 40},	/* rounds to 0.5f: right */
			{0.0, 0.4999999, 0.5f + 1 + 40},
			{-2.0, NAN, 0.5f + 1 + 10},	/* tree 0 missing: left */
			{NAN, 0.3, 0.5f + 1 + 40},	/* tree 1 missing f0: right */
			{NAN, NAN, 0.5f + 1 + 40},
			{-1.0, 0.1, 0.5f + 1 + 20},
			{-INFINITY, INFINITY, 0.5f + 2 + 10},
			{1e300, -1e300, 0.5f + 1 + 20},	/* out of float range: +-inf */
		};

		CHECKF(mlp_model_num_trees(model) == 2 && mlp_model_num_parallel_tree(model) == 1,
			  "handmade: tree counts");
		CHECKF(strcmp(mlp_model_algorithm(model), "xgboost") == 0, "handmade: algorithm");
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			double		x[2] = {cases[i].x0, cases[i].x1};
			float		got = mlp_model_predict(model, x, 2);

			CHECKF(got == cases[i].want, "handmade case %zu: got %g, want %g", i, got, cases[i].want);
		}
		mlp_model_free(model);
	}
	json_decref(doc);

	/* Depth limit: 64 levels are evaluated, 65 refused. */
	doc = make_chain_doc(64);
	model = parse_doc(doc, err, sizeof(err), &rc);
	CHECKF(rc == MLP_MODEL_OK, "chain 64: rc %d: %s", rc, err);
	if (model != NULL)
	{
		double		x[2] = {10.5, 0};
		double		far[2] = {1000, 0};

		CHECKF(mlp_model_predict(model, x, 2) == 11.25f, "chain 64: x=10.5 gives %g",
			  mlp_model_predict(model, x, 2));
		CHECKF(mlp_model_predict(model, far, 2) == -1.0f, "chain 64: x=1000 gives %g",
			  mlp_model_predict(model, far, 2));
		mlp_model_free(model);
	}
	json_decref(doc);
	doc = make_chain_doc(65);
	expect_refused_json("chain 65", doc, MLP_MODEL_UNSUPPORTED, "deeper than 64");
	json_decref(doc);

	/* A model of zero trees predicts base_score; a single-leaf tree works. */
	doc = make_gbtree_doc(json_array(), 3, "1.25E0");
	model = parse_doc(doc, err, sizeof(err), &rc);
	CHECKF(rc == MLP_MODEL_OK && model != NULL &&
		  mlp_model_predict(model, (const double[3]) {1, 2, 3}, 3) == 1.25f,
		  "zero trees: base_score only (rc %d: %s)", rc, err);
	mlp_model_free(model);
	json_decref(doc);
	{
		int			l[] = {-1}, r[] = {-1}, p[] = {2147483647}, s[] = {0}, d[] = {0};
		double		c[] = {0.125};

		trees = json_array();
		json_array_append_new(trees, make_tree(0, 1, l, r, p, s, c, d, 3));
		doc = make_gbtree_doc(trees, 3, "[1E0]");	/* XGBoost 2.x style */
		model = parse_doc(doc, err, sizeof(err), &rc);
		CHECKF(rc == MLP_MODEL_OK && model != NULL &&
			  mlp_model_predict(model, (const double[3]) {NAN, 2, 3}, 3) == 1.125f,
			  "single leaf: rc %d: %s", rc, err);
		mlp_model_free(model);
		json_decref(doc);
	}
}

/*
 * Random damage to a valid model must never crash or leak (run under
 * valgrind or ASan to see leaks): every result is OK or a refusal with
 * a message.
 */
static void
test_mutations(void)
{
	char	   *base;
	size_t		len;
	char	   *buf;
	int			ok = 0;
	int			refused = 0;
	int			bad = 0;

	base = read_file("python_rf.json", &len);
	CHECKF(base != NULL, "mutations: cannot read python_rf.json");
	if (base == NULL)
		return;
	buf = malloc(len);
	rng_state = 7;
	for (int iter = 0; iter < 3000; iter++)
	{
		size_t		n = len;
		int			edits = 1 + (int) (rng_next() % 4);
		MlpModel   *model = NULL;
		char		err[256];
		MlpModelError rc;

		memcpy(buf, base, len);
		for (int e = 0; e < edits; e++)
		{
			size_t		pos = rng_next() % n;
			static const char alphabet[] = "0123456789-,[]{}\":eE.9x ";

			switch (rng_next() % 3)
			{
				case 0:
					buf[pos] = alphabet[rng_next() % (sizeof(alphabet) - 1)];
					break;
				case 1:
					buf[pos] = (char) (rng_next() & 0xff);
					break;
				default:
					n = pos + 1;	/* truncate */
					break;
			}
		}
		err[0] = '\0';
		rc = mlp_model_parse(buf, n, &model, err, sizeof(err));
		if (rc == MLP_MODEL_OK && model != NULL)
		{
			double		x[5] = {0.1, NAN, -0.3, 2, 0};

			(void) mlp_model_predict(model, x, mlp_model_num_features(model) == 5 ? 5 : 0);
			mlp_model_free(model);
			ok++;
		}
		else if (rc != MLP_MODEL_OK && model == NULL && err[0] != '\0')
			refused++;
		else
			bad++;
	}
	CHECKF(bad == 0, "mutations: %d results were neither a model nor a refusal with a message", bad);
	printf("   mutations: %d parsed, %d refused\n", ok, refused);
	free(buf);
	free(base);
}

/* ---- timing (information only) ---- */

static void
report_timing(void)
{
	const size_t ntrain = 20000;
	const size_t nrows = 100000;
	static const MlpTrainParam params[] = {{"max_depth", "6"}, {"eta", "0.1"}, {"seed", "3"}};
	float	   *X = malloc(ntrain * NFEAT * sizeof(float));
	float	   *y = malloc(ntrain * sizeof(float));
	float	   *T = malloc(nrows * NFEAT * sizeof(float));
	double	   *D = malloc(nrows * NFEAT * sizeof(double));
	float	   *ref = malloc(nrows * sizeof(float));
	char	   *json = NULL;
	size_t		json_len;
	char		err[512];
	MlpModel   *model = NULL;
	MlpModelError rc;
	double		t0,
				t_parse,
				t_ours,
				t_xgb;
	float		acc = 0;
	size_t		mismatches = 0;

	if (!X || !y || !T || !D || !ref)
		goto done;
	make_data(ntrain, 99, X, y);
	make_data(nrows, 98, T, NULL);
	for (size_t i = 0; i < nrows * NFEAT; i++)
		D[i] = T[i];
	MlpTrainSpec spec = {.params = params, .nparams = 3, .rounds = 200, .nthread = 2};

	if (!train_json(X, y, ntrain, NFEAT, &spec, &json, &json_len, err, sizeof(err)))
	{
		CHECKF(false, "timing: training failed: %s", err);
		goto done;
	}
	t0 = now_seconds();
	rc = mlp_model_parse(json, json_len, &model, err, sizeof(err));
	t_parse = now_seconds() - t0;
	CHECKF(rc == MLP_MODEL_OK, "timing: parse: %s", err);
	if (rc != MLP_MODEL_OK)
		goto done;

	t0 = now_seconds();
	if (!mlp_xgb_predict_dense(json, json_len, T, nrows, NFEAT, 1, ref, err, sizeof(err)))
	{
		CHECKF(false, "timing: xgboost predict failed: %s", err);
		goto done;
	}
	t_xgb = now_seconds() - t0;

	t0 = now_seconds();
	for (size_t i = 0; i < nrows; i++)
	{
		float		p = mlp_model_predict(model, D + i * NFEAT, NFEAT);

		acc += p;
		if (p != ref[i])
			mismatches++;
	}
	t_ours = now_seconds() - t0;
	CHECKF(mismatches == 0, "timing model: %zu of %zu predictions differ from XGBoost's",
		  mismatches, nrows);

	printf("   timing: 200 trees depth 6 (%zu bytes JSON, parsed in %.2f ms), %zu rows:\n",
		   json_len, t_parse * 1e3, nrows);
	printf("   timing: mlp_model_predict      %.3f us/row (one row per call)\n",
		   t_ours * 1e6 / (double) nrows);
	printf("   timing: mlp_xgb_predict_dense  %.3f us/row (nthread=1, one batch call incl. model load)\n",
		   t_xgb * 1e6 / (double) nrows);
	if (acc == 12345.678f)
		printf(" \n");			/* keep acc alive */

done:
	mlp_model_free(model);
	free(json);
	free(X);
	free(y);
	free(T);
	free(D);
	free(ref);
}

int
main(int argc, char **argv)
{
	FILE	   *probe;

	if (argc > 1)
		data_dir = argv[1];
	else if ((probe = fopen("data/python_expected.txt", "r")) != NULL)
		fclose(probe);
	else
		data_dir = "tests/unit/data";

	test_handmade();
	test_python_fixtures();
	test_broken();
	test_mutations();
	test_training_errors();
	test_training();
	test_forest_stop();
	if (getenv("MLP_SKIP_TIMING") == NULL)
		report_timing();

	return check_summary();
}
