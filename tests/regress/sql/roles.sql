-- Least privilege: sql/roles.sql gives each service only what it needs.
\getenv top MLPIPE_TOP
\cd :top
\set ECHO none
\set QUIET on
\i sql/roles.sql
\i sql/roles.sql
\set QUIET off
\set ON_ERROR_STOP off
\set ECHO all
\set VERBOSITY terse
SET TimeZone = 'UTC';
SELECT rolname, rolcanlogin, rolsuper, rolcreaterole, rolcreatedb
FROM pg_roles WHERE rolname LIKE 'mlpipe\_%' ORDER BY rolname;
-- a model to work with, trained by the owner
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT c, 30 + c, CASE WHEN c % 2 = 0 THEN 'Male' ELSE 'Female' END, 50000 + 1000 * c,
       100 + 10 * c + m, make_timestamptz(2024, m, 1 + c, 12, 0, 0, 'UTC')
FROM generate_series(1, 6) c, generate_series(1, 4) m;
SELECT mlpipe_train('m', 'linear', '1.0') ? 'rmse_test' AS trained;
-- inference: reads and predicts, writes nothing, drops nothing
SET ROLE mlpipe_inference;
SELECT mlpipe_predict('m', '1.0', 1, '2024-05-02T00:00:00Z', 150, 51000, 31, 'Female') IS NOT NULL AS predicts;
SELECT mlpipe_list_models();
SELECT count(*) FROM mlpipe_predict_customers('m');
SELECT mlpipe_remove_model('m', '1.0');
SELECT mlpipe_set_alias('m', 'production', '1.0');
SELECT mlpipe_ingest_purchases('[]');
INSERT INTO mlpipe.purchases (customer_id, purchase_date) VALUES (1, now());
DELETE FROM mlpipe.models;
DROP TABLE mlpipe.purchases;
ALTER TABLE mlpipe.models ADD COLUMN x int;
SELECT mlpipe_train('m2', 'linear');
RESET ROLE;
-- preprocessing: reads, preprocesses, ingests; cannot touch models
SET ROLE mlpipe_preprocessing;
SELECT jsonb_typeof(mlpipe_preprocess(1, '2024-05-02T00:00:00Z', 150, 51000, 31, 'Female',
       (SELECT standardization_params FROM mlpipe.models WHERE model_name = 'm'))) AS preprocesses;
SELECT mlpipe_ingest_purchases('[{"customer_id": 7, "purchase_date": "2024-01-01T00:00:00Z", "purchase_amount": 5, "annual_income": 5, "age": 5, "gender": "Male"}]');
DELETE FROM mlpipe.purchases;
UPDATE mlpipe.purchases SET age = 1;
SELECT mlpipe_remove_model('m', '1.0');
RESET ROLE;
-- registry: registers and removes models; cannot change a row or purchases
SET ROLE mlpipe_registry;
SELECT mlpipe_register_model('copy', '1.0', mlpipe_model_artifact('m', '1.0'),
       (SELECT standardization_params FROM mlpipe.models WHERE model_name = 'm')) ->> 'algorithm' AS registered;
UPDATE mlpipe.models SET version = '9.9';
UPDATE mlpipe.models SET id = DEFAULT;
-- aliases: set, predict through one as inference, remove refused, delete; history is append-only
SELECT mlpipe_set_alias('copy', 'production', '1.0') ->> 'version' AS aliased;
SELECT mlpipe_remove_model('copy', '1.0');
UPDATE mlpipe.alias_history SET changed_by = 'someone else';
DELETE FROM mlpipe.alias_history;
UPDATE mlpipe.registered_versions SET sha256 = '';
RESET ROLE;
SET ROLE mlpipe_inference;
SELECT mlpipe_predict('copy', '@production', 1, '2024-05-02T00:00:00Z', 150, 51000, 31, 'Female') IS NOT NULL AS predicts_by_alias;
SELECT mlpipe_delete_alias('copy', 'production');
RESET ROLE;
SET ROLE mlpipe_registry;
SELECT mlpipe_delete_alias('copy', 'production') ->> 'previous_version' AS deleted;
SELECT alias, event, changed_by FROM mlpipe.alias_history WHERE model_name = 'copy' ORDER BY id;
SELECT mlpipe_remove_model('copy', '1.0') ->> 'model_name' AS removed;
INSERT INTO mlpipe.purchases (customer_id, purchase_date) VALUES (1, now());
TRUNCATE mlpipe.purchases;
RESET ROLE;
-- nothing runs with more rights than its caller
SELECT p.proname FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'mlpipe' AND p.prosecdef;
DELETE FROM mlpipe.models;
TRUNCATE mlpipe.purchases, mlpipe.alias_history, mlpipe.registered_versions;
