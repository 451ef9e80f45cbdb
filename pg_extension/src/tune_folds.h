/*
 * tune_folds.h — forward-chaining cross-validation folds by calendar month
 * (docs/tuning.md).
 *
 * Plain C, no PostgreSQL.  Fold k trains on the rows whose month is before
 * its cut-off m_k and validates on the months m_k .. m_(k+1) - 1, with
 * m_1 < m_2 < ... < m_K and the last fold validating up to the last month:
 * no fold validates on a month earlier than one it trained on, and every
 * validation block is later than the previous one.
 */
#ifndef MLPIPE_TUNE_FOLDS_H
#define MLPIPE_TUNE_FOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLP_MAX_FOLDS 12

/* Months are month indexes, year * 12 + (month - 1) (features.h). */
typedef struct MlpFold
{
	int32_t		train_first;	/* the earliest month trained on */
	int32_t		train_last;		/* the latest month trained on (< valid_first) */
	int32_t		valid_first;	/* m_k */
	int32_t		valid_last;		/* m_(k+1) - 1 */
	size_t		train_rows;
	size_t		valid_rows;
} MlpFold;

/*
 * Plans nfolds folds over the months of n rows (any order).  The cut-offs
 * split the rows as evenly as months allow into nfolds + 1 blocks, as a
 * time-series split does: the first block only ever trains, fold k
 * validates on block k + 1.  Cut-offs fall on months that have rows, so no
 * fold trains or validates on nothing.  Returns false with a sentence in
 * err when nfolds is out of 1..MLP_MAX_FOLDS or the rows cover fewer than
 * nfolds + 1 months.
 */
bool		mlp_plan_folds(const int32_t *months, size_t n, int nfolds,
						   MlpFold *folds, char *err, size_t errlen);

/* Writes month index m as "YYYY-MM" (8 bytes with the NUL). */
void		mlp_month_text(int32_t m, char out[16]);

#endif							/* MLPIPE_TUNE_FOLDS_H */
