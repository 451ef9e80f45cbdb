/*
 * log.c — the request log: one JSON line per request on stderr.
 *
 * Each line is formatted on the stack and written with a single write(2),
 * no stdio: fprintf(stderr) holds the stream's lock across the system
 * call, so worker threads queued behind each other's log lines (a futex
 * wait on about every request under load).  A line never exceeds
 * LOG_LINE_MAX = 4096 bytes, PIPE_BUF on Linux, so lines written by
 * different threads to a pipe (a container's log driver) never interleave.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

struct line
{
	char	   *buf;
	size_t		len;
	size_t		cap;			/* bytes usable, the newline's kept aside */
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len)
		n = l->cap - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Bytes the escaped form of byte c takes in a JSON string. */
static size_t
escaped_len(unsigned char c)
{
	if (c == '"' || c == '\\')
		return 2;
	return c < 0x20 ? 6 : 1;
}

static void
put_escaped(struct line *l, unsigned char c)
{
	char		e[8];

	if (c == '"' || c == '\\')
	{
		e[0] = '\\';
		e[1] = (char) c;
		put(l, e, 2);
	}
	else if (c < 0x20)
	{
		snprintf(e, sizeof(e), "\\u%04x", c);
		put(l, e, 6);
	}
	else
		put(l, (const char *) &c, 1);
}

/*
 * s as a JSON string, quotes included, in at most `room` bytes of the line
 * (room >= 5): what does not fit is cut at a character boundary and
 * replaced by "...".
 */
static void
put_json_string(struct line *l, const char *s, size_t room)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t		n = strlen(s);
	size_t		need = 2;
	size_t		cut = n;

	for (size_t i = 0; i < n; i++)
		need += escaped_len(u[i]);
	if (need > room)
	{
		/* keep what fits with "..." and the quotes, then back up to a character start */
		size_t		used = 5;

		cut = 0;
		while (cut < n && used + escaped_len(u[cut]) <= room)
			used += escaped_len(u[cut++]);
		while (cut > 0 && cut < n && (u[cut] & 0xC0) == 0x80)
			cut--;
	}
	put(l, "\"", 1);
	for (size_t i = 0; i < cut;)
	{
		size_t		len = utf8_char_len(u + i, cut - i);

		if (len == 0)
		{
			put(l, "?", 1);		/* not UTF-8: JSON must be */
			i++;
			continue;
		}
		for (size_t k = 0; k < len; k++)
			put_escaped(l, u[i + k]);
		i += len;
	}
	if (cut < n)
		put(l, "...", 3);
	put(l, "\"", 1);
}

/* Decimal digits of v into s (no NUL); returns how many. */
static size_t
format_uint(char *s, unsigned long long v)
{
	char		tmp[24];
	size_t		n = 0;

	do
		tmp[n++] = (char) ('0' + v % 10);
	while ((v /= 10) > 0);
	for (size_t i = 0; i < n; i++)
		s[i] = tmp[n - 1 - i];
	return n;
}

/* v as exactly width digits, zero-padded (v < 10^width) */
static void
format_fixed(char *s, unsigned long long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		s[i] = (char) ('0' + v % 10);
}

/*
 * "YYYY-MM-DDTHH:MM:SS" of sec.  A thread formats each second once: under
 * load gmtime_r and strftime were a few per cent of a request's CPU.
 */
static const char *
second_text(time_t sec)
{
	static __thread time_t cached = (time_t) -1;
	static __thread char text[32];

	if (sec != cached)
	{
		struct tm	tm;

		gmtime_r(&sec, &tm);
		strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
		cached = sec;
	}
	return text;
}

size_t
log_format_request(char *buf, const struct timespec *now, const char *service,
				   const char *method, const char *path, unsigned status, double ms)
{
	struct line l = {buf, 0, LOG_LINE_MAX - 1};
	char		tail[96];
	size_t		n;
	unsigned long long us = ms > 0 && ms < 1e12 ? (unsigned long long) (ms * 1000.0 + 0.5) : 0;
	char		millis[4];

	put_str(&l, "{\"ts\":\"");
	put_str(&l, second_text(now->tv_sec));
	format_fixed(millis, (unsigned long long) (now->tv_nsec / 1000000), 3);
	millis[3] = '\0';
	put(&l, ".", 1);
	put(&l, millis, 3);
	put_str(&l, "Z\",\"service\":");
	put_json_string(&l, service, 64);
	put_str(&l, ",\"method\":");
	put_json_string(&l, method, 64);
	put_str(&l, ",\"path\":");

	/* the path gets what is left after the fields that follow it */
	n = 0;
	memcpy(tail + n, ",\"status\":", 10);
	n += 10;
	n += format_uint(tail + n, status);
	memcpy(tail + n, ",\"duration_ms\":", 15);
	n += 15;
	n += format_uint(tail + n, us / 1000);	/* milliseconds to the microsecond */
	tail[n++] = '.';
	format_fixed(tail + n, us % 1000, 3);
	n += 3;
	tail[n++] = '}';
	put_json_string(&l, path, l.cap - l.len - n);
	put(&l, tail, n);
	buf[l.len++] = '\n';
	return l.len;
}

void
log_request(const char *service, const char *method, const char *path,
			unsigned status, double ms)
{
	char		buf[LOG_LINE_MAX];
	struct timespec now;
	size_t		len;
	ssize_t		w;

	clock_gettime(CLOCK_REALTIME, &now);
	len = log_format_request(buf, &now, service, method, path, status, ms);
	do
		w = write(STDERR_FILENO, buf, len);
	while (w < 0 && errno == EINTR);
	/* a full or closed log is not a reason to fail the request */
}
