/*
 * pg_models.c — models in SQL: artifact checks, the per-backend model cache
 * and prediction (SPEC sections 4 and 5).
 *
 *   mlpipe_model_check(artifact bytea) -> text (the algorithm)
 *   mlpipe_predict(model_name, version, features float8[]) -> float8
 *   mlpipe_predict(model_name, version, customer_id, purchase_date,
 *                  purchase_amount, annual_income, age, gender) -> float8
 *   mlpipe_predict_customers(model_name, version) -> setof record
 *
 * A registered row never changes and a removed-then-registered version gets
 * a new id, so parsed models are cached per backend by registry id.  Which
 * id a (name, version) means is looked up once per query and call site
 * (fn_extra), so a query over a million rows parses and looks up once.
 * Parallel workers are separate backends: each loads the model once.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "commands/trigger.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "mlpipe_models.h"
#include "mlpipe_pg.h"
#include "xgb_model.h"

PG_FUNCTION_INFO_V1(mlpipe_model_check);
PG_FUNCTION_INFO_V1(mlpipe_predict_vector);
PG_FUNCTION_INFO_V1(mlpipe_predict_purchase);
PG_FUNCTION_INFO_V1(mlpipe_predict_customers);

/* ---- artifact checks ---- */

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
					 errmsg("model file is not an XGBoost JSON model: %s", msg),
					 errhint("Export the model with booster.save_model(\"model.json\") and upload that file.")));
			break;
		case MLP_MODEL_NO_MEMORY:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory while reading the model")));
			break;
		case MLP_MODEL_INVALID:
		case MLP_MODEL_UNSUPPORTED:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid XGBoost model: %s", msg)));
			break;
	}
	pg_unreachable();
}

Datum
mlpipe_model_check(PG_FUNCTION_ARGS)
{
	bytea	   *artifact = PG_GETARG_BYTEA_PP(0);
	MlpModel   *model = mlpipe_parse_artifact(VARDATA_ANY(artifact), VARSIZE_ANY_EXHDR(artifact));
	text	   *algorithm = cstring_to_text(mlp_model_algorithm(model));

	mlp_model_free(model);
	PG_RETURN_TEXT_P(algorithm);
}

/* ---- the cache ---- */

typedef struct CachedModel
{
	int64		id;				/* hash key: mlpipe.models.id */
	MlpModel   *model;			/* malloc'd by xgb_model.c */
	bool		has_std;
	MlpStandardization std;
} CachedModel;

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

/* The parsed model of registry row id, loading it on first use. */
static CachedModel *
cached_model(int64 id)
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

/* ---- resolving (name, version) ---- */

/*
 * Which registry id a (name, version) means, remembered per backend: a
 * /predict call then costs no registry query.  Registering or removing a
 * model fires mlpipe.models_changed, whose relcache invalidation reaches
 * every backend at commit and empties this map.
 */
#define NAME_KEY_LEN 200		/* name (<= 128) + separator + version (<= 64) */

typedef struct NameEntry
{
	char		key[NAME_KEY_LEN];	/* "name\x1fversion", version empty: latest */
	int64		id;
} NameEntry;

static HTAB *name_cache = NULL;
static bool name_callback_registered = false;
static SPIPlanPtr resolve_plan = NULL;

static void
forget_names(Datum arg, Oid relid)
{
	/* any relation: cheap to rebuild, and mlpipe.models' oid may be unknown */
	if (name_cache != NULL)
	{
		hash_destroy(name_cache);
		name_cache = NULL;
	}
}

/* False when the key does not fit (such names cannot be registered anyway). */
static bool
name_key(text *name, text *version, char key[NAME_KEY_LEN])
{
	size_t		nlen = VARSIZE_ANY_EXHDR(name);
	size_t		vlen = version ? VARSIZE_ANY_EXHDR(version) : 0;

	if (nlen + vlen + 2 > NAME_KEY_LEN)
		return false;
	memset(key, 0, NAME_KEY_LEN);
	memcpy(key, VARDATA_ANY(name), nlen);
	key[nlen] = '\x1f';
	if (version)
		memcpy(key + nlen + 1, VARDATA_ANY(version), vlen);
	return true;
}

