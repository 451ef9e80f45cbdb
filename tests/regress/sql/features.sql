-- Feature set v1 (docs/features.md) through its SQL surface (docs/sql.md):
-- mlpipe_feature_names, mlpipe_training_rows, mlpipe_standardization_params,
-- mlpipe_preprocess.  Every expected value below is worked out by hand in the
-- comments next to the query, from the purchases inserted here.
--
-- Starts from, and leaves, an empty mlpipe.purchases: other suites share the
-- database.
SET TimeZone = 'UTC';
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT count(*) AS purchases_before FROM mlpipe.purchases;

-- ---------------------------------------------------------------------
-- Vector order: 19 names, as the old pipeline printed them.
SELECT i, name FROM unnest(mlpipe_feature_names()) WITH ORDINALITY AS t(name, i) ORDER BY i;

-- Helpers.  A training row split in two: the 15 unstandardized values
-- exactly, the 4 standardized ones (purchase_amount, annual_income, clv,
-- age_income_interaction) rounded to 6 decimals.
CREATE FUNCTION pg_temp.std4(v double precision[]) RETURNS numeric[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round(x::numeric, 6) ORDER BY i)
	FROM unnest(v[16:19]) WITH ORDINALITY AS t(x, i)
$$;

-- ---------------------------------------------------------------------
-- Training set.  Hand-made customers (all times UTC unless an offset is given):
--
-- customer 1: Male, age 30, income 50000 (no income indicator: (0,54415] is
--   the dropped first bin), age group 26-35.
--   2024-01-10 00:00  40
--   2024-01-11 12:00  60    36 hours later: 1 whole day (floor)
--   2024-03-01T01:00:00+03:00  300   = 2024-02-29 22:00 UTC: FEBRUARY, not
--                               March; 49 days 10 h after Jan 11 12:00: 49
--   2024-04-15 00:00  100   45 days 2 h after Feb 29 22:00: 45
--   days per purchase: -1, 1, 49, 45; avg = 94 / 4 = 23.5 -> 23 (toward zero)
--   months: Jan (freq 2, amount 100, days -1, clv 100)
--           Feb (freq 1, amount 300, days 49, clv 400)
--           Mar gap (freq 0, amount 0, days 49 + 30 = 79, clv 400 carried)
--           Apr (freq 1, amount 100, days 45, clv 500)
-- customer 2: two purchases on the same day, 10 hours apart:
--   2024-01-05 10:00  Male,   age 41, income 70000, 100
--   2024-01-05 20:00  Female, age 40, income 60000, 200
--   age tie 41/40 -> 40 (smallest); gender tie -> Female (1); income = max
--   = 70000 (the first, not the last) -> income_group_Low; days -1, 0:
--   avg = -0.5 -> 0 toward zero (floor would give -1).  One month: amount 300.
-- customer 3: age 50, income 70000 (age 46-55, income Low):
--   2024-01-20  Male  100
--   2024-02-03  NULL gender  300   -> filled with the training mode, Male (0)
--   2024-03-03  Male  300          (2024 is a leap year: 29 days)
--   days -1, 14, 29: avg = 42 / 3 = 14
-- customer 4: the cleaning rules.  Clean: 2024-01-01 and 2024-01-21, Female,
--   age 120 (kept: the limit is "above 120"; no age group: above 100),
--   income 0 (kept: not negative; no income group; not standardized),
--   amounts 40 + 60.  days -1, 20: avg = 19 / 2 = 9.5 -> 9.
--   Dropped (each otherwise valid, all Female but the 'Other' one): a negative
--   amount (on 2023-12-15: kept it would make a December row), a negative
--   income, age 0, age 121, NULL age, NULL income, NULL amount (all between
--   the two clean ones: kept they would change frequency and days), gender
--   'Other' (on 2024-02-10: kept it would make a February row).
-- customer 5: one purchase -> dropped from training (step 3).
-- customer 6: one clean purchase and one with age 0 -> one left -> dropped.
--
-- Gender mode (step 2) over the clean rows: Male 4 + 1 + 2 + 1 (customer 5)
-- = 8, Female 1 + 2 + 1 (customer 6) = 4 -> Male.  Counted before cleaning it
-- would be Female (8 more Female rows among the dropped ones): so customer 3's
-- February shows that cleaning comes first.
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date) VALUES
	(1, 30, 'Male', 50000, 40, '2024-01-10 00:00:00+00'),
	(1, 30, 'Male', 50000, 60, '2024-01-11 12:00:00+00'),
	(1, 30, 'Male', 50000, 300, '2024-03-01T01:00:00+03:00'),
	(1, 30, 'Male', 50000, 100, '2024-04-15 00:00:00+00'),
	(2, 41, 'Male', 70000, 100, '2024-01-05 10:00:00+00'),
	(2, 40, 'Female', 60000, 200, '2024-01-05 20:00:00+00'),
	(3, 50, 'Male', 70000, 100, '2024-01-20 00:00:00+00'),
	(3, 50, NULL, 70000, 300, '2024-02-03 00:00:00+00'),
	(3, 50, 'Male', 70000, 300, '2024-03-03 00:00:00+00'),
	(4, 120, 'Female', 0, 40, '2024-01-01 00:00:00+00'),
	(4, 120, 'Female', 0, 60, '2024-01-21 00:00:00+00'),
	(4, 30, 'Female', 50000, -10, '2023-12-15 00:00:00+00'),
	(4, 30, 'Female', -1, 10, '2024-01-05 00:00:00+00'),
	(4, 0, 'Female', 50000, 10, '2024-01-06 00:00:00+00'),
	(4, 121, 'Female', 50000, 10, '2024-01-07 00:00:00+00'),
	(4, NULL, 'Female', 50000, 10, '2024-01-08 00:00:00+00'),
	(4, 30, 'Female', NULL, 10, '2024-01-09 00:00:00+00'),
	(4, 30, 'Female', 50000, NULL, '2024-01-10 00:00:00+00'),
	(4, 30, 'Other', 50000, 10, '2024-02-10 00:00:00+00'),
	(5, 35, 'Male', 90000, 100, '2024-01-15 00:00:00+00'),
	(6, 28, 'Female', 40000, 100, '2024-01-07 00:00:00+00'),
	(6, 0, 'Female', 40000, 100, '2024-02-07 00:00:00+00');

