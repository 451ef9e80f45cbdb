/*
 * utf8.h — UTF-8 checks (RFC 3629, strict: no overlong forms, no surrogates,
 * nothing above U+10FFFF).  Path parameters and messages must be valid
 * UTF-8: PostgreSQL refuses anything else (22021) and jansson will not
 * build a string of it.
 */
#ifndef MLPIPE_UTF8_H
#define MLPIPE_UTF8_H

#include <stddef.h>

/* Bytes of the valid character starting at s (at most len), 0 if none does. */
size_t		utf8_char_len(const unsigned char *s, size_t len);

/* 1 when s[0..len) is entirely valid UTF-8. */
int			utf8_valid(const char *s, size_t len);

/* In place: every byte that does not begin a valid character becomes '?'. */
void		utf8_scrub(char *s, size_t len);

/* len minus an incomplete character at the end (text cut by a byte limit). */
size_t		utf8_trim_cut(const char *s, size_t len);

#endif
