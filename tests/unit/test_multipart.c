/*
 * test_multipart.c — unit tests of services/common/multipart.c.
 * Prints "N passed, M failed"; exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "multipart.h"

static int
part_is(const struct multipart *mp, const char *name, const char *data, size_t len)
{
	const struct mp_part *p = multipart_find(mp, name);

	return p && p->len == len && memcmp(p->data, data, len) == 0;
}

static void
test_boundary(void)
{
	char		b[MULTIPART_MAX_BOUNDARY + 1];

	CHECK(multipart_boundary("multipart/form-data; boundary=abc123", b, sizeof(b)) == 0 &&
		  strcmp(b, "abc123") == 0, "plain boundary");
	CHECK(multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b;c\"", b, sizeof(b)) == 0 &&
		  strcmp(b, "a b;c") == 0, "quoted boundary after another parameter");
	CHECK(multipart_boundary("multipart/form-data;boundary=x", b, sizeof(b)) == 0 &&
		  strcmp(b, "x") == 0, "no space after ;");
	CHECK(multipart_boundary("application/json", b, sizeof(b)) != 0, "not multipart");
	CHECK(multipart_boundary("multipart/form-data", b, sizeof(b)) != 0, "no boundary");
	CHECK(multipart_boundary("multipart/form-data; boundary=", b, sizeof(b)) != 0, "empty boundary");
	CHECK(multipart_boundary("multipart/form-data; boundary=\"unterminated", b, sizeof(b)) != 0,
		  "unterminated quote");
	CHECK(multipart_boundary(NULL, b, sizeof(b)) != 0, "no header");
	{
		char		ct[200];

		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=%071d", 0);
		CHECK(multipart_boundary(ct, b, sizeof(b)) != 0, "boundary over 70 chars");
	}
}

/* What python requests sends for data={...}, files={"model_file": (...)} */
static void
test_requests_body(void)
{
	const char	body[] =
		"--4f3c\r\n"
		"Content-Disposition: form-data; name=\"model_name\"\r\n\r\n"
		"random_forest\r\n"
		"--4f3c\r\n"
		"Content-Disposition: form-data; name=\"version\"\r\n\r\n"
		"1.0\r\n"
		"--4f3c\r\n"
		"Content-Disposition: form-data; name=\"model_file\"; filename=\"model.json\"\r\n"
		"Content-Type: application/json\r\n\r\n"
		"{\"learner\":{}}\r\n--4f3c-\r\nnot the end\r\n"
		"--4f3c--\r\n";
	struct multipart mp;
	const struct mp_part *f;

	CHECK(multipart_parse(body, sizeof(body) - 1, "4f3c", &mp) == 0, "parse requests body");
	CHECK(mp.nparts == 3, "three parts");
	CHECK(part_is(&mp, "model_name", "random_forest", 13), "model_name value");
	CHECK(part_is(&mp, "version", "1.0", 3), "version value");
	f = multipart_find(&mp, "model_file");
	CHECK(f && f->filename && strcmp(f->filename, "model.json") == 0, "filename");
	CHECK(f && f->content_type && strcmp(f->content_type, "application/json") == 0, "part content type");
	CHECK(f && f->len == strlen("{\"learner\":{}}\r\n--4f3c-\r\nnot the end"),
		  "a near-delimiter inside data stays data");
	CHECK(multipart_find(&mp, "version") && multipart_find(&mp, "version")->filename == NULL,
		  "text field has no filename");
	CHECK(multipart_find(&mp, "absent") == NULL, "absent field");
	multipart_free(&mp);
	CHECK(mp.nparts == 0, "free empties");
}

static void
test_binary_and_edge(void)
{
	/* binary data with NULs and CRLFs, an empty part, preamble text */
	char		body[256];
	size_t		n = 0;
	const char	bin[] = {'\x80', '\x04', '\0', '\r', '\n', '-', '-', 'x', '\0'};
	struct multipart mp;

#define ADD(s) (memcpy(body + n, (s), strlen(s)), n += strlen(s))
	ADD("preamble ignored\r\n--XyZ\r\n");
	ADD("content-disposition: form-data; name=\"f\"; filename=\"m.pkl\"\r\n\r\n");
	memcpy(body + n, bin, sizeof(bin));
	n += sizeof(bin);
	ADD("\r\n--XyZ\r\n");
	ADD("Content-Disposition: form-data; name=\"empty\"\r\n\r\n");
	ADD("\r\n--XyZ--");
#undef ADD
	CHECK(multipart_parse(body, n, "XyZ", &mp) == 0, "parse binary body");
	CHECK(part_is(&mp, "f", bin, sizeof(bin)), "binary data intact");
	CHECK(part_is(&mp, "empty", "", 0), "empty part");
	multipart_free(&mp);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"no delimiter at all",
		"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue without end",
		"--B\r\nContent-Disposition: form-data; name=\"a\"\r\nvalue no blank line\r\n--B--",
		"--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--B--",
		"--B\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nv\r\n--B--",
		"--B\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--B--",
		"--Bjunk\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--B--",
		"--B\r\nno colon header\r\n\r\nv\r\n--B--",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		struct multipart mp;
		char		what[64];

		snprintf(what, sizeof(what), "malformed body %zu refused", i);
		CHECK(multipart_parse(bad[i], strlen(bad[i]), "B", &mp) != 0 && mp.nparts == 0, what);
	}
	{
		struct multipart mp;

		CHECK(multipart_parse("--B--", 5, "B", &mp) == 0 && mp.nparts == 0,
			  "closing delimiter only: no parts");
	}
}

static void
test_too_many_parts(void)
{
	size_t		cap = (MULTIPART_MAX_PARTS + 2) * 64 + 16;
	char	   *body = malloc(cap);
	size_t		n = 0;
	struct multipart mp;

	for (int i = 0; i < MULTIPART_MAX_PARTS + 1; i++)
		n += snprintf(body + n, cap - n, "--B\r\nContent-Disposition: form-data; name=\"p%d\"\r\n\r\nx\r\n", i);
	n += snprintf(body + n, cap - n, "--B--");
	CHECK(multipart_parse(body, n, "B", &mp) != 0, "too many parts refused");
	free(body);
}

/* Every prefix of a valid body must parse or fail cleanly (run under ASan). */
static void
test_truncations(void)
{
	const char	body[] =
		"--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"q\\\"x\"\r\n\r\n1\r\n--b--\r\n";
	int			ok = 1;

	for (size_t len = 0; len < sizeof(body) - 1; len++)
	{
		char	   *copy = malloc(len ? len : 1);
		struct multipart mp;

		memcpy(copy, body, len);
		if (multipart_parse(copy, len, "b", &mp) == 0)
		{
			/* only complete bodies (up to the closing "--") may succeed */
			if (len < sizeof(body) - 3)
				ok = 0;
			else if (!part_is(&mp, "a", "1", 1) || !multipart_find(&mp, "a")->filename ||
					 strcmp(multipart_find(&mp, "a")->filename, "q\"x") != 0)
				ok = 0;
			multipart_free(&mp);
		}
		free(copy);
	}
	CHECK(ok, "truncated bodies fail, complete ones parse with escaped filename");
}

int
main(void)
{
	test_boundary();
	test_requests_body();
	test_binary_and_edge();
	test_malformed();
	test_too_many_parts();
	test_truncations();
	return check_summary();
}
