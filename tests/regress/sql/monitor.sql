-- Monitoring (SPEC section 9): the training distribution mlpipe_train
-- stores, mlpipe_drift against it, the prediction log's table and its
-- partitions, mlpipe_monitor against actuals worked out by hand.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET TimeZone = 'UTC';
-- six customers over four months, as in the roles test
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT c, 30 + c, CASE WHEN c % 2 = 0 THEN 'Male' ELSE 'Female' END, 50000 + 1000 * c,
       100 + 10 * c + m, make_timestamptz(2024, m, 1 + c, 12, 0, 0, 'UTC')
FROM generate_series(1, 6) c, generate_series(1, 4) m;
SELECT mlpipe_train('drift', 'linear', '1.0', '{}') ? 'feature_deciles' AS returned_with_deciles;
-- stored: every feature's 9 deciles and one share per bin, shares summing to 1
SELECT metadata -> 'feature_deciles' -> 'rows' AS rows,
       (SELECT count(*) FROM jsonb_object_keys(metadata -> 'feature_deciles' -> 'features')) AS features
FROM mlpipe.models WHERE model_name = 'drift';
SELECT f.key AS feature, jsonb_array_length(f.value -> 'deciles') AS deciles,
       jsonb_array_length(f.value -> 'shares') AS bins,
       round((SELECT sum(s::float8) FROM jsonb_array_elements_text(f.value -> 'shares') s)::numeric, 12) AS share_sum
FROM mlpipe.models m, jsonb_each(m.metadata -> 'feature_deciles' -> 'features') f
WHERE m.model_name = 'drift' AND f.key IN ('age', 'gender', 'income_group_Low', 'annual_income_standardized')
ORDER BY f.key;
-- the purchases it was trained on: no drift at all
SELECT feature, psi FROM mlpipe_drift('drift', '1.0', NULL);
SELECT count(*) FILTER (WHERE psi = 0) AS zero FROM mlpipe_drift('drift', NULL, '2024-01-01');
-- incomes doubled: the income features move, the others do not
BEGIN;
UPDATE mlpipe.purchases SET annual_income = annual_income * 2;
SELECT feature, round(psi::numeric, 4) AS psi FROM mlpipe_drift('drift', '1.0') WHERE psi > 0;
SELECT count(*) AS unmoved FROM mlpipe_drift('drift', '1.0') WHERE psi = 0;
ROLLBACK;
-- only the months from since's on: none after April 2024
SELECT count(*) AS features, count(psi) AS with_psi FROM mlpipe_drift('drift', '1.0', '2024-06-01');
-- errors
SELECT * FROM mlpipe_drift(NULL, '1.0');
SELECT * FROM mlpipe_drift('nosuch', '1.0');
SELECT * FROM mlpipe_drift('drift', '9.9');
-- a model registered from outside has no training distribution
SELECT mlpipe_register_model('outside', '1.0', mlpipe_model_artifact('drift', '1.0'),
       (SELECT standardization_params FROM mlpipe.models WHERE model_name = 'drift')) ->> 'model_name' AS registered;
SELECT * FROM mlpipe_drift('outside', '1.0');
SELECT mlpipe_register_model('outside', '2.0', mlpipe_model_artifact('drift', '1.0'),
       (SELECT standardization_params FROM mlpipe.models WHERE model_name = 'drift'), '{}',
       '{"feature_deciles": {"features": {"age": {"deciles": [1, 2], "shares": [1]}}}}') ->> 'model_name' AS registered;
SELECT * FROM mlpipe_drift('outside', '2.0');

-- ---- mlpipe_monitor ----
-- January 2024 purchases, then what each customer spent in February:
--   101: 40 + 60 = 100;   102: nothing (0), 30 in March;
--   103: 25 (the 999 of an age-0 row is unclean: cleaning drops it);
--   104: no purchase at all (0)
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date) VALUES
	(101, 40, 'Male', 60000, 100, '2024-01-10T10:00:00Z'),
	(101, 40, 'Male', 60000, 40, '2024-02-05T10:00:00Z'),
	(101, 40, 'Male', 60000, 60, '2024-02-20T10:00:00Z'),
	(102, 50, 'Female', 80000, 50, '2024-01-15T10:00:00Z'),
	(102, 50, 'Female', 80000, 30, '2024-03-01T10:00:00Z'),
	(103, 35, NULL, 70000, 70, '2024-01-03T10:00:00Z'),
	(103, 0, 'Male', 70000, 999, '2024-02-02T10:00:00Z'),
	(103, 35, 'Male', 70000, 25, '2024-02-10T10:00:00Z');
