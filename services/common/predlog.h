/*
 * predlog.h — the prediction log: a sample of the inference service's
 * answers written to mlpipe.predictions, off the request path.
 *
 * A request thread calls predlog_offer() with an answer it just computed.
 * The offer is sampled (MLPIPE_PREDICTION_LOG_RATE), copied into a bounded
 * in-memory queue and returns; it never waits for the database.  One writer
 * thread, with its own connection (MLPIPE_PREDICTION_LOG_URL, by default the
 * service's database) and its own role (SET ROLE
 * MLPIPE_PREDICTION_LOG_ROLE, default mlpipe_predlog), takes up to
 * PREDLOG_BATCH rows at a time and inserts them with one statement.  A full
 * queue drops the offer; a failed insert (database down, table locked past
 * lock_timeout, INSERT revoked) drops its rows.  Both are counted
 * (predlog_counts, shown by /metrics), so a slow, full or failing log costs
 * a prediction at most one mutex and a copy of about 300 bytes.
 *
 * Using it from a route (the one call a handler needs):
 *
 *     predlog_offer(model_name, version, customer_id, purchase_date, value);
 *
 * all as text: version NULL means "the latest" and is resolved when the row
 * is written; customer_id as digits; purchase_date as the request gave it;
 * value as PostgreSQL's text of the float8.  Offers before predlog_configure()
 * or with the rate at 0 are ignored.
 */
#ifndef MLPIPE_PREDLOG_H
#define MLPIPE_PREDLOG_H

#include <stddef.h>
#include <stdint.h>

#define PREDLOG_QUEUE 16384		/* rows waiting, at most */
#define PREDLOG_BATCH 1000		/* rows per INSERT, at most */
#define PREDLOG_FLUSH_MS 100	/* a row waits at most this long for a batch */

/*
 * Reads MLPIPE_PREDICTION_LOG_RATE (0..1, default 0.01), _URL and _ROLE.
 * A bad value is reported on stderr: returns -1 (the program exits 2).
 * The writer thread starts with the first logged offer.
 */
int			predlog_configure(const char *application_name);

void		predlog_offer(const char *model_name, const char *version,
						  const char *customer_id, const char *purchase_date,
						  const char *predicted);

/*
 * predlog_offer() in two steps, for a caller that must format its values
 * first (a batch's numbers): ask whether this answer is in the sample, and
 * only then format and add it.
 */
int			predlog_sample(void);
void		predlog_add(const char *model_name, const char *version,
						const char *customer_id, const char *purchase_date,
						const char *predicted);

/* Writes what is queued (each batch tried once) and stops the writer. */
void		predlog_stop(void);

struct predlog_counts
{
	int			enabled;		/* rate > 0 */
	unsigned long long logged;	/* rows inserted */
	unsigned long long dropped_full;	/* offers refused: queue full */
	unsigned long long dropped_failed;	/* rows of failed inserts */
	unsigned long long queued;	/* waiting now */
};

void		predlog_counts(struct predlog_counts *out);

/* ---- the parts below are exposed for the unit test ---- */

struct predlog_row
{
	char		model_name[129];
	char		version[65];	/* "" means NULL: the latest */
	char		customer_id[24];
	char		purchase_date[64];
	char		predicted[32];
};

/* Fills *row; 0, or -1 when a value is missing or too long for its field. */
int			predlog_row_set(struct predlog_row *row, const char *model_name,
							const char *version, const char *customer_id,
							const char *purchase_date, const char *predicted);

/* A fixed ring of rows.  Not locked: the caller holds the lock. */
struct predlog_ring
{
	struct predlog_row *rows;
	size_t		cap;
	size_t		head;			/* oldest row */
	size_t		count;
};

/* 0, or -1 when the ring is full (the row is not added). */
int			predlog_ring_push(struct predlog_ring *r, const struct predlog_row *row);

/* Moves up to max of the oldest rows to out; returns how many. */
size_t		predlog_ring_take(struct predlog_ring *r, struct predlog_row *out, size_t max);

/* Sampling: true with probability rate (0: never, 1: always); state is per thread. */
int			predlog_sampled(double rate, uint64_t *state);

/* MLPIPE_PREDICTION_LOG_RATE's text to a rate; -1 when it is not a number in 0..1. */
int			predlog_parse_rate(const char *s, double *rate);

#endif
