-- mlpipe 0.1: purchases, features, XGBoost models and prediction inside PostgreSQL.
\echo Use "CREATE EXTENSION mlpipe" to load this file. \quit

CREATE SCHEMA mlpipe;

-- Raw purchases, one row per purchase, as the CSV holds them.  Gaps are kept
-- (NULLs, ages of 0, other genders): cleaning belongs to the features, so
-- that training and serving clean the same way.
CREATE TABLE mlpipe.purchases (
	customer_id     bigint           NOT NULL,
	age             integer,
	gender          text,
	annual_income   double precision,
	purchase_amount double precision,
	purchase_date   timestamptz      NOT NULL
);
CREATE INDEX purchases_customer_date_idx
	ON mlpipe.purchases (customer_id, purchase_date);

-- The model registry.  A row is immutable once inserted: (model_name,
-- version) is unique, updates are refused by a trigger, and removing then
-- registering again makes a new row (new id), which is what prediction
-- caches key on.
CREATE TABLE mlpipe.models (
	id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_name             text        NOT NULL,
	version                text        NOT NULL,
	algorithm              text        NOT NULL,
	artifact               bytea       NOT NULL,
	sha256                 text        NOT NULL,
	standardization_params jsonb       NOT NULL,
	model_params           jsonb       NOT NULL DEFAULT '{}',
	metadata               jsonb       NOT NULL DEFAULT '{}',
	created_at             timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT models_name_version_key UNIQUE (model_name, version),
	CONSTRAINT models_name_check
		CHECK (model_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
	CONSTRAINT models_version_check
		CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$'),
	CONSTRAINT models_algorithm_check
		CHECK (algorithm IN ('xgboost', 'random_forest', 'linear'))
);
-- artifacts are compressed JSON already worth keeping inline up to the TOAST limit
ALTER TABLE mlpipe.models ALTER COLUMN artifact SET STORAGE EXTENDED;

CREATE FUNCTION mlpipe.models_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'registered model versions are immutable'
		USING ERRCODE = 'object_not_in_prerequisite_state',
		      HINT = 'Remove the version and register a new one.';
END;
$$;
CREATE TRIGGER models_immutable BEFORE UPDATE ON mlpipe.models
	FOR EACH ROW EXECUTE FUNCTION mlpipe.models_immutable();

-- Backends remember which registry row a (name, version) means; a register
-- or remove tells every backend to forget (a relcache invalidation at commit).
CREATE FUNCTION mlpipe.models_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'mlpipe_models_changed' LANGUAGE C;
CREATE TRIGGER models_changed AFTER INSERT OR DELETE OR TRUNCATE ON mlpipe.models
	FOR EACH STATEMENT EXECUTE FUNCTION mlpipe.models_changed();

-- Loading: one CSV line in, typed columns or an error out.
CREATE FUNCTION mlpipe_parse_purchase_csv(line text,
	OUT customer_id bigint, OUT age integer, OUT gender text,
	OUT annual_income double precision, OUT purchase_amount double precision,
	OUT purchase_date timestamptz, OUT error text)
RETURNS record
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION mlpipe_is_purchase_csv_header(line text) RETURNS boolean
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Features (docs/features.md).  One C implementation serves training and
-- serving alike.
CREATE FUNCTION mlpipe_feature_names() RETURNS text[]
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- One row per (customer, month) of the training set, gaps filled, features
-- standardized with the parameters fitted on these same rows; target NULL
-- for a customer's last month.  One ordered scan of mlpipe.purchases.
CREATE FUNCTION mlpipe_training_rows(
	OUT customer_id bigint, OUT month date,
	OUT features double precision[], OUT target double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

-- The standardization parameters fitted on the training rows, in the shape
-- the old pipeline stored: {"purchase_amount": {"mean": .., "std": ..}, ...}
CREATE FUNCTION mlpipe_standardization_params() RETURNS jsonb
AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

-- The 19 features of one new purchase merged with the customer's history.
-- params: {"purchase_amount": {"mean", "std"}, ...}, optionally wrapped in
-- {"params": ...}.  Invalid input raises SQLSTATE 22023 naming the field.
CREATE FUNCTION mlpipe_preprocess(
	customer_id bigint, purchase_date timestamptz,
	purchase_amount double precision, annual_income double precision,
	age integer, gender text, params jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

-- ---------------------------------------------------------------------
-- The registry (docs/models.md).  These are what the registry service calls.

-- Sort key of a version: parts split on '.', numbers compared numerically
-- (1.10 > 1.9), numbers before words, a shorter prefix first (1.0 < 1.0.1).
CREATE FUNCTION mlpipe.version_key(version text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT array_agg(CASE WHEN part ~ '^[0-9]+$'
	                      THEN '0' || lpad(ltrim(part, '0'), 40, '0')
	                      ELSE '1' || part END COLLATE "C" ORDER BY n)
	FROM unnest(string_to_array(version, '.')) WITH ORDINALITY AS t(part, n)
$$;

-- Parses and validates an XGBoost JSON artifact; returns its algorithm.
-- 0A000 for anything that is not an XGBoost JSON model (pickle, joblib,
-- binary), 22023 for a broken or unsupported one.
CREATE FUNCTION mlpipe_model_check(artifact bytea) RETURNS text
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION mlpipe.model_info_json(m mlpipe.models) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT jsonb_build_object(
		'model_name', m.model_name,
		'version', m.version,
		'algorithm', m.algorithm,
		'sha256', m.sha256,
		'size_bytes', octet_length(m.artifact),
		'standardization_params', m.standardization_params,
		'model_params', m.model_params,
		'additional_metadata', m.metadata,
		'created_at', m.created_at)
$$;

CREATE FUNCTION mlpipe.check_name_version(model_name text, version text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF model_name IS NULL OR model_name !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' THEN
		RAISE EXCEPTION 'model_name must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF version IS NULL OR version !~ '^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$' THEN
		RAISE EXCEPTION 'version must be 1-64 letters, digits, ".", "_", "+" or "-", starting with a letter or digit'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
END;
$$;

-- Registers a model version; returns its info.  The artifact is checked by
-- the same reader that serves it, so a broken model never enters.
CREATE FUNCTION mlpipe_register_model(
	model_name text, version text, artifact bytea,
	standardization_params jsonb DEFAULT '{}',
	model_params jsonb DEFAULT '{}',
	metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	algo text;
	std jsonb := coalesce(standardization_params, '{}');
	r mlpipe.models;
BEGIN
	PERFORM mlpipe.check_name_version(model_name, version);
	IF artifact IS NULL THEN
		RAISE EXCEPTION 'model_file must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	algo := @extschema@.mlpipe_model_check(artifact);
	-- the old pipeline wrapped the columns in {"params": ...}: keep the columns
	IF jsonb_typeof(std) = 'object' AND std ? 'params' THEN
		std := std -> 'params';
	END IF;
	IF jsonb_typeof(std) <> 'object' THEN
		RAISE EXCEPTION 'standardization_params must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF std <> '{}' THEN
		PERFORM @extschema@.mlpipe_check_standardization(std);
	END IF;
	IF jsonb_typeof(coalesce(model_params, '{}')) <> 'object' THEN
		RAISE EXCEPTION 'model_params must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF jsonb_typeof(coalesce(metadata, '{}')) <> 'object' THEN
		RAISE EXCEPTION 'additional_metadata must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	BEGIN
		INSERT INTO mlpipe.models AS m (model_name, version, algorithm, artifact, sha256,
			standardization_params, model_params, metadata)
		VALUES (model_name, version, algo, artifact, encode(sha256(artifact), 'hex'),
			std, coalesce(model_params, '{}'), coalesce(metadata, '{}'))
		RETURNING m.* INTO r;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" version "%" is already registered', model_name, version
			USING ERRCODE = 'unique_violation',
			      HINT = 'Registered versions are immutable: register a new version.';
	END;
	RETURN mlpipe.model_info_json(r);
END;
$$;

-- The id of (model_name, version); version NULL means the latest.  The one
-- definition of "latest": prediction resolves models through it too.
CREATE FUNCTION mlpipe.find_model_id(model_name text, version text) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r bigint;
BEGIN
	IF version IS NULL THEN
		SELECT m.id INTO r FROM mlpipe.models m WHERE m.model_name = find_model_id.model_name
		-- 1.01 and 1.1 have the same key: the text breaks the tie
		ORDER BY mlpipe.version_key(m.version) DESC, m.version COLLATE "C" DESC LIMIT 1;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'model "%" not found', model_name USING ERRCODE = 'undefined_object';
		END IF;
	ELSE
		SELECT m.id INTO r FROM mlpipe.models m
		WHERE m.model_name = find_model_id.model_name AND m.version = find_model_id.version;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'model "%" version "%" not found', model_name, version
				USING ERRCODE = 'undefined_object';
		END IF;
	END IF;
	RETURN r;
END;
$$;

CREATE FUNCTION mlpipe.find_model(model_name text, version text) RETURNS mlpipe.models
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	found_id bigint;
	r mlpipe.models;
BEGIN
	-- look the id up on its own: as a scan qual it is never evaluated (and
	-- never raises "not found") when the table has no visible row
	found_id := mlpipe.find_model_id(model_name, version);
	SELECT * INTO STRICT r FROM mlpipe.models m WHERE m.id = found_id;
	RETURN r;
END;
$$;

-- Info of a version (NULL: the latest).
CREATE FUNCTION mlpipe_model_info(model_name text, version text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT mlpipe.model_info_json(mlpipe.find_model(model_name, version))
$$;

-- [{"model_name": .., "versions": [..]}], names sorted, versions in version order.
CREATE FUNCTION mlpipe_list_models() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('model_name', model_name, 'versions', versions)
	                          ORDER BY model_name), '[]')
	FROM (SELECT model_name, jsonb_agg(version ORDER BY mlpipe.version_key(version), version COLLATE "C") AS versions
	      FROM mlpipe.models GROUP BY model_name) s
$$;

CREATE FUNCTION mlpipe_model_artifact(model_name text, version text DEFAULT NULL) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT (mlpipe.find_model(model_name, version)).artifact
$$;

-- Removes a version; returns what it was.
CREATE FUNCTION mlpipe_remove_model(model_name text, version text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	r mlpipe.models;
BEGIN
	IF version IS NULL THEN
		RAISE EXCEPTION 'version must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	DELETE FROM mlpipe.models m
	WHERE m.model_name = mlpipe_remove_model.model_name AND m.version = mlpipe_remove_model.version
	RETURNING m.* INTO r;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" version "%" not found', model_name, version
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN mlpipe.model_info_json(r);
END;
$$;

-- ---------------------------------------------------------------------
-- Training and prediction (docs/models.md, docs/sql.md).

-- Validates standardization parameters (22023 naming what is wrong).
CREATE FUNCTION mlpipe_check_standardization(params jsonb) RETURNS void
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Trains on mlpipe.purchases, evaluates, registers; returns the metrics.
CREATE FUNCTION mlpipe_train(model_name text, algorithm text,
	version text DEFAULT '1.0', hyperparams jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The raw model output for a feature vector (NULL elements are missing values).
CREATE FUNCTION mlpipe_predict(model_name text, version text, features double precision[])
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlpipe_predict_vector' LANGUAGE C STABLE PARALLEL SAFE;

-- Next month's amount, in currency units, for a new purchase.
CREATE FUNCTION mlpipe_predict(model_name text, version text,
	customer_id bigint, purchase_date timestamptz,
	purchase_amount double precision, annual_income double precision,
	age integer, gender text)
RETURNS double precision
AS 'MODULE_PATHNAME', 'mlpipe_predict_purchase' LANGUAGE C STABLE PARALLEL SAFE;

-- Every customer's next-month prediction from stored history, in one scan.
CREATE FUNCTION mlpipe_predict_customers(model_name text, version text DEFAULT NULL,
	OUT customer_id bigint, OUT month date, OUT predicted_purchase_amount double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

-- Many purchases in one call: a JSON array of raw_data objects in, a JSON
-- array of predictions (input order) out.
CREATE FUNCTION mlpipe_predict_batch(model_name text, version text, purchases jsonb)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(jsonb_agg(to_jsonb(@extschema@.mlpipe_predict(model_name, version,
			(p ->> 'customer_id')::bigint, (p ->> 'purchase_date')::timestamptz,
			(p ->> 'purchase_amount')::double precision, (p ->> 'annual_income')::double precision,
			(p ->> 'age')::integer, p ->> 'gender')) ORDER BY n), '[]')
	FROM jsonb_array_elements(purchases) WITH ORDINALITY AS t(p, n)
$$;

-- Ingests purchases: a JSON array of raw_data objects, all or nothing.
CREATE FUNCTION mlpipe_ingest_purchases(purchases jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	IF jsonb_typeof(purchases) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'purchases must be a JSON array' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO mlpipe.purchases (customer_id, age, gender, annual_income, purchase_amount, purchase_date)
	SELECT (p ->> 'customer_id')::bigint, (p ->> 'age')::integer, p ->> 'gender',
	       (p ->> 'annual_income')::double precision, (p ->> 'purchase_amount')::double precision,
	       (p ->> 'purchase_date')::timestamptz
	FROM jsonb_array_elements(purchases) AS t(p);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END;
$$;
