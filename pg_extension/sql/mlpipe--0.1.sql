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

-- Loading: one CSV line in, typed columns or an error out.
CREATE FUNCTION mlpipe_parse_purchase_csv(line text,
	OUT customer_id bigint, OUT age integer, OUT gender text,
	OUT annual_income double precision, OUT purchase_amount double precision,
	OUT purchase_date timestamptz, OUT error text)
RETURNS record
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION mlpipe_is_purchase_csv_header(line text) RETURNS boolean
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