PG_FUNCTION_INFO_V1(mlpipe_models_changed);

/* AFTER INSERT OR DELETE OR TRUNCATE ... FOR EACH STATEMENT on mlpipe.models */
Datum
mlpipe_models_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mlpipe_models_changed must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}

int64
mlpipe_resolve_model(text *name, text *version)
{
	char		key[NAME_KEY_LEN];
	bool		cacheable = name_key(name, version, key);
	NameEntry  *entry;
	Datum		args[2];
	char		nulls[2] = {' ', version ? ' ' : 'n'};
	bool		isnull;
	int64		id;

	if (!name_callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_names, (Datum) 0);
		name_callback_registered = true;
	}
	if (cacheable && name_cache != NULL &&
		(entry = hash_search(name_cache, key, HASH_FIND, NULL)) != NULL)
		return entry->id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (resolve_plan == NULL)
	{
		Oid			argtypes[2] = {TEXTOID, TEXTOID};
		SPIPlanPtr	plan = SPI_prepare("SELECT mlpipe.find_model_id($1, $2)", 2, argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the model lookup: %s",
				 SPI_result_code_string(SPI_result));
		resolve_plan = plan;
	}
	args[0] = PointerGetDatum(name);
	args[1] = PointerGetDatum(version);
	/* find_model_id raises 42704 naming what is missing */
	if (SPI_execute_plan(resolve_plan, args, nulls, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "model lookup failed");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	if (cacheable)
	{
		if (name_cache == NULL)
		{
			HASHCTL		ctl;

			ctl.keysize = NAME_KEY_LEN;
			ctl.entrysize = sizeof(NameEntry);
			name_cache = hash_create("mlpipe model names", 64, &ctl, HASH_ELEM | HASH_STRINGS);
		}
		/* bounded: a flood of distinct names starts over */
		if (hash_get_num_entries(name_cache) >= 1024)
			forget_names((Datum) 0, InvalidOid);
		else
		{
			entry = hash_search(name_cache, key, HASH_ENTER, NULL);
			entry->id = id;
		}
	}
	return id;
}

/*
 * What a call site resolved, kept in fn_extra for the rest of the query:
 * the arguments it was resolved for, and the registry id.
 */
typedef struct CallSite
{
	text	   *name;
	text	   *version;		/* NULL: latest */
	int64		id;
} CallSite;

static bool
text_equal(text *a, text *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
}

/* Model of arguments 0 (name) and 1 (version, NULL = latest). */
static CachedModel *
model_for_call(FunctionCallInfo fcinfo)
{
	CallSite   *site = (CallSite *) fcinfo->flinfo->fn_extra;
	text	   *name;
	text	   *version;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model_name must not be null")));
	name = PG_GETARG_TEXT_PP(0);
	version = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);

	if (site == NULL || !text_equal(site->name, name) || !text_equal(site->version, version))
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		int64		id = mlpipe_resolve_model(name, version);

		if (site == NULL)
			site = palloc0(sizeof(CallSite));
		else
		{
			pfree(site->name);
			if (site->version)
				pfree(site->version);
		}
		site->name = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(name));
		site->version = version ? (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(version)) : NULL;
		site->id = id;
		fcinfo->flinfo->fn_extra = site;
		MemoryContextSwitchTo(old);
	}
	return cached_model(site->id);
}

/* ---- prediction ---- */

static void
check_width(const CachedModel *cm, int n)
{
	if (n != mlp_model_num_features(cm->model))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features has %d values, but the model expects %d",
						n, mlp_model_num_features(cm->model))));
}

Datum
mlpipe_predict_vector(PG_FUNCTION_ARGS)
{
	CachedModel *cm = model_for_call(fcinfo);
	ArrayType  *arr;
	double		x[256];
	int			n;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("features must be a one-dimensional array")));
	n = ARR_NDIM(arr) == 0 ? 0 : ARR_DIMS(arr)[0];
	check_width(cm, n);
	if (n > (int) lengthof(x))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("models with more than %d features are not supported", (int) lengthof(x))));

	if (!ARR_HASNULL(arr))
		memcpy(x, ARR_DATA_PTR(arr), n * sizeof(double));
	else
	{
		/* a NULL element is a missing value, as NaN is for XGBoost */
		bits8	   *nulls = ARR_NULLBITMAP(arr);
		double	   *data = (double *) ARR_DATA_PTR(arr);

		for (int i = 0, j = 0; i < n; i++)
			x[i] = (nulls[i / 8] & (1 << (i % 8))) ? data[j++] : NAN;
	}
	PG_RETURN_FLOAT8((double) mlp_model_predict(cm->model, x, n));
}

