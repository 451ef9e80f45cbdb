/*
 * pg_model_resolve.c — which registry row a (model_name, version) means.
 *
 * Looked up once per query and call site (fn_extra), and remembered per
 * backend until mlpipe.models changes, so a query over a million rows
 * resolves once and a /predict call costs no registry query.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"

#include "mlpipe_models.h"

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

CachedModel *
mlpipe_model_for_call(FunctionCallInfo fcinfo)
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
	return mlpipe_cached_model(site->id);
}

