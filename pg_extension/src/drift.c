/*
 * drift.c — deciles, bins and the population stability index (drift.h).
 */
#include "drift.h"

#include <math.h>
#include <stdlib.h>

static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* The distinct deciles become the cuts; nbins follows. */
static void
set_cuts(MlpDistribution *d)
{
	int			k = 0;

	for (int i = 0; i < MLP_DECILES; i++)
		if (k == 0 || d->deciles[i] != d->cuts[k - 1])
			d->cuts[k++] = d->deciles[i];
	d->nbins = k + 1;
}

bool
mlp_distribution_fit(double *values, size_t n, MlpDistribution *out)
{
	double		counts[MLP_DRIFT_MAX_BINS] = {0};

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(values[i]))
			return false;
	qsort(values, n, sizeof(double), double_cmp);
	for (int k = 1; k <= MLP_DECILES; k++)
	{
		/* nearest rank: ceil(k n / 10), 1-based */
		size_t		rank = (k * n + 9) / 10;

		out->deciles[k - 1] = values[rank > 0 ? rank - 1 : 0];
	}
	set_cuts(out);
	/* values are sorted: one pass assigns every bin */
	for (size_t i = 0; i < n; i++)
		counts[mlp_distribution_bin(out, values[i])] += 1;
	for (int b = 0; b < out->nbins; b++)
		out->share[b] = counts[b] / (double) n;
	for (int b = out->nbins; b < MLP_DRIFT_MAX_BINS; b++)
		out->share[b] = 0;
	return true;
}

bool
mlp_distribution_load(const double deciles[MLP_DECILES], const double *shares, int nshares,
					  MlpDistribution *out)
{
	for (int i = 0; i < MLP_DECILES; i++)
	{
		if (!isfinite(deciles[i]) || (i > 0 && deciles[i] < deciles[i - 1]))
			return false;
		out->deciles[i] = deciles[i];
	}
	set_cuts(out);
	if (nshares != out->nbins)
		return false;
	for (int b = 0; b < MLP_DRIFT_MAX_BINS; b++)
	{
		double		s = b < nshares ? shares[b] : 0;

		if (!isfinite(s) || s < 0 || s > 1)
			return false;
		out->share[b] = s;
	}
	return true;
}

int
mlp_distribution_bin(const MlpDistribution *d, double x)
{
	int			lo = 0;
	int			hi = d->nbins - 1;	/* number of cuts */

	/* the first cut >= x; bins are closed on the right */
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (x <= d->cuts[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

double
mlp_psi(const MlpDistribution *expected, const double *counts, double total)
{
	double		psi = 0;

	if (!(total > 0))
		return NAN;
	for (int b = 0; b < expected->nbins; b++)
	{
		double		e = fmax(expected->share[b], MLP_PSI_FLOOR);
		double		a = fmax(counts[b] / total, MLP_PSI_FLOOR);

		psi += (a - e) * log(a / e);
	}
	return psi;
}
