/*
 * test_validate.c — unit tests of the raw_data validator, the parsers of
 * the four JSON request bodies, the ISO 8601 checker and the FastAPI-style
 * 422 items they build (services/common/validate.c, verror.c).
 * Prints "N passed, M failed"; exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "service.h"
#include "validate.h"

static void
test_iso8601(void)
{
	static const char *const good[] = {
		"2023-11-22T19:16:58+03:00", "2023-11-22T19:16:58Z", "2023-11-22T19:16:58",
		"2023-11-22", "2023-11-22 19:16:58", "2023-11-22T19:16", "2023-11-22T19:16:58.123456",
		"2024-02-29T00:00:00-05:00", "2023-05-01T00:00:00+0530", "2023-05-01T00:00:00+05",
		"2000-02-29", "2023-12-31T23:59:59.999999999z",
		"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
	};
	static const char *const bad[] = {
		"", "garbage", "2023-13-01", "2023-02-29", "1900-02-29", "2023-04-31",
		"2023-11-22T24:00:00", "2023-11-22T19:60", "2023-11-22T19:16:61",
		"2023-11-22T19:16:58+16:00", "2023-11-22T19:16:58+03:60", "23-11-22",
		"2023-11-22T", "2023-11-22T19:16:58.", "2023-11-22T19:16:58.1234567890",
		"2023-11-22T19:16:58Zx", "2023-11-22T19:16:58 +03:00", "2023/11/22",
		"0000-01-01", "2023-11-22Z", "2023-11-22T19:16:58+3", "2023-11-2",
		"2023-11-22T19:16:58+03:00:00",
		/* what PostgreSQL refuses or turns into another era (found by fuzzing) */
		"2024-01-15T10:30:00,5Z", "0001-01-01T00:00:00+15:59", "9999-12-31T23:59:59-15:59",
		"9999-12-31T23:59:59.9999995Z",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
	{
		char		what[80];

		snprintf(what, sizeof(what), "valid date %s", good[i]);
		CHECK(iso8601_valid(good[i]), what);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		char		what[80];

		snprintf(what, sizeof(what), "invalid date '%s'", bad[i]);
		CHECK(!iso8601_valid(bad[i]), what);
	}
}

/* Runs the validator on a JSON text; returns the error list (caller frees). */
static json_t *
run(const char *text, struct raw_purchase *rp)
{
	json_t	   *obj = json_loads(text, JSON_DECODE_ANY, NULL);
	json_t	   *errors = json_array();
	json_t	   *loc = loc_make("body", "purchase_data");

	if (obj == NULL)
	{
		printf("bad test JSON: %s\n", text);
		exit(2);
	}
	validate_raw_purchase(obj, loc, errors, rp);
	json_decref(loc);
	json_decref(obj);			/* strings in rp are dead now; tests copy first */
	return errors;
}

/* Does errors hold exactly one item with this last loc element and type? */
static int
one_error(json_t *errors, const char *field, const char *type)
{
	json_t	   *e = json_array_get(errors, 0);
	json_t	   *loc = json_object_get(e, "loc");
	const char *last = json_string_value(json_array_get(loc, json_array_size(loc) - 1));

	return json_array_size(errors) == 1 && last && strcmp(last, field) == 0 &&
		strcmp(json_string_value(json_array_get(loc, 0)), "body") == 0 &&
		strcmp(json_string_value(json_object_get(e, "type")), type) == 0 &&
		json_is_string(json_object_get(e, "msg"));
}

#define GOOD "\"customer_id\":42,\"purchase_date\":\"2023-11-22T19:16:58+03:00\"," \
	"\"purchase_amount\":120.5,\"annual_income\":55000,\"age\":31,\"gender\":\"Female\""

