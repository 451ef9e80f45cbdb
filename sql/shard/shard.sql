-- mlpipe sharding: what a shard database holds besides the extension.
--
--   psql -d SHARD -f sql/shard/shard.sql      (after CREATE EXTENSION mlpipe
--                                              and sql/roles.sql)
--
-- A shard is a complete mlpipe database holding the purchases of the
-- customers that hash to it (hashint8(customer_id) & (N - 1)) and a copy of
-- every registered model, so that mlpipe_predict, mlpipe_preprocess and
-- mlpipe_predict_customers run there unchanged.  The proxy database
-- (sql/shard/proxy.sql) reaches it through PL/Proxy and calls the extension's
-- own functions and the few below.  See docs/scaling.md.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS mlpipe_shard;
GRANT USAGE ON SCHEMA mlpipe_shard TO mlpipe_reader, mlpipe_writer, mlpipe_ingest;

-- This shard's share of an ingest or a CSV load, as parallel arrays (what
-- PL/Proxy's SPLIT hands over), stored in the order the features read them.
CREATE OR REPLACE FUNCTION mlpipe_shard.put_purchases(customer_id bigint[], age integer[],
	gender text[], annual_income double precision[], purchase_amount double precision[],
	purchase_date timestamptz[])
RETURNS bigint
LANGUAGE sql AS $$
	WITH ins AS (
		INSERT INTO mlpipe.purchases
			(customer_id, age, gender, annual_income, purchase_amount, purchase_date)
		SELECT * FROM unnest($1, $2, $3, $4, $5, $6) AS u(c, a, g, i, p, d)
		ORDER BY c, d
		RETURNING 1
	)
	SELECT count(*) FROM ins
$$;
REVOKE EXECUTE ON FUNCTION mlpipe_shard.put_purchases(bigint[], integer[], text[],
	double precision[], double precision[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlpipe_shard.put_purchases(bigint[], integer[], text[],
	double precision[], double precision[], timestamptz[]) TO mlpipe_ingest;

-- load_purchases.sql -v replace=1 on the proxy empties every shard.
CREATE OR REPLACE FUNCTION mlpipe_shard.truncate_purchases() RETURNS bigint
LANGUAGE sql AS $$
	TRUNCATE mlpipe.purchases;
	SELECT 0::bigint
$$;
REVOKE EXECUTE ON FUNCTION mlpipe_shard.truncate_purchases() FROM PUBLIC;

-- Every purchase here: training on the proxy reads them from all shards.
CREATE OR REPLACE FUNCTION mlpipe_shard.purchases(OUT customer_id bigint, OUT age integer,
	OUT gender text, OUT annual_income double precision,
	OUT purchase_amount double precision, OUT purchase_date timestamptz)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
	SELECT p.customer_id, p.age, p.gender, p.annual_income, p.purchase_amount, p.purchase_date
	FROM mlpipe.purchases p
$$;

-- A model registered on the proxy.  Idempotent: registering again what is
-- here already does nothing, so a register retried after a shard was down
-- completes the copies; a different model under that name and version (the
-- proxy removed it and registered another while this shard was away) is
-- replaced, since the proxy's registry is the one that counts.
CREATE OR REPLACE FUNCTION mlpipe_shard.put_model(model_name text, version text,
	artifact bytea, standardization_params jsonb, model_params jsonb, metadata jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	have bytea;
BEGIN
	SELECT m.artifact INTO have FROM mlpipe.models m
	WHERE m.model_name = put_model.model_name AND m.version = put_model.version;
	IF FOUND THEN
		IF have = artifact THEN
			RETURN 0;
		END IF;
		DELETE FROM mlpipe.models m
		WHERE m.model_name = put_model.model_name AND m.version = put_model.version;
	END IF;
	PERFORM public.mlpipe_register_model(model_name, version, artifact,
		standardization_params, model_params, metadata);
	RETURN 1;
END;
$$;

-- A model removed on the proxy; 0 when this shard did not have it.
CREATE OR REPLACE FUNCTION mlpipe_shard.drop_model(model_name text, version text)
RETURNS integer
LANGUAGE sql AS $$
	WITH d AS (
		DELETE FROM mlpipe.models m
		WHERE m.model_name = drop_model.model_name AND m.version = drop_model.version
		RETURNING 1
	)
	SELECT count(*)::integer FROM d
$$;

-- The (name, version) pairs here, for the proxy's mlpipe_proxy.sync_models().
CREATE OR REPLACE FUNCTION mlpipe_shard.model_keys(OUT model_name text, OUT version text)
RETURNS SETOF record
LANGUAGE sql STABLE AS $$
	SELECT m.model_name, m.version FROM mlpipe.models m
$$;

DO $$
DECLARE
	f text;
BEGIN
	FOREACH f IN ARRAY ARRAY['mlpipe_shard.put_model(text, text, bytea, jsonb, jsonb, jsonb)',
	                         'mlpipe_shard.drop_model(text, text)'] LOOP
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO mlpipe_writer', f);
	END LOOP;
END;
$$;
