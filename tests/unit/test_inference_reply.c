/*
 * test_inference_reply.c — unit tests of /predict's directly written reply
 * (reply_prediction_text in services/inference/prediction.c): the bytes for
 * an ordinary amount, ".0" after an integral one so clients read a float,
 * and the fall-back (return 0, reply untouched) for NaN, infinities and
 * echoes too long for its buffer.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "prediction.h"

static int
body_is(const struct reply *rep, const char *want)
{
	int			ok = rep->body != NULL && rep->body_len == strlen(want) &&
		memcmp(rep->body, want, rep->body_len) == 0;

	if (!ok)
		printf("  got %.*s\n  want %s\n", (int) rep->body_len, rep->body ? rep->body : "", want);
	return ok;
}

/* reply_prediction_text for a purchase given as JSON text */
static int
run(const char *purchase_json, const char *value, struct reply *rep)
{
	json_t	   *purchase = json_loads(purchase_json, 0, NULL);
	int			done;

	reply_clear(rep);
	memset(rep, 0, sizeof(*rep));
	done = reply_prediction_text(rep, purchase, value, "1.0-rc1");
	json_decref(purchase);
	return done;
}

int
main(void)
{
	const char *p = "{\"customer_id\":42,\"purchase_date\":\"2024-05-01T10:00:00Z\",\"age\":35}";
	struct reply rep = {0};
	char		long_date[700];

	CHECK(run(p, "357.8430914878845", &rep) && rep.status == 200 &&
		  body_is(&rep, "{\"customer_id\":42,\"purchase_date\":\"2024-05-01T10:00:00Z\","
				  "\"predicted_purchase_amount\":357.8430914878845,\"model_version\":\"1.0-rc1\"}"),
		  "the echoes, then PostgreSQL's digits unchanged, then the version that answered");
	CHECK(run(p, "600", &rep) && body_is(&rep, "{\"customer_id\":42,\"purchase_date\":"
										 "\"2024-05-01T10:00:00Z\",\"predicted_purchase_amount\":600.0,"
										 "\"model_version\":\"1.0-rc1\"}"),
		  "an integral amount gets .0");
	CHECK(run(p, "-0", &rep) && strstr(rep.body, ":-0.0,") != NULL, "negative zero stays a float");
	CHECK(run(p, "1e+20", &rep) && strstr(rep.body, ":1e+20,") != NULL, "an exponent is left alone");
	CHECK(run("{\"customer_id\":5.0,\"purchase_date\":\"2024-05-01\"}", "1.5", &rep) &&
		  strstr(rep.body, "{\"customer_id\":5.0,\"purchase_date\":\"2024-05-01\",") == rep.body,
		  "echoes as given: a float customer id, a date without time");
	CHECK(!run(p, "NaN", &rep) && rep.body == NULL, "NaN: the slow path answers");
	CHECK(!run(p, "Infinity", &rep) && !run(p, "-Infinity", &rep) && rep.body == NULL,
		  "infinities: the slow path answers");
	memset(long_date, 'x', sizeof(long_date) - 1);
	long_date[sizeof(long_date) - 1] = '\0';
	{
		json_t	   *purchase = json_pack("{s:i,s:s}", "customer_id", 1, "purchase_date", long_date);

		memset(&rep, 0, sizeof(rep));
		CHECK(!reply_prediction_text(&rep, purchase, "1.5", "1.0") && rep.body == NULL,
			  "an echo longer than the buffer: the slow path answers");
		json_decref(purchase);
	}
	memset(long_date + 470, '\0', 1);	/* fits the echo, not the amount after it */
	{
		json_t	   *purchase = json_pack("{s:i,s:s}", "customer_id", 1, "purchase_date", long_date);

		memset(&rep, 0, sizeof(rep));
		CHECK(!reply_prediction_text(&rep, purchase, "123456789.123456789", "1.0") && rep.body == NULL,
			  "no room left for the amount: the slow path answers");
		json_decref(purchase);
	}
	memset(long_date + 410, '\0', 1);	/* fits the echo and the amount, not a long version */
	{
		json_t	   *purchase = json_pack("{s:i,s:s}", "customer_id", 1, "purchase_date", long_date);
		char		version[65];

		memset(version, '7', 64);
		version[64] = '\0';
		memset(&rep, 0, sizeof(rep));
		CHECK(reply_prediction_text(&rep, purchase, "1.5", "1.0") && rep.body != NULL &&
			  rep.body_len < 512, "a short version still fits");
		reply_clear(&rep);
		memset(&rep, 0, sizeof(rep));
		CHECK(!reply_prediction_text(&rep, purchase, "1.5", version) && rep.body == NULL,
			  "no room left for the version: the slow path answers");
		json_decref(purchase);
	}
	reply_clear(&rep);
	return check_summary();
}
