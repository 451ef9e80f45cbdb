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

MlpModel *
mlpipe_parse_artifact(const char *data, size_t len)
{
	MlpModel   *model = NULL;
	char		msg[512];

	switch (mlp_model_parse(data, len, &model, msg, sizeof(msg)))
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

static void
cache_clear(void)
{
	HASH_SEQ_STATUS seq;
	CachedModel *cm;

	hash_seq_init(&seq, model_cache);
	while ((cm = hash_seq_search(&seq)) != NULL)
	{
		mlp_model_free(cm->model);
		hash_search(model_cache, &cm->id, HASH_REMOVE, NULL);
	}
}

/* Reads row `id` of mlpipe.models and parses it; caller is in SPI. */
static void
load_model(int64 id, CachedModel *out)
{
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(id);
	bool		isnull;
	bytea	   *artifact;
	Datum		std;

	if (SPI_execute_with_args("SELECT artifact, standardization_params FROM mlpipe.models WHERE id = $1",
							  1, &argtype, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read model %lld", (long long) id);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model %lld was removed while in use", (long long) id)));
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
	out->model = mlpipe_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));
}

CachedModel *
mlpipe_cached_model(int64 id)
{
	CachedModel *cm;
	CachedModel loaded;
	bool		found;

	if (model_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(CachedModel);
		model_cache = hash_create("mlpipe models", MAX_CACHED_MODELS, &ctl,
								  HASH_ELEM | HASH_BLOBS);
	}
	cm = hash_search(model_cache, &id, HASH_FIND, NULL);
	if (cm)
		return cm;

	/* parse before inserting, so that an error leaves no half entry */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	load_model(id, &loaded);
	SPI_finish();

	if (hash_get_num_entries(model_cache) >= MAX_CACHED_MODELS)
		cache_clear();
	cm = hash_search(model_cache, &id, HASH_ENTER, &found);
	cm->model = loaded.model;
	cm->has_std = loaded.has_std;
	cm->std = loaded.std;
	return cm;
}