-- Standardization parameters: mean and population std of the strictly
-- positive values of the 9 monthly rows above (customer 1's gap month
-- included where positive).
--   purchase_amount: 100 300 100 (gap 0 left out) | 300 | 100 300 300 | 100
--     = four 100s and four 300s: mean 200, std 100
--   annual_income: 50000 x4 (gap carried) | 70000 | 70000 x3 | (0 left out)
--     = four 50000s and four 70000s: mean 60000, std 10000
--   clv: 100 400 400 500 | 300 | 100 400 700 | 100: sum 3000, mean 1000/3
--     = 333.333333; mean of squares 1340000/9, variance 340000/9,
--     std 100 sqrt(34) / 3 = 194.365063
--   age_income_interaction: 30 x 50000 = 1.5e6 x4 | 40 x 70000 = 2.8e6 |
--     50 x 70000 = 3.5e6 x3 | (120 x 0 left out): sum 19.3e6, mean 2412500;
--     deviations -912500 x4, 387500, 1087500 x3; variance 7.02875e12 / 8 =
--     878593750000, std 937333.318516
SELECT key, round((value ->> 'mean')::numeric, 6) AS mean,
       round((value ->> 'std')::numeric, 6) AS std,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(value) AS k) AS keys
FROM jsonb_each(mlpipe_standardization_params()) ORDER BY key;
-- the same numbers from the hand-written lists of positive values
SELECT col, round(avg(x)::numeric, 6) AS mean, round(stddev_pop(x)::numeric, 6) AS std
FROM (VALUES ('clv', 100), ('clv', 400), ('clv', 400), ('clv', 500), ('clv', 300),
             ('clv', 100), ('clv', 400), ('clv', 700), ('clv', 100),
             ('age_income_interaction', 1500000), ('age_income_interaction', 1500000),
             ('age_income_interaction', 1500000), ('age_income_interaction', 1500000),
             ('age_income_interaction', 2800000), ('age_income_interaction', 3500000),
             ('age_income_interaction', 3500000), ('age_income_interaction', 3500000))
     AS v(col, x)
