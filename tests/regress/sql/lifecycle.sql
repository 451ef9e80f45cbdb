-- The model lifecycle (SPEC section 7): aliases and their history,
-- tombstones of removed versions, '@alias' wherever a version goes, and
-- the version rules that came with them.  (NOTIFY is checked with a real
-- LISTEN in the e2e suite: psql prints the sender's PID with each one.)
\getenv top MLPIPE_TOP
\cd :top
\set tiny `base64 -w0 tests/regress/data/models/tiny.json`
\set tiny2 `base64 -w0 tests/regress/data/models/tiny2.json`
\set std '{"purchase_amount": {"mean": 300, "std": 150}, "annual_income": {"mean": 70000, "std": 20000}, "clv": {"mean": 900, "std": 700}, "age_income_interaction": {"mean": 3000000, "std": 1500000}}'
SET TimeZone = 'UTC';
-- Runs a statement: 'ok: ' and its first column, or the SQLSTATE, message,
-- detail and hint (times and digests masked).
CREATE FUNCTION life_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
	msg text;
	detail text;
	hint text;
BEGIN
	EXECUTE stmt INTO result;
	RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN regexp_replace(regexp_replace(
		SQLSTATE || ': ' || msg || coalesce(E'\nDETAIL: ' || nullif(detail, ''), '') || coalesce(E'\nHINT: ' || nullif(hint, ''), ''),
		'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<time>', 'g'), '[0-9a-f]{64}', '<sha256>', 'g');
END;
$$;
\pset format unaligned
-- tiny.json answers 0.25 for x1 < 0.5, tiny2.json -1 (registry.sql)
SELECT mlpipe_register_model('life', v, decode(CASE WHEN v IN ('1.0', '2.0-rc1') THEN :'tiny' ELSE :'tiny2' END, 'base64'), :'std') ->> 'version'
FROM unnest(ARRAY['1.0', '1.1', '2.0-rc1']) AS v;
-- ---------------------------------------------------------------------
-- Alias names: [a-z][a-z0-9_-]{0,62}
SELECT a, life_try(format('SELECT mlpipe_set_alias(%L, %L, %L)', 'life', a, '1.0')) AS outcome
FROM unnest(ARRAY['Production', '1st', '', '@production', 'pro duction', repeat('x', 64), NULL]) AS a;
SELECT life_try(format('SELECT mlpipe_set_alias(%L, %L, %L)', 'life', repeat('x', 63), '1.0')) ~ '^ok' AS longest_ok;
SELECT mlpipe_delete_alias('life', repeat('x', 63)) ->> 'previous_version' AS deleted;
-- an alias points at a version that exists, of a model that exists
SELECT life_try($$SELECT mlpipe_set_alias('life', 'production', '9.9')$$);
SELECT life_try($$SELECT mlpipe_set_alias('nosuch', 'production', '1.0')$$);
SELECT life_try($$SELECT mlpipe_set_alias('life', 'production', NULL)$$);
-- ---------------------------------------------------------------------
-- Set, then '@production' wherever a version goes
SELECT mlpipe_set_alias('life', 'production', '1.0');
SELECT model_name, alias, version, updated_by = current_user AS by_me FROM mlpipe.aliases;
SELECT mlpipe_predict('life', '@production', ARRAY[0, 0, 0]::float8[]) AS p_1_0,
       mlpipe_model_version('life', '@production') AS version,
       mlpipe_model_info('life', '@production') ->> 'version' AS info_version,
       mlpipe_model_artifact('life', '@production') = decode(:'tiny', 'base64') AS artifact_1_0,
       mlpipe_predict_batch('life', '@production', '[]') AS empty_batch;
-- the flip is seen by the next statement of the same backend (and by every
-- other backend at commit: its cached resolution is invalidated)
SELECT mlpipe_set_alias('life', 'production', '1.1');
SELECT mlpipe_predict('life', '@production', ARRAY[0, 0, 0]::float8[]) AS p_1_1,
       mlpipe_model_version('life', '@production') AS version;
-- a rolled-back flip leaves the alias where it was, for this backend too
BEGIN;
SELECT mlpipe_set_alias('life', 'production', '1.0') ->> 'version' AS inside;
SELECT mlpipe_predict('life', '@production', ARRAY[0, 0, 0]::float8[]) AS inside_p_1_0;
ROLLBACK;
SELECT mlpipe_predict('life', '@production', ARRAY[0, 0, 0]::float8[]) AS after_rollback_p_1_1;
-- setting it where it points already changes nothing and records nothing
SELECT mlpipe_set_alias('life', 'production', '1.1');
-- an alias may be set from another one: the version it points at now
SELECT mlpipe_set_alias('life', 'staging', '@production') ->> 'version' AS staging;
SELECT mlpipe_set_alias('life', 'staging', '2.0-rc1') ->> 'version' AS staging;
-- ---------------------------------------------------------------------
-- History, newest first, and rollback: back through the sets not yet undone
SELECT mlpipe_register_model('life', '2.0', decode(:'tiny', 'base64'), :'std') ->> 'version';
SELECT mlpipe_set_alias('life', 'production', '2.0') ->> 'previous_version' AS was;
SELECT mlpipe_rollback_alias('life', 'production');
SELECT mlpipe_rollback_alias('life', 'production');
SELECT life_try($$SELECT mlpipe_rollback_alias('life', 'production')$$);
SELECT mlpipe_model_version('life', '@production') AS after_two_rollbacks;
SELECT e ->> 'alias' AS alias, e ->> 'event' AS event, e ->> 'from_version' AS from_version,
       e ->> 'to_version' AS to_version, e ->> 'changed_by' = current_user AS by_me,
       (e ->> 'changed_at')::timestamptz <= now() AS at_ok
FROM jsonb_array_elements(mlpipe_alias_history('life')) AS e;
SELECT alias, event, from_version, to_version, undoes IS NOT NULL AS undoes_a_set
FROM mlpipe.alias_history ORDER BY id;
-- a set after a rollback is the one the next rollback undoes
SELECT mlpipe_set_alias('life', 'production', '1.1') ->> 'previous_version' AS was;
SELECT mlpipe_rollback_alias('life', 'production') ->> 'version' AS back_to;
-- a rollback to a version removed meanwhile is refused
SELECT mlpipe_set_alias('life', 'canary', '1.1') ->> 'version';
SELECT mlpipe_set_alias('life', 'canary', '2.0') ->> 'version';
SELECT mlpipe_set_alias('life', 'production', '2.0') ->> 'version';
SELECT mlpipe_register_model('life', '0.9', decode(:'tiny2', 'base64'), :'std') ->> 'version';
SELECT mlpipe_set_alias('life', 'old', '0.9') ->> 'version';
SELECT mlpipe_set_alias('life', 'old', '2.0') ->> 'version';
SELECT mlpipe_remove_model('life', '0.9') ->> 'version' AS removed;
SELECT life_try($$SELECT mlpipe_rollback_alias('life', 'old')$$);
SELECT mlpipe_model_version('life', '@old') AS old_unchanged;
SELECT mlpipe_list_aliases('life') @> '[{"alias": "old", "version": "2.0"}]' AS listed,
       jsonb_array_length(mlpipe_list_aliases('life')) AS aliases,
       (SELECT string_agg(e ->> 'alias', ',') FROM jsonb_array_elements(mlpipe_list_aliases('life')) e) AS names;
-- ---------------------------------------------------------------------
-- An aliased version cannot be removed (55006, which the services answer 409)
SELECT life_try($$SELECT mlpipe_remove_model('life', '2.0')$$);
SELECT life_try($$SELECT mlpipe_remove_model('life', '@staging')$$);
-- not even by a plain DELETE: the foreign key holds
\set VERBOSITY terse
DELETE FROM mlpipe.models WHERE model_name = 'life' AND version = '2.0-rc1';
\set VERBOSITY default
SELECT count(*) AS still_there FROM mlpipe.models WHERE model_name = 'life' AND version IN ('2.0', '2.0-rc1');
-- ---------------------------------------------------------------------
-- Delete: the alias is gone, '@alias' then says which aliases exist
SELECT mlpipe_delete_alias('life', 'old');
SELECT life_try($$SELECT mlpipe_predict('life', '@old', ARRAY[0, 0, 0]::float8[])$$);
SELECT life_try($$SELECT mlpipe_delete_alias('life', 'old')$$);
SELECT life_try($$SELECT mlpipe_rollback_alias('life', 'old')$$);
SELECT life_try($$SELECT mlpipe_delete_alias('nosuch', 'old')$$);
SELECT life_try($$SELECT mlpipe_list_aliases('nosuch')$$);
SELECT life_try($$SELECT mlpipe_alias_history('nosuch')$$);
-- set again after a delete: a new life, with nothing to roll back to
SELECT mlpipe_set_alias('life', 'old', '1.0') ->> 'previous_version' AS previous;
SELECT life_try($$SELECT mlpipe_rollback_alias('life', 'old')$$);
-- ---------------------------------------------------------------------
-- Tombstones: a removed version comes back only with the same artifact
SELECT mlpipe_register_model('life', '3.0', decode(:'tiny', 'base64'), :'std') ->> 'version';
SELECT mlpipe_remove_model('life', '3.0') ->> 'version' AS removed;
SELECT life_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'life', '3.0', decode(:'tiny2', 'base64'), :'std'));
SELECT life_try($$SELECT mlpipe_model_info('life', '3.0')$$);
SELECT mlpipe_register_model('life', '3.0', decode(:'tiny', 'base64'), :'std') ->> 'version' AS same_artifact_again;
SELECT mlpipe_remove_model('life', '3.0') ->> 'version' AS removed;
-- a direct INSERT is held to the same rule
\set VERBOSITY terse
INSERT INTO mlpipe.models (model_name, version, algorithm, artifact, sha256, standardization_params)
VALUES ('life', '3.0', 'xgboost', decode(:'tiny2', 'base64'), encode(sha256(decode(:'tiny2', 'base64')), 'hex'), :'std');
\set VERBOSITY default
-- ---------------------------------------------------------------------
-- Unknown versions, models and aliases say what exists (42704)
SELECT life_try($$SELECT mlpipe_model_info('life', '7.7')$$);
SELECT life_try($$SELECT mlpipe_predict('lif', '1.0', ARRAY[0, 0, 0]::float8[])$$);
SELECT life_try($$SELECT mlpipe_model_artifact('life', '@nope')$$);
-- ---------------------------------------------------------------------
-- '' is not a version (22023), even after NULL (the latest) was resolved
-- by this backend: they used to share a cache entry
SELECT mlpipe_predict('life', NULL, ARRAY[0, 0, 0]::float8[]) AS latest;
SELECT life_try($$SELECT mlpipe_predict('life', '', ARRAY[0, 0, 0]::float8[])$$);
SELECT life_try($$SELECT mlpipe_predict('life', '', 1, '2024-01-01', 10, 50000, 30, 'Male')$$);
SELECT life_try($$SELECT mlpipe_model_info('life', '')$$);
SELECT life_try($$SELECT mlpipe_model_version('life', '')$$);
SELECT life_try($$SELECT count(*) FROM mlpipe_predict_customers('life', '')$$);
-- ---------------------------------------------------------------------
-- Pre-releases sort before their release: "latest" is 2.0, not 2.0-rc1
SELECT mlpipe_model_version('life') AS latest, mlpipe_list_models() -> 0 -> 'versions' AS versions;
SELECT mlpipe_register_model('life', '2.1-rc1', decode(:'tiny2', 'base64'), :'std') ->> 'version';
SELECT mlpipe_model_version('life') AS latest;
-- ---------------------------------------------------------------------
-- Trained models: '@alias' in the purchase form and in mlpipe_predict_customers
INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
SELECT c, 30 + c, CASE WHEN c % 2 = 0 THEN 'Male' ELSE 'Female' END, 50000 + 1000 * c,
       100 + 10 * c + m * c, make_timestamptz(2024, m, 1 + c, 12, 0, 0, 'UTC')
