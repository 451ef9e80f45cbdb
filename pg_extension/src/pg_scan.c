/*
 * pg_scan.c — mlpipe.purchases, customer by customer, in date order.
 *
 * The features need each customer's purchases in date order.  Reading them
 * through the (customer_id, purchase_date) index costs an index descent and
 * a buffer lookup per row; a sequential scan delivering straight into
 * compact arrays, then put in order in memory, costs about half as much
 * when the table is mostly in that order already (sql/load_purchases.sql
 * stores each load so), and stays O(n log n) when it is not.
 *
 * Putting in order: a row that does not sort after the previous kept row is
 * set aside as a "stray".  The kept rows form a sorted run; the strays are
 * sorted on their own and merged into it.  A table in order, or nearly
 * (a few hundred rows placed out of order by free-space reuse), costs one
 * comparison per row and a sort of the few strays.
 *
 * The scan runs through SPI so that privileges and row-level security
 * apply as to any query, but with our own DestReceiver: tuples go from the
 * scan into the arrays without being copied into an SPI tuple table.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "tcop/dest.h"
#include "utils/memutils.h"

#include "mlpipe_pg.h"

/* A purchase with its customer, for the strays. */
typedef struct ScanRow
{
	int64		customer_id;
	MlpPurchase p;
} ScanRow;

/*
 * The clean purchases read so far: a sorted run in two parallel arrays
 * (the callback wants a customer's purchases contiguous) and the strays.
 */
typedef struct PurchaseArrays
{
	MemoryContext cxt;			/* where the arrays live */
	int64		n;
	int64		cap;
	int64	   *customer_id;
	MlpPurchase *p;
	int64		nstrays;
	int64		strays_cap;
	ScanRow    *strays;
} PurchaseArrays;

typedef struct PurchaseReceiver
{
	DestReceiver pub;
	PurchaseArrays *arrays;
} PurchaseReceiver;

static SPIPlanPtr scan_plan = NULL;

static void
run_reserve(PurchaseArrays *a, int64 cap)
{
	if (cap <= a->cap)
		return;
	if (a->customer_id == NULL)
	{
		a->customer_id = MemoryContextAllocHuge(a->cxt, cap * sizeof(int64));
		a->p = MemoryContextAllocHuge(a->cxt, cap * sizeof(MlpPurchase));
	}
	else
	{
		a->customer_id = repalloc_huge(a->customer_id, cap * sizeof(int64));
		a->p = repalloc_huge(a->p, cap * sizeof(MlpPurchase));
	}
	a->cap = cap;
}

static void
add_stray(PurchaseArrays *a, int64 c, const MlpPurchase *p)
{
	if (a->nstrays == a->strays_cap)
	{
		a->strays_cap = a->strays_cap ? a->strays_cap * 2 : 1024;
		a->strays = a->strays
			? repalloc_huge(a->strays, a->strays_cap * sizeof(ScanRow))
			: MemoryContextAllocHuge(a->cxt, a->strays_cap * sizeof(ScanRow));
	}
	a->strays[a->nstrays].customer_id = c;
	a->strays[a->nstrays].p = *p;
	a->nstrays++;
}

/*
 * Row (c, p) sorts before the end of the run.  If the run's last few rows
 * are what is out of place (a row stored on an earlier page, say), they
 * become strays and the run goes on with (c, p): true.  Otherwise the new
 * row is the stray: false.  Without this one high row would turn every row
 * after it, up to its customer, into strays.
 */
#define MAX_TAIL_DROP 8

static bool
drop_run_tail(PurchaseArrays *a, int64 c, const MlpPurchase *p)
{
	int64		keep = a->n - 1;	/* rows [0, keep) stay in the run */

	while (keep > 0 && a->n - keep <= MAX_TAIL_DROP &&
		   mlp_customer_purchase_cmp(a->customer_id[keep - 1], &a->p[keep - 1], c, p) > 0)
		keep--;
	if (keep == 0 || a->n - keep > MAX_TAIL_DROP)
		return false;
	for (int64 i = keep; i < a->n; i++)
		add_stray(a, a->customer_id[i], &a->p[i]);
	a->n = keep;
	return true;
}

