/*
 * test_oip.c — the Open Inference Protocol V2 infer parser and reply writer
 * (services/inference/oip.c): both request forms, every malformed tensor
 * the protocol's 400 is for, and the reply's number text.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "oip.h"

#define RAW6(cid, date, amount, income, age, gender) \
	"{\"inputs\":[" \
	"{\"name\":\"customer_id\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":" cid "}," \
	"{\"name\":\"purchase_date\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":" date "}," \
	"{\"name\":\"purchase_amount\",\"datatype\":\"FP64\",\"shape\":[2],\"data\":" amount "}," \
	"{\"name\":\"annual_income\",\"datatype\":\"FP64\",\"shape\":[2],\"data\":" income "}," \
	"{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":" age "}," \
	"{\"name\":\"gender\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":" gender "}]}"

#define GOOD RAW6("[1, 2]", "[\"2024-05-01\", \"2024-05-02T10:00:00Z\"]", "[250.5, 10]", \
				  "[65000, 1e5]", "[35, 61]", "[\"Female\", \"Male\"]")

/* Parses text; returns the rc, err filled, r filled on success. */
static int
parse(const char *text, struct oip_request *r, char *err, size_t errsz, json_t **body)
{
	*body = json_loads(text, 0, NULL);
	if (*body == NULL)
	{
		snprintf(err, errsz, "test JSON does not parse");
		return -2;
	}
	return oip_parse_infer(*body, r, err, errsz);
}

/* The body must be refused with a message containing want. */
static void
refused(const char *text, const char *want, const char *what)
{
	struct oip_request r;
	char		err[512] = "";
	json_t	   *body;
	int			rc = parse(text, &r, err, sizeof(err), &body);

	CHECK(rc == -1, what);
	if (rc == -1 && strstr(err, want) == NULL)
	{
		printf("  message: %s\n  wanted:  %s\n", err, want);
		CHECK(0, what);
	}
	if (rc == 0)
		oip_request_free(&r);
	json_decref(body);
}

static void
test_raw(void)
{
	struct oip_request r;
	char		err[512] = "";
	json_t	   *body;

	CHECK(parse(GOOD, &r, err, sizeof(err), &body) == 0, "the six raw inputs parse");
	CHECK(r.form == OIP_RAW && r.rows == 2, "raw form, two rows");
	CHECK(r.arrays[0] && strcmp(r.arrays[0], "{\"1\",\"2\"}") == 0, "customer_id array");
	CHECK(r.arrays[1] && strcmp(r.arrays[1], "{\"2024-05-01\",\"2024-05-02T10:00:00Z\"}") == 0,
		  "purchase_date array");
	/* the same text /predict sends: 17 digits for a real, integers as they are */
	CHECK(r.arrays[2] && strcmp(r.arrays[2], "{\"250.5\",\"10\"}") == 0, "purchase_amount array");
	CHECK(r.arrays[3] && strcmp(r.arrays[3], "{\"65000\",\"100000\"}") == 0, "annual_income array");
	CHECK(r.arrays[4] && strcmp(r.arrays[4], "{\"35\",\"61\"}") == 0, "age array");
	CHECK(r.arrays[5] && strcmp(r.arrays[5], "{\"Female\",\"Male\"}") == 0, "gender array");
	CHECK(r.id == NULL, "no id");
	oip_request_free(&r);
	json_decref(body);

	/* inputs in any order, an id, the output asked for by name */
	CHECK(parse("{\"id\":\"r1\",\"outputs\":[{\"name\":\"predicted_purchase_amount\"}],\"inputs\":["
				"{\"name\":\"gender\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"Male\"]},"
				"{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[[40]]},"
				"{\"name\":\"annual_income\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[1]},"
				"{\"name\":\"purchase_amount\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[0.1]},"
				"{\"name\":\"purchase_date\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"2024-01-01\"]},"
				"{\"name\":\"customer_id\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[7]}]}",
				&r, err, sizeof(err), &body) == 0, "inputs in another order, nested data, id, outputs");
	CHECK(r.rows == 1 && r.id && strcmp(r.id, "r1") == 0, "one row, the id kept");
	CHECK(r.arrays[2] && strcmp(r.arrays[2], "{\"0.10000000000000001\"}") == 0,
		  "a real's 17 digits (float8in reads back the same double)");
	oip_request_free(&r);
	json_decref(body);
}

