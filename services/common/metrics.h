/*
 * metrics.h — Prometheus counters and latency histograms per route and status.
 */
#ifndef MLPIPE_METRICS_H
#define MLPIPE_METRICS_H

#include <stddef.h>

/* labels are route patterns; they must stay valid for the process lifetime */
void		metrics_observe(const char *route, unsigned status, double seconds);

/* The exposition text, malloc'd; NULL when out of memory. */
char	   *metrics_render(size_t *len);

#endif
