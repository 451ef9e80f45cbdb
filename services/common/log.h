/*
 * log.h — one JSON line per request on stderr.
 */
#ifndef MLPIPE_LOG_H
#define MLPIPE_LOG_H

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

#endif
