/*
 * features_csv.c — the training rows of a purchases CSV, outside PostgreSQL.
 *
 *   features_csv < customer_purchases.csv > rows.csv
 *
 * Reads the CSV of SPEC section 2, runs the whole training path of feature
 * set v1 (clean, fill genders, drop one-purchase customers, monthly rows with
 * gap filling, standardization) through features.c, and writes one line per
 * (customer, month): customer_id, month (YYYY-MM), the 19 features and the
 * target (empty for a customer's last month).  The standardization
 * parameters and timings go to stderr.  For cross-checking the feature core
 * against other implementations and for timing it on big files.
 *
 * Build: cc -O2 -iquote pg_extension/src tools/features_csv.c \
 *           pg_extension/src/features.c -lm
 */
#include "features.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Row
{
	int64_t		customer;
	size_t		line;			/* input order, to keep equal ts stable */
	MlpPurchase p;
} Row;

static double
now_sec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian. */
static int64_t
days_from_date(int64_t y, int m, int d)
{
	/* Count from 1 March of year 0 so that the leap day ends the year. */
	int64_t		yy = m <= 2 ? y - 1 : y;
	int			mm = m <= 2 ? m + 9 : m - 3;	/* March = 0 */
	int64_t		era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t		yoe = yy - era * 400;
	int64_t		doy = (153 * mm + 2) / 5 + d - 1;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static bool
digits(const char *s, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM] to Unix seconds. */
static bool
parse_ts(const char *s, size_t len, int64_t *ts)
{
	int			y, mo, d, h, mi, sec, oh = 0, om = 0;
	size_t		i = 19;
	int			sign = 0;
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
		!digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 59)
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	if (i < len && s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;					/* fractions of a second are dropped */
	if (i < len && s[i] == 'Z')
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-'))
	{
		sign = s[i] == '+' ? 1 : -1;
		if (len - i < 6 || s[i + 3] != ':' || !digits(s + i + 1, 2, &oh) ||
			!digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		i += 6;
	}
	if (i != len)
		return false;
	*ts = days_from_date(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec
		- sign * (oh * 3600 + om * 60);
	return true;
}

/* A number field; empty means missing (NaN). */
static bool
parse_num(const char *s, size_t len, double *out)
{
	char		buf[64];
	char	   *end;

	if (len == 0)
	{
		*out = NAN;
		return true;
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return *end == '\0' && errno == 0;
}

/* Splits one CSV line (no quoting in this format) and fills *r. */
static bool
parse_line(char *line, Row *r)
{
	const char *f[7];
	size_t		flen[7];
	int			nf = 0;
	char	   *s = line;
	double		age;
	double		id;

	line[strcspn(line, "\r\n")] = '\0';
	for (;;)
	{
		char	   *comma = strchr(s, ',');

		if (nf == 7)
			return false;
		f[nf] = s;
		flen[nf] = comma ? (size_t) (comma - s) : strlen(s);
		nf++;
		if (!comma)
			break;
		s = comma + 1;
	}
	if (nf < 6)
		return false;
	if (!parse_num(f[0], flen[0], &id) || !isfinite(id) || id != floor(id))
		return false;
	r->customer = (int64_t) id;
	if (!parse_num(f[1], flen[1], &age))
		return false;
	r->p.age = isfinite(age) && age == floor(age) && fabs(age) < 1e6 ?
		(int32_t) age : MLP_AGE_MISSING;
	r->p.gender = mlp_gender_from_text(f[2], flen[2]);
	if (!parse_num(f[3], flen[3], &r->p.income) ||
		!parse_num(f[4], flen[4], &r->p.amount))
		return false;
	return parse_ts(f[5], flen[5], &r->p.ts);
}

static int
cmp_rows(const void *a, const void *b)
{
	const Row  *x = a;
	const Row  *y = b;

	if (x->customer != y->customer)
		return x->customer < y->customer ? -1 : 1;
	if (x->p.ts != y->p.ts)
		return x->p.ts < y->p.ts ? -1 : 1;
	return x->line < y->line ? -1 : (x->line > y->line);
}

typedef struct Out
{
	int64_t		customer;
	MlpMonth	m;
} Out;

int
main(void)
{
	Row		   *rows = NULL;
	size_t		n = 0,
				cap = 0,
				lines = 0,
				bad = 0,
				unclean = 0;
	char		line[1024];
	Out		   *outs = NULL;
	size_t		nout = 0,
				outcap = 0;
	MlpPurchase *buf = NULL;
	size_t		bufcap = 0;
	MlpMonth   *stage = NULL;
	size_t		stagecap = 0;
	int64_t		n_male = 0,
				n_female = 0;
	int			fill;
	MlpStdAccum acc;
	MlpStandardization st;
	const char *badcol;
	double		t0,
				t_read,
				t_sort,
				t_feat;
	int			rc = 1;

	t0 = now_sec();
	if (!fgets(line, sizeof(line), stdin))
	{
		fprintf(stderr, "features_csv: empty input\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin))
	{
		Row			r;

		lines++;
		if (!parse_line(line, &r))
		{
			bad++;
			continue;
		}
		r.line = lines;
		/* Cleaning (1) */
		if (!mlp_purchase_is_clean(&r.p))
		{
			unclean++;
			continue;
		}
		if (n == cap)
		{
			size_t		ncap = cap ? cap * 2 : 4096;
			Row		   *nr = realloc(rows, ncap * sizeof(Row));

			if (!nr)
				goto oom;
			rows = nr;
			cap = ncap;
		}
		rows[n++] = r;
		n_male += r.p.gender == MLP_MALE;
		n_female += r.p.gender == MLP_FEMALE;
	}
	t_read = now_sec();
	/* Cleaning (2): the most frequent gender of the remaining rows. */
	fill = n_male > n_female ? MLP_MALE : MLP_FEMALE;
	qsort(rows, n, sizeof(Row), cmp_rows);
	t_sort = now_sec();

	mlp_std_accum_init(&acc);
	for (size_t start = 0, end; start < n; start = end)
	{
		size_t		k,
					mcap,
					got;

		for (end = start + 1; end < n && rows[end].customer == rows[start].customer; end++)
			;
		k = end - start;
		if (k < 2)
			continue;			/* cleaning (3) */
		if (k > bufcap)
		{
			MlpPurchase *nb = realloc(buf, k * sizeof(MlpPurchase));

			if (!nb)
				goto oom;
			buf = nb;
			bufcap = k;
		}
		for (size_t i = 0; i < k; i++)
			buf[i] = rows[start + i].p;
		mcap = mlp_months_capacity(buf, k, true);
		if (mcap > stagecap)
		{
			MlpMonth   *ns = realloc(stage, mcap * sizeof(MlpMonth));

			if (!ns)
				goto oom;
			stage = ns;
			stagecap = mcap;
		}
		if (nout + mcap > outcap)
		{
			size_t		ncap = (nout + mcap) * 2;
			Out		   *no = realloc(outs, ncap * sizeof(Out));

			if (!no)
				goto oom;
			outs = no;
			outcap = ncap;
		}
		got = mlp_customer_months(buf, k, true, stage);
		for (size_t i = 0; i < got; i++)
		{
			outs[nout].customer = rows[start].customer;
			outs[nout].m = stage[i];
			mlp_std_accum_add(&acc, &stage[i]);
			nout++;
		}
	}
	if (!mlp_std_accum_finish(&acc, &st, &badcol))
	{
		fprintf(stderr, "features_csv: cannot standardize %s\n", badcol);
		goto done;
	}
	t_feat = now_sec();

	printf("customer_id,month");
	for (int i = 0; i < MLP_NFEATURES; i++)
		printf(",%s", mlp_feature_names[i]);
	printf(",target\n");
	for (size_t i = 0; i < nout; i++)
	{
		double		v[MLP_NFEATURES];
		int32_t		mo = outs[i].m.month;

		mlp_month_vector(&outs[i].m, fill, &st, v);
		printf("%lld,%04d-%02d", (long long) outs[i].customer,
			   (int) (mo / 12), (int) (mo % 12 + 1));
		for (int f = 0; f < MLP_NFEATURES; f++)
			printf(",%.17g", v[f]);
		if (i + 1 < nout && outs[i + 1].customer == outs[i].customer)
			printf(",%.17g\n", mlp_standardize(&st, MLP_STD_PURCHASE_AMOUNT,
											   outs[i + 1].m.purchase_amount));
		else
			printf(",\n");
	}

	fprintf(stderr, "lines %zu, unparsable %zu, unclean %zu, kept %zu, fill gender %s\n",
			lines, bad, unclean, n, fill == MLP_MALE ? "Male" : "Female");
	for (int c = 0; c < MLP_NSTD; c++)
		fprintf(stderr, "%s: mean %.17g std %.17g\n", mlp_std_column_names[c],
				st.mean[c], st.std[c]);
	fprintf(stderr, "monthly rows %zu; seconds: read+parse %.3f, sort %.3f, features+std %.3f\n",
			nout, t_read - t0, t_sort - t_read, t_feat - t_sort);
	rc = 0;
	goto done;
oom:
	fprintf(stderr, "features_csv: out of memory\n");
done:
	free(rows);
	free(outs);
	free(buf);
	free(stage);
	return rc;
}