FROM generate_series(1, 6) c, generate_series(1, 4) m;
SELECT mlpipe_train('trained', 'linear', '1.0', '{"lambda": 1}') ? 'rmse_test' AS trained;
SELECT mlpipe_train('trained', 'linear', '2.0', '{"lambda": 100}') ? 'rmse_test' AS trained;
SELECT mlpipe_set_alias('trained', 'production', '1.0') ->> 'version';
SELECT mlpipe_predict('trained', '@production', 3, '2024-05-02', 150, 53000, 33, 'Female')
     = mlpipe_predict('trained', '1.0', 3, '2024-05-02', 150, 53000, 33, 'Female') AS purchase_same,
       mlpipe_predict('trained', '@production', 3, '2024-05-02', 150, 53000, 33, 'Female')
    <> mlpipe_predict('trained', '2.0', 3, '2024-05-02', 150, 53000, 33, 'Female') AS versions_differ;
SELECT (SELECT array_agg(predicted_purchase_amount ORDER BY customer_id) FROM mlpipe_predict_customers('trained', '@production'))
     = (SELECT array_agg(predicted_purchase_amount ORDER BY customer_id) FROM mlpipe_predict_customers('trained', '1.0')) AS customers_same;
SELECT mlpipe_set_alias('trained', 'production', '2.0') ->> 'version';
SELECT (SELECT array_agg(predicted_purchase_amount ORDER BY customer_id) FROM mlpipe_predict_customers('trained', '@production'))
     = (SELECT array_agg(predicted_purchase_amount ORDER BY customer_id) FROM mlpipe_predict_customers('trained', '2.0')) AS customers_flipped;
SELECT mlpipe_predict_batch('trained', '@production',
	'[{"customer_id": 3, "purchase_date": "2024-05-02", "purchase_amount": 150, "annual_income": 53000, "age": 33, "gender": "Female"}]') -> 0
     = to_jsonb(mlpipe_predict('trained', '2.0', 3, '2024-05-02', 150, 53000, 33, 'Female')) AS batch_same;
-- mlpipe_train checks that the version is free before it trains: with no
-- purchases left it would fail for want of rows, yet the taken version is
-- what it reports
TRUNCATE mlpipe.purchases;
SELECT life_try($$SELECT mlpipe_train('trained', 'linear', '2.0')$$);
SELECT mlpipe_remove_model('trained', '1.0') ->> 'version' AS removed;
SELECT life_try($$SELECT mlpipe_train('trained', 'linear', '1.0')$$);
SELECT life_try($$SELECT mlpipe_train('trained', 'linear', '@production')$$);
-- ---------------------------------------------------------------------
-- Clean up (an administrator's reset: aliases first, for the foreign key)
\pset format aligned
TRUNCATE mlpipe.aliases, mlpipe.alias_history;
DELETE FROM mlpipe.models;
TRUNCATE mlpipe.registered_versions;
DROP FUNCTION life_try(text);
