-- The model registry and vector prediction (docs/models.md, docs/sql.md), on the
-- fixture models of tests/regress/data/models (make_fixtures.py writes them).
-- Files are read by psql, not by the server, which may not reach the clone.
\getenv top MLPIPE_TOP
\cd :top
\set tiny `base64 -w0 tests/regress/data/models/tiny.json`
\set tiny2 `base64 -w0 tests/regress/data/models/tiny2.json`
\set gbtree `base64 -w0 tests/regress/data/models/gbtree.json`
\set rf `base64 -w0 tests/regress/data/models/rf.json`
\set linear `base64 -w0 tests/regress/data/models/linear.json`
\set truncated `base64 -w0 tests/regress/data/models/truncated.json`
\set child_out_of_range `base64 -w0 tests/regress/data/models/child_out_of_range.json`
\set cycle `base64 -w0 tests/regress/data/models/cycle.json`
\set classifier `base64 -w0 tests/regress/data/models/classifier.json`
\set pickle `base64 -w0 tests/regress/data/models/model.pkl`
\set std '{"purchase_amount": {"mean": 300, "std": 150}, "annual_income": {"mean": 70000, "std": 20000}, "clv": {"mean": 900, "std": 700}, "age_income_interaction": {"mean": 3000000, "std": 1500000}}'
-- Runs a statement; returns 'ok: ' and its first column, or the SQLSTATE,
-- message and detail (the hint is checked where it matters).
CREATE FUNCTION registry_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
	detail text;
BEGIN
	EXECUTE stmt INTO result;
	RETURN 'ok: ' || coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	-- removal times (tombstones) vary from run to run
	RETURN regexp_replace(SQLSTATE || ': ' || SQLERRM || coalesce(nullif(' | ' || detail, ' | '), ''),
		'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<time>', 'g');
END;
$$;
-- the stable part of a model's info
CREATE FUNCTION registry_info(info jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT info - 'created_at' - 'sha256' - 'size_bytes' $$;
-- ---------------------------------------------------------------------
-- Register: returns the info, algorithm derived from the artifact
SELECT jsonb_object_keys(mlpipe_register_model('demo', '1.2', decode(:'tiny', 'base64'),
	:'std', '{"max_depth": 1}', '{"rmse_test": 1.5}')) AS info_keys ORDER BY 1;
SELECT registry_info(mlpipe_model_info('demo', '1.2'));
SELECT (i ->> 'size_bytes')::int = octet_length(decode(:'tiny', 'base64')) AS size_ok,
       i ->> 'sha256' = encode(sha256(decode(:'tiny', 'base64')), 'hex') AS sha_ok,
       (i ->> 'created_at')::timestamptz <= now() AS created_ok
FROM mlpipe_model_info('demo', '1.2') AS i;
SELECT mlpipe_register_model('algo-gbtree', '1', decode(:'gbtree', 'base64'), :'std') ->> 'algorithm' AS gbtree,
       mlpipe_register_model('algo-rf', '1', decode(:'rf', 'base64'), :'std') ->> 'algorithm' AS num_parallel_tree_3,
       mlpipe_register_model('algo-linear', '1', decode(:'linear', 'base64'), :'std') ->> 'algorithm' AS gblinear;
-- the columns hold what was registered; defaults are empty objects
SELECT model_name, version, algorithm, standardization_params, model_params, metadata
FROM mlpipe.models ORDER BY model_name, version;
-- ---------------------------------------------------------------------
-- A version is registered once
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)',
	'demo', '1.2', decode(:'tiny2', 'base64'), :'std'));
-- the first registration is untouched
SELECT encode(sha256(mlpipe_model_artifact('demo', '1.2')), 'hex')
     = encode(sha256(decode(:'tiny', 'base64')), 'hex') AS still_first;
