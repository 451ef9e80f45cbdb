/*
 * log.c — the request log: one JSON line per request on stderr.
 *
 * Each line is formatted on the stack and written with a single write(2),
 * no stdio: fprintf(stderr) holds the stream's lock across the system
 * call, so worker threads queued behind each other's log lines (a futex
 * wait on about every request under load).  A line never exceeds
 * LOG_LINE_MAX = 4096 bytes, PIPE_BUF on Linux, so lines written by
 * different threads to a pipe (a container's log driver) never interleave.
 *
 * Rotation (log_open): every write adds its length to a counter; the
 * thread whose write takes it past the limit renames the file and dup2()s
 * a new one onto stderr.  dup2 replaces the descriptor atomically, so a
 * concurrent write lands whole in the old file or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

static const char *log_service = "mlpipe";
static char *log_path;			/* NULL: stderr is whatever the parent gave */
static unsigned long long log_max;	/* 0: no rotation */
static atomic_ullong log_bytes;	/* written to the current file */
static atomic_flag log_rotating = ATOMIC_FLAG_INIT;

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

/* The shortest JSON text of a number: the digits of an unsigned integer. */
static void
put_uint(struct line *l, unsigned long long v)
{
	char		digits[24];

	put(l, digits, format_uint(digits, v));
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" with its quotes */
static void
put_ts(struct line *l, const struct timespec *now)
{
	char		millis[4];

	put_str(l, "\"");
	put_str(l, second_text(now->tv_sec));
	format_fixed(millis, (unsigned long long) (now->tv_nsec / 1000000), 3);
	put(l, ".", 1);
	put(l, millis, 3);
	put_str(l, "Z\"");
}

size_t
log_format_request(char *buf, const struct timespec *now, const char *service,
				   const char *method, const char *path, unsigned status, double ms)
{
	struct line l = {buf, 0, LOG_LINE_MAX - 1};
	char		tail[96];
	size_t		n;
	unsigned long long us = ms > 0 && ms < 1e12 ? (unsigned long long) (ms * 1000.0 + 0.5) : 0;

	put_str(&l, "{\"ts\":");
	put_ts(&l, now);
	put_str(&l, ",\"service\":");
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

size_t
log_format_event(char *buf, const struct timespec *now, const char *level, const char *service,
				 const char *msg, const struct log_field *fields, size_t nfields)
{
	struct line l = {buf, 0, LOG_LINE_MAX - 2};	/* room for the closing brace */

	put_str(&l, "{\"ts\":");
	put_ts(&l, now);
	put_str(&l, ",\"level\":");
	put_json_string(&l, level, 16);
	put_str(&l, ",\"service\":");
	put_json_string(&l, service, 64);
	put_str(&l, ",\"msg\":");
	/* the message may take half the line; the fields share the rest */
	put_json_string(&l, msg, (l.cap - l.len) / 2);
	for (size_t i = 0; i < nfields; i++)
	{
		size_t		keylen = strlen(fields[i].key);
		size_t		room = l.cap - l.len;

		/* ,"key": and at least a short value, else the field is left out */
		if (keylen > 64 || room < keylen + 4 + 24)
			break;
		put_str(&l, ",");
		put_json_string(&l, fields[i].key, keylen + 2 + 5);
		put_str(&l, ":");
		if (fields[i].str)
			put_json_string(&l, fields[i].str, l.cap - l.len);
		else
			put_uint(&l, fields[i].num);
	}
	buf[l.len++] = '}';
	buf[l.len++] = '\n';
	return l.len;
}

void
log_init(const char *service)
{
	log_service = service;
}

/* Opens path for appending onto stderr; 0, or -1 with errno. */
static int
reopen_stderr(const char *path)
{
	int			fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fd != STDERR_FILENO)
	{
		if (dup2(fd, STDERR_FILENO) < 0)
		{
			int			e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		close(fd);
	}
	atomic_store(&log_bytes, fstat(STDERR_FILENO, &st) == 0 ? (unsigned long long) st.st_size : 0);
	return 0;
}

int
log_open(const char *path, unsigned long long max_bytes)
{
	char	   *copy = strdup(path);

	if (copy == NULL)
		return -1;
	if (reopen_stderr(path) != 0)
	{
		free(copy);
		return -1;
	}
	free(log_path);
	log_path = copy;
	log_max = max_bytes;
	return 0;
}

/* path -> path.1, a new path on stderr; by one thread at a time */
static void
rotate(void)
{
	char		old[4096];

	if (atomic_flag_test_and_set(&log_rotating))
		return;
	/* another thread may have rotated since this one's write */
	if (atomic_load(&log_bytes) > log_max &&
		snprintf(old, sizeof(old), "%s.1", log_path) < (int) sizeof(old))
	{
		/* when either step fails the log goes on in the file it had */
		if (rename(log_path, old) == 0)
			reopen_stderr(log_path);
	}
	atomic_flag_clear(&log_rotating);
}

static void
log_write(const char *buf, size_t len)
{
	ssize_t		w;

	do
		w = write(STDERR_FILENO, buf, len);
	while (w < 0 && errno == EINTR);
	/* a full or closed log is not a reason to fail the request */
	if (w > 0 && log_path != NULL && log_max > 0 &&
		atomic_fetch_add(&log_bytes, (unsigned long long) w) + (unsigned long long) w > log_max)
		rotate();
}

void
log_request(const char *service, const char *method, const char *path,
			unsigned status, double ms)
{
	char		buf[LOG_LINE_MAX];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	log_write(buf, log_format_request(buf, &now, service, method, path, status, ms));
}

void
log_event(const char *level, const char *msg, const struct log_field *fields, size_t nfields)
{
	char		buf[LOG_LINE_MAX];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	log_write(buf, log_format_event(buf, &now, level, log_service, msg, fields, nfields));
}

void
log_vprintf(void *cls, const char *fmt, va_list ap)
{
	char		text[1024];
	size_t		n;

	(void) cls;
	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	log_event("warning", text, NULL, 0);
}
