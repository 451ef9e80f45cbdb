/*
 * fuzz_multipart.c — libFuzzer target for the services' multipart/form-data
 * parser (services/common/multipart.c), driven the way mlpipe-registry's
 * POST /register_model drives it.
 *
 * Input: the Content-Type header value, a '\n', then the body.  The header
 * goes through multipart_boundary(); with a boundary the body (the tail of
 * libFuzzer's exactly sized buffer, so ASan sees any read past its end) goes
 * through multipart_parse(), every field the registry looks up is fetched
 * with multipart_find(), and the JSON fields are parsed as the registry does.
 * Checks: parts lie inside the body, every part has a name, a failed parse
 * leaves nothing behind, multipart_free() releases everything (LeakSanitizer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "multipart.h"

static const char *const fields[] = {
	"model_name", "version", "standardization_params", "model_params",
	"additional_metadata", "model_file"
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t		hlen = nl ? (size_t) (nl - data) : size;
	char	   *header;
	char		boundary[MULTIPART_MAX_BOUNDARY + 1];
	const char *body;
	size_t		blen;
	struct multipart mp;

	header = malloc(hlen + 1);
	if (header == NULL)
		return 0;
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	if (multipart_boundary(header, boundary, sizeof(boundary)) != 0)
	{
		free(header);
		return 0;
	}
	free(header);
	if (strlen(boundary) == 0 || strlen(boundary) > MULTIPART_MAX_BOUNDARY)
		abort();

	body = nl ? (const char *) nl + 1 : (const char *) data + size;
	blen = nl ? size - hlen - 1 : 0;
	if (multipart_parse(body, blen, boundary, &mp) != 0)
	{
		if (mp.nparts != 0)
			abort();
		return 0;
	}
	if (mp.nparts < 0 || mp.nparts > MULTIPART_MAX_PARTS)
		abort();
	for (int i = 0; i < mp.nparts; i++)
	{
		const struct mp_part *p = &mp.parts[i];

		if (p->name == NULL)
			abort();
		if (p->data < body || p->len > blen || p->data + p->len > body + blen)
			abort();
		/* touch every byte the parser hands out */
		if (p->len > 0 && memchr(p->data, 0x7f, p->len) == p->data + p->len)
			abort();
		(void) strlen(p->name);
		if (p->filename)
			(void) strlen(p->filename);
		if (p->content_type)
			(void) strlen(p->content_type);
	}
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
	{
		const struct mp_part *p = multipart_find(&mp, fields[f]);

		if (p == NULL)
			continue;
		if (strcmp(p->name, fields[f]) != 0)
			abort();
		if (f >= 2 && f <= 4)
		{
			json_error_t jerr;
			json_t	   *j = json_loadb(p->data, p->len, JSON_DECODE_ANY, &jerr);

			if (j != NULL)
			{
				char	   *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

				free(text);
				json_decref(j);
			}
		}
	}
	multipart_free(&mp);
	if (mp.nparts != 0)
		abort();
	return 0;
}
