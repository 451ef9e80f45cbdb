/*
 * ridge.c — the ridge optimum of gblinear's objective, solved directly.
 *
 * XGBoost's coordinate descent needs a pass over every row per round and
 * a couple of hundred rounds to come near the optimum; the normal
 * equations need two passes in all.  The small system is solved by Jacobi
 * rotations rather than Cholesky: it is just as quick at this size, and it
 * degrades gracefully (minimum-norm) when lambda is 0 and columns repeat.
 */
#include "ridge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rows between two calls of the stop callback */
#define STOP_EVERY 65536

static inline double
value_or_zero(float v)
{
	return isnan(v) ? 0.0 : (double) v;
}

/* (u, v) <- (c u - s v, s u + c v), element by element, n elements apart by stride */
static void
rotate(double *u, double *v, size_t stride, size_t n, double c, double s)
{
	for (size_t k = 0; k < n; k++)
	{
		double		a = u[k * stride],
					b = v[k * stride];

		u[k * stride] = c * a - s * b;
		v[k * stride] = s * a + c * b;
	}
}

bool
mlp_sym_solve(double *A, const double *b, size_t n, double rtol, double *x)
{
	double	   *V = malloc(n * n * sizeof(double));
	double		largest = 0;

	if (V == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			V[i * n + j] = i == j;

	/* cyclic Jacobi sweeps until the off-diagonal part is negligible */
	for (int sweep = 0; sweep < 100; sweep++)
	{
		double		off = 0,
					diag = 0;

		for (size_t p = 0; p < n; p++)
		{
			diag += A[p * n + p] * A[p * n + p];
			for (size_t q = p + 1; q < n; q++)
				off += A[p * n + q] * A[p * n + q];
		}
		if (off <= 1e-30 * diag || off == 0)
			break;
		for (size_t p = 0; p < n; p++)
			for (size_t q = p + 1; q < n; q++)
			{
				double		apq = A[p * n + q],
							theta,
							t,
							c,
							s;

				if (apq == 0)
					continue;
				theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
				t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
				c = 1 / sqrt(t * t + 1);
				s = t * c;
				rotate(A + p, A + q, n, n, c, s);	/* columns p and q */
				rotate(A + p * n, A + q * n, 1, n, c, s);	/* rows p and q */
				rotate(V + p, V + q, n, n, c, s);
			}
	}

	/* x = V diag(1/e) V' b over the eigenvalues that carry information */
	for (size_t i = 0; i < n; i++)
		if (fabs(A[i * n + i]) > largest)
			largest = fabs(A[i * n + i]);
	memset(x, 0, n * sizeof(double));
	for (size_t e = 0; e < n; e++)
	{
		double		ev = A[e * n + e],
					proj = 0;

		if (!(ev > rtol * largest) || ev <= 0)
			continue;
		for (size_t k = 0; k < n; k++)
			proj += V[k * n + e] * b[k];
		proj /= ev;
		for (size_t k = 0; k < n; k++)
			x[k] += V[k * n + e] * proj;
	}
	free(V);
	return true;
}

bool
mlp_ridge_fit(const float *X, const float *y, size_t nrows, size_t ncols,
			  double lambda, MlpRidgeStop stop, void *stop_arg,
			  double *w, double *bias, char *err, size_t errlen)
{
	double		mean_x[MLP_RIDGE_MAX_COLS] = {0},
				xty[MLP_RIDGE_MAX_COLS] = {0},
				mean_y = 0;
	double	   *A;
	bool		ok;

	if (X == NULL || y == NULL || nrows == 0 || ncols == 0 || ncols > MLP_RIDGE_MAX_COLS)
	{
		snprintf(err, errlen, "ridge regression needs at least one row and 1 to %d columns",
				 MLP_RIDGE_MAX_COLS);
		return false;
	}
	if (!(lambda >= 0) || !isfinite(lambda))
	{
		snprintf(err, errlen, "lambda must be a finite number of at least 0");
		return false;
	}

	/* pass 1: means */
	for (size_t i = 0; i < nrows; i++)
	{
		const float *row = X + i * ncols;

		if (stop != NULL && i % STOP_EVERY == 0 && stop(stop_arg))
		{
			snprintf(err, errlen, "canceled");
			return false;
		}
		for (size_t j = 0; j < ncols; j++)
			mean_x[j] += value_or_zero(row[j]);
		mean_y += y[i];
	}
	for (size_t j = 0; j < ncols; j++)
		mean_x[j] /= nrows;
	mean_y /= nrows;

	/* pass 2: centered cross-products, upper triangle */
	A = calloc(ncols * ncols, sizeof(double));
	if (A == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	for (size_t i = 0; i < nrows; i++)
	{
		const float *row = X + i * ncols;
		double		xc[MLP_RIDGE_MAX_COLS];
		double		yc = y[i] - mean_y;

		if (stop != NULL && i % STOP_EVERY == 0 && stop(stop_arg))
		{
			free(A);
			snprintf(err, errlen, "canceled");
			return false;
		}
		for (size_t j = 0; j < ncols; j++)
			xc[j] = value_or_zero(row[j]) - mean_x[j];
		for (size_t j = 0; j < ncols; j++)
		{
			double	   *Aj = A + j * ncols;
			double		xj = xc[j];

			for (size_t k = j; k < ncols; k++)
				Aj[k] += xj * xc[k];
			xty[j] += xj * yc;
		}
	}
	for (size_t j = 0; j < ncols; j++)
	{
		A[j * ncols + j] += lambda * (double) nrows;
		for (size_t k = 0; k < j; k++)
			A[j * ncols + k] = A[k * ncols + j];
	}
	for (size_t j = 0; j < ncols * ncols; j++)
		if (!isfinite(A[j]))
		{
			free(A);
			snprintf(err, errlen, "the training rows hold a value too large for ridge regression");
			return false;
		}

	ok = mlp_sym_solve(A, xty, ncols, 1e-12, w);
	free(A);
	if (!ok)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	*bias = mean_y;
	for (size_t j = 0; j < ncols; j++)
		*bias -= mean_x[j] * w[j];
	return true;
}