GROUP BY col ORDER BY col;

-- The training rows.  Standardized: amount 100 -> -1, 300 -> 1, 0 -> 0;
-- income 50000 -> -1, 70000 -> 1, 0 -> 0; clv 100 -> -1.200490,
-- 300 -> -0.171499, 400 -> 0.342997, 500 -> 0.857493, 700 -> 1.886484;
-- age x income 1.5e6 -> -0.973506, 2.8e6 -> 0.413407, 3.5e6 -> 1.160206,
-- 0 -> 0.  Target: next month's standardized amount, NULL on the last month:
--   customer 1: Jan -> Feb 300 = 1, Feb -> March gap 0 = 0, gap -> Apr 100 = -1
--   customer 3: Jan -> Feb 300 = 1, Feb -> Mar 300 = 1
-- Customers 5 and 6 have no row; customer 4 has no December or February.
SELECT customer_id, month, features[1:15] AS features_1_15,
       pg_temp.std4(features) AS standardized, round(target::numeric, 6) AS target
FROM mlpipe_training_rows() ORDER BY customer_id, month;
SELECT DISTINCT array_length(features, 1) AS n_features FROM mlpipe_training_rows();

-- ---------------------------------------------------------------------
-- Serving.  Parameters chosen for easy arithmetic: amount (200, 100),
-- income (60000, 10000), clv (300, 100), age x income (2e6, 1e6).
\set params '{"purchase_amount": {"mean": 200, "std": 100}, "annual_income": {"mean": 60000, "std": 10000}, "clv": {"mean": 300, "std": 100}, "age_income_interaction": {"mean": 2000000, "std": 1000000}}'
CREATE TABLE pg_temp.params AS SELECT :'params'::jsonb AS p;

-- The 19 values of mlpipe_preprocess's object, in vector order, split as above.
CREATE FUNCTION pg_temp.pp(cid bigint, ts timestamptz, amount float8, income float8,
	age int, gender text,
	OUT features_1_15 float8[], OUT standardized numeric[])
LANGUAGE sql AS $$
	SELECT (array_agg((j ->> n)::float8 ORDER BY i))[1:15],
	       pg_temp.std4(array_agg((j ->> n)::float8 ORDER BY i))
	FROM (SELECT mlpipe_preprocess(cid, ts, amount, income, age, gender, p) AS j
	      FROM pg_temp.params) s,
	     unnest(mlpipe_feature_names()) WITH ORDINALITY AS t(n, i)
$$;

-- The object has exactly the 19 names as keys.
SELECT array(SELECT k FROM jsonb_object_keys(mlpipe_preprocess(100, '2024-05-10 12:00+00', 300, 70000, 40, 'Female', p)) AS k ORDER BY k)
     = array(SELECT n FROM unnest(mlpipe_feature_names()) AS n ORDER BY n) AS same_keys
FROM pg_temp.params;

-- A customer with no history (100): one purchase, days -1, avg -1 (the mean
-- of the single -1), age group 36-45, income Low; amount (300-200)/100 = 1,
-- income (70000-60000)/10000 = 1, clv 300 -> 0, 40 x 70000 = 2.8e6 -> 0.8.
SELECT * FROM pg_temp.pp(100, '2024-05-10 12:00+00', 300, 70000, 40, 'Female');

-- Params wrapped in {"params": ...} and unwrapped give the same object.
SELECT mlpipe_preprocess(100, '2024-05-10 12:00+00', 300, 70000, 40, 'Female', jsonb_build_object('params', p))
     = mlpipe_preprocess(100, '2024-05-10 12:00+00', 300, 70000, 40, 'Female', p) AS wrapped_same
FROM pg_temp.params;

