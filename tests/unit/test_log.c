/*
 * test_log.c — unit tests of services/common/log.c: every line, request
 * or event, is one valid JSON object with its fields, whatever bytes they
 * hold, and never longer than LOG_LINE_MAX; a log file is rotated past its
 * size limit.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static const struct timespec when = {1709244000, 123456789};	/* 2024-02-29T22:00:00.123Z */

/* buf[0..len) parsed; NULL when it is not one JSON object and a newline */
static json_t *
parsed(const char *buf, size_t len)
{
	json_error_t err;

	if (len == 0 || len > LOG_LINE_MAX || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1))
		return NULL;
	return json_loadb(buf, len, 0, &err);
}

/* Formats a request line at t and parses it back. */
static json_t *
line_at(const struct timespec *t, const char *method, const char *path, unsigned status,
		double ms, size_t *len)
{
	char		buf[LOG_LINE_MAX + 1];

	memset(buf, 'x', sizeof(buf));
	*len = log_format_request(buf, t, "inference", method, path, status, ms);
	return parsed(buf, *len);
}

static json_t *
line_for(const char *method, const char *path, unsigned status, double ms, size_t *len)
{
	return line_at(&when, method, path, status, ms, len);
}

static int
field_is(json_t *j, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(j, key));

	return v != NULL && strcmp(v, want) == 0;
}

static void
test_plain(void)
{
	size_t		len;
	json_t	   *j = line_for("POST", "/predict", 200, 1.25, &len);

	CHECK(j != NULL, "a plain request gives one JSON line");
	CHECK(field_is(j, "ts", "2024-02-29T22:00:00.123Z"), "timestamp in UTC with milliseconds");
	CHECK(field_is(j, "service", "inference") && field_is(j, "method", "POST") &&
		  field_is(j, "path", "/predict"), "service, method and path");
	CHECK(json_integer_value(json_object_get(j, "status")) == 200, "status");
	CHECK(json_number_value(json_object_get(j, "duration_ms")) == 1.25, "duration_ms");
	json_decref(j);
}

/* The seconds are cached per thread: a new second, or an old one, must show. */
static void
test_times(void)
{
	static const struct timespec later = {1709244001, 5000000};	/* 22:00:01.005 */
	static const struct timespec earlier = {1709243999, 999999999};	/* 21:59:59.999 */
	size_t		len;
	json_t	   *j;

	j = line_at(&later, "GET", "/", 200, 0.0004, &len);
	CHECK(field_is(j, "ts", "2024-02-29T22:00:01.005Z"), "the next second, milliseconds zero-padded");
	CHECK(json_is_number(json_object_get(j, "duration_ms")) &&
		  json_number_value(json_object_get(j, "duration_ms")) == 0.0, "0.4 us rounds to 0.000 ms");
	json_decref(j);
	j = line_at(&earlier, "GET", "/", 200, 12345.6789, &len);
	CHECK(field_is(j, "ts", "2024-02-29T21:59:59.999Z"), "an earlier second after a later one");
	CHECK(json_number_value(json_object_get(j, "duration_ms")) == 12345.679, "milliseconds to the microsecond");
	json_decref(j);
}

static void
test_hostile_bytes(void)
{
	size_t		len;
	json_t	   *j = line_for("GE\"T", "/a\"b\\c\n\td\x01\x7f/\xc3\xa9/\xff\xfe/\xe2\x82", 404, 0.5, &len);

	CHECK(j != NULL, "quotes, backslashes, control bytes and bad UTF-8 still give valid JSON");
	CHECK(field_is(j, "method", "GE\"T"), "quote in the method kept");
	CHECK(field_is(j, "path", "/a\"b\\c\n\td\x01\x7f/\xc3\xa9/\x3f\x3f/\x3f\x3f"),
		  "path: escapes round-trip, UTF-8 kept, invalid bytes become '?'");
	json_decref(j);
}