/* Raw output in standardized units back to currency units. */
static double
to_currency(const CachedModel *cm, double y)
{
	return y * cm->std.std[MLP_STD_PURCHASE_AMOUNT] + cm->std.mean[MLP_STD_PURCHASE_AMOUNT];
}

static void
require_std(const CachedModel *cm)
{
	if (!cm->has_std)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model has no standardization parameters, so it cannot score purchases"),
				 errhint("Register it with standardization_params, or score feature vectors with mlpipe_predict(name, version, features).")));
}

Datum
mlpipe_predict_purchase(PG_FUNCTION_ARGS)
{
	CachedModel *cm = model_for_call(fcinfo);
	NewPurchase np;
	double		x[MLP_NFEATURES];

	require_std(cm);
	check_width(cm, MLP_NFEATURES);
	mlpipe_read_new_purchase(fcinfo, 2, &np);
	mlpipe_serving_vector(&np, &cm->std, x);
	PG_RETURN_FLOAT8(to_currency(cm, mlp_model_predict(cm->model, x, MLP_NFEATURES)));
}

/* ---- every customer at once ---- */

typedef struct CustomerScan
{
	Tuplestorestate *store;
	TupleDesc	desc;
	CachedModel *cm;
	MlpMonth   *months;			/* grows to the most months of a customer */
	int64		months_cap;
} CustomerScan;

/* The next-month prediction from a customer's last month (serving rules). */
static void
score_customer(int64 customer, const MlpPurchase *clean, int64 n, void *arg)
{
	CustomerScan *s = arg;
	size_t		cap = mlp_months_capacity(clean, n, false);
	size_t		k;
	int			fill;
	int64		male = 0,
				female = 0;
	double		x[MLP_NFEATURES];
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	const MlpMonth *last;

	if ((int64) cap > s->months_cap)
	{
		s->months_cap = cap * 2;
		s->months = s->months ? repalloc_huge(s->months, s->months_cap * sizeof(MlpMonth))
			: MemoryContextAllocHuge(CurrentMemoryContext, s->months_cap * sizeof(MlpMonth));
	}
	k = mlp_customer_months(clean, n, false, s->months);
	if (k == 0)
		return;
	last = &s->months[k - 1];

	/* missing genders take the customer's own most frequent one (ties: Female) */
	for (int64 i = 0; i < n; i++)
	{
		male += clean[i].gender == MLP_MALE;
		female += clean[i].gender == MLP_FEMALE;
	}
	fill = male > female ? MLP_MALE : MLP_FEMALE;

	mlp_month_vector(last, fill, &s->cm->std, x);
	values[0] = Int64GetDatum(customer);
	values[1] = DateADTGetDatum(date2j(last->month / 12, last->month % 12 + 1, 1) - POSTGRES_EPOCH_JDATE);
	values[2] = Float8GetDatum(to_currency(s->cm, mlp_model_predict(s->cm->model, x, MLP_NFEATURES)));
	tuplestore_putvalues(s->store, s->desc, values, nulls);
}

Datum
mlpipe_predict_customers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CustomerScan s;

	InitMaterializedSRF(fcinfo, 0);
	memset(&s, 0, sizeof(s));
	s.store = rsinfo->setResult;
	s.desc = rsinfo->setDesc;
	s.cm = model_for_call(fcinfo);
	require_std(s.cm);
	check_width(s.cm, MLP_NFEATURES);
	mlpipe_scan_customers(score_customer, &s);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(mlpipe_check_standardization);

Datum
mlpipe_check_standardization(PG_FUNCTION_ARGS)
{
	MlpStandardization std;

	mlpipe_std_from_jsonb(PG_GETARG_JSONB_P(0), "standardization_params", &std);
	PG_RETURN_VOID();
}