-- Customer 5 (dropped from training, one stored purchase on Jan 15: Male,
-- 35, 90000, 100) is valid for serving.  New purchase Jan 25, 200: January
-- has 2 purchases, amount 300 -> 1, days -1 (of the month's first), avg
-- (-1 + 10) / 2 = 4.5 -> 4; age 26-35, income 90000 Medium -> (90000-60000)
-- /10000 = 3; clv 300 -> 0; 35 x 90000 = 3.15e6 -> 1.15.
SELECT * FROM pg_temp.pp(5, '2024-01-25 00:00+00', 200, 90000, 35, 'Male');

-- Same timestamp: customer 3's stored 2024-02-03 00:00 UTC purchase (NULL
-- gender, 50, 70000, 300) is replaced by the new one given with an offset
-- (03:00+03:00 is the same instant): Female, 60, 80000, 100.  February:
-- freq 1, age 60 (56-65), gender 1, days 14 (since Jan 20), avg (-1 + 14 +
-- 29) / 3 = 14, income 80000 Medium -> 2, amount 100 -> -1, clv Jan 100 +
-- Feb 100 = 200 -> -1, 60 x 80000 = 4.8e6 -> 2.8.
SELECT * FROM pg_temp.pp(3, '2024-02-03 03:00:00+03', 100, 80000, 60, 'Female');

-- Serving does not fill gaps and takes the new purchase's month, even when
-- stored purchases follow it.  Customer 1, new purchase 2024-03-10 00:00
-- (in the training gap), 200: March: freq 1, days 9 (9 d 2 h after Feb 29
-- 22:00), days per purchase -1, 1, 49, 9, 36 (to Apr 15): avg 94 / 5 = 18.8
-- -> 18; amount 200 -> 0, income 50000 -> -1, clv 100 + 300 + 200 = 600
-- -> 3, 1.5e6 -> -0.5.
SELECT * FROM pg_temp.pp(1, '2024-03-10 00:00+00', 200, 50000, 30, 'Male');

-- Stored unclean rows are dropped when serving too: customer 4, new
-- purchase 2024-02-15 (Female, 120, income 0, 100): the stored 'Other' on
-- Feb 10 does not count: freq 1, days 25 (since Jan 21), avg (-1 + 20 + 25)
-- / 3 = 14.67 -> 14; no age or income group; amount 100 -> -1, income 0 ->
-- 0, clv 100 + 100 = 200 -> -1, 120 x 0 = 0 -> 0.
SELECT * FROM pg_temp.pp(4, '2024-02-15 00:00+00', 100, 0, 120, 'Female');

-- A stored purchase with no gender takes the new purchase's gender (not the
-- training mode, not nothing).  Customers 7 and 8: March 5, 6, 7 stored,
-- age 25, income 54415, 50 each; 7 has Male, NULL, NULL; 8 has Female,
-- NULL, NULL.  New purchase March 20, same values:
--   7 + Female: Male 1, Female 3 -> 1 (Male fill would give 0)
--   8 + Male:   Male 3, Female 1 -> 0 (ignoring NULLs or a Female fill: 1)
-- Both: freq 4, days -1, avg (-1 + 1 + 1 + 13) / 4 = 3.5 -> 3; age 25 ->
-- 19-25; income 54415 -> no group (upper edge of the dropped bin), (54415 -
-- 60000) / 10000 = -0.5585; amount 200 -> 0; clv 200 -> -1; 25 x 54415 =
-- 1360375 -> -0.639625.
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date) VALUES
	(7, 25, 'Male', 54415, 50, '2024-03-05 00:00:00+00'),
	(7, 25, NULL, 54415, 50, '2024-03-06 00:00:00+00'),
	(7, 25, NULL, 54415, 50, '2024-03-07 00:00:00+00'),
	(8, 25, 'Female', 54415, 50, '2024-03-05 00:00:00+00'),
	(8, 25, NULL, 54415, 50, '2024-03-06 00:00:00+00'),
	(8, 25, NULL, 54415, 50, '2024-03-07 00:00:00+00');
SELECT 7 AS customer_id, * FROM pg_temp.pp(7, '2024-03-20 00:00+00', 50, 54415, 25, 'Female')
UNION ALL
SELECT 8, * FROM pg_temp.pp(8, '2024-03-20 00:00+00', 50, 54415, 25, 'Male')
ORDER BY customer_id;

