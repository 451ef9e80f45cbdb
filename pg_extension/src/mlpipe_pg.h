/*
 * mlpipe_pg.h — what the PostgreSQL-side files of mlpipe share.
 *
 * The plain-C cores (features.h, xgb_model.h, xgb_train.h) know nothing of
 * PostgreSQL; these helpers turn SQL values into their inputs and back.
 */
#ifndef MLPIPE_PG_H
#define MLPIPE_PG_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "features.h"

/* Fills *p from deformed age, gender, annual_income, purchase_amount and
 * purchase_date columns (values[0..4]). */
extern void mlpipe_values_to_purchase(const Datum *values, const bool *nulls, MlpPurchase *p);

/*
 * Every purchase of mlpipe.purchases, one scan (pg_scan.c): fn is called
 * once per customer, in customer_id order, with that customer's clean
 * purchases (cleaning step 1) in mlp_purchase_cmp order.  The purchases
 * are all held in memory meanwhile (48 bytes each).
 */
typedef void (*MlpCustomerFn) (int64 customer_id, const MlpPurchase *clean, int64 n, void *arg);
extern void mlpipe_scan_customers(MlpCustomerFn fn, void *arg);

/* Sets p->ts and p->usec from a TimestampTz. */
extern void mlpipe_timestamp_to_purchase(TimestampTz ts, MlpPurchase *p);

/*
 * The training set of docs/features.md, built in one scan of
 * mlpipe.purchases: every (customer, month) row with gaps filled, the
 * fitted standardization, and the gender that fills missing ones.
 * Arrays are allocated in the current memory context (huge allocations).
 */
typedef struct TrainingSet
{
	int64		nrows;
	int64	   *customer_id;	/* per row */
	MlpMonth   *months;			/* per row */
	bool	   *has_target;		/* per row: false for a customer's last month */
	MlpStandardization std;
	int			fill_gender;
	int64		npurchases;		/* clean purchases used */
	int64		ncustomers;		/* customers kept (two purchases or more) */
} TrainingSet;

extern void mlpipe_build_training_set(TrainingSet *ts);

/* Row i's vector and target (NaN-free; target only if has_target[i]). */
extern void mlpipe_training_vector(const TrainingSet *ts, int64 i, double out[MLP_NFEATURES]);
extern double mlpipe_training_target(const TrainingSet *ts, int64 i);

/*
 * Appends "feature_deciles": {...} (no comma) to a model's metadata: the
 * deciles of every feature over the training set's rows and the share of
 * rows in each bin they bound, which mlpipe_drift compares against
 * (pg_drift.c).  mlpipe_train and mlpipe_tune both call it.
 */
extern void mlpipe_append_feature_deciles(StringInfo buf, const TrainingSet *ts);

/* Standardization parameters as the old pipeline stored them. */
extern Jsonb *mlpipe_std_to_jsonb(const MlpStandardization *std);

/*
 * Reads {"purchase_amount":{"mean":..,"std":..},...} or the same wrapped in
 * {"params":{...}}; ereport(ERROR, 22023) naming what is missing or wrong.
 */
extern void mlpipe_std_from_jsonb(Jsonb *jb, const char *argname, MlpStandardization *std);

/* A new purchase as SQL passes it; validated by mlpipe_serving_vector. */
typedef struct NewPurchase
{
	int64		customer_id;
	TimestampTz purchase_date;
	double		purchase_amount;
	double		annual_income;
	int32		age;
	text	   *gender;
} NewPurchase;

/*
 * Reads the six arguments of a serving call starting at argument `first`,
 * raising 22023 for NULLs and invalid values with the field's name.
 */
extern void mlpipe_read_new_purchase(FunctionCallInfo fcinfo, int first, NewPurchase *np);

/* The 19 features of a new purchase merged with the customer's history. */
extern void mlpipe_serving_vector(const NewPurchase *np, const MlpStandardization *std,
								  double out[MLP_NFEATURES]);

/* mlpipe.max_model_size: the largest artifact mlpipe_train stores (mlpipe.c). */
extern int	mlpipe_max_model_size;

#endif							/* MLPIPE_PG_H */
