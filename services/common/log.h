/*
 * log.h — the services' log: one JSON line per request and per event, all
 * written here, escaped the same way, each with one write(2) on stderr.
 * Optionally stderr is a file that is rotated when it grows past a size
 * (MLPIPE_LOG_FILE, MLPIPE_LOG_MAX_BYTES).
 */
#ifndef MLPIPE_LOG_H
#define MLPIPE_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

/* A line is at most this long, newline included: see log.c for why. */
#define LOG_LINE_MAX 4096

/*
 * Formats {"ts":..,"service":..,"method":..,"path":..,"status":..,
 * "duration_ms":..} and a newline into buf (LOG_LINE_MAX bytes); returns
 * the length.  method and path may hold any bytes: invalid UTF-8 becomes
 * '?', and a path too long for the line is cut (on a character boundary)
 * and ends with "...".
 */
size_t		log_format_request(char *buf, const struct timespec *now, const char *service,
							   const char *method, const char *path, unsigned status, double ms);

/* Formats the line for now and writes it to stderr with one write(2). */
void		log_request(const char *service, const char *method, const char *path,
						unsigned status, double ms);

/* The service's name, for event lines; set once before any thread logs. */
void		log_init(const char *service);

/*
 * Sends stderr (this log, and anything else written there) to path,
 * appending; once it holds more than max_bytes (0: no limit) it is renamed
 * to path.1 (replacing the previous one) and a new path is started, so at
 * most about twice max_bytes stay on disk.  -1 with errno when path cannot
 * be opened.
 */
int			log_open(const char *path, unsigned long long max_bytes);

/* A field of an event line: a string when str is not NULL, else the number. */
struct log_field
{
	const char *key;
	const char *str;
	unsigned long long num;
};

#define LOG_STR(k, v) {(k), (v), 0}
#define LOG_NUM(k, v) {(k), NULL, (unsigned long long) (v)}

/*
 * Formats {"ts":..,"level":..,"service":..,"msg":.., fields...} and a
 * newline into buf (LOG_LINE_MAX bytes); returns the length.  Strings are
 * escaped and cut as in request lines; fields that do not fit are left out.
 */
size_t		log_format_event(char *buf, const struct timespec *now, const char *level,
							 const char *service, const char *msg,
							 const struct log_field *fields, size_t nfields);

/* Formats the event for now and writes it as log_request does. */
void		log_event(const char *level, const char *msg, const struct log_field *fields,
					  size_t nfields);

/*
 * A printf-style message as a "warning" event: libmicrohttpd's own
 * messages (MHD_OPTION_EXTERNAL_LOGGER), so that they are log lines too.
 */
void		log_vprintf(void *cls, const char *fmt, va_list ap);

#endif
