/*
 * csv_row.c — split and check one line of a purchases CSV (see csv_row.h).
 */
#include "csv_row.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iso8601.h"

const char	mlp_csv_header[] =
"customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount";

static const char *const column_names[MLP_CSV_COLUMNS] = {
	"customer_id", "age", "gender", "annual_income", "purchase_amount",
	"purchase_date", "next_month_purchase_amount"
};

/* A field after unquoting; quoted fields with "" are copied into buf. */
typedef struct Field
{
	const char *p;
	size_t		len;
} Field;

#define FIELD_BUF 256

/*
 * Splits into at most MLP_CSV_COLUMNS + 1 fields (one more tells "too many").
 * Unquoted fields point into the line; quoted ones are unescaped into bufs.
 * Returns the field count, or -1 for an unterminated quote.
 */
static int
split_fields(const char *line, size_t len, Field *fields, char bufs[][FIELD_BUF])
{
	size_t		pos = 0;
	int			n = 0;

	for (;;)
	{
		if (n == MLP_CSV_COLUMNS + 1)
			return n;
		if (pos < len && line[pos] == '"')
		{
			size_t		out = 0;

			pos++;
			for (;;)
			{
				if (pos >= len)
					return -1;
				if (line[pos] == '"')
				{
					if (pos + 1 < len && line[pos + 1] == '"')
						pos++;
					else
						break;
				}
				/* overlong quoted fields are cut; no column of ours is that long */
				if (out < FIELD_BUF)
					bufs[n][out++] = line[pos];
				pos++;
			}
			pos++;				/* closing quote */
			fields[n].p = bufs[n];
			fields[n].len = out;
			if (pos < len && line[pos] != ',')
				return -1;
		}
		else
		{
			size_t		start = pos;

			while (pos < len && line[pos] != ',')
				pos++;
			fields[n].p = line + start;
			fields[n].len = pos - start;
		}
		n++;
		if (pos >= len)
			return n;
		pos++;					/* the comma */
	}
}

static bool
errorf(char *errmsg, size_t errlen, const char *fmt, const char *column, const char *detail)
{
	snprintf(errmsg, errlen, fmt, column, detail);
	return false;
}

/* [-]digits, at most maxdigits digits */
static bool
parse_integer(const Field *f, int maxdigits, bool allow_negative, int64_t *out)
{
	size_t		i = 0;
	int64_t		v = 0;
	bool		neg = false;

	if (f->len > 0 && f->p[0] == '-' && allow_negative)
	{
		neg = true;
		i = 1;
	}
	if (i == f->len || f->len - i > (size_t) maxdigits)
		return false;
	for (; i < f->len; i++)
	{
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
		v = v * 10 + (f->p[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

/* [-]digits[.digits]: plain decimals, as the file holds money and incomes */
static bool
parse_decimal(const Field *f, double *out)
{
	char		tmp[64];
	size_t		i = 0;
	int			ndigits = 0;
	bool		dot = false;

	if (f->len == 0 || f->len >= sizeof(tmp))
		return false;
	if (f->p[0] == '-' || f->p[0] == '+')
		i = 1;
	for (; i < f->len; i++)
	{
		char		c = f->p[i];

		if (c >= '0' && c <= '9')
			ndigits++;
		else if (c == '.' && !dot)
			dot = true;
		else
			return false;
	}
	if (ndigits == 0)
		return false;
	memcpy(tmp, f->p, f->len);
	tmp[f->len] = '\0';
	errno = 0;
	*out = strtod(tmp, NULL);
	return errno == 0 && isfinite(*out);
}

bool
mlp_csv_is_header(const char *line, size_t len)
{
	size_t		hlen = sizeof(mlp_csv_header) - 1;

	if (len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
	{
		line += 3;
		len -= 3;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len == hlen && memcmp(line, mlp_csv_header, hlen) == 0;
}

bool
mlp_csv_parse_purchase(const char *line, size_t len, MlpCsvPurchase *out,
					   char *errmsg, size_t errlen)
{
	Field		f[MLP_CSV_COLUMNS + 1];
	char		bufs[MLP_CSV_COLUMNS + 1][FIELD_BUF];
	int64_t		v;
	int			n;
	const char *why;

	memset(out, 0, sizeof(*out));
	if (len > 0 && line[len - 1] == '\r')
		len--;
	n = split_fields(line, len, f, bufs);
	if (n < 0)
		return errorf(errmsg, errlen, "%s%s", "unterminated or misplaced quote", "");
	if (n != MLP_CSV_COLUMNS)
	{
		snprintf(errmsg, errlen, "expected %d columns, found %s%d", MLP_CSV_COLUMNS,
				 n > MLP_CSV_COLUMNS ? "more than " : "", n > MLP_CSV_COLUMNS ? MLP_CSV_COLUMNS : n);
		return false;
	}

	if (!parse_integer(&f[0], 18, false, &v))
		return errorf(errmsg, errlen, "%s is not a whole number%s", column_names[0], "");
	out->customer_id = v;

	if (f[1].len > 0)
	{
		if (!parse_integer(&f[1], 9, true, &v))
			return errorf(errmsg, errlen, "%s is not a whole number%s", column_names[1], "");
		out->has_age = true;
		out->age = (int32_t) v;
	}

	if (f[2].len > MLP_CSV_MAX_GENDER)
		return errorf(errmsg, errlen, "%s is too long%s", column_names[2], "");
	if (f[2].len > 0)
	{
		memcpy(out->gender, f[2].p, f[2].len);
		out->gender[f[2].len] = '\0';
		if (memchr(out->gender, '\0', f[2].len))
			return errorf(errmsg, errlen, "%s contains a NUL byte%s", column_names[2], "");
		out->has_gender = true;
	}

	if (f[3].len > 0)
	{
		if (!parse_decimal(&f[3], &out->income))
			return errorf(errmsg, errlen, "%s is not a number%s", column_names[3], "");
		out->has_income = true;
	}
	if (f[4].len > 0)
	{
		if (!parse_decimal(&f[4], &out->amount))
			return errorf(errmsg, errlen, "%s is not a number%s", column_names[4], "");
		out->has_amount = true;
	}

	if (!mlp_parse_iso8601(f[5].p, f[5].len, &out->purchase_usec, &why))
		return errorf(errmsg, errlen, "%s is not a valid date: %s", column_names[5], why);
	/* f[6], next_month_purchase_amount, is the old pipeline's target: ignored */
	return true;
}