-- ---------------------------------------------------------------------
-- Versions and "latest": 2.0 > 1.rc1 > 1.10 > 1.9 > 1.2 (numbers
-- numerically, numbers before words); registered out of order on purpose
SELECT mlpipe_register_model('demo', '1.10', decode(:'tiny2', 'base64'), :'std') ->> 'version';
SELECT mlpipe_register_model('demo', '1.9', decode(:'tiny', 'base64'), :'std') ->> 'version';
SELECT mlpipe_model_info('demo') ->> 'version' AS latest;
SELECT mlpipe_model_info('demo', NULL) ->> 'version' AS latest;
SELECT mlpipe_model_info('demo', '1.9') ->> 'version' AS given;
SELECT mlpipe_register_model('demo', '2.0', decode(:'tiny', 'base64'), :'std') ->> 'version';
SELECT mlpipe_register_model('demo', '1.rc1', decode(:'tiny', 'base64'), :'std') ->> 'version';
SELECT mlpipe_model_info('demo') ->> 'version' AS latest;
SELECT mlpipe_list_models();
SELECT jsonb_pretty(mlpipe_list_models() -> 0);
-- a shorter prefix sorts first; numbers before words at every level
SELECT v FROM unnest(ARRAY['1.0.1', '1.0', '10', '9', '1.10.0', 'beta', '1.a', '1', '1.9.10', '1.9.9']) AS v
ORDER BY mlpipe.version_key(v) COLLATE "C";
-- pre-releases (after the first '-') before their release, as semantic
-- versioning orders them; build metadata (after '+') does not count, the
-- text breaks the tie
SELECT v FROM unnest(ARRAY['2.0', '2.0-rc1', '2.0.1', '1.9', '2.0-rc.2', '2.0-rc.10', '2.0-beta',
                           '2.0-1', '2.0+build.5', '2.0-rc1+b', '2.0.0', '2.0-rc1-x', '2']) AS v
ORDER BY mlpipe.version_key(v) COLLATE "C", v COLLATE "C";
-- ---------------------------------------------------------------------
-- The artifact comes back byte for byte
SELECT mlpipe_model_artifact('demo', '1.10') = decode(:'tiny2', 'base64') AS same_bytes,
       encode(sha256(mlpipe_model_artifact('demo', '1.10')), 'hex')
     = mlpipe_model_info('demo', '1.10') ->> 'sha256' AS same_sha256,
       encode(sha256(mlpipe_model_artifact('algo-gbtree')), 'hex')
     = encode(sha256(decode(:'gbtree', 'base64')), 'hex') AS gbtree_sha256,
       mlpipe_model_artifact('demo') = decode(:'tiny', 'base64') AS latest_is_2_0;
-- ---------------------------------------------------------------------
-- Vector prediction on the hand-made tiny.json (base_score 0.5, one split:
-- x1 < 0.5 -> leaf -0.25, else leaf 0.75; missing goes right) and tiny2.json
-- (leaves -1.5 and 2.5).  make_fixtures.py checks XGBoost agrees.
SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 0, 0]::float8[]) AS left_0_25,
       mlpipe_predict('demo', '1.2', ARRAY[9, 0.49, -9]::float8[]) AS left_0_25,
       mlpipe_predict('demo', '1.2', ARRAY[0, 0.5, 0]::float8[]) AS right_1_25,
       mlpipe_predict('demo', '1.2', ARRAY[1, NULL, 1]::float8[]) AS missing_1_25,
       mlpipe_predict('demo', '1.2', ARRAY[NULL, NULL, NULL]::float8[]) AS missing_1_25,
       mlpipe_predict('demo', '1.2', ARRAY[NULL, 0.1, NULL]::float8[]) AS left_0_25;
-- 'NaN' is missing too, as it is for XGBoost
SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 'NaN', 0]::float8[]) AS nan_1_25;
SELECT mlpipe_predict('demo', '1.10', ARRAY[0, 0, 0]::float8[]) AS left_minus_1,
       mlpipe_predict('demo', '1.10', ARRAY[0, NULL, 0]::float8[]) AS missing_3;
-- NULL elements among many values (the null bitmap spans bytes)
SELECT mlpipe_predict('demo', '1.2', a) AS p, count(*)
FROM (VALUES (ARRAY[NULL, NULL, 0.7]::float8[]), (ARRAY[0.2, NULL, NULL]::float8[]),
             (ARRAY[NULL, 0.2, NULL]::float8[]), (ARRAY[NULL, 0.8, 0]::float8[])) AS t(a)
GROUP BY 1 ORDER BY 1;
-- latest (2.0 is tiny.json again), and the latest changes with the registry
SELECT mlpipe_predict('demo', NULL, ARRAY[0, 0, 0]::float8[]) AS latest_2_0;
SELECT mlpipe_register_model('demo', '10.0', decode(:'tiny2', 'base64'), :'std') ->> 'version';
SELECT mlpipe_predict('demo', NULL, ARRAY[0, 0, 0]::float8[]) AS latest_10_0;
-- many rows, one model lookup per call site: mixed versions in one query
SELECT v, sum(mlpipe_predict('demo', v, ARRAY[0, x, 0]::float8[]))
FROM generate_series(0, 9) AS x, unnest(ARRAY['1.2', '1.10']) AS v
GROUP BY v ORDER BY v;
-- bad vectors and unknown models
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 0]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 0, 0, 0]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', ARRAY[]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', ARRAY[[0, 0, 0]]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', NULL::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict(NULL, '1.2', ARRAY[0, 0, 0]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('nope', '1.2', ARRAY[0, 0, 0]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('nope', NULL, ARRAY[0, 0, 0]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_predict('demo', '7.7', ARRAY[0, 0, 0]::float8[])$$);
-- the end-to-end form needs 19 features: tiny.json has 3
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', 1, '2024-01-01', 10, 50000, 30, 'Male')$$);
-- ---------------------------------------------------------------------
-- Remove, then register again: a removed version leaves a tombstone, so it
-- comes back only with the same artifact (a new row, which prediction sees)
SELECT id AS old_id FROM mlpipe.models WHERE model_name = 'demo' AND version = '1.2' \gset
SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 0, 0]::float8[]) AS before_remove;
SELECT registry_info(mlpipe_remove_model('demo', '1.2')) ->> 'version' AS removed;
SELECT registry_try($$SELECT mlpipe_model_info('demo', '1.2')$$);
SELECT registry_try($$SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 0, 0]::float8[])$$);
SELECT registry_try($$SELECT mlpipe_remove_model('demo', '1.2')$$);
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)',
	'demo', '1.2', decode(:'tiny2', 'base64'), :'std'));