static void
test_features(void)
{
	struct oip_request r;
	char		err[512] = "";
	json_t	   *body;
	char		text[4096];
	size_t		n = 0;

	n += snprintf(text + n, sizeof(text) - n,
				  "{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\",\"shape\":[2,19],\"data\":[");
	for (int row = 0; row < 2; row++)
	{
		n += snprintf(text + n, sizeof(text) - n, "%s[", row ? "," : "");
		for (int j = 0; j < 19; j++)
			n += snprintf(text + n, sizeof(text) - n, "%s%s", j ? "," : "",
						  row == 1 && j == 3 ? "null" : (j == 0 ? "1.5" : "2"));
		n += snprintf(text + n, sizeof(text) - n, "]");
	}
	snprintf(text + n, sizeof(text) - n, "]}]}");
	CHECK(parse(text, &r, err, sizeof(err), &body) == 0, "features [2, 19], nested rows");
	CHECK(r.form == OIP_FEATURES && r.rows == 2, "features form, two rows");
	CHECK(r.arrays[0] && strncmp(r.arrays[0], "{\"{1.5,2,2,2,2,", 14) == 0, "a text[] of float8[] rows");
	CHECK(r.arrays[0] && strstr(r.arrays[0], "}\",\"{1.5,2,2,NULL,2,") != NULL,
		  "the second row, null as a missing value (NULL)");
	oip_request_free(&r);
	json_decref(body);
}

static void
test_malformed(void)
{
	refused("[]", "JSON object", "a body that is not an object");
	refused("{}", "inputs must be a non-empty array", "no inputs");
	refused("{\"inputs\":[]}", "inputs must be a non-empty array", "empty inputs");
	refused("{\"id\":5,\"inputs\":[]}", "id must be a string", "a numeric id");
	refused("{\"inputs\":[5]}", "inputs[0] must be an object", "an input that is not an object");
	refused("{\"inputs\":[{\"datatype\":\"FP64\",\"shape\":[1],\"data\":[1]}]}", "has no name", "no name");
	refused("{\"inputs\":[{\"name\":\"income\"},{\"name\":\"customer_id\"},{\"name\":\"purchase_date\"},"
			"{\"name\":\"purchase_amount\"},{\"name\":\"annual_income\"},{\"name\":\"age\"},{\"name\":\"gender\"}]}",
			"unknown input", "found by e2e: six raw inputs and an unknown one");
	refused("{\"inputs\":[{\"name\":\"size\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[1]}]}",
			"unknown input 'size'", "unknown input name");
	refused("{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP32\",\"shape\":[1,19],\"data\":[]}]}",
			"datatype FP32, expected FP64", "features of the wrong datatype");
	refused("{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\",\"shape\":[1,18],\"data\":[]}]}",
			"expected [N, 19]", "features of the wrong shape");
	refused("{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\",\"shape\":[2,19],\"data\":[1,2]}]}",
			"has 2 values, its shape [2,19] needs 38", "features with too few values");
	refused("{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\",\"shape\":[1,19],"
			"\"data\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,\"x\"]}]}",
			"element 18 is not a number", "a string among features");
	refused("{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\",\"shape\":[1,19],\"data\":[]},"
			"{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[1]}]}",
			"cannot be combined", "features with a raw input");
	refused("{\"inputs\":[{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[1]}]}",
			"missing input 'customer_id'", "raw inputs missing");
	refused(RAW6("[1, 2]", "[\"2024-05-01\", \"2024-05-02\"]", "[1, 2]", "[1, 2]", "[35.5, 61]",
				 "[\"Female\", \"Male\"]"),
			"input 'age' element 0 is not of datatype INT64", "a real in an INT64 tensor");
	refused(RAW6("[1, 2]", "[\"2024-05-01\", \"2024-05-02\"]", "[1, 2]", "[1, 2]", "[35, 61]",
				 "[\"Female\", 3]"),
			"input 'gender' element 1 is not of datatype BYTES", "a number in a BYTES tensor");
	refused(RAW6("[1, 2]", "[\"2024-05-01\", \"2024-05-02\"]", "[1, 2]", "[1, 2]", "[35, 61, 7]",
				 "[\"Female\", \"Male\"]"),
			"input 'age' has 3 values, its shape [2] needs 2", "data longer than the shape");
	refused(RAW6("[1, 2]", "[\"2024-05-01\", \"2024-05-02\"]", "[1, 2]", "[1, 2]", "[35, 200]",
				 "[\"Female\", \"Male\"]"),
			"input 'age' element 1: Input should be less than or equal to 120", "age out of range");
	refused(RAW6("[1, 2]", "[\"2024-05-01\", \"someday\"]", "[1, 2]", "[1, 2]", "[35, 61]",
				 "[\"Female\", \"Male\"]"),
			"input 'purchase_date' element 1", "a date that is not ISO 8601");
	refused(RAW6("[1, 2]", "[\"2024-05-01\", \"2024-05-02\"]", "[1, 2]", "[1, 2]", "[35, 61]",
				 "[\"Female\", \"Other\"]"),
			"input 'gender' element 1", "an unknown gender");
	refused("{\"inputs\":["
			"{\"name\":\"customer_id\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":[1,2]},"
			"{\"name\":\"purchase_date\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"2024-05-01\"]},"
			"{\"name\":\"purchase_amount\",\"datatype\":\"FP64\",\"shape\":[2],\"data\":[1,2]},"
			"{\"name\":\"annual_income\",\"datatype\":\"FP64\",\"shape\":[2],\"data\":[1,2]},"
			"{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[2],\"data\":[1,2]},"
			"{\"name\":\"gender\",\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"Male\",\"Male\"]}]}",
			"every input needs the same N", "a length mismatch between inputs");
	refused("{\"inputs\":[{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[1,1],\"data\":[1]},"
			"{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[1]}]}",
			"given twice", "an input given twice");
	refused("{\"inputs\":[{\"name\":\"customer_id\",\"datatype\":\"INT64\",\"shape\":[1,1],\"data\":[1]},"
			"{\"name\":\"purchase_date\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"2024-05-01\"]},"
			"{\"name\":\"purchase_amount\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[1]},"
			"{\"name\":\"annual_income\",\"datatype\":\"FP64\",\"shape\":[1],\"data\":[1]},"
			"{\"name\":\"age\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[1]},"
			"{\"name\":\"gender\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"Male\"]}]}",
			"has shape [1,1], expected [N]", "a raw input of two dimensions");
	refused("{\"outputs\":[{\"name\":\"score\"}],\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\","
			"\"shape\":[0,19],\"data\":[]}]}", "unknown output 'score'", "an unknown output");
	refused("{\"inputs\":[{\"name\":\"features\",\"datatype\":\"FP64\",\"shape\":[1,19],"
			"\"data\":[[[[[[[[[[1]]]]]]]]]]}]}", "nested too deeply", "data nested too deeply");
}

