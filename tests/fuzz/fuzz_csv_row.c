/*
 * fuzz_csv_row.c — libFuzzer target for mlp_csv_parse_purchase() and
 * mlp_csv_is_header().
 *
 * The input is one CSV line (no terminator) in an exactly sized buffer.  It
 * is parsed twice, with a roomy and with a tiny error buffer (messages must
 * be cut, never overflow), and the two parses must agree.  An accepted row
 * must hold what csv_row.h promises: finite numbers, a NUL-terminated
 * gender of at most MLP_CSV_MAX_GENDER bytes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv_row.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *) data;
	MlpCsvPurchase row;
	MlpCsvPurchase row2;
	char		errmsg[256];
	char		tiny[8];
	bool		ok;
	bool		ok2;

	(void) mlp_csv_is_header(line, size);

	errmsg[0] = '\0';
	ok = mlp_csv_parse_purchase(line, size, &row, errmsg, sizeof(errmsg));
	ok2 = mlp_csv_parse_purchase(line, size, &row2, tiny, sizeof(tiny));
	if (ok != ok2)
		abort();
	if (!ok)
	{
		if (errmsg[0] == '\0' || memchr(errmsg, '\0', sizeof(errmsg)) == NULL ||
			memchr(tiny, '\0', sizeof(tiny)) == NULL)
			abort();
		return 0;
	}
	if (memcmp(&row, &row2, sizeof(row)) != 0)
		abort();
	if (row.customer_id < 0)
		abort();
	if (row.has_income && !isfinite(row.income))
		abort();
	if (row.has_amount && !isfinite(row.amount))
		abort();
	if (memchr(row.gender, '\0', sizeof(row.gender)) == NULL)
		abort();
	if (row.has_gender != (row.gender[0] != '\0'))
		abort();
	/* the header line is not a purchase */
	if (mlp_csv_is_header(line, size))
		abort();
	return 0;
}
