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
#include <unistd.h>

#include "log.h"
#include "validate.h"

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

size_t
log_format_request(char *buf, const struct timespec *now, const char *service,
				   const char *method, const char *path, unsigned status, double ms)
{
	struct line l = {buf, 0, LOG_LINE_MAX - 1};
	struct tm	tm;
	char		tmp[96];
	size_t		reserved;

	gmtime_r(&now->tv_sec, &tm);
	strftime(tmp, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	put_str(&l, "{\"ts\":\"");
	put_str(&l, tmp);
	snprintf(tmp, sizeof(tmp), ".%03dZ\",\"service\":", (int) (now->tv_nsec / 1000000));
	put_str(&l, tmp);
	put_json_string(&l, service, 64);
	put_str(&l, ",\"method\":");
	put_json_string(&l, method, 64);
	put_str(&l, ",\"path\":");
	/* the path gets what is left after the fields that follow it */
	snprintf(tmp, sizeof(tmp), ",\"status\":%u,\"duration_ms\":%.6g}", status, ms);
	reserved = strlen(tmp);
	put_json_string(&l, path, l.cap - l.len - reserved);
	put_str(&l, tmp);
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
