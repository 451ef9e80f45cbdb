/*
 * drift.h — a feature's distribution as deciles, and the population
 * stability index (PSI) between two distributions, in plain C.
 *
 * mlpipe_train and mlpipe_tune store, per feature, the deciles of the
 * training rows and the share of rows in each bin they bound; mlpipe_drift
 * counts newer rows into the same bins and compares the shares.
 *
 * Bins: the distinct decile values c[0] < c[1] < ... < c[k-1] bound k + 1
 * bins: x <= c[0], c[0] < x <= c[1], ..., x > c[k-1].  A feature that takes
 * few values (gender, the 0/1 indicators) has few distinct deciles and so
 * few bins, each holding whatever share of the rows falls into it; that is
 * why the shares are stored with the deciles instead of assumed to be 10 %.
 *
 * Nothing here allocates or knows PostgreSQL; it is unit-tested on its own.
 */
#ifndef MLPIPE_DRIFT_H
#define MLPIPE_DRIFT_H

#include <stdbool.h>
#include <stddef.h>

#define MLP_DECILES 9
#define MLP_DRIFT_MAX_BINS (MLP_DECILES + 1)

/*
 * A share below this counts as this in the PSI: an empty bin on one side
 * would otherwise make the index infinite.  (1e-4: one row in 10,000.)
 */
#define MLP_PSI_FLOOR 1e-4

typedef struct MlpDistribution
{
	double		deciles[MLP_DECILES];	/* as fitted, ascending, may repeat */
	int			nbins;			/* distinct deciles + 1 */
	double		cuts[MLP_DECILES];	/* the distinct deciles, ascending */
	double		share[MLP_DRIFT_MAX_BINS];	/* fraction of rows per bin, sums to 1 */
} MlpDistribution;

/*
 * Fits the deciles of values[0..n) and the share of each bin.  Sorts values
 * in place (the caller passes a scratch copy).  Decile k (1..9) is the value
 * of rank ceil(k n / 10) (nearest rank).  Returns false when n is 0 or a
 * value is not finite.
 */
bool		mlp_distribution_fit(double *values, size_t n, MlpDistribution *out);

/*
 * Rebuilds the bins from stored deciles and shares (the model's metadata).
 * nshares must be the number of bins the deciles bound.  Returns false when
 * the deciles are not finite and ascending, or the shares do not match.
 */
bool		mlp_distribution_load(const double deciles[MLP_DECILES],
								  const double *shares, int nshares,
								  MlpDistribution *out);

/* The bin of x: 0 .. nbins - 1 (NaN goes to the last bin). */
int			mlp_distribution_bin(const MlpDistribution *d, double x);

/*
 * PSI = sum over bins of (a - e) ln(a / e), with e the expected (training)
 * share and a the actual share (counts[b] / total), both floored at
 * MLP_PSI_FLOOR.  0 when they agree; above 0.25 is usually read as a
 * shift that matters.  Returns NaN when total is 0.
 */
double		mlp_psi(const MlpDistribution *expected, const double *counts, double total);

#endif							/* MLPIPE_DRIFT_H */
