-- Least-privilege roles for the services, in the current database.
--
--   psql -f sql/roles.sql          (as a superuser, after CREATE EXTENSION mlpipe)
--
-- Group roles (NOLOGIN) hold the privileges; one LOGIN role per service
-- joins the groups it needs:
--
--   mlpipe_reader   read purchases and models, preprocess, predict
--   mlpipe_writer   mlpipe_reader + register and remove models, change aliases
--   mlpipe_ingest   add purchases
--   mlpipe_predlog  add rows to the prediction log (mlpipe.predictions) and
--                   read the registry's names and versions, nothing else;
--                   the inference service's log session SETs this role
--
--   mlpipe_inference      -> mlpipe_reader, mlpipe_predlog
--   mlpipe_preprocessing  -> mlpipe_reader, mlpipe_ingest
--   mlpipe_registry       -> mlpipe_writer
--
-- No role but the owner can drop or alter the tables, and registered model
-- rows cannot be updated by anyone (a trigger refuses it).  No function is
-- SECURITY DEFINER: each runs with its caller's rights.  Passwords: set
-- them with ALTER ROLE ... PASSWORD where connections are not local/trusted
-- (the embedded cluster of make run trusts 127.0.0.1 and its socket).
-- Running this twice changes nothing.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['mlpipe_reader', 'mlpipe_writer', 'mlpipe_ingest', 'mlpipe_predlog'] LOOP
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
	FOREACH r IN ARRAY ARRAY['mlpipe_inference', 'mlpipe_preprocessing', 'mlpipe_registry'] LOOP
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I LOGIN', r);
		END IF;
	END LOOP;
END;
$$;

-- what PUBLIC gets by default on functions is taken back for the ones that write
REVOKE EXECUTE ON FUNCTION
	mlpipe_train(text, text, text, jsonb),
	mlpipe_tune(text, text, text, jsonb),
	mlpipe_register_model(text, text, bytea, jsonb, jsonb, jsonb),
	mlpipe_remove_model(text, text),
	mlpipe_set_alias(text, text, text),
	mlpipe_delete_alias(text, text),
	mlpipe_rollback_alias(text, text),
	mlpipe_ingest_purchases(jsonb),
	mlpipe_prediction_partitions(integer),
	mlpipe_expire_predictions(timestamptz)
FROM PUBLIC;

GRANT USAGE ON SCHEMA mlpipe TO mlpipe_reader, mlpipe_writer, mlpipe_ingest, mlpipe_predlog;

GRANT SELECT ON mlpipe.purchases, mlpipe.models, mlpipe.tuning_trials, mlpipe.aliases,
	mlpipe.alias_history, mlpipe.registered_versions, mlpipe.predictions TO mlpipe_reader;

GRANT mlpipe_reader TO mlpipe_writer;
GRANT INSERT, DELETE ON mlpipe.models TO mlpipe_writer;
-- row locks (a remove against an alias change) need UPDATE on one column;
-- the immutability trigger still refuses every update of a model row
GRANT UPDATE (id) ON mlpipe.models TO mlpipe_writer;
-- a tombstone's artifact stays what it was: only removed_at/by change
GRANT INSERT, UPDATE (removed_at, removed_by) ON mlpipe.registered_versions TO mlpipe_writer;
GRANT INSERT, UPDATE, DELETE ON mlpipe.aliases TO mlpipe_writer;
GRANT INSERT ON mlpipe.alias_history TO mlpipe_writer;
GRANT EXECUTE ON FUNCTION
	mlpipe_register_model(text, text, bytea, jsonb, jsonb, jsonb),
	mlpipe_remove_model(text, text),
	mlpipe_set_alias(text, text, text),
	mlpipe_delete_alias(text, text),
	mlpipe_rollback_alias(text, text)
TO mlpipe_writer;

GRANT INSERT ON mlpipe.purchases TO mlpipe_ingest;
GRANT EXECUTE ON FUNCTION mlpipe_ingest_purchases(jsonb) TO mlpipe_ingest;

-- the log resolves a NULL version (the latest) as it writes: names and versions only
GRANT INSERT ON mlpipe.predictions TO mlpipe_predlog;
GRANT SELECT (id, model_name, version) ON mlpipe.models TO mlpipe_predlog;

GRANT mlpipe_reader, mlpipe_predlog TO mlpipe_inference;
GRANT mlpipe_reader, mlpipe_ingest TO mlpipe_preprocessing;
GRANT mlpipe_writer TO mlpipe_registry;
