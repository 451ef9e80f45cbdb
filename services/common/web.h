/*
 * web.h — the routes every service has for people and tools: GET
 * /openapi.json (the service's own document, embedded at build time),
 * GET /docs (Swagger UI) and GET /docs/{file} (its scripts and styles).
 *
 * Each service's source embeds its document as service_openapi (embed.h):
 *     EMBED(service_openapi, MLPIPE_SERVICES_DIR "/registry/openapi.json");
 */
#ifndef MLPIPE_WEB_H
#define MLPIPE_WEB_H

#include <stddef.h>

#include "embed.h"
#include "service.h"

extern const char service_openapi[];
extern const char service_openapi_end[];

extern const struct route web_routes[];
extern const size_t web_nroutes;

/*
 * Replies with the asset of that name from table (200, its content type),
 * or 404 {"detail": "Not Found"}.
 */
void		web_reply_asset(struct reply *rep, const struct asset *table, size_t n,
							const char *name);

#endif
