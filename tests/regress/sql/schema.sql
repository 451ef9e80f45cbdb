-- The extension's objects: schema, tables, index, registry immutability.
SELECT extname, extversion FROM pg_extension WHERE extname = 'mlpipe';
SELECT n.nspname, c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'mlpipe' ORDER BY c.relname;
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
FROM pg_attribute WHERE attrelid = 'mlpipe.purchases'::regclass AND attnum > 0
ORDER BY attnum;
SELECT indexdef FROM pg_indexes WHERE schemaname = 'mlpipe' AND tablename = 'purchases';
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
FROM pg_attribute WHERE attrelid = 'mlpipe.models'::regclass AND attnum > 0
ORDER BY attnum;
-- version and name formats are checked by the table itself
\set VERBOSITY terse
INSERT INTO mlpipe.models (model_name, version, algorithm, artifact, sha256, standardization_params)
VALUES ('m', '1.0; drop', 'xgboost', '\x00', '', '{}');
INSERT INTO mlpipe.models (model_name, version, algorithm, artifact, sha256, standardization_params)
VALUES ('m', '1.0', 'svm', '\x00', '', '{}');
-- rows are immutable
INSERT INTO mlpipe.models (model_name, version, algorithm, artifact, sha256, standardization_params)
VALUES ('m', '1.0', 'xgboost', '\x00', '', '{}');
UPDATE mlpipe.models SET version = '2.0';
INSERT INTO mlpipe.models (model_name, version, algorithm, artifact, sha256, standardization_params)
VALUES ('m', '1.0', 'xgboost', '\x00', '', '{}');
DELETE FROM mlpipe.models;
TRUNCATE mlpipe.registered_versions;
