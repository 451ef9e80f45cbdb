/*
 * mlpipe.c — module entry point.
 *
 * Deliberately does nothing at load time: XGBoost starts OpenMP threads, and
 * touching it in _PG_init would do so in the postmaster before it forks.
 * Boosters are created lazily by the functions that need them.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;
