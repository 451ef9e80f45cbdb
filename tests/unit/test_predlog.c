/*
 * test_predlog.c — the prediction log's rows, ring, sampling and its
 * drop-and-count behaviour when the database cannot be reached
 * (services/common/predlog.c).  The writing itself, against a real
 * database, is checked by the e2e suite.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "predlog.h"

static void
test_rows(void)
{
	struct predlog_row r;
	char		long_date[100];

	CHECK(predlog_row_set(&r, "m", NULL, "42", "2024-05-01", "1.5") == 0, "a row without version");
	CHECK(r.version[0] == '\0' && strcmp(r.customer_id, "42") == 0, "NULL version is empty");
	CHECK(predlog_row_set(&r, "m", "1.0", "42", "2024-05-01", "1.5") == 0 &&
		  strcmp(r.version, "1.0") == 0, "a row with version");
	memset(long_date, '9', sizeof(long_date) - 1);
	long_date[sizeof(long_date) - 1] = '\0';
	CHECK(predlog_row_set(&r, "m", "1.0", "42", long_date, "1.5") == -1, "too long a date: refused");
	CHECK(predlog_row_set(&r, "", "1.0", "42", "2024-05-01", "1.5") == -1, "no model name: refused");
	CHECK(predlog_row_set(&r, "m", "1.0", "42", "2024-05-01", NULL) == -1, "no value: refused");
}

static void
test_ring(void)
{
	struct predlog_row rows[4],
				row,
				out[4];
	struct predlog_ring ring = {rows, 4, 0, 0};
	char		id[8];

	for (int i = 0; i < 4; i++)
	{
		snprintf(id, sizeof(id), "%d", i);
		predlog_row_set(&row, "m", NULL, id, "2024-05-01", "1");
		CHECK(predlog_ring_push(&ring, &row) == 0, "push into room");
	}
	CHECK(predlog_ring_push(&ring, &row) == -1 && ring.count == 4, "push into a full ring: refused");
	CHECK(predlog_ring_take(&ring, out, 3) == 3 && strcmp(out[0].customer_id, "0") == 0 &&
		  strcmp(out[2].customer_id, "2") == 0, "take the three oldest, in order");
	for (int i = 4; i < 7; i++)
	{
		snprintf(id, sizeof(id), "%d", i);
		predlog_row_set(&row, "m", NULL, id, "2024-05-01", "1");
		CHECK(predlog_ring_push(&ring, &row) == 0, "push after a take wraps around");
	}
	CHECK(predlog_ring_take(&ring, out, 10) == 4, "take what is there");
	CHECK(strcmp(out[0].customer_id, "3") == 0 && strcmp(out[3].customer_id, "6") == 0,
		  "order kept across the wrap");
	CHECK(predlog_ring_take(&ring, out, 10) == 0, "empty ring: nothing");
}

static void
test_sampling(void)
{
	uint64_t	state = 12345;
	int			hits = 0,
				zero = 0,
				one = 0;
	double		r;

	for (int i = 0; i < 1000; i++)
	{
		zero += predlog_sampled(0, &state);
		one += predlog_sampled(1, &state);
	}
	CHECK(zero == 0, "rate 0: never");
	CHECK(one == 1000, "rate 1: always");
	for (int i = 0; i < 100000; i++)
		hits += predlog_sampled(0.25, &state);
	CHECK(hits > 24000 && hits < 26000, "rate 0.25: about a quarter of 100,000");

	CHECK(predlog_parse_rate("0", &r) == 0 && r == 0, "rate 0");
	CHECK(predlog_parse_rate("1", &r) == 0 && r == 1, "rate 1");
	CHECK(predlog_parse_rate("0.01", &r) == 0 && r == 0.01, "rate 0.01");
	CHECK(predlog_parse_rate("1.5", &r) == -1, "rate above 1: refused");
	CHECK(predlog_parse_rate("-0.1", &r) == -1, "negative rate: refused");
	CHECK(predlog_parse_rate("nan", &r) == -1, "NaN: refused");
	CHECK(predlog_parse_rate("half", &r) == -1, "words: refused");
	CHECK(predlog_parse_rate("", &r) == -1, "empty: refused");
}

/*
 * With nowhere to write, every offer returns (nothing waits for the
 * database) and every row is accounted for: dropped because the queue was
 * full or because its insert could not run.
 */
static void
test_unreachable_database(void)
{
	struct predlog_counts c;
	const int	offers = 3 * PREDLOG_QUEUE;

	setenv("MLPIPE_PREDICTION_LOG_RATE", "1", 1);
	setenv("MLPIPE_PREDICTION_LOG_URL", "host=/nonexistent/mlpipe-test port=1 connect_timeout=1", 1);
	CHECK(predlog_configure("test_predlog") == 0, "configure");
	for (int i = 0; i < offers; i++)
		predlog_offer("m", "1.0", "42", "2024-05-01T10:00:00Z", "123.5");
	predlog_offer("m", "1.0", "42", "2024-05-01T10:00:00Z-and-far-too-long-for-a-date-field-0123456789", "1");
	predlog_stop();
	predlog_counts(&c);
	CHECK(c.enabled == 1, "enabled at rate 1");
	CHECK(c.logged == 0, "nothing logged");
	CHECK(c.dropped_full + c.dropped_failed == (unsigned long long) offers + 1,
		  "every offer is counted: dropped full or dropped failed");
	CHECK(c.queued == 0, "nothing left queued after stop");

	setenv("MLPIPE_PREDICTION_LOG_RATE", "2", 1);
	CHECK(predlog_configure("test_predlog") == -1, "a rate of 2 is refused");
	setenv("MLPIPE_PREDICTION_LOG_RATE", "0.5", 1);
	setenv("MLPIPE_PREDICTION_LOG_URL", "host='unterminated", 1);
	CHECK(predlog_configure("test_predlog") == -1, "a malformed URL is refused");
}

int
main(void)
{
	test_rows();
	test_ring();
	test_sampling();
	test_unreachable_database();
	return check_summary();
}