-- Whole days are floored from the exact instants: customer 9 bought on
-- 2024-04-30 00:00:00.5; a purchase on 2024-05-01 00:00:00.4 comes 23 h 59
-- min 59.9 s later: 0 whole days (May: days 0; avg (-1 + 0) / 2 = -0.5 -> 0).
-- And a purchase at 2024-04-30 00:00:00.2 is not at the same timestamp as the
-- stored one: both count (April: freq 2, amount 200 -> 0; clv 200 -> -1).
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date) VALUES
	(9, 30, 'Female', 50000, 100, '2024-04-30 00:00:00.5+00');
SELECT * FROM pg_temp.pp(9, '2024-05-01 00:00:00.4+00', 100, 50000, 30, 'Female');
SELECT * FROM pg_temp.pp(9, '2024-04-30 00:00:00.2+00', 100, 50000, 30, 'Female');

-- Bin edges, with customers that have no history (so one purchase each).
-- Age groups (features 6-11: 19-25, 26-35, 36-45, 46-55, 56-65, 65+), bins
-- right-closed: 18 is in the dropped (0,18]; 100 is the last edge; 101 and
-- 120 are outside every bin; 1 is in the dropped bin.
SELECT age, (pg_temp.pp(1000 + age, '2024-05-10 00:00+00', 100, 50000, age, 'Male')).features_1_15[6:11] AS age_groups
FROM unnest(ARRAY[1, 18, 19, 25, 26, 35, 36, 45, 46, 55, 56, 65, 66, 100, 101, 120]) AS age
ORDER BY age;
-- Income groups (features 12-15: Low, Medium, High, Very High): (0,54415]
-- dropped, then (54415,75395] (75395,94999] (94999,114295]
-- (114295,1015980]; 0 and above 1015980 are outside every bin.  Income 0
-- is a valid purchase, standardized to 0 (feature 17).
SELECT income, r.features_1_15[12:15] AS income_groups, r.standardized[2] AS income_std
FROM unnest(ARRAY[0, 54415, 54415.01, 75395, 75395.01, 94999, 94999.01,
                  114295, 114295.01, 1015980, 1015980.01]::float8[]) AS income,
     LATERAL pg_temp.pp(2000, '2024-05-10 00:00+00', 100, income, 30, 'Male') AS r
ORDER BY income;

-- ---------------------------------------------------------------------
-- A second training set: a gender tie, two gap months in a row, and whole
-- days floored from the exact instants.
--   customer 10: Female, age 30: 2024-04-30 00:00:00.5 (100, income 50000),
--     2024-05-01 00:00:00.4 (300, income 70000): 23 h 59 min 59.9 s apart,
--     so May's days = 0; avg (-1 + 0) / 2 = -0.5 -> 0.
--   customer 11: age 30: 2024-04-10 Male (100, 50000); 2024-05-10 NULL
--     gender and 2024-05-12 Male (100 + 200, 70000): days -1, 30, 2, avg
--     31 / 3 = 10.33 -> 10.
--   customer 12: age 40, income 60000: 2024-01-15 Male 100, 2024-04-20
--     Female 300: Feb and Mar are gaps: days -1 + 30 = 29, then 59; April
--     96 days after Jan 15 (16 + 29 + 31 + 20); avg 95 / 2 = 47.5 -> 47.
--     The gap months carry January's gender (Male).
-- Gender mode: Male 1 + 1 + 1 = 3, Female 2 + 1 = 3: a tie -> Female, so
-- customer 11's May is Male 1 + filled Female 1 -> tie -> Female (1).
-- Positive monthly amounts: 100 300 | 100 300 | 100 300 (gaps are 0): mean
-- 200, std 100, so targets are 100 -> -1, 300 -> 1, gap 0 -> 0.
TRUNCATE mlpipe.purchases;
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date) VALUES
	(10, 30, 'Female', 50000, 100, '2024-04-30 00:00:00.5+00'),
	(10, 30, 'Female', 70000, 300, '2024-05-01 00:00:00.4+00'),
	(11, 30, 'Male', 50000, 100, '2024-04-10 00:00:00+00'),
	(11, 30, NULL, 70000, 100, '2024-05-10 00:00:00+00'),
	(11, 30, 'Male', 70000, 200, '2024-05-12 00:00:00+00'),
	(12, 40, 'Male', 60000, 100, '2024-01-15 00:00:00+00'),
	(12, 40, 'Female', 60000, 300, '2024-04-20 00:00:00+00');