SELECT model_name, version, removed_at IS NOT NULL AS tombstone, removed_by
FROM mlpipe.registered_versions WHERE model_name = 'demo' AND version = '1.2';
SELECT mlpipe_register_model('demo', '1.2', decode(:'tiny', 'base64'), :'std') ->> 'version' AS registered_again;
SELECT removed_at IS NULL AS live_again FROM mlpipe.registered_versions WHERE model_name = 'demo' AND version = '1.2';
SELECT id > :old_id AS new_row FROM mlpipe.models WHERE model_name = 'demo' AND version = '1.2';
SELECT mlpipe_predict('demo', '1.2', ARRAY[0, 0, 0]::float8[]) AS after_register_again;
SELECT mlpipe_model_info('demo', '1.2') ->> 'standardization_params' AS std_now;
-- ---------------------------------------------------------------------
-- Unknown models and versions: 42704
SELECT registry_try($$SELECT mlpipe_model_info('nope')$$);
SELECT registry_try($$SELECT mlpipe_model_info('nope', '1.0')$$);
SELECT registry_try($$SELECT mlpipe_model_info('demo', '3.3')$$);
SELECT registry_try($$SELECT mlpipe_model_artifact('nope')::text$$);
SELECT registry_try($$SELECT mlpipe_model_artifact('demo', '3.3')::text$$);
SELECT registry_try($$SELECT mlpipe_remove_model('nope', '1.0')$$);
SELECT registry_try($$SELECT mlpipe_remove_model('demo', NULL)$$);
-- ---------------------------------------------------------------------
-- Registered rows are immutable
SELECT registry_try($$UPDATE mlpipe.models SET version = '9.9' WHERE model_name = 'demo' AND version = '1.9'$$);
SELECT registry_try($$UPDATE mlpipe.models SET metadata = '{"x": 1}' WHERE model_name = 'demo'$$);
SELECT registry_try($$UPDATE mlpipe.models SET artifact = artifact WHERE model_name = 'algo-rf'$$);
SELECT count(*) AS unchanged FROM mlpipe.models WHERE model_name = 'demo' AND metadata = '{}';
-- ---------------------------------------------------------------------
-- Invalid names and versions: 22023
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', n, v, decode(:'tiny', 'base64'), :'std'))
FROM (VALUES ('', '1'), ('bad name', '1'), ('-lead', '1'), ('a/b', '1'), (repeat('m', 129), '1'),
             (NULL, '1'), ('ok', ''), ('ok', '1 0'), ('ok', '.1'), ('ok', 'v/1'),
             ('ok', repeat('1', 65)), ('ok', NULL)) AS t(n, v);