static bool
receive_purchase(TupleTableSlot *slot, DestReceiver *self)
{
	PurchaseArrays *a = ((PurchaseReceiver *) self)->arrays;
	MlpPurchase p;
	int64		c;

	slot_getallattrs(slot);
	c = DatumGetInt64(slot->tts_values[0]);
	mlpipe_values_to_purchase(slot->tts_values + 1, slot->tts_isnull + 1, &p);
	/* cleaning step (1): an unclean row is dropped before it costs memory */
	if (!mlp_purchase_is_clean(&p))
		return true;
	if (a->n > 0 && mlp_customer_purchase_cmp(a->customer_id[a->n - 1], &a->p[a->n - 1], c, &p) > 0 &&
		!drop_run_tail(a, c, &p))
	{
		add_stray(a, c, &p);
		return true;
	}
	if (a->n == a->cap)
		run_reserve(a, a->cap ? a->cap * 2 : 65536);
	a->customer_id[a->n] = c;
	a->p[a->n] = p;
	a->n++;
	return true;
}

static void
receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
receiver_shutdown(DestReceiver *self)
{
}

static void
receiver_destroy(DestReceiver *self)
{
}

static inline int
scan_row_cmp(const ScanRow *x, const ScanRow *y)
{
	return mlp_customer_purchase_cmp(x->customer_id, &x->p, y->customer_id, &y->p);
}

#define ST_SORT sort_scan_rows
#define ST_ELEMENT_TYPE ScanRow
#define ST_COMPARE(x, y) scan_row_cmp((x), (y))
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Sorts the strays and merges them into the run, from the back. */
static void
merge_strays(PurchaseArrays *a)
{
	int64		i = a->n - 1;
	int64		j = a->nstrays - 1;
	int64		k = a->n + a->nstrays - 1;

	if (a->nstrays == 0)
		return;
	sort_scan_rows(a->strays, a->nstrays);
	run_reserve(a, a->n + a->nstrays);
	while (j >= 0)
	{
		const ScanRow *s = &a->strays[j];

		if (i >= 0 && mlp_customer_purchase_cmp(a->customer_id[i], &a->p[i], s->customer_id, &s->p) > 0)
		{
			a->customer_id[k] = a->customer_id[i];
			a->p[k] = a->p[i];
			i--;
		}
		else
		{
			a->customer_id[k] = s->customer_id;
			a->p[k] = s->p;
			j--;
		}
		k--;
	}
	a->n += a->nstrays;
	a->nstrays = 0;
	pfree(a->strays);
	a->strays = NULL;
}

/* Every clean purchase of mlpipe.purchases into *a: the run and the strays. */
static void
read_purchases(PurchaseArrays *a)
{
	PurchaseReceiver receiver;
	SPIExecuteOptions options;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (scan_plan == NULL)
	{
		/* cursor options 0: no parallel plan; workers would interleave the
		 * rows and turn a table in order into many strays */
		SPIPlanPtr	plan = SPI_prepare_cursor("SELECT customer_id, age, gender, annual_income,"
											  " purchase_amount, purchase_date"
											  " FROM mlpipe.purchases",
											  0, NULL, 0);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "cannot prepare the scan of mlpipe.purchases: %s",
				 SPI_result_code_string(SPI_result));
		scan_plan = plan;
	}

	memset(&receiver, 0, sizeof(receiver));
	receiver.pub.receiveSlot = receive_purchase;
	receiver.pub.rStartup = receiver_startup;
	receiver.pub.rShutdown = receiver_shutdown;
	receiver.pub.rDestroy = receiver_destroy;
	receiver.pub.mydest = DestNone;
	receiver.arrays = a;

	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = &receiver.pub;
	/* with a DestNone receiver SPI reports SPI_OK_UTILITY: only errors matter */
	rc = SPI_execute_plan_extended(scan_plan, &options);
	if (rc < 0)
		elog(ERROR, "scan of mlpipe.purchases failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

void
mlpipe_scan_customers(MlpCustomerFn fn, void *arg)
{
	PurchaseArrays a;
	int64		start = 0;

	memset(&a, 0, sizeof(a));
	a.cxt = AllocSetContextCreate(CurrentMemoryContext, "mlpipe purchases",
								  ALLOCSET_DEFAULT_SIZES);
	read_purchases(&a);
	merge_strays(&a);

	while (start < a.n)
	{
		int64		end = start + 1;

		while (end < a.n && a.customer_id[end] == a.customer_id[start])
			end++;
		fn(a.customer_id[start], &a.p[start], end - start, arg);
		start = end;
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(a.cxt);
}
