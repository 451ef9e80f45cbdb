-- mlpipe_train's refusals: each error's SQLSTATE, message, detail and hint
-- (docs/sql.md), checked before any data is read.
CREATE FUNCTION train_error(stmt text) RETURNS TABLE (state text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	state := 'ok';
	RETURN NEXT;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN NEXT;
END;
$$;
-- training's progress NOTICEs depend on the machine's speed
SET client_min_messages = warning;
\x on
-- nthread: XGBoost's OpenMP threads must not run in a backend (defect 5)
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'xgboost', '1', '{"nthread": 4}')$$);
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'random_forest', '1', '{"nthread": 2}')$$);
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'svm', '1', '{}')$$);
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'xgboost', '1', '{"n_estimators": 0}')$$);
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'xgboost', '1', '{"objective": "reg:logistic"}')$$);
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'xgboost', '1', '{"num_parallel_tree": 3}')$$);
SELECT * FROM train_error($$SELECT mlpipe_train('t', 'xgboost', '1', '[1]')$$);
-- a trained model larger than mlpipe.max_model_size is refused, and nothing
-- is registered (defect 4: the size is checked before XGBoost's JSON is copied)
-- 40 customers, a purchase a month for a year, varied enough to standardize
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT c, 20 + c, CASE WHEN c % 2 = 0 THEN 'Male' ELSE 'Female' END, 30000 + 1000 * c,
       10 + (c * 7 + m * 13) % 90, timestamptz '2023-01-15 12:00+00' + make_interval(months => m)
FROM generate_series(1, 40) c, generate_series(0, 11) m;
SET mlpipe.max_model_size = '2kB';
SELECT state, message, regexp_replace(detail, '[0-9]{4,} bytes;', 'N bytes;') AS detail, hint
FROM train_error($$SELECT mlpipe_train('too_big', 'xgboost', '1', '{"n_estimators": 20}')$$);
RESET mlpipe.max_model_size;
SELECT count(*) AS too_big_registered FROM mlpipe.models WHERE model_name = 'too_big';
SHOW mlpipe.max_model_size;
-- a cached model lives in a memory context of its own, under the cache's
-- (defect 6: parsed models were malloc'd, invisible here)
SELECT mlpipe_train('small', 'xgboost', '1', '{"n_estimators": 3}') ? 'rmse_test' AS trained;
SELECT mlpipe_predict('small', '1', array_fill(0::float8, ARRAY[19])) IS NOT NULL AS predicted;
SELECT name, ident = (SELECT id::text FROM mlpipe.models WHERE model_name = 'small') AS ident_is_id,
       parent, level, total_bytes > 0 AS holds_memory
FROM pg_backend_memory_contexts WHERE name LIKE 'mlpipe model%' ORDER BY level, name;
SET mlpipe.max_model_size = '1025MB';
DELETE FROM mlpipe.purchases;
\x off
DROP FUNCTION train_error(text);
