/*
 * test_model_alloc.c — the model reader takes its memory from the caller's
 * allocator (the extension points it at a memory context): every block of
 * a model comes from it and goes back to it, and an allocator that runs
 * out at any point makes the parse fail cleanly, with nothing held.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xgb_model.h"

typedef struct Counting
{
	long		allocs;			/* calls that returned memory */
	long		live;			/* blocks not yet freed */
	long		fail_after;		/* -1: never fail */
} Counting;

static void *
counting_alloc(void *arg, size_t size)
{
	Counting   *c = arg;
	void	   *p;

	if (c->fail_after >= 0 && c->allocs >= c->fail_after)
		return NULL;
	p = malloc(size);
	if (p)
	{
		c->allocs++;
		c->live++;
	}
	return p;
}

static void *
counting_realloc(void *arg, void *ptr, size_t old_size, size_t new_size)
{
	Counting   *c = arg;
	void	   *p;

	(void) old_size;
	if (c->fail_after >= 0 && c->allocs >= c->fail_after)
		return NULL;
	p = realloc(ptr, new_size);
	if (p)
		c->allocs++;
	return p;
}

static void
counting_free(void *arg, void *ptr)
{
	Counting   *c = arg;

	c->live--;
	free(ptr);
}

static char *
read_file(const char *dir, const char *name, size_t *len)
{
	char		path[1024];
	FILE	   *fp;
	char	   *buf;
	long		size;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t) size + 1);
	if (buf && fread(buf, 1, (size_t) size, fp) != (size_t) size)
	{
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	*len = (size_t) size;
	return buf;
}

static void
test_file(const char *dir, const char *name)
{
	size_t		len;
	char	   *json = read_file(dir, name, &len);
	Counting	c = {0, 0, -1};
	MlpAllocator a = {counting_alloc, counting_realloc, counting_free, &c};
	MlpModel   *model = NULL;
	char		err[256];
	char		what[300];
	long		needed;
	double		x[19] = {0};

	snprintf(what, sizeof(what), "%s: read", name);
	CHECK(json != NULL, what);
	if (json == NULL)
		return;

	snprintf(what, sizeof(what), "%s: parsed with the allocator", name);
	CHECK(mlp_model_parse_with(json, len, &a, &model, err, sizeof(err)) == MLP_MODEL_OK, what);
	snprintf(what, sizeof(what), "%s: every block of the model comes from the allocator", name);
	CHECK(c.allocs > 0 && c.live > 0, what);
	snprintf(what, sizeof(what), "%s: the model predicts", name);
	CHECK(model && mlp_model_predict(model, x, mlp_model_num_features(model)) ==
		  mlp_model_predict(model, x, mlp_model_num_features(model)), what);
	mlp_model_free(model);
	snprintf(what, sizeof(what), "%s: mlp_model_free gives every block back", name);
	CHECK(c.live == 0, what);

	/* out of memory at every possible point: a clean failure each time */
	needed = c.allocs;
	for (long n = 0; n < needed; n++)
	{
		MlpModelError rc;

		c = (Counting) {0, 0, n};
		model = NULL;
		rc = mlp_model_parse_with(json, len, &a, &model, err, sizeof(err));
		/* only the final trim of the node array may fail and still succeed */
		if (rc == MLP_MODEL_OK)
		{
			snprintf(what, sizeof(what), "%s: a failed trim after %ld blocks keeps the model", name, n);
			CHECK(model != NULL && n == needed - 1, what);
			mlp_model_free(model);
			model = NULL;
		}
		snprintf(what, sizeof(what), "%s: out of memory after %ld blocks: nothing held", name, n);
		CHECK(model == NULL && c.live == 0 && (rc == MLP_MODEL_OK || (rc == MLP_MODEL_NO_MEMORY && err[0])),
			  what);
	}
	free(json);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "data";
	FILE	   *probe;
	char		path[1024];

	snprintf(path, sizeof(path), "%s/python_gbtree.json", dir);
	if ((probe = fopen(path, "rb")) == NULL)
		dir = "tests/unit/data";
	else
		fclose(probe);
	test_file(dir, "python_gbtree.json");
	test_file(dir, "python_rf.json");
	test_file(dir, "python_gblinear.json");
	return check_summary();
}
