/*
 * test_reply.c — unit tests of the replies (services/common/reply.c): JSON
 * bodies, detail messages cut and scrubbed to valid UTF-8, request_json's
 * 422s, the SQLSTATE mapping; and the UTF-8 helpers they rest on (utf8.c).
 * Prints "N passed, M failed"; exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "service.h"
#include "utf8.h"

static void
test_utf8(void)
{
	static const char *const good[] = {
		"", "abc", "caf\xc3\xa9", "\xe5\x90\x8d", "\xf0\x9f\x92\xa9", "\xe2\x80\xae", "\xef\xbf\xbf",
		"\xf4\x8f\xbf\xbf",		/* U+10FFFF */
	};
	static const char *const bad[] = {
		"\xff", "\xc3\x28", "\xed\xa0\x80" /* surrogate */, "\xc0\xaf" /* overlong '/' */,
		"\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80" /* > U+10FFFF */, "\x80",
		"\xc3", "a\xe5\x90", "\xfe", "\xc1\xbf",
	};
	char		buf[32];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		snprintf(buf, sizeof(buf), "valid UTF-8 #%zu", i);
		CHECK(utf8_valid(good[i], strlen(good[i])), buf);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		snprintf(buf, sizeof(buf), "invalid UTF-8 #%zu", i);
		CHECK(!utf8_valid(bad[i], strlen(bad[i])), buf);
	}

	/* a cut inside a character drops the partial character, nothing else */
	CHECK(utf8_trim_cut("x\xc3\xa9", 3) == 3, "trim: complete 2-byte character kept");
	CHECK(utf8_trim_cut("x\xc3", 2) == 1, "trim: lead byte alone dropped");
	CHECK(utf8_trim_cut("x\xe5\x90", 3) == 1, "trim: 2 of 3 bytes dropped");
	CHECK(utf8_trim_cut("x\xf0\x9f\x92", 4) == 1, "trim: 3 of 4 bytes dropped");
	CHECK(utf8_trim_cut("x\xf0\x9f\x92\xa9", 5) == 5, "trim: complete 4-byte character kept");
	CHECK(utf8_trim_cut("abc", 3) == 3 && utf8_trim_cut("", 0) == 0, "trim: ASCII untouched");

	strcpy(buf, "a\xff" "b\xc3\x28\xc3\xa9");
	utf8_scrub(buf, strlen(buf));
	CHECK(strcmp(buf, "a?b?(\xc3\xa9") == 0, "scrub: bad bytes become '?', good characters stay");
}

static void
test_reply_text(void)
{
	struct reply rep = {0};
	json_t	   *j;
	char	   *v;
	char		bad[4] = {'a', (char) 0xff, 'b', 0};

	/* the fault suite's case: "Model m version xéxé... not found" cut at 1 KiB */
	v = malloc(350 * 3 + 1);
	if (v == NULL)
		return;
	for (int i = 0; i < 350; i++)
		memcpy(v + 3 * i, "x\xc3\xa9", 3);
	v[350 * 3] = '\0';
	for (int shift = 0; shift < 3; shift++)
	{
		char		what[80];

		reply_model_not_found(&rep, shift == 0 ? "m" : shift == 1 ? "mm" : "mmm", v, NULL);
		j = rep.body ? json_loadb(rep.body, rep.body_len, 0, NULL) : NULL;
		snprintf(what, sizeof(what), "long multi-byte 404 stays 404 with valid JSON (shift %d)", shift);
		CHECK(rep.status == 404 && j != NULL &&
			  utf8_valid(json_string_value(json_object_get(j, "detail")),
						 json_string_length(json_object_get(j, "detail"))) &&
			  json_string_length(json_object_get(j, "detail")) >= 1020, what);
		json_decref(j);
		reply_clear(&rep);
	}
	free(v);

	reply_detail(&rep, 404, "Model %s not found", bad);
	CHECK(rep.status == 404 && strstr(rep.body, "a?b") != NULL, "bytes that are not UTF-8 are scrubbed");
	reply_clear(&rep);

	/* a json_pack that failed: an error keeps its status, a success becomes 500 */
	reply_json(&rep, 404, NULL);
	CHECK(rep.status == 404 && strcmp(rep.body, "{\"detail\":\"Not Found\"}") == 0,
		  "reply_json(NULL) for a 404 stays 404");
	reply_clear(&rep);
	reply_json(&rep, 200, json_pack("{s:s}", "detail", bad));
	CHECK(rep.status == 500, "reply_json(NULL) for a 200 is 500");
	reply_clear(&rep);
}

