/*
 * features.h — feature set v1 (docs/features.md), in plain C.
 *
 * This is the one implementation of the features.  Training (the set-returning
 * mlpipe_training_rows) and serving (mlpipe_preprocess, mlpipe_predict) both go
 * through it, so the two can never disagree.  It has no PostgreSQL dependency
 * so that it can be unit-tested and fuzzed on its own; the fmgr wrappers in
 * pg_features.c translate tuples into MlpPurchase arrays and back.
 *
 * Memory: nothing here allocates.  Callers pass output buffers sized with
 * mlp_months_capacity().
 */
#ifndef MLPIPE_FEATURES_H
#define MLPIPE_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLP_NFEATURES 19

/* Positions in the feature vector, in the order the old pipeline printed. */
enum MlpFeature
{
	MLP_F_AGE = 0,
	MLP_F_GENDER,
	MLP_F_FREQUENCY,
	MLP_F_DAYS_SINCE_LAST,
	MLP_F_AVG_DAYS_BETWEEN,
	MLP_F_AGE_19_25,
	MLP_F_AGE_26_35,
	MLP_F_AGE_36_45,
	MLP_F_AGE_46_55,
	MLP_F_AGE_56_65,
	MLP_F_AGE_65_PLUS,
	MLP_F_INCOME_LOW,
	MLP_F_INCOME_MEDIUM,
	MLP_F_INCOME_HIGH,
	MLP_F_INCOME_VERY_HIGH,
	MLP_F_PURCHASE_AMOUNT_STD,
	MLP_F_ANNUAL_INCOME_STD,
	MLP_F_CLV_STD,
	MLP_F_AGE_INCOME_STD
};

/* "age", "gender", ..., "age_income_interaction_standardized" */
extern const char *const mlp_feature_names[MLP_NFEATURES];

/* Genders as stored in the feature vector; the two others only occur in input. */
#define MLP_MALE			0
#define MLP_FEMALE			1
#define MLP_GENDER_MISSING	(-1)
#define MLP_GENDER_OTHER	(-2)

/* Map "Male"/"Female" (exact, case-sensitive) to MLP_MALE/MLP_FEMALE; NULL or
 * empty to MLP_GENDER_MISSING; anything else to MLP_GENDER_OTHER. */
int			mlp_gender_from_text(const char *s, size_t len);

/* One raw purchase.  Missing numbers are NaN (amount, income) or
 * MLP_AGE_MISSING (age). */
#define MLP_AGE_MISSING INT32_MIN

typedef struct MlpPurchase
{
	int64_t		ts;				/* seconds since 1970-01-01 00:00:00 UTC (floor) */
	int32_t		usec;			/* and microseconds past ts, 0..999999: day
								 * counts and "same timestamp" need them */
	double		amount;
	double		income;
	int32_t		age;
	int32_t		gender;			/* MLP_MALE, MLP_FEMALE, MLP_GENDER_MISSING, _OTHER */
} MlpPurchase;

/* Timestamps of clean purchases: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
 * (ISO 8601 four-digit years).  Bounds month indexes and day counts, so no
 * arithmetic on a clean purchase can overflow. */
#define MLP_TS_MIN	INT64_C(-62135596800)
#define MLP_TS_MAX	INT64_C(253402300799)

/* Cleaning step (1): false for a row that must be dropped.  A missing gender
 * is kept (it is filled later).  Non-finite numbers and a ts outside
 * MLP_TS_MIN..MLP_TS_MAX or a usec outside 0..999999 are unclean too. */
bool		mlp_purchase_is_clean(const MlpPurchase *p);

/*
 * The order in which a customer's purchases are used for training: by time,
 * then by every other field, so that only identical purchases tie and the
 * training set depends on the purchases alone, not on the order they were
 * stored or listed in.  For clean purchases (no NaN).  Returns <0, 0 or >0.
 */
int			mlp_purchase_cmp(const MlpPurchase *a, const MlpPurchase *b);

/* The order of the training scan: by customer, then mlp_purchase_cmp. */
int			mlp_customer_purchase_cmp(int64_t customer_a, const MlpPurchase *a,
									  int64_t customer_b, const MlpPurchase *b);

/* The four standardized columns. */
enum MlpStdColumn
{
	MLP_STD_PURCHASE_AMOUNT = 0,
	MLP_STD_ANNUAL_INCOME,
	MLP_STD_CLV,
	MLP_STD_AGE_INCOME,
	MLP_NSTD
};

/* "purchase_amount", "annual_income", "clv", "age_income_interaction" */
extern const char *const mlp_std_column_names[MLP_NSTD];

typedef struct MlpStandardization
{
	double		mean[MLP_NSTD];
	double		std[MLP_NSTD];	/* population standard deviation, > 0 */
} MlpStandardization;

