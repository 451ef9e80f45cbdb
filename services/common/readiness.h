/*
 * readiness.h — what /readyz answers: the database is reachable and, when it
 * is a hot standby, its replay is recent enough to serve from.
 */
#ifndef MLPIPE_READINESS_H
#define MLPIPE_READINESS_H

#include "service.h"

#define DEFAULT_MAX_REPLICA_LAG 30.0

/* Reads MLPIPE_MAX_REPLICA_LAG; -1 (and a message on stderr) when it is bad. */
int			readiness_init(const char *service_name);

/* Builds /readyz's reply: 200 when ready, 503 with a detail when not. */
void		readiness_reply(struct reply *rep);

#endif
