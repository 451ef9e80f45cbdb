/*
 * features_csv.c — the training rows of a purchases CSV, outside PostgreSQL.
 *
 *   features_csv < customer_purchases.csv > rows.csv
 *
 * Reads the CSV of docs/features.md, runs the whole training path of feature
 * set v1 (clean, fill genders, drop one-purchase customers, monthly rows with
 * gap filling, standardization) through features.c, and writes one line per
 * (customer, month): customer_id, month (YYYY-MM), the 19 features and the
 * target (empty for a customer's last month).  The standardization
 * parameters and timings go to stderr.  For cross-checking the feature core
 * against other implementations and for timing it on big files.
 *
 * Built by tools/Makefile into build/bin/mlpipe-features-csv.
 */
#include "csv_row.h"
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
	size_t		line;			/* input order: identical purchases stay in it */
	MlpPurchase p;
} Row;

static double
now_sec(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* One line through the loader's own CSV parser (csv_row.c). */
static bool
parse_line(char *line, Row *r)
{
	MlpCsvPurchase c;
	char		err[128];
	int64_t		sec;

	line[strcspn(line, "\r\n")] = '\0';
	if (!mlp_csv_parse_purchase(line, strlen(line), &c, err, sizeof(err)))
		return false;
	r->customer = c.customer_id;
	r->p.age = c.has_age ? c.age : MLP_AGE_MISSING;
	r->p.gender = c.has_gender ? mlp_gender_from_text(c.gender, strlen(c.gender)) : MLP_GENDER_MISSING;
	r->p.income = c.has_income ? c.income : NAN;
	r->p.amount = c.has_amount ? c.amount : NAN;
	/* floor division into seconds and microseconds */
	sec = c.purchase_usec / 1000000;
	if (c.purchase_usec % 1000000 < 0)
		sec--;
	r->p.ts = sec;
	r->p.usec = (int32_t) (c.purchase_usec - sec * 1000000);
	return true;
}

static int
cmp_rows(const void *a, const void *b)
{
	const Row  *x = a;
	const Row  *y = b;

	/* the order the extension uses: the rows do not depend on the file's order */
	int			c = mlp_customer_purchase_cmp(x->customer, &x->p, y->customer, &y->p);

	if (c != 0)
		return c;
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
