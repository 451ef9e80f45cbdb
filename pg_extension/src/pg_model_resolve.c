/*
 * pg_model_resolve.c — which registry row a (model_name, version) means.
 *
 * version is a version, '@alias' (the version the alias points at now) or
 * NULL (the latest); mlpipe.find_model_id defines them.  Looked up once per
 * query and call site (fn_extra), and remembered per backend until
 * mlpipe.models or mlpipe.aliases changes, so a query over a million rows
 * resolves once and a /predict call costs no registry query.
 *
 *   mlpipe_model_version(model_name, version) -> text
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"

#include "mlpipe_models.h"

/*
 * Which registry row a (name, version) means, remembered per backend: a
 * /predict call then costs no registry query.  Registering or removing a
 * model and changing an alias fire mlpipe.models_changed, whose relcache
 * invalidation reaches every backend at commit and empties this map.
 */
#define NAME_KEY_LEN 200		/* name (<= 128) + separator + version or @alias (<= 64) */

typedef struct NameEntry
{
	char		key[NAME_KEY_LEN];	/* "name\x1fversion", version empty: latest */
	int64		id;
	char		version[MLP_VERSION_LEN];	/* what the row's version is */
} NameEntry;

static HTAB *name_cache = NULL;
static bool name_callback_registered = false;
static SPIPlanPtr resolve_plan = NULL;

/* Counts invalidations, so that a lookup can tell whether one arrived meanwhile. */
static uint64 invalidations = 0;

static void
forget_names(Datum arg, Oid relid)
{
	/* any relation: cheap to rebuild, and mlpipe.models' oid may be unknown */
	invalidations++;
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

/*
 * Looks (name, version) up in mlpipe.models through mlpipe.find_model_id
 * (which raises 42704 saying what exists instead), with the given
 * snapshot.  Fills entry's id and version.
 */
static void
lookup(text *name, text *version, Snapshot snapshot, NameEntry *entry)
{
	Datum		args[2];
	char		nulls[2] = {' ', version ? ' ' : 'n'};
	bool		isnull;
	text	   *found;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (resolve_plan == NULL)
	{
		Oid			argtypes[2] = {TEXTOID, TEXTOID};

		/* the function in FROM is always called, even when no row is visible */
		SPIPlanPtr	plan = SPI_prepare("SELECT f.id, m.version FROM mlpipe.find_model_id($1, $2) AS f(id) "
									   "JOIN mlpipe.models m ON m.id = f.id",
									   2, argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the model lookup: %s",
				 SPI_result_code_string(SPI_result));
		resolve_plan = plan;
	}
	args[0] = PointerGetDatum(name);
	args[1] = PointerGetDatum(version);
	if (SPI_execute_snapshot(resolve_plan, args, nulls, snapshot, InvalidSnapshot,
							 true, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "model lookup failed");
	entry->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	found = DatumGetTextPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	text_to_cstring_buffer(found, entry->version, sizeof(entry->version));
	SPI_finish();
}

int64
mlpipe_resolve_model(text *name, text *version)
{
	return mlpipe_resolve_model_version(name, version, NULL);
}

int64
mlpipe_resolve_model_version(text *name, text *version, char *version_out)
{
	char		key[NAME_KEY_LEN];
	bool		cacheable;
	NameEntry  *entry;
	NameEntry	found;
	uint64		before = invalidations;

	/* '' would share NULL's key, and means nothing */
	if (version && VARSIZE_ANY_EXHDR(version) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must not be empty"),
				 errhint("Pass a version such as '1.0', '@alias' for the version an alias points at, or NULL for the latest.")));
	if (!name_callback_registered)
	{
		CacheRegisterRelcacheCallback(forget_names, (Datum) 0);
		name_callback_registered = true;
	}
	cacheable = name_key(name, version, key);
	if (cacheable && name_cache != NULL &&
		(entry = hash_search(name_cache, key, HASH_FIND, NULL)) != NULL)
	{
		if (version_out)
			strlcpy(version_out, entry->version, MLP_VERSION_LEN);
		return entry->id;
	}

	/*
	 * What is remembered must be what the registry holds now, not what the
	 * statement's older snapshot saw: an alias flip committed since then
	 * has already had its invalidation consumed, or will have it consumed
	 * by this very lookup, and would never be forgotten.  So a lookup to
	 * remember reads with the latest snapshot, and is remembered only if
	 * no invalidation arrived meanwhile.  Where that is not possible (a
	 * transaction that keeps one snapshot; parallel mode, which cannot take
	 * a new one) the statement's snapshot answers and nothing is kept.
	 */
	if (IsolationUsesXactSnapshot() || IsInParallelMode())
	{
		lookup(name, version, GetActiveSnapshot(), &found);
		cacheable = false;
	}
	else
		lookup(name, version, GetLatestSnapshot(), &found);
	if (version_out)
		strlcpy(version_out, found.version, MLP_VERSION_LEN);

	if (cacheable && before == invalidations)
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
			entry->id = found.id;
			strlcpy(entry->version, found.version, MLP_VERSION_LEN);
		}
	}
	return found.id;
}

PG_FUNCTION_INFO_V1(mlpipe_model_version);

/*
 * mlpipe_model_version(model_name, version) -> text: the version a
 * version, '@alias' or NULL (the latest) means now, through the same
 * remembered lookup as prediction: the inference service names the
 * version that answered with it, at no registry query per request.
 */
Datum
mlpipe_model_version(PG_FUNCTION_ARGS)
{
	char		resolved[MLP_VERSION_LEN];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model_name must not be null")));
	mlpipe_resolve_model_version(PG_GETARG_TEXT_PP(0), PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
								 resolved);
	PG_RETURN_TEXT_P(cstring_to_text(resolved));
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

