-- mlpipe sharding: the proxy database, with PL/Proxy.
--
--   psql -d PROXY -f sql/shard/proxy.sql     (after CREATE EXTENSION mlpipe,
--                                             CREATE EXTENSION plproxy and
--                                             sql/roles.sql)
--   SELECT mlpipe_proxy.set_shards(ARRAY['host=.. port=.. dbname=shard0', ...]);
--
-- The proxy holds the registry (mlpipe.models) and no purchases.  Its
-- schema mlpipe_proxy comes first in the database's search_path and holds
-- functions with the extension's names and signatures, so the services and
-- psql users call them unchanged:
--   mlpipe_predict(name, version, customer_id, ...), mlpipe_preprocess(...)
--       run on the shard that owns customer_id (hashint8(customer_id) & (N - 1));
--   mlpipe_predict_customers, mlpipe_predict_batch
--       fan out to every shard / route each purchase;
--   mlpipe_train, mlpipe_training_rows, mlpipe_standardization_params
--       read every shard's purchases, so the standardization and the gender
--       fill are fitted over all rows, as on one node;
--   inserting into mlpipe.purchases (mlpipe_ingest_purchases, /purchases,
--       sql/load_purchases.sql) sends each row to its shard;
--   registering or removing a model copies it to / removes it from every shard.
-- See docs/scaling.md.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS mlpipe_proxy;
GRANT USAGE ON SCHEMA mlpipe_proxy TO mlpipe_reader, mlpipe_writer, mlpipe_ingest;

DO $$
BEGIN
	EXECUTE format('ALTER DATABASE %I SET search_path = mlpipe_proxy, "$user", public',
	               current_database());
END;
$$;
SET search_path = mlpipe_proxy, "$user", public;

