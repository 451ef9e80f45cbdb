/*
 * test_auth.c — unit tests of services/common/auth.c: the bearer token of
 * changing routes.
 */
#include <stddef.h>

#include "auth.h"
#include "check.h"

int
main(void)
{
	CHECK(auth_check(NULL, NULL) == AUTH_OK, "no token configured: no header needed");
	CHECK(auth_check("Bearer x", NULL) == AUTH_OK, "no token configured: any header passes");
	CHECK(auth_check(NULL, "s3cret") == AUTH_MISSING, "no header: missing");
	CHECK(auth_check("Basic czNjcmV0", "s3cret") == AUTH_MISSING, "another scheme: missing");
	CHECK(auth_check("Bearer", "s3cret") == AUTH_MISSING, "the scheme alone: missing");
	CHECK(auth_check("Bearer s3cret", "s3cret") == AUTH_OK, "the token");
	CHECK(auth_check("bearer   s3cret", "s3cret") == AUTH_OK, "scheme in any case, spaces before the token");
	CHECK(auth_check("Bearer s3cre", "s3cret") == AUTH_WRONG, "a prefix of the token is wrong");
	CHECK(auth_check("Bearer s3cretX", "s3cret") == AUTH_WRONG, "a longer token is wrong");
	CHECK(auth_check("Bearer S3CRET", "s3cret") == AUTH_WRONG, "the token's case matters");
	CHECK(auth_check("Bearer ", "s3cret") == AUTH_WRONG, "an empty token is wrong");
	return check_summary();
}
