/*
 * prediction.c — the body of a /predict answer (see prediction.h).
 */
#include <string.h>

#include "prediction.h"

json_t *
prediction(json_t *purchase, json_t *value, const char *version)
{
	json_t	   *p = json_pack("{s:O,s:O,s:o}",
							  "customer_id", json_object_get(purchase, "customer_id"),
							  "purchase_date", json_object_get(purchase, "purchase_date"),
							  "predicted_purchase_amount",
							  json_is_number(value) ? json_real(json_number_value(value)) : json_null());

	if (p && version)
		json_object_set_new(p, "model_version", json_string(version));
	return p;
}

/* Appends s to buf (size bytes, *n used); 0 when it does not fit. */
static int
append(char *buf, size_t size, size_t *n, const char *s, size_t len)
{
	if (len >= size - *n)
		return 0;
	memcpy(buf + *n, s, len);
	*n += len;
	return 1;
}

int
reply_prediction_text(struct reply *rep, json_t *purchase, const char *value, const char *version)
{
	static const char *const keys[2] = {"{\"customer_id\":", ",\"purchase_date\":"};
	static const char amount_key[] = ",\"predicted_purchase_amount\":";
	static const char version_key[] = ",\"model_version\":";
	json_t	   *echo[2] = {json_object_get(purchase, "customer_id"),
	json_object_get(purchase, "purchase_date")};
	char		buf[512];
	size_t		n = 0;
	size_t		k;
	int			integral = 1;

	/* float8out's forms: digits, '-', '.', 'e', or NaN / Infinity */
	if (value[0] != '-' && (value[0] < '0' || value[0] > '9'))
		return 0;
	for (const char *c = value + 1; *c; c++)
	{
		if (*c == 'I' || *c == 'N')
			return 0;
		if (*c == '.' || *c == 'e')
			integral = 0;
	}
	for (int i = 0; i < 2; i++)
	{
		if (!append(buf, sizeof(buf), &n, keys[i], strlen(keys[i])))
			return 0;
		k = json_dumpb(echo[i], buf + n, sizeof(buf) - n, JSON_COMPACT | JSON_ENCODE_ANY);
		if (k == 0 || k >= sizeof(buf) - n)
			return 0;
		n += k;
	}
	/* ".0" after an integral value, so that clients still read a float */
	if (!append(buf, sizeof(buf), &n, amount_key, sizeof(amount_key) - 1) ||
		!append(buf, sizeof(buf), &n, value, strlen(value)) ||
		(integral && !append(buf, sizeof(buf), &n, ".0", 2)) ||
		!append(buf, sizeof(buf), &n, version_key, sizeof(version_key) - 1))
		return 0;
	/* a version is plain ASCII, but one printer of JSON strings is enough */
	{
		json_t	   *v = json_string(version);

		k = v ? json_dumpb(v, buf + n, sizeof(buf) - n, JSON_ENCODE_ANY) : 0;
		json_decref(v);
		if (k == 0 || k >= sizeof(buf) - n)
			return 0;
		n += k;
	}
	if (!append(buf, sizeof(buf), &n, "}", 1))
		return 0;
	reply_bytes(rep, 200, buf, n);
	return 1;
}
