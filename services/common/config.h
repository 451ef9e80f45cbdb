/*
 * config.h — the services' configuration: environment variables only,
 * checked before anything listens, and the --help text that lists them.
 */
#ifndef MLPIPE_CONFIG_H
#define MLPIPE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "service.h"

struct config
{
	const char *host;
	unsigned	port;
	const char *token;			/* NULL: no authentication */
	size_t		max_body;
	size_t		max_upload;
	size_t		max_batch_body;
	unsigned	threads;
	unsigned	dispatchers;
	unsigned	max_connections;
	unsigned	max_connections_per_ip; /* 0: no per-address limit */
	unsigned	connection_timeout;
	unsigned	header_timeout; /* 0: no header deadline */
	const char *log_file;		/* NULL: the log stays on stderr */
	unsigned long long log_max_bytes;	/* rotate log_file past this; 0: never */
};

/*
 * Fills cfg from the environment.  A bad value is reported on stderr
 * (naming the variable and its range); then -1.
 */
int			config_read(const struct service *svc, struct config *cfg);

/* The "listening" log line, with the settings that shape the service. */
void		config_log(const struct config *cfg);

/* The --help text. */
void		config_usage(const struct service *svc, FILE *out);

#endif