static void
test_request_json(void)
{
	struct request req = {0};
	struct reply rep = {0};
	json_t	   *j;
	json_t	   *detail;

	req.body = "{\"a\": 1,}";
	req.body_len = strlen(req.body);
	CHECK(request_json(&req, &rep) == NULL, "invalid JSON refused");
	CHECK(rep.status == 422, "invalid JSON is 422 (FastAPI)");
	j = json_loadb(rep.body, rep.body_len, 0, NULL);
	detail = json_array_get(json_object_get(j, "detail"), 0);
	CHECK(strcmp(json_string_value(json_object_get(detail, "type")), "json_invalid") == 0,
		  "type json_invalid");
	CHECK(json_is_integer(json_array_get(json_object_get(detail, "loc"), 1)),
		  "loc [body, position]");
	json_decref(j);
	reply_clear(&rep);

	req.body = "";
	req.body_len = 0;
	CHECK(request_json(&req, &rep) == NULL && rep.status == 422, "empty body is 422");
	CHECK(rep.body && strstr(rep.body, "\"missing\""), "empty body: missing");
	reply_clear(&rep);

	req.body = "{\"a\":[1,2]}";
	req.body_len = strlen(req.body);
	j = request_json(&req, &rep);
	CHECK(j && json_integer_value(json_array_get(json_object_get(j, "a"), 1)) == 2, "valid JSON parsed");
	json_decref(j);

	reply_detail(&rep, 404, "Model %s not found", "x\"y");
	j = json_loadb(rep.body, rep.body_len, 0, NULL);
	CHECK(rep.status == 404 && j &&
		  strcmp(json_string_value(json_object_get(j, "detail")), "Model x\"y not found") == 0,
		  "detail is escaped JSON");
	json_decref(j);
	reply_clear(&rep);

	{
		struct db_error err = {.http_status = 422, .sqlstate = "22023",
		.message = "age must be positive", .column = "age"};
		struct db_error refused = {.http_status = 415, .sqlstate = "0A000",
			.message = "model file is not an XGBoost JSON model",
			.detail = "This looks like UBJSON.",
		.hint = "Export the model with save_model"};

		reply_db_error(&rep, &err);
		CHECK(rep.status == 422 && strstr(rep.body, "[\"body\",\"age\"]") != NULL,
			  "a 22023 from the database becomes a 422 list with loc");
		CHECK(strstr(rep.body, "\"Age must be positive.\"") != NULL, "the 422 msg is a sentence");
		reply_clear(&rep);
		reply_db_error(&rep, &refused);
		CHECK(rep.status == 415 && strstr(rep.body, "\"Model file is not an XGBoost JSON model. "
										  "This looks like UBJSON. Export the model with save_model.\"") != NULL,
			  "the reply's detail joins the message, the detail and the hint");
		reply_clear(&rep);
	}
	{
		struct db_error readonly = {.http_status = 503, .sqlstate = "25006",
		.message = "cannot execute INSERT in a read-only transaction"};
		struct db_error shard = {.http_status = 503, .sqlstate = "08006",
		.message = "shard mlpipe_shard_1 cannot be reached"};
		struct db_error lost = {.http_status = 503, .sqlstate = "08006",
		.message = "Database unavailable", .connection_lost = 1};

		CHECK(db_http_status("25006") == 503, "25006 (a write on a hot standby) is 503");
		reply_db_error(&rep, &readonly);
		CHECK(rep.status == 503 && strstr(rep.body, "read-only") != NULL &&
			  strstr(rep.body, "primary") != NULL, "a write on a standby: 503 saying read-only");
		reply_clear(&rep);
		reply_db_error(&rep, &shard);
		CHECK(rep.status == 503 && strstr(rep.body, "mlpipe_shard_1") != NULL,
			  "a 503 the server sent names what is down (a shard)");
		reply_clear(&rep);
		reply_db_error(&rep, &lost);
		CHECK(rep.status == 503 && strcmp(rep.body, "{\"detail\":\"Database unavailable\"}") == 0,
			  "a lost connection: Database unavailable");
		reply_clear(&rep);
	}
	CHECK(db_http_status("42704") == 404 && db_http_status("23505") == 409 &&
		  db_http_status("0A000") == 415 && db_http_status("22P02") == 422 &&
		  db_http_status("08006") == 503 && db_http_status("57P01") == 503 &&
		  db_http_status("XX000") == 500 && db_http_status(NULL) == 503,
		  "SQLSTATE mapping of services/README.md");
	/* class 22 (data exception) is the client's value: 422, never 500 */
	CHECK(db_http_status("22021") == 422 && db_http_status("22001") == 422 &&
		  db_http_status("22012") == 422 && db_http_status("2200X") == 422 &&
		  db_http_status("23514") == 422, "SQLSTATE class 22 and 23514 are 422");
	CHECK(db_http_status("23503") == 500 && db_http_status("2F005") == 500 &&
		  db_http_status("42883") == 500, "other classes stay 500");
}

int
main(void)
{
	test_utf8();
	test_reply_text();
	test_request_json();
	return check_summary();
}