static void
test_raw_purchase(void)
{
	struct raw_purchase rp;
	json_t	   *e;
	json_t	   *obj;

	/* a good purchase: text parameters as PostgreSQL will get them */
	obj = json_loads("{" GOOD ",\"extra\":1}", 0, NULL);
	e = json_array();
	validate_raw_purchase(obj, NULL, e, &rp);
	CHECK(json_array_size(e) == 0, "good purchase has no error");
	CHECK(strcmp(rp.customer_id, "42") == 0, "customer_id text");
	CHECK(strcmp(rp.purchase_amount, "120.5") == 0, "purchase_amount text");
	CHECK(strcmp(rp.annual_income, "55000") == 0, "integer income accepted as number");
	CHECK(strcmp(rp.age, "31") == 0, "age text");
	CHECK(strcmp(rp.gender, "Female") == 0, "gender");
	CHECK(strcmp(rp.purchase_date, "2023-11-22T19:16:58+03:00") == 0, "date as given");
	json_decref(e);
	json_decref(obj);

	e = run("{\"customer_id\":42,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
			"\"annual_income\":1,\"age\":30.0,\"gender\":\"Male\"}", &rp);
	CHECK(json_array_size(e) == 0, "age 30.0 accepted like pydantic");
	json_decref(e);

#define ONE(json, field, type) \
	do { e = run(json, &rp); CHECK(one_error(e, field, type), json); json_decref(e); } while (0)

	ONE("{\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,\"annual_income\":1,"
		"\"age\":30,\"gender\":\"Male\"}", "customer_id", "missing");
	ONE("{\"customer_id\":\"42\",\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "customer_id", "int_type");
	ONE("{\"customer_id\":-1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "customer_id", "greater_than_equal");
	ONE("{\"customer_id\":1,\"purchase_date\":\"22/11/2023\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "purchase_date", "datetime_parsing");
	ONE("{\"customer_id\":1,\"purchase_date\":20231122,\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "purchase_date", "string_type");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":\"1\","
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "purchase_amount", "float_type");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":-0.5,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "purchase_amount", "greater_than_equal");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":null,\"age\":30,\"gender\":\"Male\"}", "annual_income", "float_type");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":true,\"age\":30,\"gender\":\"Male\"}", "annual_income", "float_type");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":0,\"gender\":\"Male\"}", "age", "greater_than_equal");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":121,\"gender\":\"Male\"}", "age", "less_than_equal");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30.5,\"gender\":\"Male\"}", "age", "int_from_float");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"male\"}", "gender", "literal_error");
	ONE("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":null}", "gender", "string_type");
	ONE("{\"customer_id\":1e30,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
		"\"annual_income\":1,\"age\":30,\"gender\":\"Male\"}", "customer_id", "int_parsing");
#undef ONE

	/* every problem at once, in field order, with the full loc */
	e = run("{}", &rp);
	CHECK(json_array_size(e) == 6, "empty object: six missing fields");
	{
		char	   *s = json_dumps(json_array_get(e, 0), JSON_COMPACT);

		CHECK(s && strcmp(s, "{\"type\":\"missing\",\"loc\":[\"body\",\"purchase_data\",\"customer_id\"],"
						  "\"msg\":\"Field required\",\"input\":{}}") == 0,
			  "missing item is exactly FastAPI's");
		free(s);
	}
	json_decref(e);

	e = run("[1,2]", &rp);
	CHECK(json_array_size(e) == 1 &&
		  strcmp(json_string_value(json_object_get(json_array_get(e, 0), "type")),
				 "model_attributes_type") == 0, "non-object raw_data");
	json_decref(e);

	/* ctx of a range error */
	e = run("{\"customer_id\":1,\"purchase_date\":\"2023-11-22\",\"purchase_amount\":1,"
			"\"annual_income\":1,\"age\":200,\"gender\":\"Male\"}", &rp);
	CHECK(json_integer_value(json_object_get(json_object_get(json_array_get(e, 0), "ctx"), "le")) == 120,
		  "ctx.le = 120");
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(e, 0), "msg")),
				 "Input should be less than or equal to 120") == 0, "le message");
	json_decref(e);
}

/*
 * Does error number i have this loc (compact JSON, e.g. ["body","age"]) and
 * type?  FastAPI clients read both, so both are part of the contract.
 */
static int
error_is(json_t *errors, size_t i, const char *loc, const char *type)
{
	json_t	   *e = json_array_get(errors, i);
	char	   *l = json_dumps(json_object_get(e, "loc"), JSON_COMPACT);
	const char *t = json_string_value(json_object_get(e, "type"));
	int			ok = l && t && strcmp(l, loc) == 0 && strcmp(t, type) == 0 &&
		json_is_string(json_object_get(e, "msg"));

	if (!ok)
		printf("  error %zu is %s %s, expected %s %s\n", i, l ? l : "(none)",
			   t ? t : "(none)", loc, type);
	free(l);
	return ok;
}

