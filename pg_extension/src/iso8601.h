/*
 * iso8601.h — strict parser of ISO 8601 timestamps, as purchase dates come.
 *
 * Accepts YYYY-MM-DD, optionally followed by 'T' or ' ' and HH:MM[:SS[.f]]
 * (1 to 9 digits of fraction, rounded to microseconds half to even) and
 * then optionally 'Z' or an offset +HH:MM, +HHMM or +HH.  No offset means
 * UTC (docs/features.md).  The instant must fall in years 1 to 9999 UTC.
 * What it accepts, PostgreSQL's timestamptz input accepts as the same
 * instant.  The one date parser of mlpipe: the CSV loader and the services'
 * request validation both use it; fuzzed on its own.
 */
#ifndef MLPIPE_ISO8601_H
#define MLPIPE_ISO8601_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parses s[0..len) into microseconds since 1970-01-01 00:00:00 UTC.  On
 * failure returns false and *why points at a static phrase ("month out of
 * range", ...).  Fractions beyond microseconds are truncated.
 */
bool		mlp_parse_iso8601(const char *s, size_t len, int64_t *usec, const char **why);

/* Days since 1970-01-01 of a proleptic Gregorian date (no validation). */
int64_t		mlp_days_from_civil(int64_t y, int m, int d);

#endif							/* MLPIPE_ISO8601_H */