static void
test_reply(void)
{
	size_t		len = 0;
	char	   *s = oip_infer_reply("xgboost", "1.0", "r\"1", OIP_RAW, 4,
									"{250.5,NULL,300,NaN}", &len);

	CHECK(s != NULL && strcmp(s, "{\"model_name\":\"xgboost\",\"model_version\":\"1.0\",\"id\":\"r\\\"1\","
							  "\"outputs\":[{\"name\":\"predicted_purchase_amount\",\"datatype\":\"FP64\","
							  "\"shape\":[4],\"data\":[250.5,null,300.0,null]}]}") == 0,
		  "reply: PostgreSQL's digits, .0 after an integral value, null for NULL and NaN");
	CHECK(s != NULL && len == strlen(s), "reply length");
	free(s);
	s = oip_infer_reply("m", "2", NULL, OIP_FEATURES, 2, "{-1.25e-05,3}", &len);
	CHECK(s != NULL && strstr(s, "\"name\":\"prediction\"") && strstr(s, "[-1.25e-05,3.0]")
		  && strstr(s, "\"id\"") == NULL, "features reply: exponent kept, no id");
	free(s);
	s = oip_infer_reply("m", "2", NULL, OIP_FEATURES, 0, "{}", &len);
	CHECK(s != NULL && strstr(s, "\"shape\":[0],\"data\":[]"), "an empty reply");
	free(s);
	CHECK(oip_infer_reply("m", "2", NULL, OIP_RAW, 3, "{1,2}", &len) == NULL,
		  "a count that differs from rows is refused");
	CHECK(oip_infer_reply("m", "2", NULL, OIP_RAW, 1, "1", &len) == NULL, "not an array");
	/* found by fuzz_oip: a token of number characters that is no JSON number */
	s = oip_infer_reply("m", "2", NULL, OIP_RAW, 4, "{-2.5e-0.,1.,01,1e+20}", &len);
	CHECK(s != NULL && strstr(s, "\"data\":[null,null,null,1e+20]"),
		  "tokens that are not JSON numbers become null; 1e+20 stays");
	free(s);
	/* found by fuzz_oip: JSON's grammar allows it, but no double holds it */
	s = oip_infer_reply("m", "2", NULL, OIP_RAW, 3, "{192224444444e222222222,-1e400,1e-400}", &len);
	CHECK(s != NULL && strstr(s, "\"data\":[null,null,1e-400]"),
		  "a number that overflows a double becomes null (a JSON reader refuses it)");
	free(s);
}

int
main(void)
{
	test_raw();
	test_features();
	test_malformed();
	test_reply();
	return check_summary();
}
