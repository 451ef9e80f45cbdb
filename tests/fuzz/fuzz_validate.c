/*
 * fuzz_validate.c — libFuzzer target for the services' request validation
 * (services/common/validate.c, with request_json and the 422 rendering of
 * services/common/reply.c).
 *
 * The input is a request body.  It is parsed by request_json() exactly as
 * the services parse it, then given to the parser of every JSON route, the
 * same functions the handlers call:
 *
 *   POST /preprocess      parse_preprocess_request
 *   POST /predict         parse_predict_request
 *   POST /predict/batch   parse_batch_request
 *   POST /purchases       parse_purchases_request
 *
 * and every error list is rendered with reply_if_invalid() as the client
 * would get it.  iso8601_valid() also gets every string of the document and
 * the raw input (NUL-terminated).  A body a parser accepts must carry what
 * validate.h promises: NUL-terminated numbers, a valid date and gender, a
 * model name, an object of parameters, a list whose every item is a valid
 * purchase.  LeakSanitizer checks that every reference is dropped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "service.h"
#include "validate.h"

static void
check_record(const struct raw_purchase *rp)
{
	if (memchr(rp->customer_id, '\0', sizeof(rp->customer_id)) == NULL ||
		memchr(rp->purchase_amount, '\0', sizeof(rp->purchase_amount)) == NULL ||
		memchr(rp->annual_income, '\0', sizeof(rp->annual_income)) == NULL ||
		memchr(rp->age, '\0', sizeof(rp->age)) == NULL ||
		rp->purchase_date == NULL || rp->gender == NULL)
		abort();
	if (!iso8601_valid(rp->purchase_date))
		abort();
	if (strcmp(rp->gender, "Male") != 0 && strcmp(rp->gender, "Female") != 0)
		abort();
}

/* Every item of an accepted list must pass on its own too. */
static void
check_list(json_t *list, size_t max)
{
	json_t	   *item;
	size_t		i;

	if (!json_is_array(list) || json_array_size(list) > max)
		abort();
	json_array_foreach(list, i, item)
	{
		struct raw_purchase rp;
		json_t	   *errors = json_array();

		if (validate_raw_purchase(item, NULL, errors, &rp) != 0)
			abort();
		check_record(&rp);
		json_decref(errors);
	}
}

/*
 * Renders errors as the handlers do.  The parser's count must agree with
 * the list, and a 422 must come out exactly when there are errors.  Returns
 * whether the body was accepted.
 */
static int
finish(json_t *errors, int nerrors)
{
	struct reply rep;
	int			invalid;

	memset(&rep, 0, sizeof(rep));
	if (nerrors < 0 || (size_t) nerrors != json_array_size(errors))
		abort();
	invalid = reply_if_invalid(&rep, errors);
	if (invalid != (nerrors > 0))
		abort();
	if (invalid && (rep.status != 422 || rep.body == NULL))
		abort();
	reply_clear(&rep);
	return !invalid;
}

static void
model_checks(const struct model_ref *model)
{
	if (model->name == NULL)
		abort();
	if (model->version)
		(void) strlen(model->version);
}

static void
parse_all(json_t *body)
{
	struct predict_request pr;
	struct batch_request br;
	struct preprocess_request ppr;
	struct purchases_request pur;
	json_t	   *errors;

	errors = json_array();
	if (finish(errors, parse_preprocess_request(body, errors, &ppr)))
	{
		check_record(&ppr.raw);
		if (!json_is_object(ppr.params))
			abort();
	}

	errors = json_array();
	if (finish(errors, parse_predict_request(body, errors, &pr)))
	{
		model_checks(&pr.model);
		check_record(&pr.fields);
		if (!json_is_object(pr.purchase))
			abort();
	}

	errors = json_array();
	if (finish(errors, parse_batch_request(body, errors, &br)))
	{
		model_checks(&br.model);
		check_list(br.purchases, PREDICT_BATCH_MAX);
	}

	errors = json_array();
	if (finish(errors, parse_purchases_request(body, errors, &pur)))
		check_list(pur.purchases, (size_t) -1);
}

/* iso8601_valid on every string in the document, depth-limited. */
static void
all_strings(json_t *j, int depth)
{
	const char *key;
	json_t	   *v;
	size_t		i;

	if (depth > 32)
		return;
	if (json_is_string(j))
		(void) iso8601_valid(json_string_value(j));
	else if (json_is_array(j))
	{
		json_array_foreach(j, i, v)
			all_strings(v, depth + 1);
	}
	else if (json_is_object(j))
	{
		json_object_foreach(j, key, v)
		{
			(void) iso8601_valid(key);
			all_strings(v, depth + 1);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request req;
	struct reply rep;
	json_t	   *body;
	char	   *text;

	/* the services hand handlers a NUL-terminated copy of the body */
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void) iso8601_valid(text);

	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	req.method = "POST";
	req.path = "/predict";
	req.body = text;
	req.body_len = size;
	body = request_json(&req, &rep);
	if (body == NULL)
	{
		if (rep.status != 422 || rep.body == NULL)
			abort();
		reply_clear(&rep);
		free(text);
		return 0;
	}
	parse_all(body);
	all_strings(body, 0);
	json_decref(body);
	reply_clear(&rep);
	free(text);
	return 0;
}
