/*
 * multipart.h — multipart/form-data (RFC 7578) over a fully received body.
 *
 * Part data points into the caller's body (no copy of a 64 MiB upload);
 * names and filenames are small NUL-terminated copies.
 */
#ifndef MLPIPE_MULTIPART_H
#define MLPIPE_MULTIPART_H

#include <stddef.h>

#define MULTIPART_MAX_PARTS 64
#define MULTIPART_MAX_BOUNDARY 70	/* RFC 2046 limit */

struct mp_part
{
	char	   *name;			/* form field name */
	char	   *filename;		/* NULL when the part is not a file */
	char	   *content_type;	/* NULL when not given */
	const char *data;
	size_t		len;
};

struct multipart
{
	struct mp_part parts[MULTIPART_MAX_PARTS];
	int			nparts;
};

/*
 * Extracts the boundary from a Content-Type header value.  Returns 0 on
 * success, -1 when the type is not multipart/form-data or has no usable
 * boundary.
 */
int			multipart_boundary(const char *content_type, char *out, size_t outsz);

/* Returns 0, or -1 when the body is malformed (mp is then empty). */
int			multipart_parse(const char *body, size_t len, const char *boundary,
							struct multipart *mp);

/* First part with this name, or NULL. */
const struct mp_part *multipart_find(const struct multipart *mp, const char *name);

void		multipart_free(struct multipart *mp);

#endif
