-- mlpipe_tune (docs/tuning.md): time-ordered folds, trials, reproducibility,
-- and the refusal of unknown hyperparameters in mlpipe_train and mlpipe_tune.
\set VERBOSITY terse
SET TimeZone = 'UTC';
-- progress NOTICEs carry times (tests/models checks them)
SET client_min_messages = warning;
-- 80 customers, a purchase in each month of 2023 and 2024 (24 months);
-- amounts follow income and the customer's own habit, with a deterministic wobble
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT c, 20 + c % 50, CASE WHEN c % 3 = 0 THEN 'Male' ELSE 'Female' END, 30000 + 900 * c,
       50 + 3 * c + 40 * ((c * 7 + m * 13) % 5) + 10 * (m % 4),
       make_timestamptz(2023 + (m - 1) / 12, (m - 1) % 12 + 1, 1 + c % 27, 12, 0, 0, 'UTC')
FROM generate_series(1, 80) c, generate_series(1, 24) m;

-- unknown hyperparameters are refused with 22023, naming the key, listing the valid ones
SELECT mlpipe_train('t', 'xgboost', '1', '{"max_depht": 3}');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT mlpipe_train('t', 'xgboost', '1', '{"max_depht": 3}');
SELECT mlpipe_train('t', 'linear', '1', '{"n_estimators": 3}');
SELECT mlpipe_tune('t', 'xgboost', '1', '{"space": {"max_depht": [2, 3]}}');
\set VERBOSITY terse
SELECT mlpipe_tune('t', 'xgboost', '1', '{"max_trials": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT mlpipe_tune('t', 'xgboost', '1', '{"method": "grid", "space": {"eta": {"min": 0.1, "max": 0.3}}}');
SELECT mlpipe_tune('t', 'xgboost', '1', '{"space": {"eta": {"min": 0, "max": 0.3, "log": true}}}');
SELECT mlpipe_tune('t', 'xgboost', '1', '{"folds": 40}');
SELECT mlpipe_tune('t', 'xgboost', '1', '{"trials": 0}');
SELECT mlpipe_tune('t', 'boosted', '1');
SELECT count(*) AS nothing_registered FROM mlpipe.models;

-- a small random search: 4 trials over 3 folds
SELECT m ? 'tuning' AS has_tuning, m -> 'tuning' -> 'best_trial' IS NOT NULL AS has_best,
       jsonb_array_length(m -> 'tuning' -> 'folds') AS folds,
       (m -> 'tuning' -> 'search' ->> 'trials')::int AS trials,
       (m -> 'tuning' ->> 'cv_rmse')::float8 > 0 AS cv_rmse_positive,
       (m ->> 'rmse_test')::float8 = (m -> 'tuning' ->> 'rmse_test')::float8 AS test_rmse_once
FROM mlpipe_tune('t', 'xgboost', '1',
     '{"trials": 4, "folds": 3, "seed": 7, "space": {"max_depth": {"min": 1, "max": 3, "int": true},
       "eta": {"min": 0.05, "max": 0.5, "log": true}, "n_estimators": [10, 20]}}') m;
SELECT count(*) AS trials, count(DISTINCT run_id) AS runs, min(trial), max(trial),
       bool_and(array_length(fold_rmse, 1) = 3) AS three_folds,
       bool_and(abs(cv_rmse - (SELECT avg(r) FROM unnest(fold_rmse) r)) < 1e-9) AS cv_is_mean
FROM mlpipe.tuning_trials WHERE model_name = 't' AND version = '1';
-- every fold trains only on months before the ones it validates on, and
-- each fold validates on later months than the one before
SELECT count(*) AS bad_folds FROM (
	SELECT f, lag(f) OVER (PARTITION BY t.run_id, t.trial ORDER BY i) AS prev
	FROM mlpipe.tuning_trials t, jsonb_array_elements(t.folds) WITH ORDINALITY AS x(f, i)
	WHERE t.model_name = 't') s
WHERE NOT ((f ->> 'train_from')::date <= (f ->> 'train_to')::date
       AND (f ->> 'train_to')::date < (f ->> 'valid_from')::date
       AND (f ->> 'valid_from')::date <= (f ->> 'valid_to')::date
       AND (prev IS NULL OR (prev ->> 'valid_to')::date < (f ->> 'valid_from')::date)
       AND (prev IS NULL OR (prev ->> 'train_to')::date < (f ->> 'train_to')::date));
