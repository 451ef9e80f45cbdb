/*
 * pg_model_cache.c — parsed models, cached per backend by registry id
 * (docs/models.md).
 *
 * A registered row never changes and a removed-then-registered version gets
 * a new id, so a parsed model stays valid for as long as the backend lives;
 * which id a (name, version) means is pg_model_resolve.c's job.  Parallel
 * workers are separate backends: each loads the model once.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "artifact_sniff.h"
#include "mlpipe_models.h"
#include "mlpipe_pg.h"

/* A parser message as an errdetail: a capital first letter, a final period. */
static char *
as_sentence(const char *msg)
{
	char	   *s = psprintf("%s%s", msg, msg[0] && msg[strlen(msg) - 1] != '.' ? "." : "");

	s[0] = pg_toupper((unsigned char) s[0]);
	return s;
}

/*
 * The parser's allocator: the memory context it is given.  It must not
 * throw (the parser holds malloc'd scratch space and a JSON tree), so it
 * answers NULL for what palloc would refuse.
 */
static void *
context_alloc(void *arg, size_t size)
{
	if (!AllocHugeSizeIsValid(size))
		return NULL;
	return MemoryContextAllocExtended((MemoryContext) arg, size,
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
}

static void *
context_realloc(void *arg, void *ptr, size_t old_size, size_t new_size)
{
	void	   *grown = context_alloc(arg, new_size);

	if (grown != NULL)
	{
		memcpy(grown, ptr, Min(old_size, new_size));
		pfree(ptr);
	}
	return grown;
}

static void
context_free(void *arg, void *ptr)
{
	pfree(ptr);
}

MlpModel *
mlpipe_parse_artifact(const char *data, size_t len)
{
	MlpModel   *model = NULL;
	char		msg[512];
	MlpAllocator allocator = {context_alloc, context_realloc, context_free, CurrentMemoryContext};

	switch (mlp_model_parse_with(data, len, &allocator, &model, msg, sizeof(msg)))
	{
		case MLP_MODEL_OK:
			return model;
		case MLP_MODEL_NOT_JSON:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("model file is not an XGBoost JSON model"),
					 errdetail("%s", msg),
					 errhint("%s", mlp_artifact_export_hint)));
			break;
		case MLP_MODEL_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while reading the model"),
					 errdetail("%s", as_sentence(msg))));
			break;
		case MLP_MODEL_INVALID:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid XGBoost model"),
					 errdetail("%s", as_sentence(msg)),
					 errhint("Upload the file that booster.save_model(\"model.json\") wrote, unchanged.")));
			break;
		case MLP_MODEL_UNSUPPORTED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("XGBoost model not supported"),
					 errdetail("%s", as_sentence(msg)),
					 errhint("Train a single-output regression model (objective reg:squarederror, booster gbtree or gblinear) and export it with save_model.")));
			break;
	}
	pg_unreachable();
}

#define MAX_CACHED_MODELS 32

static HTAB *model_cache = NULL;
static MemoryContext model_cache_context = NULL;	/* parent of every model's context */

static void
cache_clear(void)
{
	HASH_SEQ_STATUS seq;
	CachedModel *cm;

	hash_seq_init(&seq, model_cache);
	while ((cm = hash_seq_search(&seq)) != NULL)
	{
		MemoryContextDelete(cm->context);
		hash_search(model_cache, &cm->id, HASH_REMOVE, NULL);
	}
}

/* Reads row `id` of mlpipe.models and parses it into context; caller is in SPI. */
static void
load_model(int64 id, MemoryContext context, CachedModel *out)
{
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(id);
	bool		isnull;
	bytea	   *artifact;
	Datum		std;
	MemoryContext old;

	if (SPI_execute_with_args("SELECT artifact, standardization_params FROM mlpipe.models WHERE id = $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read model %lld", (long long) id);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model %lld was removed while in use", (long long) id),
				 errhint("Run the query again: it will use the registry as it is now.")));
	artifact = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	std = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

	out->has_std = false;
	if (!isnull)
	{
		Jsonb	   *jb = DatumGetJsonbP(std);

		/* a model registered without parameters can still score vectors */
		if (JB_ROOT_COUNT(jb) > 0)
		{
			mlpipe_std_from_jsonb(jb, "standardization_params", &out->std);
			out->has_std = true;
		}
	}
	old = MemoryContextSwitchTo(context);
	out->model = mlpipe_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));
	MemoryContextSwitchTo(old);
}

/*
 * Each model lives in a memory context of its own ("mlpipe model", its
 * registry id as identifier, under "mlpipe model cache"), so that
 * pg_backend_memory_contexts shows what the cache holds.  The context is
 * made under the caller's context and moves under the cache only once the
 * model is cached: an error on the way frees it with the query.
 */
CachedModel *
mlpipe_cached_model(int64 id)
{
	CachedModel *cm;
	CachedModel loaded;
	MemoryContext context;
	bool		found;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		model_cache_context = AllocSetContextCreate(TopMemoryContext, "mlpipe model cache",
													ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(CachedModel);
		ctl.hcxt = model_cache_context;
		model_cache = hash_create("mlpipe models", MAX_CACHED_MODELS, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	cm = hash_search(model_cache, &id, HASH_FIND, NULL);
	if (cm)
		return cm;

	context = AllocSetContextCreate(CurrentMemoryContext, "mlpipe model", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSetIdentifier(context, MemoryContextStrdup(context, psprintf("%lld", (long long) id)));

	/* parse before inserting, so that an error leaves no half entry */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	load_model(id, context, &loaded);
	SPI_finish();

	if (hash_get_num_entries(model_cache) >= MAX_CACHED_MODELS)
		cache_clear();
	cm = hash_search(model_cache, &id, HASH_ENTER, &found);
	MemoryContextSetParent(context, model_cache_context);
	cm->context = context;
	cm->model = loaded.model;
	cm->has_std = loaded.has_std;
	cm->std = loaded.std;
	return cm;
}