-- the longest valid ones
SELECT length(mlpipe_register_model(repeat('m', 128), repeat('1', 64), decode(:'tiny', 'base64'), :'std') ->> 'version');
SELECT registry_try($$SELECT mlpipe_register_model('ok', '1', NULL)$$);
-- ---------------------------------------------------------------------
-- Broken artifacts are refused, and nothing is registered
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'broken', '1', decode(:'truncated', 'base64'), :'std'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'broken', '1', decode(:'child_out_of_range', 'base64'), :'std'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'broken', '1', decode(:'cycle', 'base64'), :'std'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'broken', '1', decode(:'pickle', 'base64'), :'std'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'broken', '1', decode(:'classifier', 'base64'), :'std'));
SELECT registry_try($$SELECT mlpipe_register_model('broken', '1', ''::bytea)$$);
SELECT registry_try($$SELECT mlpipe_register_model('broken', '1', '{}'::bytea)$$);
SELECT registry_try($$SELECT mlpipe_register_model('broken', '1', '   '::bytea)$$);
SELECT registry_try($$SELECT mlpipe_register_model('broken', '1', '\x1f8b0800'::bytea)$$);
SELECT count(*) AS broken_rows FROM mlpipe.models WHERE model_name = 'broken';
-- the same reader checks artifacts on its own
SELECT registry_try(format('SELECT mlpipe_model_check(%L::bytea)', decode(:'cycle', 'base64')));
-- every refusal in three fields: what happened, why, what to do
SELECT mlpipe_model_check('\x80049510'::bytea);
SELECT mlpipe_model_check(decode(:'classifier', 'base64'));
SELECT mlpipe_model_check(decode(:'linear', 'base64'));
-- ---------------------------------------------------------------------
-- Standardization parameters: validated, {"params": ...} unwrapped
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'std', '1',
	decode(:'tiny', 'base64'), :'std'::jsonb - 'clv'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'std', '1',
	decode(:'tiny', 'base64'), jsonb_set(:'std', '{annual_income,std}', '0')));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'std', '1',
	decode(:'tiny', 'base64'), jsonb_set(:'std', '{clv,std}', '-3')));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'std', '1',
	decode(:'tiny', 'base64'), jsonb_set(:'std', '{clv,mean}', '"abc"')));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'std', '1',
	decode(:'tiny', 'base64'), '[1, 2]'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L, %L)', 'std', '1',
	decode(:'tiny', 'base64'), :'std', '[1]'));
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L, %L, %L)', 'std', '1',
	decode(:'tiny', 'base64'), :'std', '{}', '"text"'));
SELECT count(*) AS std_rows FROM mlpipe.models WHERE model_name = 'std';
SELECT mlpipe_register_model('std', '1', decode(:'tiny', 'base64'),
	jsonb_build_object('params', :'std'::jsonb)) -> 'standardization_params' = :'std'::jsonb AS unwrapped;
SELECT standardization_params ? 'params' AS still_wrapped FROM mlpipe.models WHERE model_name = 'std';
-- parameters that could not serve a purchase are refused at register time:
-- none, empty, or empty once unwrapped
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea, %L)', 'std', '2',
	decode(:'tiny', 'base64'), p))
FROM (VALUES (NULL), ('{}'), ('{"params": {}}')) AS t(p);
SELECT registry_try(format('SELECT mlpipe_register_model(%L, %L, %L::bytea)', 'std', '2', decode(:'tiny', 'base64')));
-- NULL model_params and metadata mean none
SELECT mlpipe_register_model('std', '2', decode(:'tiny', 'base64'), :'std', NULL, NULL) - 'created_at' - 'sha256' - 'size_bytes' - 'standardization_params';
-- 1.01 and 1.1 compare equal part by part: the text breaks the tie, so
-- "latest" is the same for the registry and for prediction, every time
SELECT mlpipe_register_model('tie', '1.01', decode(:'tiny', 'base64'), :'std') ->> 'version';
SELECT mlpipe_register_model('tie', '1.1', decode(:'tiny2', 'base64'), :'std') ->> 'version';
SELECT mlpipe_model_info('tie') ->> 'version' AS latest,
       (SELECT e FROM jsonb_array_elements(mlpipe_list_models()) e WHERE e ->> 'model_name' = 'tie') AS listed;
SELECT mlpipe_predict('tie', NULL, ARRAY[0, 0.5, 0]::float8[]) = mlpipe_predict('tie', '1.1', ARRAY[0, 0.5, 0]::float8[]) AS same_as_1_1,
       mlpipe_predict('tie', NULL, ARRAY[0, 0.5, 0]::float8[]) <> mlpipe_predict('tie', '1.01', ARRAY[0, 0.5, 0]::float8[]) AS not_1_01;
-- ---------------------------------------------------------------------
-- Clean up
SELECT mlpipe_list_models() -> 0 -> 'model_name' AS first_name, jsonb_array_length(mlpipe_list_models()) AS names;
DELETE FROM mlpipe.models;
SELECT mlpipe_list_models();
-- unknown models are 42704 even when the table has pages but no visible row
-- (a scan qual that is never evaluated must not hide the lookup)
BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
DELETE FROM mlpipe.models;
SELECT registry_try($$SELECT mlpipe_model_info('nosuch', '1.0')$$);
SELECT registry_try($$SELECT mlpipe_model_info('nosuch')$$);
SELECT registry_try($$SELECT mlpipe_model_artifact('nosuch', '1.0')$$);
ROLLBACK;
-- removing leaves tombstones; an administrator's reset clears them too
SELECT count(*) AS tombstones FROM mlpipe.registered_versions WHERE removed_at IS NOT NULL;
TRUNCATE mlpipe.registered_versions;
DROP FUNCTION registry_try(text);
DROP FUNCTION registry_info(jsonb);