/* A test body; exits on a typo in the test itself. */
static json_t *
body_of(const char *text)
{
	json_t	   *j = json_loads(text, JSON_DECODE_ANY, NULL);

	if (j == NULL)
	{
		printf("bad test JSON: %s\n", text);
		exit(2);
	}
	return j;
}

/* A list of n copies of item, as a JSON text (caller frees). */
static char *
repeated(const char *prefix, const char *item, int n, const char *suffix)
{
	size_t		len = strlen(prefix) + (size_t) n * (strlen(item) + 1) + strlen(suffix) + 1;
	char	   *s = malloc(len);
	char	   *p = s;

	if (s == NULL)
	{
		printf("out of memory\n");
		exit(2);
	}
	p += sprintf(p, "%s", prefix);
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", item);
	sprintf(p, "%s", suffix);
	return s;
}

static void
test_parse_predict(void)
{
	struct predict_request pr;
	json_t	   *body;
	json_t	   *e;

	body = body_of("{\"model_name\":\"m\",\"model_version\":\"2\",\"purchase_data\":{" GOOD "}}");
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 0 && json_array_size(e) == 0, "predict: valid");
	CHECK(strcmp(pr.model.name, "m") == 0 && strcmp(pr.model.version, "2") == 0, "predict: model");
	CHECK(strcmp(pr.fields.customer_id, "42") == 0 && strcmp(pr.fields.age, "31") == 0,
		  "predict: purchase fields as text");
	CHECK(pr.purchase == json_object_get(body, "purchase_data"), "predict: purchase echoed from body");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"m\",\"model_version\":null,\"purchase_data\":{" GOOD "}}");
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 0 && pr.model.version == NULL,
		  "predict: null version means latest");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_version\":3}");
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 3, "predict: three errors");
	CHECK(error_is(e, 0, "[\"body\",\"model_name\"]", "missing"), "predict: model_name missing");
	CHECK(error_is(e, 1, "[\"body\",\"model_version\"]", "string_type"), "predict: version type");
	CHECK(error_is(e, 2, "[\"body\",\"purchase_data\"]", "missing"), "predict: purchase_data missing");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"m\",\"purchase_data\":{" GOOD ",\"age\":121}}");
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchase_data\",\"age\"]", "less_than_equal"),
		  "predict: bad purchase field located in purchase_data");
	json_decref(e);
	json_decref(body);

	body = body_of("[1]");
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\"]", "model_attributes_type"), "predict: body not an object");
	json_decref(e);
	json_decref(body);
}

