-- How the features read mlpipe.purchases (pg_scan.c): one sequential scan,
-- put in (customer, date) order in memory.  The training set must depend on
-- the purchases alone, never on where the table stores them.  And
-- mlpipe_training_rows() streams: the planner inlines it (no Function Scan,
-- which would collect every row in a tuplestore first).
SET client_min_messages = warning;
TRUNCATE mlpipe.purchases;

-- 300 customers with 1 to 12 purchases, stored in a scrambled order;
-- customer 5 bought three times at the same instant; summed in another
-- order the amounts differ in the last bit: (100.1 + 0.1) + 300.03 is
-- 400.22999999999996, (300.03 + 100.1) + 0.1 is 400.23
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT c, 20 + c % 50,
       CASE WHEN (c + k) % 7 = 0 THEN NULL WHEN c % 2 = 0 THEN 'Male' ELSE 'Female' END,
       40000 + (c * 37 % 100) * 1000, (c * 13 + k * 29) % 900 + 0.25,
       timestamptz '2023-01-01 00:00:00+00' + ((c * 7 + k * 53) % 400) * interval '1 day'
         + k * interval '1 minute'
FROM generate_series(1, 300) c, generate_series(1, 1 + c % 12) k
ORDER BY (c * 7919 + k * 104729) % 1009, c, k;
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
VALUES (5, 25, 'Female', 45000, 100.1, '2023-02-01 00:00:00+00'),
       (5, 25, 'Female', 45000, 0.1, '2023-02-01 00:00:00+00'),
       (5, 25, 'Female', 45000, 300.03, '2023-02-01 00:00:00+00');
CREATE TEMP TABLE scrambled AS SELECT * FROM mlpipe_training_rows();
SELECT count(*) AS rows, count(DISTINCT customer_id) AS customers,
       count(target) AS with_target FROM scrambled;

-- rows come in (customer_id, month) order without an ORDER BY
SELECT count(*) AS out_of_order FROM (
	SELECT customer_id, month,
	       lag(customer_id) OVER (ORDER BY n) AS prev_customer,
	       lag(month) OVER (ORDER BY n) AS prev_month
	FROM (SELECT *, row_number() OVER () AS n FROM mlpipe_training_rows()) r) s
WHERE (prev_customer, prev_month) >= (customer_id, month);

CREATE FUNCTION pg_temp.differences() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT * FROM scrambled EXCEPT ALL SELECT * FROM mlpipe_training_rows())
		UNION ALL
		(SELECT * FROM mlpipe_training_rows() EXCEPT ALL SELECT * FROM scrambled)) d
$$;

-- the same purchases stored in order, bit for bit the same rows
CLUSTER mlpipe.purchases USING purchases_customer_date_idx;
SELECT pg_temp.differences() AS in_order;

-- in reverse order
CREATE TEMP TABLE copy AS SELECT * FROM mlpipe.purchases;
TRUNCATE mlpipe.purchases;
INSERT INTO mlpipe.purchases SELECT * FROM copy ORDER BY customer_id DESC, purchase_date DESC, purchase_amount DESC;
SELECT pg_temp.differences() AS reversed;

-- in order but for a few rows moved to the end of the table (new versions)
CLUSTER mlpipe.purchases;
UPDATE mlpipe.purchases SET age = age WHERE customer_id % 40 = 0 OR customer_id = 5;
SELECT pg_temp.differences() AS some_rows_moved;

-- purchases dated +-infinity are unclean (outside years 1-9999): dropped
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
VALUES (7, 30, 'Male', 50000, 10, 'infinity'), (7, 30, 'Male', 50000, 10, '-infinity');
SELECT pg_temp.differences() AS with_infinite_dates;
DELETE FROM mlpipe.purchases WHERE NOT isfinite(purchase_date);

-- the last month's clv is the sum of all the customer's purchases
SELECT count(*) AS customers_with_wrong_clv FROM (
	SELECT customer_id, max(month) AS last_month FROM scrambled GROUP BY 1) l
JOIN scrambled s USING (customer_id)
WHERE s.month = l.last_month
  AND abs(s.features[18] * (mlpipe_standardization_params() #>> '{clv,std}')::float8
          + (mlpipe_standardization_params() #>> '{clv,mean}')::float8
          - (SELECT sum(purchase_amount) FROM mlpipe.purchases p
             WHERE p.customer_id = s.customer_id)) > 1e-6;

-- streamed: a subquery over a select-list call, not a Function Scan
EXPLAIN (COSTS OFF) SELECT * FROM mlpipe_training_rows();
EXPLAIN (COSTS OFF) SELECT count(*) FROM mlpipe_training_rows();

-- privileges and row-level security apply to the scan as to any query
CREATE ROLE regress_mlpipe_scan;
GRANT USAGE ON SCHEMA mlpipe TO regress_mlpipe_scan;
SET ROLE regress_mlpipe_scan;
SELECT count(*) FROM mlpipe_training_rows();
RESET ROLE;
GRANT SELECT ON mlpipe.purchases TO regress_mlpipe_scan;
ALTER TABLE mlpipe.purchases ENABLE ROW LEVEL SECURITY;
CREATE POLICY regress_few ON mlpipe.purchases FOR SELECT TO regress_mlpipe_scan
	USING (customer_id <= 20);
SET ROLE regress_mlpipe_scan;
SELECT count(DISTINCT customer_id) AS customers_seen, max(customer_id) AS max_customer
FROM mlpipe_training_rows();
RESET ROLE;
DROP POLICY regress_few ON mlpipe.purchases;
ALTER TABLE mlpipe.purchases DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON mlpipe.purchases FROM regress_mlpipe_scan;
REVOKE ALL ON SCHEMA mlpipe FROM regress_mlpipe_scan;
DROP ROLE regress_mlpipe_scan;
TRUNCATE mlpipe.purchases;
