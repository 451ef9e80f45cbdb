/*
 * test_config.c — unit tests of services/common/config.c: defaults, ranges,
 * and the body limits capped where PostgreSQL's values end (1 GB - 1 byte),
 * with a message that names the setting and its maximum.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static const struct service svc = {.name = "mlpipe-test", .summary = "test", .default_port = 8000};

static const char *const vars[] = {
	"HOST", "PORT", "MLPIPE_API_TOKEN", "MLPIPE_MAX_BODY", "MLPIPE_MAX_UPLOAD",
	"MLPIPE_MAX_BATCH_BODY", "MLPIPE_THREADS", "MLPIPE_DISPATCHERS", "MLPIPE_MAX_CONNECTIONS",
	"MLPIPE_MAX_CONNECTIONS_PER_IP", "MLPIPE_CONNECTION_TIMEOUT", "MLPIPE_HEADER_TIMEOUT",
	"MLPIPE_MAX_REPLICA_LAG",
};

/* config_read with only name=value set; what it wrote on stderr goes to msg */
static int
read_with(const char *name, const char *value, struct config *cfg, char *msg, size_t msgsz)
{
	FILE	   *tmp = tmpfile();
	int			saved = dup(STDERR_FILENO);
	int			rc;
	size_t		n;

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	if (name)
		setenv(name, value, 1);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	memset(cfg, 0, sizeof(*cfg));
	rc = config_read(&svc, cfg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(msg, 1, msgsz - 1, tmp);
	msg[n] = '\0';
	fclose(tmp);
	return rc;
}

int
main(void)
{
	struct config cfg;
	char		msg[512];

	CHECK(read_with(NULL, NULL, &cfg, msg, sizeof(msg)) == 0 && msg[0] == '\0',
		  "no variable set: defaults, silently");
	CHECK(cfg.port == 8000 && strcmp(cfg.host, "127.0.0.1") == 0 && cfg.token == NULL &&
		  cfg.max_body == 1024 * 1024 && cfg.max_upload == 64 * 1024 * 1024 &&
		  cfg.max_batch_body == 16 * 1024 * 1024 && cfg.threads >= 4 && cfg.dispatchers >= 1 &&
		  cfg.header_timeout == 10, "the documented defaults");

	/* a bytea holds at most 1 GB - 1 byte: so does an upload */
	CHECK(read_with("MLPIPE_MAX_UPLOAD", "1073741823", &cfg, msg, sizeof(msg)) == 0 &&
		  cfg.max_upload == 1073741823, "MLPIPE_MAX_UPLOAD of 1 GB - 1 byte accepted");
	CHECK(read_with("MLPIPE_MAX_UPLOAD", "1073741824", &cfg, msg, sizeof(msg)) == -1,
		  "MLPIPE_MAX_UPLOAD of 1 GiB refused");
	CHECK(strstr(msg, "MLPIPE_MAX_UPLOAD") && strstr(msg, "1073741823") && strstr(msg, "1 GB"),
		  "the message names the setting and the maximum");
	CHECK(read_with("MLPIPE_MAX_UPLOAD", "4294967296", &cfg, msg, sizeof(msg)) == -1,
		  "MLPIPE_MAX_UPLOAD of 4 GiB refused");
	CHECK(read_with("MLPIPE_MAX_BODY", "2000000000", &cfg, msg, sizeof(msg)) == -1 &&
		  strstr(msg, "MLPIPE_MAX_BODY") != NULL, "MLPIPE_MAX_BODY over 1 GB refused");
	CHECK(read_with("MLPIPE_MAX_BATCH_BODY", "1073741824", &cfg, msg, sizeof(msg)) == -1 &&
		  strstr(msg, "MLPIPE_MAX_BATCH_BODY") != NULL, "MLPIPE_MAX_BATCH_BODY over 1 GB refused");
	CHECK(read_with("MLPIPE_MAX_UPLOAD", "0", &cfg, msg, sizeof(msg)) == -1,
		  "a zero limit refused");

	/* every other number: not a number, negative, out of range */
	CHECK(read_with("PORT", "0", &cfg, msg, sizeof(msg)) == -1 && strstr(msg, "PORT") != NULL,
		  "PORT 0 refused");
	CHECK(read_with("PORT", "80x", &cfg, msg, sizeof(msg)) == -1, "PORT with junk refused");
	CHECK(read_with("MLPIPE_THREADS", "-1", &cfg, msg, sizeof(msg)) == -1, "negative threads refused");
	CHECK(read_with("MLPIPE_HEADER_TIMEOUT", "0", &cfg, msg, sizeof(msg)) == 0 &&
		  cfg.header_timeout == 0, "header timeout 0 (off) accepted");
	CHECK(read_with("MLPIPE_API_TOKEN", "", &cfg, msg, sizeof(msg)) == 0 && cfg.token == NULL,
		  "an empty token is no token");
	return check_summary();
}
