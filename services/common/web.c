/*
 * web.c — /openapi.json, /docs and /docs/{file} (see web.h).
 */
#include <string.h>

#include "web.h"

#ifndef MLPIPE_WEB_DIR
#error "MLPIPE_WEB_DIR (where npm installed services/web's modules) must be defined"
#endif
#ifndef MLPIPE_SERVICES_DIR
#error "MLPIPE_SERVICES_DIR (the services' source directory) must be defined"
#endif

EMBED(docs_html, MLPIPE_SERVICES_DIR "/web/docs.html");
EMBED(docs_js, MLPIPE_SERVICES_DIR "/web/docs.js");
EMBED(swagger_js, MLPIPE_WEB_DIR "/node_modules/swagger-ui-dist/swagger-ui-bundle.js");
EMBED(swagger_css, MLPIPE_WEB_DIR "/node_modules/swagger-ui-dist/swagger-ui.css");

static const struct asset docs_assets[] = {
	{"swagger-ui-bundle.js", "text/javascript; charset=utf-8", swagger_js, swagger_js_end},
	{"swagger-ui.css", "text/css; charset=utf-8", swagger_css, swagger_css_end},
	{"docs.js", "text/javascript; charset=utf-8", docs_js, docs_js_end},
};

void
web_reply_asset(struct reply *rep, const struct asset *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
	{
		if (strcmp(table[i].name, name) != 0)
			continue;
		reply_bytes(rep, 200, table[i].data, (size_t) (table[i].end - table[i].data));
		if (rep->status == 200)
			rep->content_type = table[i].content_type;
		return;
	}
	reply_detail(rep, 404, "Not Found");
}

static void
handle_openapi(struct request *req, struct reply *rep)
{
	(void) req;
	reply_bytes(rep, 200, service_openapi, (size_t) (service_openapi_end - service_openapi));
}

static void
handle_docs(struct request *req, struct reply *rep)
{
	(void) req;
	reply_bytes(rep, 200, docs_html, (size_t) (docs_html_end - docs_html));
	if (rep->status == 200)
		rep->content_type = "text/html; charset=utf-8";
}

static void
handle_docs_asset(struct request *req, struct reply *rep)
{
	web_reply_asset(rep, docs_assets, sizeof(docs_assets) / sizeof(docs_assets[0]),
					req->params[0]);
}

const struct route web_routes[] = {
	{"GET", "/openapi.json", handle_openapi, 0},
	{"GET", "/docs", handle_docs, 0},
	{"GET", "/docs/{file}", handle_docs_asset, 0},
};
const size_t web_nroutes = sizeof(web_routes) / sizeof(web_routes[0]);