-- the folds see the training split only: it ends before the last months
SELECT max((f ->> 'valid_to')::date) < (SELECT max(purchase_date)::date FROM mlpipe.purchases) AS before_test_split
FROM mlpipe.tuning_trials t, jsonb_array_elements(t.folds) f WHERE t.model_name = 't';
-- trial 1 of a random search is the sampled point; the params are the searched keys
SELECT trial, array(SELECT jsonb_object_keys(params)) AS searched FROM mlpipe.tuning_trials
WHERE model_name = 't' ORDER BY trial LIMIT 1;
-- the registered model: the best trial's values in its model_params
SELECT m.algorithm, m.metadata -> 'tuning' -> 'best_params' = t.params AS best_params_of_best_trial,
       (m.metadata -> 'tuning' ->> 'cv_rmse')::float8 = t.cv_rmse AS cv_rmse_of_best_trial,
       t.cv_rmse = (SELECT min(cv_rmse) FROM mlpipe.tuning_trials WHERE model_name = 't') AS lowest,
       m.model_params ->> 'max_depth' = t.params ->> 'max_depth' AS refit_with_best
FROM mlpipe.models m JOIN mlpipe.tuning_trials t
  ON t.model_name = m.model_name AND t.version = m.version
 AND t.trial = (m.metadata -> 'tuning' ->> 'best_trial')::int
WHERE m.model_name = 't';

-- the version is checked before any work: no new trial rows, 23505
SELECT mlpipe_tune('t', 'xgboost', '1', '{"trials": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS still_four FROM mlpipe.tuning_trials WHERE model_name = 't';

-- reproducible: the same search again gives the same trials and the same artifact bytes
SELECT mlpipe_tune('t', 'xgboost', '2',
     '{"trials": 4, "folds": 3, "seed": 7, "space": {"max_depth": {"min": 1, "max": 3, "int": true},
       "eta": {"min": 0.05, "max": 0.5, "log": true}, "n_estimators": [10, 20]}}') IS NOT NULL AS tuned_again;
SELECT count(*) AS differing_trials FROM mlpipe.tuning_trials a
FULL JOIN (SELECT * FROM mlpipe.tuning_trials WHERE version = '2') b USING (trial)
WHERE a.version = '1' AND (a.params IS DISTINCT FROM b.params OR a.fold_rmse IS DISTINCT FROM b.fold_rmse
      OR a.folds IS DISTINCT FROM b.folds);
SELECT count(DISTINCT sha256) AS distinct_artifacts FROM mlpipe.models WHERE model_name = 't';
-- another seed, other trials
SELECT mlpipe_tune('t', 'xgboost', '3',
     '{"trials": 4, "folds": 3, "seed": 8, "space": {"max_depth": {"min": 1, "max": 3, "int": true},
       "eta": {"min": 0.05, "max": 0.5, "log": true}, "n_estimators": [10, 20]}}') IS NOT NULL AS tuned_seed_8;
SELECT count(DISTINCT params) > 4 AS other_trials FROM mlpipe.tuning_trials WHERE model_name = 't';

-- a grid runs every combination, last key fastest (jsonb orders keys)
SELECT (mlpipe_tune('g', 'xgboost', '1', '{"method": "grid", "folds": 2,
        "space": {"max_depth": [1, 2], "n_estimators": [5, 10, 15]}}') -> 'tuning' -> 'search' ->> 'trials') AS grid_trials;
SELECT trial, params FROM mlpipe.tuning_trials WHERE model_name = 'g' ORDER BY trial;

-- linear: the default space searches lambda; trial 1 is the default (lambda 1)
SELECT (m -> 'tuning' -> 'search' -> 'space') AS linear_space
FROM mlpipe_tune('l', 'linear', '1', '{"trials": 5, "folds": 2}') m;
SELECT trial, params FROM mlpipe.tuning_trials WHERE model_name = 'l' AND trial = 1;

-- mlpipe_train refuses what it cannot use, and trains with what it knows
SELECT mlpipe_train('t', 'xgboost', '9', '{"max_depth": 3, "n_estimators": 5}') ? 'rmse_test' AS trained;
SELECT mlpipe_train('t', 'linear', '10', '{"lambda": 0.5}') ? 'rmse_test' AS trained;
SELECT model_params ->> 'lambda' AS lambda FROM mlpipe.models WHERE model_name = 't' AND algorithm = 'linear';

DELETE FROM mlpipe.models;
DELETE FROM mlpipe.tuning_trials;
TRUNCATE mlpipe.purchases;