INSERT INTO mlpipe.predictions (model_name, version, customer_id, purchase_date, month, predicted) VALUES
	('drift', '1.0', 101, '2024-01-10T10:00:00Z', '2024-01-01', 90),	-- -10
	('drift', '1.0', 102, '2024-01-15T10:00:00Z', '2024-01-01', 10),	-- +10
	('drift', '1.0', 103, '2024-01-31T23:59:59Z', '2024-01-01', 30),	-- +5
	('drift', '1.0', 104, '2024-01-20T10:00:00Z', '2024-01-01', 4),	-- +4
	('drift', '1.0', 102, '2024-02-25T10:00:00Z', '2024-02-01', 20),	-- March: -10
	('drift', '1.0', 101, '2023-12-10T10:00:00Z', '2023-12-01', 500),	-- before since
	('drift', '2.0', 101, '2024-01-10T10:00:00Z', '2024-01-01', 500),	-- another version
	('drift', '1.0', 101, now(), date_trunc('month', now() AT TIME ZONE 'UTC')::date, 500);	-- month not over
-- February: RMSE sqrt((100 + 100 + 25 + 16) / 4) = sqrt(60.25), MAE 29 / 4, bias 9 / 4
SELECT month, predictions, rmse, mae, bias FROM mlpipe_monitor('drift', '1.0', '2024-01-01');
SELECT rmse = sqrt(60.25) AS rmse_as_by_hand FROM mlpipe_monitor('drift', '1.0', '2024-01-01')
WHERE month = '2024-02-01';
-- the latest version, everything logged: December's 500 against 0 in January
SELECT month, predictions, rmse FROM mlpipe_monitor('drift', NULL);
SELECT count(*) FROM mlpipe_monitor('drift', '1.0', '2030-01-01');
SELECT * FROM mlpipe_monitor(NULL, '1.0');
SELECT * FROM mlpipe_monitor('drift', '7.0');
-- the log's role writes rows, resolving a NULL version, and does nothing else
\getenv top MLPIPE_TOP
\cd :top
\set ECHO none
\set QUIET on
\i sql/roles.sql
\set QUIET off
\set ON_ERROR_STOP off
\set ECHO all
SET ROLE mlpipe_predlog;
INSERT INTO mlpipe.predictions (model_name, version, customer_id, purchase_date, month, predicted)
SELECT 'drift', coalesce(NULL, (SELECT x.version FROM mlpipe.models x
                                WHERE x.id = mlpipe.find_model_id('drift', NULL))),
       7, '2024-05-01', '2024-05-01', 1;
SELECT count(*) FROM mlpipe.predictions;
SELECT count(*) FROM mlpipe.purchases;
SELECT artifact FROM mlpipe.models LIMIT 1;
DELETE FROM mlpipe.predictions;
RESET ROLE;
SELECT version FROM mlpipe.predictions WHERE customer_id = 7;
-- partitions by the month rows are logged in: the current month and the next
SELECT count(*) AS created FROM mlpipe_prediction_partitions(1);
SELECT count(*) AS created_again FROM mlpipe_prediction_partitions(1);
SELECT tableoid::regclass = ('mlpipe.' || mlpipe.prediction_partition_name(date_trunc('month', now())))::regclass
       AS in_this_months_partition
FROM mlpipe.predictions WHERE month = date_trunc('month', now() AT TIME ZONE 'UTC')::date;
SELECT * FROM mlpipe_prediction_partitions(-1);
-- expiring everything logged up to two months from now drops both partitions
SELECT count(*) FILTER (WHERE r LIKE 'dropped%') AS dropped FROM mlpipe_expire_predictions(now() + interval '2 months') r;
SELECT count(*) AS left_after_expiry FROM mlpipe.predictions;
SELECT * FROM mlpipe_expire_predictions(NULL);
-- leave nothing behind for the next tests
DELETE FROM mlpipe.predictions;
DELETE FROM mlpipe.models;
TRUNCATE mlpipe.purchases;
