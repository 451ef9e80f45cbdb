/*
 * metrics.c — request counters and latency histograms in Prometheus text format.
 *
 * A few dozen series at most (routes × statuses), so a mutex and linear
 * search are plenty; the lock is held for a handful of increments.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "metrics.h"
#include "predlog.h"

#define MAX_ROUTES 32
#define MAX_COUNTERS 256

static const double bucket_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};
#define NBUCKETS (sizeof(bucket_bounds) / sizeof(bucket_bounds[0]))

struct histogram
{
	const char *route;
	unsigned long long buckets[NBUCKETS];	/* non-cumulative; summed on render */
	unsigned long long count;
	double		sum;
};

struct counter
{
	const char *route;
	unsigned	status;
	unsigned long long count;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct histogram histograms[MAX_ROUTES];
static int	nhistograms;
static struct counter counters[MAX_COUNTERS];
static int	ncounters;

void
metrics_observe(const char *route, unsigned status, double seconds)
{
	int			i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < ncounters; i++)
		if (counters[i].status == status && strcmp(counters[i].route, route) == 0)
			break;
	if (i == ncounters && ncounters < MAX_COUNTERS)
	{
		counters[i].route = route;
		counters[i].status = status;
		ncounters++;
	}
	if (i < ncounters)
		counters[i].count++;

	for (i = 0; i < nhistograms; i++)
		if (strcmp(histograms[i].route, route) == 0)
			break;
	if (i == nhistograms && nhistograms < MAX_ROUTES)
	{
		histograms[i].route = route;
		nhistograms++;
	}
	if (i < nhistograms)
	{
		struct histogram *h = &histograms[i];
		size_t		b;

		for (b = 0; b < NBUCKETS && seconds > bucket_bounds[b]; b++)
			;
		if (b < NBUCKETS)
			h->buckets[b]++;
		h->count++;
		h->sum += seconds;
	}
	pthread_mutex_unlock(&lock);
}

struct buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	int			failed;
};

static void
buf_printf(struct buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
buf_printf(struct buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (b->failed)
		return;
	for (;;)
	{
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
		{
			b->failed = 1;
			return;
		}
		if ((size_t) n < b->cap - b->len)
		{
			b->len += n;
			return;
		}
		{
			size_t		ncap = b->cap * 2 + n;
			char	   *p = realloc(b->data, ncap);

			if (p == NULL)
			{
				b->failed = 1;
				return;
			}
			b->data = p;
			b->cap = ncap;
		}
	}
}

char *
metrics_render(size_t *len)
{
	struct buf	b = {malloc(4096), 0, 4096, 0};
	struct coalesce_counts db;
	struct predlog_counts log;

	if (b.data == NULL)
		return NULL;
	b.data[0] = '\0';
	pthread_mutex_lock(&lock);
	buf_printf(&b, "# HELP mlpipe_http_requests_total HTTP requests by route and status.\n"
			   "# TYPE mlpipe_http_requests_total counter\n");
	for (int i = 0; i < ncounters; i++)
		buf_printf(&b, "mlpipe_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
				   counters[i].route, counters[i].status, counters[i].count);
	buf_printf(&b, "# HELP mlpipe_http_request_duration_seconds HTTP request latency by route.\n"
			   "# TYPE mlpipe_http_request_duration_seconds histogram\n");
	for (int i = 0; i < nhistograms; i++)
	{
		const struct histogram *h = &histograms[i];
		unsigned long long cumulative = 0;

		for (size_t k = 0; k < NBUCKETS; k++)
		{
			cumulative += h->buckets[k];
			buf_printf(&b, "mlpipe_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
					   h->route, bucket_bounds[k], cumulative);
		}
		buf_printf(&b, "mlpipe_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
				   h->route, h->count);
		buf_printf(&b, "mlpipe_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n",
				   h->route, h->sum);
		buf_printf(&b, "mlpipe_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
				   h->route, h->count);
	}
	pthread_mutex_unlock(&lock);
	coalesce_counts(&db);
	buf_printf(&b, "# HELP mlpipe_db_batches_total Statements that answered several concurrent requests at once.\n"
			   "# TYPE mlpipe_db_batches_total counter\n"
			   "mlpipe_db_batches_total %llu\n"
			   "# HELP mlpipe_db_batched_requests_total Requests answered by those statements.\n"
			   "# TYPE mlpipe_db_batched_requests_total counter\n"
			   "mlpipe_db_batched_requests_total %llu\n"
			   "# HELP mlpipe_db_batch_fallbacks_total Batches that failed and ran one request at a time instead.\n"
			   "# TYPE mlpipe_db_batch_fallbacks_total counter\n"
			   "mlpipe_db_batch_fallbacks_total %llu\n"
			   "# HELP mlpipe_db_standby_takeovers_total Times the standby dispatcher ran requests that had waited 20 ms.\n"
			   "# TYPE mlpipe_db_standby_takeovers_total counter\n"
			   "mlpipe_db_standby_takeovers_total %llu\n",
			   db.batches, db.batched_jobs, db.fallbacks, db.standby);
	predlog_counts(&log);
	if (log.enabled)
		buf_printf(&b, "# HELP mlpipe_prediction_log_rows_total Sampled predictions written to mlpipe.predictions.\n"
				   "# TYPE mlpipe_prediction_log_rows_total counter\n"
				   "mlpipe_prediction_log_rows_total %llu\n"
				   "# HELP mlpipe_prediction_log_dropped_total Sampled predictions not logged: the queue was full, or their insert failed.\n"
				   "# TYPE mlpipe_prediction_log_dropped_total counter\n"
				   "mlpipe_prediction_log_dropped_total{reason=\"queue_full\"} %llu\n"
				   "mlpipe_prediction_log_dropped_total{reason=\"write_failed\"} %llu\n"
				   "# HELP mlpipe_prediction_log_queued Sampled predictions waiting to be written.\n"
				   "# TYPE mlpipe_prediction_log_queued gauge\n"
				   "mlpipe_prediction_log_queued %llu\n",
				   log.logged, log.dropped_full, log.dropped_failed, log.queued);
	if (b.failed)
	{
		free(b.data);
		return NULL;
	}
	*len = b.len;
	return b.data;
}
