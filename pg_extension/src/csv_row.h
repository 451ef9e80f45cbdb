/*
 * csv_row.h — one line of a purchases CSV, split and checked.
 *
 * The columns are those of the old pipeline's file:
 *   customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount
 * A row is malformed (and not loaded) when it has the wrong number of
 * columns, a number that is not a number, or a date that is not a date.
 * Gaps (empty age, gender, income or amount) are not malformed: cleaning
 * belongs to the features, so they are loaded as NULLs.  The last column is
 * ignored.  Plain C, so it can be fuzzed on its own.
 */
#ifndef MLPIPE_CSV_ROW_H
#define MLPIPE_CSV_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLP_CSV_COLUMNS 7
#define MLP_CSV_MAX_GENDER 64

extern const char mlp_csv_header[];

typedef struct MlpCsvPurchase
{
	int64_t		customer_id;
	bool		has_age;
	int32_t		age;
	bool		has_gender;
	char		gender[MLP_CSV_MAX_GENDER + 1];
	bool		has_income;
	double		income;
	bool		has_amount;
	double		amount;
	int64_t		purchase_usec;	/* microseconds since 1970-01-01 UTC */
} MlpCsvPurchase;

/*
 * Parses line[0..len) (no line terminator; a trailing '\r' is ignored).
 * Fields may be double-quoted ("" inside quotes is a quote).  On failure
 * returns false with a sentence in errmsg naming the column.
 */
bool		mlp_csv_parse_purchase(const char *line, size_t len, MlpCsvPurchase *out,
								   char *errmsg, size_t errlen);

/* True when line is the expected header (a UTF-8 BOM and '\r' tolerated). */
bool		mlp_csv_is_header(const char *line, size_t len);

#endif							/* MLPIPE_CSV_ROW_H */