static void
test_model_ident(void)
{
	char		name128[129];
	char		name129[130];

	memset(name128, 'x', 128);
	name128[128] = '\0';
	memset(name129, 'x', 129);
	name129[129] = '\0';
	CHECK(model_ident_valid(IDENT_MODEL_NAME, "fraud_v2.1-x", 12), "name: letters, digits, _.-");
	CHECK(model_ident_valid(IDENT_MODEL_NAME, name128, 128), "name: 128 characters");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, name129, 129), "name: 129 characters refused");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, "", 0), "name: empty refused");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, ".hidden", 7), "name: must start alphanumeric");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, "a+b", 3), "name: '+' is for versions only");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, "a/b", 3), "name: '/' refused");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, "a\0b", 3), "name: NUL refused");
	CHECK(!model_ident_valid(IDENT_MODEL_NAME, "mod\xc3\xa9l", 6), "name: non-ASCII refused");
	CHECK(model_ident_valid(IDENT_MODEL_VERSION, "1.0+build-3_x", 13), "version: with '+'");
	CHECK(model_ident_valid(IDENT_MODEL_VERSION, name128, 64), "version: 64 characters");
	CHECK(!model_ident_valid(IDENT_MODEL_VERSION, name128, 65), "version: 65 characters refused");
	CHECK(!model_ident_valid(IDENT_MODEL_VERSION, "-1", 2), "version: must start alphanumeric");
	CHECK(!model_ident_valid(IDENT_MODEL_VERSION, "@prod", 5), "version: '@' only in references");
	CHECK(model_ident_valid(IDENT_ALIAS, "champion_2-b", 12), "alias: lowercase, digits, _-");
	CHECK(model_ident_valid(IDENT_ALIAS, name128, 63), "alias: 63 characters");
	CHECK(!model_ident_valid(IDENT_ALIAS, name128, 64), "alias: 64 characters refused");
	CHECK(!model_ident_valid(IDENT_ALIAS, "Prod", 4), "alias: uppercase refused");
	CHECK(!model_ident_valid(IDENT_ALIAS, "1st", 3), "alias: must start with a letter");
	CHECK(!model_ident_valid(IDENT_ALIAS, "a.b", 3), "alias: '.' refused");
	CHECK(!model_ident_valid(IDENT_ALIAS, "", 0), "alias: empty refused");
	CHECK(model_ident_valid(IDENT_VERSION_REF, "1.0", 3), "reference: a version");
	CHECK(model_ident_valid(IDENT_VERSION_REF, "@production", 11), "reference: an alias");
	CHECK(!model_ident_valid(IDENT_VERSION_REF, "@", 1), "reference: '@' alone refused");
	CHECK(!model_ident_valid(IDENT_VERSION_REF, "@Prod", 5), "reference: a bad alias refused");
	CHECK(!model_ident_valid(IDENT_VERSION_REF, "@@a", 3), "reference: '@@' refused");
	CHECK(!model_ident_valid(IDENT_VERSION_REF, "", 0), "reference: empty refused");
}

static void
test_predict_model_fields(void)
{
	struct predict_request pr;
	struct batch_request br;
	json_t	   *body;
	json_t	   *e;
	char	   *text;

	/* "xé" * 350: the body of the fault suite's 500 */
	text = repeated("{\"model_name\":\"m\",\"model_version\":\"", "x\xc3\xa9", 350,
					"\",\"purchase_data\":{" GOOD "}}");
	body = body_of(text);
	free(text);
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",\"model_version\"]", "string_pattern_mismatch"),
		  "predict: long multi-byte version is a 422 at model_version");
	CHECK(pr.model.version == NULL, "predict: refused version not handed out");
	json_decref(e);
	json_decref(body);

	/* request_json refuses \u0000; parse_* must hold up without that guard */
	body = json_loads("{\"model_name\":\"a\\u0000b\",\"purchase_data\":{" GOOD "}}",
					  JSON_ALLOW_NUL, NULL);
	e = json_array();
	CHECK(parse_predict_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",\"model_name\"]", "string_pattern_mismatch"),
		  "predict: a name with NUL is refused (not cut to \"a\")");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"../../etc/passwd\",\"model_version\":\"\","
				   "\"purchases\":[]}");
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 2 &&
		  error_is(e, 0, "[\"body\",\"model_name\"]", "string_pattern_mismatch") &&
		  error_is(e, 1, "[\"body\",\"model_version\"]", "string_pattern_mismatch"),
		  "batch: bad name and empty version are two 422 errors");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"m-1.x_y\",\"model_version\":\"1.0+b\",\"purchases\":[]}");
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 0 && strcmp(br.model.version, "1.0+b") == 0,
		  "batch: valid name and version pass");
	json_decref(e);
	json_decref(body);
}

