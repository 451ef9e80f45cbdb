/*
 * multipart.c — a small, strict multipart/form-data parser.
 *
 * Layout: [preamble] "--B" CRLF headers CRLF CRLF data CRLF "--B" ... "--B--".
 * Anything that does not follow that shape is rejected; nothing is read past
 * len, and every allocation is released by multipart_free().
 */
#define _GNU_SOURCE				/* memmem */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

/* Parses a header parameter value, quoted (with \ escapes) or a token. */
static char *
param_value(const char *p, const char *end, const char **next)
{
	char	   *out = malloc(end - p + 1);
	size_t		n = 0;

	if (out == NULL)
		return NULL;
	if (p < end && *p == '"')
	{
		p++;
		while (p < end && *p != '"')
		{
			if (*p == '\\' && p + 1 < end)
				p++;
			out[n++] = *p++;
		}
		if (p >= end)
		{
			free(out);
			return NULL;		/* unterminated quote */
		}
		p++;
	}
	else
	{
		while (p < end && *p != ';' && !isspace((unsigned char) *p))
			out[n++] = *p++;
	}
	out[n] = '\0';
	*next = p;
	return out;
}

/*
 * Finds parameter `key` (e.g. "name") in a header value like
 * `form-data; name="x"; filename="y"`.  Returns a malloc'd value or NULL.
 */
static char *
header_param(const char *value, const char *end, const char *key)
{
	size_t		klen = strlen(key);
	const char *p = memchr(value, ';', end - value);

	while (p && p < end)
	{
		const char *next;
		char	   *v;

		p++;
		while (p < end && isspace((unsigned char) *p))
			p++;
		if ((size_t) (end - p) > klen && strncasecmp(p, key, klen) == 0 && p[klen] == '=')
			return param_value(p + klen + 1, end, &next);
		/* skip this parameter, honouring quotes */
		while (p < end && *p != '=' && *p != ';')
			p++;
		if (p < end && *p == '=')
		{
			v = param_value(p + 1, end, &next);
			if (v == NULL)
				return NULL;
			free(v);
			p = next;
		}
		p = memchr(p, ';', end - p);
	}
	return NULL;
}

int
multipart_boundary(const char *content_type, char *out, size_t outsz)
{
	const char *end;
	char	   *b;
	size_t		n;

	if (content_type == NULL)
		return -1;
	while (isspace((unsigned char) *content_type))
		content_type++;
	if (strncasecmp(content_type, "multipart/form-data", 19) != 0)
		return -1;
	end = content_type + strlen(content_type);
	b = header_param(content_type, end, "boundary");
	if (b == NULL)
		return -1;
	n = strlen(b);
	if (n == 0 || n > MULTIPART_MAX_BOUNDARY || n >= outsz)
	{
		free(b);
		return -1;
	}
	memcpy(out, b, n + 1);
	free(b);
	return 0;
}

static void
part_free(struct mp_part *p)
{
	free(p->name);
	free(p->filename);
	free(p->content_type);
	memset(p, 0, sizeof(*p));
}

void
multipart_free(struct multipart *mp)
{
	for (int i = 0; i < mp->nparts; i++)
		part_free(&mp->parts[i]);
	mp->nparts = 0;
}

/* Parses the header block [p, end) of one part into part. */
static int
parse_part_headers(const char *p, const char *end, struct mp_part *part)
{
	while (p < end)
	{
		const char *eol = memmem(p, end - p, "\r\n", 2);
		const char *colon;
		const char *value;

		if (eol == NULL)
			eol = end;
		colon = memchr(p, ':', eol - p);
		if (colon == NULL)
			return -1;
		value = colon + 1;
		while (value < eol && isspace((unsigned char) *value))
			value++;
		if (colon - p == 19 && strncasecmp(p, "Content-Disposition", 19) == 0)
		{
			if (eol - value < 9 || strncasecmp(value, "form-data", 9) != 0)
				return -1;
			free(part->name);
			free(part->filename);
			part->name = header_param(value, eol, "name");
			part->filename = header_param(value, eol, "filename");
		}
		else if (colon - p == 12 && strncasecmp(p, "Content-Type", 12) == 0)
		{
			free(part->content_type);
			part->content_type = strndup(value, eol - value);
		}
		p = eol + 2;
	}
	return part->name ? 0 : -1;
}

/*
 * The next real delimiter at or after p: CRLF--boundary followed by "--" or
 * by optional padding and CRLF.  Anything else that merely starts like one
 * (a boundary that is a prefix of a longer line) is data.
 */
static const char *
find_delimiter(const char *p, const char *end, const char *delim, size_t dlen)
{
	while (p < end)
	{
		const char *d = memmem(p, end - p, delim, dlen);
		const char *q;

		if (d == NULL)
			return NULL;
		q = d + dlen;
		if (end - q >= 2 && q[0] == '-' && q[1] == '-')
			return d;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q >= 2 && q[0] == '\r' && q[1] == '\n')
			return d;
		p = d + 1;
	}
	return NULL;
}

int
multipart_parse(const char *body, size_t len, const char *boundary, struct multipart *mp)
{
	char		delim[MULTIPART_MAX_BOUNDARY + 5];
	size_t		dlen;
	const char *end = body + len;
	const char *p;

	memset(mp, 0, sizeof(*mp));
	dlen = strlen(boundary);
	if (dlen == 0 || dlen > MULTIPART_MAX_BOUNDARY)
		return -1;
	/* delim = CRLF "--" boundary; the first one may lack the CRLF */
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, dlen);
	dlen += 4;

	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else
	{
		p = memmem(body, len, delim, dlen);
		if (p == NULL)
			return -1;
		p += dlen;
	}

	for (;;)
	{
		const char *hdr_end;
		const char *data_end;
		struct mp_part *part;

		/* after a delimiter: "--" closes, else optional padding then CRLF */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			goto bad;
		p += 2;

		if (mp->nparts == MULTIPART_MAX_PARTS)
			goto bad;
		part = &mp->parts[mp->nparts++];
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			hdr_end = p;		/* a part with no headers */
		else
		{
			hdr_end = memmem(p, end - p, "\r\n\r\n", 4);
			if (hdr_end == NULL)
				goto bad;
			hdr_end += 2;
		}
		if (parse_part_headers(p, hdr_end, part) != 0)
			goto bad;
		p = hdr_end + 2;
		data_end = find_delimiter(p, end, delim, dlen);
		if (data_end == NULL)
			goto bad;
		part->data = p;
		part->len = data_end - p;
		p = data_end + dlen;
	}

bad:
	multipart_free(mp);
	return -1;
}

const struct mp_part *
multipart_find(const struct multipart *mp, const char *name)
{
	for (int i = 0; i < mp->nparts; i++)
		if (strcmp(mp->parts[i].name, name) == 0)
			return &mp->parts[i];
	return NULL;
}
