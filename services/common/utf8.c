/*
 * utf8.c — strict UTF-8 checks (see utf8.h).
 */
#include "utf8.h"

size_t
utf8_char_len(const unsigned char *s, size_t len)
{
	unsigned	c;
	size_t		n;
	unsigned	min;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, c = s[0] & 0x1F, min = 0x80;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, c = s[0] & 0x0F, min = 0x800;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;				/* a continuation byte, 0xC0/0xC1 or 0xF5.. */
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* overlong, a UTF-16 surrogate, or beyond Unicode */
	if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		return 0;
	return n;
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *) s;

	for (size_t i = 0; i < len;)
	{
		size_t		n = utf8_char_len(u + i, len - i);

		if (n == 0)
			return 0;
		i += n;
	}
	return 1;
}

void
utf8_scrub(char *s, size_t len)
{
	unsigned char *u = (unsigned char *) s;

	for (size_t i = 0; i < len;)
	{
		size_t		n = utf8_char_len(u + i, len - i);

		if (n == 0)
		{
			u[i] = '?';
			n = 1;
		}
		i += n;
	}
}

size_t
utf8_trim_cut(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *) s;
	size_t		start = len;

	/* back to the last byte that is not a continuation byte (at most 3 back) */
	while (start > 0 && len - start < 3 && (u[start - 1] & 0xC0) == 0x80)
		start--;
	if (start == 0 || u[start - 1] < 0xC0)
		return len;				/* ASCII last, or stray continuation bytes: not a cut */
	start--;
	/* a lead byte whose character is complete stays; a cut one goes */
	if (utf8_char_len(u + start, len - start) == len - start)
		return len;
	{
		size_t		need = u[start] >= 0xF0 ? 4 : u[start] >= 0xE0 ? 3 : 2;

		return len - start < need ? start : len;
	}
}
