/*
 * ridge.h — ridge regression in closed form, as XGBoost's gblinear states it.
 *
 * Plain C, no PostgreSQL, no XGBoost.  gblinear with reg:squarederror
 * minimizes
 *
 *     1/2 sum_i (y_i - b - x_i . w)^2  +  1/2 lambda n |w|^2  +  alpha n |w|_1
 *
 * (XGBoost multiplies lambda and alpha by the sum of the instance weights, n
 * here, and does not penalize the bias b), treating a missing value as 0.
 * With alpha = 0 that is ridge regression, whose optimum solves the normal
 * equations
 *
 *     (Xc' Xc + lambda n I) w = Xc' yc,    b = mean(y) - mean(x) . w
 *
 * over the centered rows; coordinate descent only approaches it.
 */
#ifndef MLPIPE_RIDGE_H
#define MLPIPE_RIDGE_H

#include <stdbool.h>
#include <stddef.h>

#define MLP_RIDGE_MAX_COLS 64

/* Asked every few thousand rows; returning true stops the fit (cancel). */
typedef bool (*MlpRidgeStop) (void *arg);

/*
 * Fits w[ncols] and *bias on X (nrows x ncols, row-major float, NaN =
 * missing = 0) and y.  lambda >= 0; with lambda = 0 and dependent columns
 * the minimum-norm solution is returned.  Two passes over the rows (means,
 * then centered cross-products, so that large offsets lose no precision)
 * and a symmetric eigen-solve of the ncols x ncols system.  Returns false
 * with a sentence in err on bad input, a non-finite value or a stop.
 */
bool		mlp_ridge_fit(const float *X, const float *y, size_t nrows, size_t ncols,
						  double lambda, MlpRidgeStop stop, void *stop_arg,
						  double *w, double *bias, char *err, size_t errlen);

/*
 * Solves the symmetric system A x = b (A n x n, row-major, overwritten) by
 * Jacobi eigen-decomposition, dropping eigenvalues below rtol times the
 * largest: the minimum-norm least-squares solution.  For the fit and its
 * unit tests.
 */
bool		mlp_sym_solve(double *A, const double *b, size_t n, double rtol, double *x);

#endif							/* MLPIPE_RIDGE_H */
