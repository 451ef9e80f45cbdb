/*
 * mlpipe.c — module entry point: settings.
 *
 * Deliberately touches nothing else at load time: XGBoost starts OpenMP
 * threads, and touching it in _PG_init would do so in the postmaster before
 * it forks.  Boosters are created lazily by the functions that need them.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "mlpipe_pg.h"

PG_MODULE_MAGIC;

/* A bytea holds at most MaxAllocSize bytes, header included. */
int			mlpipe_max_model_size = MaxAllocSize - VARHDRSZ;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("mlpipe.max_model_size",
							"Largest model artifact mlpipe_train stores.",
							"A trained model whose XGBoost JSON is larger is refused; "
							"at most 1 GB, what a bytea holds.",
							&mlpipe_max_model_size,
							MaxAllocSize - VARHDRSZ, 1024, MaxAllocSize - VARHDRSZ,
							PGC_USERSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);
	MarkGUCPrefixReserved("mlpipe");
}