/*
 * One (customer, month) row before standardization.  month is a month index:
 * year * 12 + (month - 1), of the UTC calendar.  Gender is kept as counts so
 * that the fill value for missing genders can be chosen after the scan
 * (training only knows the most frequent gender once every row was seen).
 */
typedef struct MlpMonth
{
	int32_t		month;
	int32_t		age;			/* most frequent age, ties: smallest */
	int32_t		n_male;
	int32_t		n_female;
	int32_t		n_missing_gender;
	int32_t		frequency;		/* purchases in the month, 0 in a gap month */
	double		annual_income;	/* max */
	double		purchase_amount;	/* sum */
	double		days_since_last;	/* of the month's first purchase; gap: prev + 30 */
	double		avg_days_between;	/* the customer's value */
	double		clv;			/* running sum of monthly purchase_amount */
} MlpMonth;

/* Upper bound on the months mlp_customer_months() writes for purchases
 * sorted by ts spanning first..last (last - first + 1 when gaps are filled). */
size_t		mlp_months_capacity(const MlpPurchase *sorted, size_t n, bool fill_gaps);

/*
 * The monthly rows of one customer.  `sorted` holds the customer's CLEAN
 * purchases (mlp_purchase_is_clean) in ascending ts order (ties keep their
 * order).  Writes the rows in month order into out (room for
 * mlp_months_capacity() rows) and returns how many were written.  With
 * fill_gaps, months without purchases between the first and the last month
 * are filled as docs/features.md says (training); without, they are absent
 * (serving).  Returns 0, writing nothing, when n is 0 or the input breaks
 * the preconditions (an unclean row, ts not ascending), so bad input can
 * never write past the capacity.
 */
size_t		mlp_customer_months(const MlpPurchase *sorted, size_t n, bool fill_gaps,
								MlpMonth *out);

/*
 * "Next month's amount", the one definition the training target and the
 * monitor's actuals share: in the customer's monthly rows (ascending month,
 * from mlp_customer_months), the purchase_amount of month + 1; 0 when the
 * customer bought nothing (clean) that month.  Only meaningful for a month
 * that is over: training asks only for months before the customer's last,
 * monitoring only once month + 1 has ended.
 */
double		mlp_next_month_amount(const MlpMonth *rows, size_t n, int32_t month);

/* Gender of a month: missing genders count as fill_gender (MLP_MALE or
 * MLP_FEMALE); the most frequent wins, ties: Female. */
int			mlp_month_gender(const MlpMonth *m, int fill_gender);

/* Accumulates the standardization parameters over monthly training rows:
 * mean and population std of the strictly positive values of each column. */
typedef struct MlpStdAccum
{
	double		n[MLP_NSTD];
	double		mean[MLP_NSTD];	/* Welford running mean */
	double		m2[MLP_NSTD];	/* Welford sum of squared deviations */
} MlpStdAccum;

void		mlp_std_accum_init(MlpStdAccum *acc);
void		mlp_std_accum_add(MlpStdAccum *acc, const MlpMonth *m);

/* Fills *out; returns false (and names the column in *bad_column) when a
 * column has no positive value or a zero std, so it cannot be standardized. */
bool		mlp_std_accum_finish(const MlpStdAccum *acc, MlpStandardization *out,
								 const char **bad_column);

/* A positive value becomes (x - mean) / std, anything else 0. */
double		mlp_standardize(const MlpStandardization *s, int column, double x);

/* The 19-value vector of a monthly row. */
void		mlp_month_vector(const MlpMonth *m, int fill_gender,
							 const MlpStandardization *s, double out[MLP_NFEATURES]);

/*
 * Serving: merges `newp` into the customer's stored purchases `stored`
 * (sorted by ts; may contain unclean rows, which are dropped; a stored
 * purchase with the same ts as newp is replaced by it), computes the monthly
 * rows without gap filling and returns the one of newp's month in *out.
 * Stored purchases with no gender take newp's gender.  `work` must have room
 * for n_stored + 1 purchases and `months` for n_stored + 1 months.  Returns
 * false if newp itself is not clean (the caller validates fields first and
 * reports which one is wrong).  If newp's own gender is missing, the stored
 * missing genders stay missing and the caller's fill_gender decides.
 */
bool		mlp_serving_month(const MlpPurchase *stored, size_t n_stored,
							  const MlpPurchase *newp,
							  MlpPurchase *work, MlpMonth *months, MlpMonth *out);

/* Unix seconds to the UTC month index year * 12 + (month - 1). */
int32_t		mlp_month_of(int64_t ts);

/* Unix seconds at 00:00 UTC on the first day of month index `month`;
 * mlp_month_of(mlp_month_start(m)) == m.  For |month| < 2^40. */
int64_t		mlp_month_start(int64_t month);

#endif							/* MLPIPE_FEATURES_H */
