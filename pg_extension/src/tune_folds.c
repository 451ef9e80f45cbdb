/*
 * tune_folds.c — planning forward-chaining monthly folds.
 */
#include "tune_folds.h"

#include <stdio.h>
#include <stdlib.h>

/* Months between the first and the last row, the counting array's length:
 * bounded by the 4-digit years the features accept. */
#define MAX_SPAN (10000 * 12)

bool
mlp_plan_folds(const int32_t *months, size_t n, int nfolds,
			   MlpFold *folds, char *err, size_t errlen)
{
	int32_t		lo,
				hi;
	size_t	   *count;
	size_t		distinct = 0,
				below = 0;
	int32_t		cut[MLP_MAX_FOLDS + 1];
	int			k = 0;

	if (nfolds < 1 || nfolds > MLP_MAX_FOLDS)
	{
		snprintf(err, errlen, "folds must be between 1 and %d", MLP_MAX_FOLDS);
		return false;
	}
	if (n == 0)
	{
		snprintf(err, errlen, "there are no training rows to make folds of");
		return false;
	}
	lo = hi = months[0];
	for (size_t i = 1; i < n; i++)
	{
		if (months[i] < lo)
			lo = months[i];
		if (months[i] > hi)
			hi = months[i];
	}
	if ((int64_t) hi - lo >= MAX_SPAN)
	{
		snprintf(err, errlen, "the training rows span more than %d months", MAX_SPAN);
		return false;
	}
	count = calloc((size_t) (hi - lo + 1), sizeof(size_t));
	if (count == NULL)
	{
		snprintf(err, errlen, "out of memory planning folds");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		count[months[i] - lo]++;
	for (int32_t m = lo; m <= hi; m++)
		distinct += count[m - lo] > 0;
	if (distinct < (size_t) nfolds + 1)
	{
		free(count);
		snprintf(err, errlen,
				 "the training rows cover %zu month%s, and %d fold%s need at least %d",
				 distinct, distinct == 1 ? "" : "s", nfolds, nfolds == 1 ? "" : "s", nfolds + 1);
		return false;
	}

	/*
	 * Cut-off k is the first month with rows at which at least k/(K+1) of
	 * the rows lie before it; a month too big for one block pushes the
	 * next cut-offs later.  Leave a month with rows for every cut-off
	 * still to place, so that all K fit.
	 */
	{
		size_t		seen = 0;	/* months with rows before m */

		for (int32_t m = lo; m <= hi && k < nfolds; m++)
		{
			size_t		target;

			if (count[m - lo] == 0)
				continue;
			target = (size_t) (((double) n * (k + 1)) / (nfolds + 1) + 0.5);
			if (seen >= 1 && (below >= target || distinct - seen <= (size_t) (nfolds - k)))
				cut[k++] = m;
			below += count[m - lo];
			seen++;
		}
	}
	cut[nfolds] = hi + 1;

	for (int f = 0; f < nfolds; f++)
	{
		MlpFold    *fold = &folds[f];

		fold->train_first = lo;
		fold->valid_first = cut[f];
		fold->valid_last = cut[f + 1] - 1;
		fold->train_rows = 0;
		fold->valid_rows = 0;
		for (int32_t m = lo; m < cut[f]; m++)
			fold->train_rows += count[m - lo];
		for (int32_t m = cut[f]; m < cut[f + 1]; m++)
			fold->valid_rows += count[m - lo];
		/* the latest month with rows before the cut-off */
		fold->train_last = cut[f] - 1;
		while (fold->train_last > lo && count[fold->train_last - lo] == 0)
			fold->train_last--;
		/* and the validation block ends at its last month with rows */
		while (fold->valid_last > fold->valid_first && count[fold->valid_last - lo] == 0)
			fold->valid_last--;
	}
	free(count);
	return true;
}

void
mlp_month_text(int32_t m, char out[16])
{
	snprintf(out, 16, "%04d-%02d", (int) (m / 12), (int) (m % 12) + 1);
}
