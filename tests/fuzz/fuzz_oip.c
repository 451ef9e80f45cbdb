/*
 * fuzz_oip.c — libFuzzer target for the Open Inference Protocol V2 infer
 * parser and reply writer (services/inference/oip.c).
 *
 * The input is split at the first NUL: before it an infer request body
 * (parsed by jansson as the service parses it), after it a float8[] text
 * as PostgreSQL might return it.  An accepted request must carry what
 * oip.h promises (rows within the limit, an array literal per column), and
 * the reply writer must either refuse the array text or produce JSON that
 * jansson reads back with rows values.  LeakSanitizer checks every
 * reference is dropped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oip.h"

static void
check_reply(const struct oip_request *r, const char *array_text)
{
	size_t		len = 0;
	char	   *s = oip_infer_reply("m", "1", r ? r->id : NULL, r ? r->form : OIP_RAW,
									r ? r->rows : 1, array_text, &len);
	json_t	   *j;

	if (s == NULL)
		return;
	j = json_loadb(s, len, 0, NULL);
	if (j == NULL)
		abort();				/* the writer made invalid JSON */
	if (json_array_size(json_object_get(json_array_get(json_object_get(j, "outputs"), 0), "data"))
		!= (r ? r->rows : 1))
		abort();
	json_decref(j);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	size_t		body_len = strnlen(text, size);
	char	   *array_text = NULL;
	json_t	   *body = json_loadb(text, body_len, 0, NULL);
	struct oip_request r;
	char		err[512];

	if (body_len < size)
	{
		array_text = malloc(size - body_len);
		memcpy(array_text, text + body_len + 1, size - body_len - 1);
		array_text[size - body_len - 1] = '\0';
	}
	if (body && oip_parse_infer(body, &r, err, sizeof(err)) == 0)
	{
		int			ncols = r.form == OIP_RAW ? OIP_NRAW : 1;

		if (r.rows > OIP_MAX_ROWS)
			abort();
		for (int k = 0; k < ncols; k++)
			if (r.arrays[k] == NULL || r.arrays[k][0] != '{')
				abort();
		if (array_text)
			check_reply(&r, array_text);
		oip_request_free(&r);
	}
	else if (array_text)
		check_reply(NULL, array_text);
	json_decref(body);
	free(array_text);
	return 0;
}
