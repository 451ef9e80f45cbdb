/*
 * auth.c — the bearer token check (see auth.h).
 */
#include <string.h>
#include <strings.h>

#include "auth.h"

/* Compares without an early exit, so timing does not reveal the token. */
static int
token_equal(const char *given, const char *expected)
{
	size_t		gl = strlen(given);
	size_t		el = strlen(expected);
	unsigned char diff = gl != el;

	for (size_t i = 0; i < el; i++)
		diff |= (unsigned char) given[i < gl ? i : 0] ^ (unsigned char) expected[i];
	return diff == 0;
}

enum auth_result
auth_check(const char *authorization, const char *token)
{
	const char *h = authorization;

	if (token == NULL)
		return AUTH_OK;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return AUTH_MISSING;
	h += 7;
	while (*h == ' ')
		h++;
	return token_equal(h, token) ? AUTH_OK : AUTH_WRONG;
}