-- The shards, in partition order.  PL/Proxy routes by hash & (N - 1), so N
-- is a power of two; changing N moves customers (re-load the purchases).
CREATE OR REPLACE FUNCTION mlpipe_proxy.set_shards(conninfos text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	n integer := coalesce(cardinality(conninfos), 0);
	opts text;
BEGIN
	IF n < 1 OR (n & (n - 1)) <> 0 THEN
		RAISE EXCEPTION 'cannot use % shards', n
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'PL/Proxy sends a customer to partition hashint8(customer_id) & (N - 1).',
			      HINT = 'Give 1, 2, 4, 8... connection strings.';
	END IF;
	SELECT string_agg(format('partition_%s %L', i - 1, c), ', ' ORDER BY i) INTO opts
	FROM unnest(conninfos) WITH ORDINALITY AS t(c, i);
	DROP SERVER IF EXISTS mlpipe_shards CASCADE;
	EXECUTE format('CREATE SERVER mlpipe_shards FOREIGN DATA WRAPPER plproxy OPTIONS (%s)', opts);
	-- each caller reaches the shards as itself: the roles of sql/roles.sql
	-- must exist there too
	CREATE USER MAPPING FOR PUBLIC SERVER mlpipe_shards;
	GRANT USAGE ON FOREIGN SERVER mlpipe_shards TO PUBLIC;
	RETURN n;
END;
$$;
REVOKE EXECUTE ON FUNCTION mlpipe_proxy.set_shards(text[]) FROM PUBLIC;

-- Which shard holds a customer (0-based), as PL/Proxy computes it.
CREATE OR REPLACE FUNCTION mlpipe_proxy.shard_of(customer_id bigint) RETURNS integer
LANGUAGE sql STABLE AS $$
	SELECT hashint8(customer_id) & (count(*)::integer - 1)
	FROM pg_foreign_server s, unnest(s.srvoptions) o
	WHERE s.srvname = 'mlpipe_shards' AND o LIKE 'partition\_%'
$$;

-- ---- serving: routed by customer ------------------------------------------

-- PL/Proxy reports a shard it cannot reach as an internal error (XX000); the
-- callers turn it into connection_failure (08006, which the services answer
-- with 503) naming the shard, and leave every other error as it was
-- (a shard's own errors keep their SQLSTATE: 42704 is still a 404).
CREATE OR REPLACE FUNCTION mlpipe_proxy.shard_error(err text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	shard text := coalesce(substring(err FROM '\[([^]]+)\]'), 'a shard');
BEGIN
	IF err ~ '(PQconnectPoll|could not connect|connection to server|server closed|terminating connection|not currently accepting)' THEN
		RAISE EXCEPTION 'shard % cannot be reached', shard
			USING ERRCODE = 'connection_failure', DETAIL = err,
			      HINT = 'Start that shard again; customers of the other shards are still served.';
	END IF;
	RAISE EXCEPTION '%', err USING ERRCODE = 'internal_error';
END;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.route_predict(model_name text, version text,
	customer_id bigint, purchase_date timestamptz,
	purchase_amount double precision, annual_income double precision,
	age integer, gender text)
RETURNS double precision
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON hashint8(customer_id);
	TARGET public.mlpipe_predict;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_predict(model_name text, version text,
	customer_id bigint, purchase_date timestamptz,
	purchase_amount double precision, annual_income double precision,
	age integer, gender text)
RETURNS double precision
LANGUAGE plpgsql AS $$
BEGIN
	-- aliases live in the proxy's registry: the shards get the version
	RETURN mlpipe_proxy.route_predict(model_name, public.mlpipe_model_version(model_name, version),
		customer_id, purchase_date,
		purchase_amount, annual_income, age, gender);
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.route_preprocess(customer_id bigint,
	purchase_date timestamptz, purchase_amount double precision,
	annual_income double precision, age integer, gender text, params jsonb)
RETURNS jsonb
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON hashint8(customer_id);
	TARGET public.mlpipe_preprocess;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_preprocess(customer_id bigint,
	purchase_date timestamptz, purchase_amount double precision,
	annual_income double precision, age integer, gender text, params jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
	RETURN mlpipe_proxy.route_preprocess(customer_id, purchase_date, purchase_amount,
		annual_income, age, gender, params);
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.route_predict_customers(model_name text,
	version text,
	OUT customer_id bigint, OUT month date, OUT predicted_purchase_amount double precision)
RETURNS SETOF record
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON ALL;
	TARGET public.mlpipe_predict_customers;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_predict_customers(model_name text,
	version text DEFAULT NULL,
	OUT customer_id bigint, OUT month date, OUT predicted_purchase_amount double precision)
RETURNS SETOF record
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT * FROM mlpipe_proxy.route_predict_customers(model_name,
		public.mlpipe_model_version(model_name, version));
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;

-- The extension's mlpipe_predict_batch names its own schema's mlpipe_predict;
-- this one routes each purchase.
CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_predict_batch(model_name text, version text,
	purchases jsonb)
RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
	SELECT coalesce(jsonb_agg(to_jsonb(mlpipe_proxy.mlpipe_predict(model_name, version,
			(p ->> 'customer_id')::bigint, (p ->> 'purchase_date')::timestamptz,
			(p ->> 'purchase_amount')::double precision, (p ->> 'annual_income')::double precision,
			(p ->> 'age')::integer, p ->> 'gender')) ORDER BY n), '[]')
	FROM jsonb_array_elements(purchases) WITH ORDINALITY AS t(p, n)
$$;

-- ---- ingestion: rows go to their shard --------------------------------------

CREATE OR REPLACE FUNCTION mlpipe_proxy.put_purchases(customer_id bigint[], age integer[],
	gender text[], annual_income double precision[], purchase_amount double precision[],
	purchase_date timestamptz[])
RETURNS SETOF bigint
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	SPLIT ALL;
	RUN ON hashint8(customer_id);
	TARGET mlpipe_shard.put_purchases;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.truncate_purchases() RETURNS SETOF bigint
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON ALL;
	TARGET mlpipe_shard.truncate_purchases;
$$;

-- Whatever inserts into the proxy's mlpipe.purchases (the extension's
-- mlpipe_ingest_purchases, load_purchases.sql) keeps its validation and its
-- row count; at the end of the statement the rows move to their shards,
-- one call per shard, and leave the proxy.  Each shard commits its share on
-- its own: a shard that fails (down) fails the statement here, but shards
-- already written keep their rows (PL/Proxy has no two-phase commit).
CREATE OR REPLACE FUNCTION mlpipe_proxy.route_purchases() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('mlpipe_proxy.gathering', true) = 'on' THEN
		RETURN NULL;	-- training's own copy of the shards' rows
	END IF;
	PERFORM mlpipe_proxy.put_purchases(array_agg(n.customer_id), array_agg(n.age),
		array_agg(n.gender), array_agg(n.annual_income), array_agg(n.purchase_amount),
		array_agg(n.purchase_date))
	FROM new_rows n
	HAVING count(*) > 0;
	DELETE FROM mlpipe.purchases;
	RETURN NULL;
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;
DROP TRIGGER IF EXISTS route_purchases ON mlpipe.purchases;
CREATE TRIGGER route_purchases AFTER INSERT ON mlpipe.purchases
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION mlpipe_proxy.route_purchases();
-- the rows pass through: whoever may insert may also take them out again
GRANT DELETE ON mlpipe.purchases TO mlpipe_ingest;

CREATE OR REPLACE FUNCTION mlpipe_proxy.route_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mlpipe_proxy.truncate_purchases();
	RETURN NULL;
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;
DROP TRIGGER IF EXISTS route_truncate ON mlpipe.purchases;
CREATE TRIGGER route_truncate AFTER TRUNCATE ON mlpipe.purchases
	FOR EACH STATEMENT EXECUTE FUNCTION mlpipe_proxy.route_truncate();

-- ---- training: every shard's rows ---------------------------------------------

CREATE OR REPLACE FUNCTION mlpipe_proxy.shard_purchases(OUT customer_id bigint,
	OUT age integer, OUT gender text, OUT annual_income double precision,
	OUT purchase_amount double precision, OUT purchase_date timestamptz)
RETURNS SETOF record
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON ALL;
	TARGET mlpipe_shard.purchases;
$$;

-- Copies every shard's purchases into the proxy's mlpipe.purchases for the
-- rest of the calling statement's transaction (the caller deletes them):
-- the extension's training then fits the standardization and the gender
-- fill over all rows, exactly as one node would.
CREATE OR REPLACE FUNCTION mlpipe_proxy.gather_purchases() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM set_config('mlpipe_proxy.gathering', 'on', true);
	DELETE FROM mlpipe.purchases;
	INSERT INTO mlpipe.purchases
		(customer_id, age, gender, annual_income, purchase_amount, purchase_date)
	SELECT s.customer_id, s.age, s.gender, s.annual_income, s.purchase_amount, s.purchase_date
	FROM mlpipe_proxy.shard_purchases() s
	ORDER BY s.customer_id, s.purchase_date;
	GET DIAGNOSTICS n = ROW_COUNT;
	PERFORM set_config('mlpipe_proxy.gathering', 'off', true);
	RETURN n;
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_train(model_name text, algorithm text,
	version text DEFAULT '1.0', hyperparams jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
BEGIN
	PERFORM mlpipe_proxy.gather_purchases();
	r := public.mlpipe_train(model_name, algorithm, version, hyperparams);
	DELETE FROM mlpipe.purchases;
	RETURN r;
END;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_training_rows(
	OUT customer_id bigint, OUT month date,
	OUT features double precision[], OUT target double precision)
RETURNS SETOF record
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mlpipe_proxy.gather_purchases();
	RETURN QUERY SELECT * FROM public.mlpipe_training_rows();
	DELETE FROM mlpipe.purchases;
END;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.mlpipe_standardization_params() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	r jsonb;
BEGIN
	PERFORM mlpipe_proxy.gather_purchases();
	r := public.mlpipe_standardization_params();
	DELETE FROM mlpipe.purchases;
	RETURN r;
END;
$$;

-- ---- the registry: copied to every shard ----------------------------------

CREATE OR REPLACE FUNCTION mlpipe_proxy.put_model(model_name text, version text,
	artifact bytea, standardization_params jsonb, model_params jsonb, metadata jsonb)
RETURNS SETOF integer
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON ALL;
	TARGET mlpipe_shard.put_model;
$$;

CREATE OR REPLACE FUNCTION mlpipe_proxy.drop_model(model_name text, version text)
RETURNS SETOF integer
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON ALL;
	TARGET mlpipe_shard.drop_model;
$$;

-- A register copies the model to every shard before it commits here; if a
-- shard cannot be reached the register fails (and shards already written
-- keep a copy that the next register of that version, or sync_models(),
-- settles).
CREATE OR REPLACE FUNCTION mlpipe_proxy.copy_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM mlpipe_proxy.put_model(NEW.model_name, NEW.version, NEW.artifact,
			NEW.standardization_params, NEW.model_params, NEW.metadata);
	ELSE
		PERFORM mlpipe_proxy.drop_model(OLD.model_name, OLD.version);
	END IF;
	RETURN NULL;
EXCEPTION WHEN internal_error THEN
	PERFORM mlpipe_proxy.shard_error(SQLERRM);
END;
$$;
DROP TRIGGER IF EXISTS copy_model ON mlpipe.models;
CREATE TRIGGER copy_model AFTER INSERT OR DELETE ON mlpipe.models
	FOR EACH ROW EXECUTE FUNCTION mlpipe_proxy.copy_model();

CREATE OR REPLACE FUNCTION mlpipe_proxy.shard_model_keys(OUT model_name text, OUT version text)
RETURNS SETOF record
LANGUAGE plproxy AS $$
	CLUSTER 'mlpipe_shards';
	RUN ON ALL;
	TARGET mlpipe_shard.model_keys;
$$;

-- After a shard was down: every proxy model onto every shard, and what the
-- proxy no longer has off them.  Returns the copies and removals made.
CREATE OR REPLACE FUNCTION mlpipe_proxy.sync_models() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint := 0;
BEGIN
	SELECT n + coalesce(sum(d), 0) INTO n
	FROM (SELECT DISTINCT k.model_name, k.version FROM mlpipe_proxy.shard_model_keys() k
	      WHERE NOT EXISTS (SELECT FROM mlpipe.models m
	                        WHERE m.model_name = k.model_name AND m.version = k.version)) gone,
	     LATERAL mlpipe_proxy.drop_model(gone.model_name, gone.version) d;
	SELECT n + coalesce(sum(p), 0) INTO n
	FROM mlpipe.models m,
	     LATERAL mlpipe_proxy.put_model(m.model_name, m.version, m.artifact,
	                                    m.standardization_params, m.model_params, m.metadata) p;
	RETURN n;
END;
$$;

REVOKE EXECUTE ON FUNCTION mlpipe_proxy.mlpipe_train(text, text, text, jsonb),
	mlpipe_proxy.gather_purchases(), mlpipe_proxy.truncate_purchases(),
	mlpipe_proxy.sync_models() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION mlpipe_proxy.put_model(text, text, bytea, jsonb, jsonb, jsonb),
	mlpipe_proxy.drop_model(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlpipe_proxy.put_model(text, text, bytea, jsonb, jsonb, jsonb),
	mlpipe_proxy.drop_model(text, text) TO mlpipe_writer;
REVOKE EXECUTE ON FUNCTION mlpipe_proxy.put_purchases(bigint[], integer[], text[],
	double precision[], double precision[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mlpipe_proxy.put_purchases(bigint[], integer[], text[],
	double precision[], double precision[], timestamptz[]) TO mlpipe_ingest;
