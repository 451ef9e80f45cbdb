/*
 * reply.c — building JSON replies and reading JSON request bodies.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "service.h"
#include "utf8.h"
#include "verror.h"

void
reply_clear(struct reply *rep)
{
	free(rep->body);
	free(rep->disposition);
	rep->body = NULL;
	rep->disposition = NULL;
	rep->body_len = 0;
	rep->content_type = NULL;
}

/* What a status means, for a reply whose own text could not be built. */
static const char *
status_text(unsigned status)
{
	switch (status)
	{
		case 400:
			return "Bad Request";
		case 401:
			return "Not authenticated";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 409:
			return "Conflict";
		case 413:
			return "Request body too large";
		case 415:
			return "Unsupported Media Type";
		case 422:
			return "Unprocessable Entity";
		case 503:
			return "Database unavailable";
		default:
			return "Internal Server Error";
	}
}

void
reply_json(struct reply *rep, unsigned status, json_t *j)
{
	reply_clear(rep);
	rep->body = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(j);
	if (rep->body == NULL)
	{
		/*
		 * No value: a json_pack refused a string (not UTF-8) or memory ran
		 * out.  An error keeps its status with a fixed text (the client's
		 * bad input must not turn into a 500); a success cannot be faked.
		 */
		char		fixed[96];

		if (status < 400 || status > 599)
			status = 500;
		snprintf(fixed, sizeof(fixed), "{\"detail\":\"%s\"}", status_text(status));
		rep->body = strdup(fixed);
	}
	rep->status = status;
	rep->body_len = rep->body ? strlen(rep->body) : 0;
}

void
reply_detail(struct reply *rep, unsigned status, const char *fmt,...)
{
	char		msg[1024];
	va_list		ap;
	int			n;
	size_t		len;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = n < 0 ? 0 : (size_t) n;
	if (len >= sizeof(msg))
		len = utf8_trim_cut(msg, sizeof(msg) - 1);	/* never half a character */
	msg[len] = '\0';
	/* the arguments may hold bytes that are not UTF-8: jansson would refuse them */
	utf8_scrub(msg, len);
	reply_json(rep, status, json_pack("{s:s}", "detail", msg));
}

void
reply_errors(struct reply *rep, json_t *errors)
{
	reply_json(rep, 422, json_pack("{s:o}", "detail", errors));
}

/* Appends " text" (or "text" at the start), ending it with a period. */
static void
append_sentence(char *buf, size_t len, const char *text)
{
	size_t		used = strlen(buf);
	size_t		n = strlen(text);

	if (n == 0 || used + 2 >= len)
		return;
	snprintf(buf + used, len - used, "%s%s%s", used ? " " : "", text,
			 text[n - 1] == '.' ? "" : ".");
	if (used == 0 && buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char) (buf[0] - 'a' + 'A');
}

/*
 * The error as one text for an HTTP reply: the message with a capital
 * first letter, then the detail and the hint, each ending in a period.
 */
static void
db_error_text(const struct db_error *err, char *buf, size_t len)
{
	if (len == 0)
		return;
	buf[0] = '\0';
	append_sentence(buf, len, err->message);
	append_sentence(buf, len, err->detail);
	append_sentence(buf, len, err->hint);
}

void
reply_db_error(struct reply *rep, const struct db_error *err)
{
	char		text[sizeof(err->message) + sizeof(err->detail) + sizeof(err->hint) + 8];

	/* what happened, why and what to do, from the server's own fields */
	db_error_text(err, text, sizeof(text));
	if (err->http_status == 422)
	{
		/* the extension's message names the field; loc says which one when it can */
		json_t	   *errors = json_array();
		json_t	   *loc = loc_make("body", err->column[0] ? err->column : NULL);

		verr_add(errors, loc, NULL, "value_error", text, NULL, NULL);
		json_decref(loc);
		reply_errors(rep, errors);
		return;
	}
	if (err->http_status == 503 && strcmp(err->sqlstate, "25006") == 0)
		reply_detail(rep, 503, "Database is read-only: this service reached a hot standby, "
					 "and writes go to the primary (connect with target_session_attrs=read-write)");
	else if (err->http_status == 503 && !err->connection_lost && err->message[0])
	{
		/* the server is up but a part behind it is not (a PL/Proxy shard) */
		reply_detail(rep, 503, "Database unavailable: %s", err->message);
	}
	else if (err->http_status == 503)
		reply_detail(rep, 503, "Database unavailable");
	else if (err->http_status == 500)
	{
		/* the client gets a generic message; the log keeps the real one */
		struct log_field f[] = {LOG_STR("sqlstate", err->sqlstate)};

		log_event("error", text, f, 1);
		reply_detail(rep, 500, "Internal Server Error");
	}
	else
		reply_detail(rep, err->http_status, "%s", text);
}

void
reply_bytes(struct reply *rep, unsigned status, const char *data, size_t len)
{
	reply_clear(rep);
	rep->body = malloc(len ? len : 1);
	if (rep->body == NULL)
	{
		reply_detail(rep, 500, "Internal Server Error");
		return;
	}
	memcpy(rep->body, data, len);
	rep->body_len = len;
	rep->status = status;
}

json_t *
request_json(const struct request *req, struct reply *rep)
{
	json_error_t jerr;
	json_t	   *j;
	json_t	   *errors;
	json_t	   *loc;

	if (req->body_len == 0)
	{
		errors = json_array();
		loc = loc_make("body", NULL);
		verr_add(errors, loc, NULL, "missing", "Field required", json_null(), NULL);
		json_decref(loc);
		reply_errors(rep, errors);
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_DECODE_ANY, &jerr);
	if (j != NULL)
		return j;
	/* FastAPI: 422 json_invalid with the byte position of the error */
	errors = json_array();
	loc = json_pack("[s,I]", "body", (json_int_t) jerr.position);
	verr_add(errors, loc, NULL, "json_invalid", "JSON decode error", NULL,
			 json_pack("{s:s}", "error", jerr.text));
	json_decref(loc);
	reply_errors(rep, errors);
	return NULL;
}

int
reply_if_invalid(struct reply *rep, json_t *errors)
{
	if (json_array_size(errors) == 0)
	{
		json_decref(errors);
		return 0;
	}
	reply_errors(rep, errors);
	return 1;
}

void
reply_model_not_found(struct reply *rep, const char *name, const char *version,
					  const struct db_error *err)
{
	/* the database's detail says what exists instead */
	const char *more = err && err->detail[0] ? err->detail : NULL;

	if (version)
		reply_detail(rep, 404, "Model %s version %s not found%s%s", name, version,
					 more ? ". " : "", more ? more : "");
	else
		reply_detail(rep, 404, "Model %s not found%s%s", name, more ? ". " : "", more ? more : "");
}
