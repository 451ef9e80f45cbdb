/*
 * test_log.c — unit tests of services/common/log.c: every line is one
 * valid JSON object with the request's fields, whatever bytes the method
 * and path hold, and never longer than LOG_LINE_MAX.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "log.h"

static const struct timespec when = {1709244000, 123456789};	/* 2024-02-29T22:00:00.123Z */

/* Formats a line at t and parses it back; NULL when it is not one JSON object + newline. */
static json_t *
line_at(const struct timespec *t, const char *method, const char *path, unsigned status,
		double ms, size_t *len)
{
	char		buf[LOG_LINE_MAX + 1];
	json_error_t err;

	memset(buf, 'x', sizeof(buf));
	*len = log_format_request(buf, t, "inference", method, path, status, ms);
	if (*len == 0 || *len > LOG_LINE_MAX || buf[*len - 1] != '\n' || memchr(buf, '\n', *len - 1))
		return NULL;
	return json_loadb(buf, *len, 0, &err);
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

int
main(void)
{
	test_plain();
	test_times();
	test_hostile_bytes();
	test_long_path();
	return check_summary();
}
