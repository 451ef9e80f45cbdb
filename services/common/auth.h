/*
 * auth.h — the bearer token of changing routes (MLPIPE_API_TOKEN).
 */
#ifndef MLPIPE_AUTH_H
#define MLPIPE_AUTH_H

enum auth_result
{
	AUTH_OK,
	AUTH_MISSING,				/* no "Authorization: Bearer ..." header: 401 Not authenticated */
	AUTH_WRONG					/* another token: 401 Invalid token */
};

/*
 * Judges an Authorization header value (NULL: absent) against the
 * configured token (NULL: none, everything passes).  The comparison takes
 * the same time wherever the tokens differ.
 */
enum auth_result auth_check(const char *authorization, const char *token);

#endif