SELECT key, round((value ->> 'mean')::numeric, 6) AS mean, round((value ->> 'std')::numeric, 6) AS std
FROM jsonb_each(mlpipe_standardization_params()) WHERE key = 'purchase_amount';
SELECT customer_id, month, features[1:5] AS features_1_5, round(target::numeric, 6) AS target
FROM mlpipe_training_rows() ORDER BY customer_id, month;

-- ---------------------------------------------------------------------
-- Invalid input: SQLSTATE 22023, the message naming the field.
CREATE FUNCTION pg_temp.pp_error(cid bigint, ts timestamptz, amount float8, income float8,
	age int, gender text, params jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mlpipe_preprocess(cid, ts, amount, income, age, gender, params);
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
SELECT label, pg_temp.pp_error(cid, ts, amount, income, age, gender, params) AS error
FROM (VALUES
	(1, 'negative amount', 100::bigint, '2024-05-10 00:00+00'::timestamptz, -1::float8, 50000::float8, 30, 'Male', :'params'::jsonb),
	(2, 'negative income', 100, '2024-05-10 00:00+00', 100, -1, 30, 'Male', :'params'),
	(3, 'age 0', 100, '2024-05-10 00:00+00', 100, 50000, 0, 'Male', :'params'),
	(4, 'age 121', 100, '2024-05-10 00:00+00', 100, 50000, 121, 'Male', :'params'),
	(5, 'gender Other', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Other', :'params'),
	(6, 'gender male (case)', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'male', :'params'),
	(7, 'NULL customer_id', NULL, '2024-05-10 00:00+00', 100, 50000, 30, 'Male', :'params'),
	(8, 'NULL purchase_date', 100, NULL, 100, 50000, 30, 'Male', :'params'),
	(9, 'NULL purchase_amount', 100, '2024-05-10 00:00+00', NULL, 50000, 30, 'Male', :'params'),
	(10, 'NULL annual_income', 100, '2024-05-10 00:00+00', 100, NULL, 30, 'Male', :'params'),
	(11, 'NULL age', 100, '2024-05-10 00:00+00', 100, 50000, NULL, 'Male', :'params'),
	(12, 'NULL gender', 100, '2024-05-10 00:00+00', 100, 50000, 30, NULL, :'params'),
	(13, 'NULL params', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male', NULL),
	(14, 'params missing clv', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male', :'params'::jsonb - 'clv'),
	(15, 'wrapped params missing clv', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male',
		jsonb_build_object('params', :'params'::jsonb - 'clv')),
	(16, 'std 0', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male',
		jsonb_set(:'params', '{purchase_amount,std}', '0')),
	(17, 'std negative', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male',
		jsonb_set(:'params', '{annual_income,std}', '-10000')),
	(18, 'std not a number', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male',
		jsonb_set(:'params', '{clv,std}', '"abc"')),
	(19, 'mean missing', 100, '2024-05-10 00:00+00', 100, 50000, 30, 'Male',
		:'params'::jsonb #- '{age_income_interaction,mean}'),
	(20, 'valid (age 120, income 0)', 100, '2024-05-10 00:00+00', 0, 0, 120, 'Female', :'params'),
	-- outside the features' calendar: an internal error before the check
	(21, 'BC purchase_date', 100, '0001-01-01 00:00+00'::timestamptz - interval '1 second', 100, 50000, 30, 'Male', :'params'),
	(22, 'purchase_date infinity', 100, 'infinity', 100, 50000, 30, 'Male', :'params'))
	AS c(n, label, cid, ts, amount, income, age, gender, params)
ORDER BY n;

-- Leave the table as we found it.
TRUNCATE mlpipe.purchases;