static void
test_long_path(void)
{
	static char path[3 * LOG_LINE_MAX];
	size_t		len;
	json_t	   *j;
	const char *p;
	size_t		n;

	/* 'é' (2 bytes) over and over: a cut must not split one */
	for (size_t i = 0; i + 2 < sizeof(path); i += 2)
	{
		path[i] = (char) 0xc3;
		path[i + 1] = (char) 0xa9;
	}
	path[0] = '/';
	j = line_for("GET", path, 414, 0.1, &len);
	CHECK(j != NULL, "a path longer than a line is cut, the line still valid JSON");
	CHECK(len <= LOG_LINE_MAX && len > LOG_LINE_MAX - 16, "the line uses the room it has, no more");
	p = json_string_value(json_object_get(j, "path"));
	n = p ? strlen(p) : 0;
	CHECK(n > 3 && strcmp(p + n - 3, "...") == 0, "a cut path ends with ...");
	CHECK(json_integer_value(json_object_get(j, "status")) == 414, "the fields after the path survive the cut");
	json_decref(j);

	/* the same with escapes: each quote takes two bytes of the line */
	memset(path, '"', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	j = line_for("GET", path, 400, 0.1, &len);
	CHECK(j != NULL && len <= LOG_LINE_MAX, "a path of quotes is cut between escapes");
	json_decref(j);
}

/* An event line formatted and parsed back. */
static json_t *
event(const char *level, const char *msg, const struct log_field *f, size_t n, size_t *len)
{
	char		buf[LOG_LINE_MAX + 1];

	memset(buf, 'x', sizeof(buf));
	*len = log_format_event(buf, &when, level, "mlpipe-inference", msg, f, n);
	return parsed(buf, *len);
}

static void
test_events(void)
{
	static char long_msg[3 * LOG_LINE_MAX];
	struct log_field f[] = {
		LOG_STR("host", "127.0.0.1\"}\n{\"evil\":1"), LOG_NUM("port", 8002),
		LOG_NUM("db_batches", 1ULL << 40),
	};
	size_t		len;
	json_t	   *j = event("info", "listening", f, 3, &len);

	CHECK(j != NULL, "an event is one JSON line");
	CHECK(field_is(j, "ts", "2024-02-29T22:00:00.123Z") && field_is(j, "level", "info") &&
		  field_is(j, "service", "mlpipe-inference") && field_is(j, "msg", "listening"),
		  "ts, level, service and msg, like every line");
	CHECK(field_is(j, "host", "127.0.0.1\"}\n{\"evil\":1") && json_object_get(j, "evil") == NULL,
		  "a HOST with quotes and a newline is escaped, not a second line");
	CHECK(json_integer_value(json_object_get(j, "port")) == 8002, "numbers stay numbers");
	CHECK(json_integer_value(json_object_get(j, "db_batches")) == 1LL << 40, "a large count");
	json_decref(j);

	j = event("error", "duplicate key \xff\xfe", NULL, 0, &len);
	CHECK(j != NULL && field_is(j, "msg", "duplicate key ??"), "bytes that are not UTF-8 become '?'");
	json_decref(j);

	memset(long_msg, 'm', sizeof(long_msg) - 1);
	j = event("warning", long_msg, f, 3, &len);
	CHECK(j != NULL && len <= LOG_LINE_MAX, "a message longer than a line is cut, the line valid");
	CHECK(j && json_integer_value(json_object_get(j, "port")) == 8002,
		  "the fields after a long message survive");
	json_decref(j);
}

/* Every line of path is a JSON object; returns the lines, -1 on a bad one. */
static long
json_lines(const char *path)
{
	FILE	   *fp = fopen(path, "r");
	char		line[LOG_LINE_MAX + 2];
	long		n = 0;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp))
	{
		json_t	   *j = json_loads(line, 0, NULL);

		if (!json_is_object(j) || json_object_get(j, "ts") == NULL)
			n = -1000000;
		json_decref(j);
		n++;
	}
	fclose(fp);
	return n < 0 ? -1 : n;
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long) st.st_size : -1;
}

static void
test_rotation(void)
{
	char		dir[] = "/tmp/mlpipe-test-log.XXXXXX";
	char		path[64];
	char		old[80];
	int			saved = dup(STDERR_FILENO);
	long		lines,
				old_lines;

	if (mkdtemp(dir) == NULL)
	{
		CHECK(0, "a temporary directory");
		return;
	}
	snprintf(path, sizeof(path), "%s/inference.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	CHECK(log_open(path, 65536) == 0, "log_open of a new file");
	log_init("mlpipe-inference");
	log_event("info", "listening", NULL, 0);
	/* about 200 KB of request lines: past the limit three times */
	for (int i = 0; i < 2000; i++)
		log_request("mlpipe-inference", "POST", "/predict", 200, 1.5);
	lines = json_lines(path);
	old_lines = json_lines(old);
	CHECK(file_size(path) > 0 && file_size(path) <= 65536 + LOG_LINE_MAX,
		  "the file never grows much past MLPIPE_LOG_MAX_BYTES");
	CHECK(file_size(old) > 65536 && file_size(old) <= 65536 + LOG_LINE_MAX,
		  "the previous file is kept as .1, its size just past the limit");
	CHECK(old_lines > 0, "every line of the .1 file is a whole JSON line");
	CHECK(lines > 0 && lines + old_lines < 2001, "whole JSON lines in the current file; the oldest are gone");
	dup2(saved, STDERR_FILENO);
	close(saved);
	unlink(path);
	unlink(old);
	rmdir(dir);
	CHECK(log_open("/nonexistent-dir/x.log", 0) == -1, "an unopenable path is refused");
}

int
main(void)
{
	test_plain();
	test_times();
	test_hostile_bytes();
	test_long_path();
	test_events();
	test_rotation();
	return check_summary();
}