static void
test_parse_batch(void)
{
	struct batch_request br;
	json_t	   *body;
	json_t	   *e;
	char	   *text;

	body = body_of("{\"model_name\":\"m\",\"purchases\":[{" GOOD "},{" GOOD "}]}");
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 0, "batch: valid");
	CHECK(json_array_size(br.purchases) == 2 && br.model.version == NULL, "batch: list and model");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"m\",\"purchases\":[{" GOOD "},{" GOOD ",\"age\":0}]}");
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\",1,\"age\"]", "greater_than_equal"),
		  "batch: item error carries its index");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"m\",\"purchases\":{}}");
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\"]", "list_type"), "batch: purchases not a list");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"model_name\":\"m\"}");
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\"]", "missing"), "batch: purchases missing");
	json_decref(e);
	json_decref(body);

	/* the batch limit: too_long, with the sizes in ctx and no echo of the list */
	text = repeated("{\"model_name\":\"m\",\"purchases\":[", "{}", PREDICT_BATCH_MAX + 1, "]}");
	body = body_of(text);
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\"]", "too_long"), "batch: over the limit");
	CHECK(json_object_get(json_array_get(e, 0), "input") == NULL &&
		  json_integer_value(json_object_get(json_object_get(json_array_get(e, 0), "ctx"),
											 "actual_length")) == PREDICT_BATCH_MAX + 1,
		  "batch: too_long has ctx, no input");
	json_decref(e);
	json_decref(body);
	free(text);

	/* 50 empty objects would be 300 errors: the list stops after 100 */
	text = repeated("{\"model_name\":\"m\",\"purchases\":[", "{}", 50, "]}");
	body = body_of(text);
	e = json_array();
	CHECK(parse_batch_request(body, e, &br) == 102, "batch: errors capped at the item reaching 100");
	json_decref(e);
	json_decref(body);
	free(text);
}

static void
test_parse_preprocess(void)
{
	struct preprocess_request pr;
	json_t	   *body;
	json_t	   *e;

	body = body_of("{\"raw_data\":{" GOOD "},\"standardization_params\":{\"a\":1}}");
	e = json_array();
	CHECK(parse_preprocess_request(body, e, &pr) == 0, "preprocess: valid");
	CHECK(json_is_object(pr.params) && strcmp(pr.raw.gender, "Female") == 0,
		  "preprocess: params and purchase");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"standardization_params\":[]}");
	e = json_array();
	CHECK(parse_preprocess_request(body, e, &pr) == 2, "preprocess: two errors");
	CHECK(error_is(e, 0, "[\"body\",\"raw_data\"]", "missing"), "preprocess: raw_data missing");
	CHECK(error_is(e, 1, "[\"body\",\"standardization_params\"]", "dict_type"),
		  "preprocess: params not an object");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"raw_data\":{" GOOD ",\"gender\":\"x\"}}");
	e = json_array();
	CHECK(parse_preprocess_request(body, e, &pr) == 2 &&
		  error_is(e, 0, "[\"body\",\"raw_data\",\"gender\"]", "literal_error") &&
		  error_is(e, 1, "[\"body\",\"standardization_params\"]", "missing"),
		  "preprocess: raw_data field, then params missing");
	json_decref(e);
	json_decref(body);
}

static void
test_parse_purchases(void)
{
	struct purchases_request pr;
	json_t	   *body;
	json_t	   *e;

	body = body_of("[{" GOOD "},{" GOOD "}]");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 0 && pr.purchases == body,
		  "purchases: a bare list");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"purchases\":[{" GOOD "}]}");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 0 && json_array_size(pr.purchases) == 1,
		  "purchases: wrapped in an object");
	json_decref(e);
	json_decref(body);

	body = body_of("[{" GOOD ",\"customer_id\":-1}]");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",0,\"customer_id\"]", "greater_than_equal"),
		  "purchases: bare list item located at [body, index]");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"purchases\":[{" GOOD "},{" GOOD ",\"purchase_date\":\"2023-02-29\"}]}");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\",1,\"purchase_date\"]", "datetime_parsing"),
		  "purchases: wrapped item located at [body, purchases, index]");
	json_decref(e);
	json_decref(body);

	body = body_of("{\"purchases\":\"x\"}");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\"]", "list_type"), "purchases: not a list");
	json_decref(e);
	json_decref(body);

	body = body_of("{}");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\",\"purchases\"]", "missing"), "purchases: object without the list");
	json_decref(e);
	json_decref(body);

	body = body_of("5");
	e = json_array();
	CHECK(parse_purchases_request(body, e, &pr) == 1 &&
		  error_is(e, 0, "[\"body\"]", "list_type"), "purchases: neither list nor object");
	json_decref(e);
	json_decref(body);
}

int
main(void)
{
	test_iso8601();
	test_model_ident();
	test_raw_purchase();
	test_parse_predict();
	test_parse_batch();
	test_parse_preprocess();
	test_parse_purchases();
	test_predict_model_fields();
	return check_summary();
}
