-- mlpipe 0.2 -> 0.3: the model lifecycle (docs/tuning.md) and what came with it.
\echo Use "ALTER EXTENSION mlpipe UPDATE TO '0.3'" to load this file. \quit

-- ==== tuning (issue 13) ====
--
-- mlpipe_tune searches hyperparameters with forward-chaining monthly folds
-- on the training split, records every trial here, and registers the best
-- one refitted on the whole training split.  A tuning run's trials share a
-- run_id; a cancelled or failed run leaves none (same transaction).

CREATE SEQUENCE mlpipe.tuning_run_seq;

CREATE TABLE mlpipe.tuning_trials (
	run_id      bigint           NOT NULL,
	model_name  text             NOT NULL,
	version     text             NOT NULL,	-- the version the run registers
	trial       integer          NOT NULL CHECK (trial >= 1),
	params      jsonb            NOT NULL,	-- the searched hyperparameters' values
	fold_rmse   double precision[] NOT NULL,	-- validation RMSE per fold, currency units
	cv_rmse     double precision NOT NULL,	-- their mean
	seconds     double precision NOT NULL,
	-- per fold: train_from, train_to, valid_from, valid_to (first days of
	-- months), train_rows, valid_rows, rmse
	folds       jsonb            NOT NULL,
	created_at  timestamptz      NOT NULL DEFAULT now(),
	PRIMARY KEY (run_id, trial)
);
CREATE INDEX tuning_trials_model ON mlpipe.tuning_trials (model_name, version);

-- Searches, refits the best, evaluates it once on the test split, registers
-- it as version; returns its metadata (metrics and the search).
CREATE FUNCTION mlpipe_tune(model_name text, algorithm text, version text,
	search jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A model's tuning trials as JSON, newest run first, trials in order
-- (GET /models/{name}/trials); version NULL: every run.  42704 when the
-- name has neither a model nor a trial.
CREATE FUNCTION mlpipe_tuning_trials(model_name text, version text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM mlpipe.models m WHERE m.model_name = mlpipe_tuning_trials.model_name)
	   AND NOT EXISTS (SELECT FROM mlpipe.tuning_trials t WHERE t.model_name = mlpipe_tuning_trials.model_name) THEN
		RAISE EXCEPTION 'model "%" not found', model_name
			USING ERRCODE = 'undefined_object',
			      HINT = 'mlpipe_list_models() lists the models; mlpipe_tune records trials.';
	END IF;
	RETURN jsonb_build_object('model_name', model_name, 'trials', coalesce(
		(SELECT jsonb_agg(jsonb_build_object(
				'run_id', t.run_id, 'version', t.version, 'trial', t.trial, 'params', t.params,
				'fold_rmse', to_jsonb(t.fold_rmse), 'cv_rmse', t.cv_rmse, 'seconds', t.seconds,
				'folds', t.folds, 'created_at', t.created_at)
			ORDER BY t.run_id DESC, t.trial)
		 FROM mlpipe.tuning_trials t
		 WHERE t.model_name = mlpipe_tuning_trials.model_name
		   AND (mlpipe_tuning_trials.version IS NULL OR t.version = mlpipe_tuning_trials.version)),
		'[]'::jsonb));
END;
$$;

-- ==== aliases and history (issue 13) ====
--
-- An alias (production, staging...) points at one version of a model;
-- '@alias' is accepted wherever a version is.  Every alias change is a row
-- of mlpipe.alias_history.  Every (model_name, version) ever registered is a
-- row of mlpipe.registered_versions, kept when the version is removed (a
-- tombstone), so a version string always means one artifact.  Every
-- registry change is announced on the channel mlpipe_models at commit.

-- Every version ever registered, with the sha256 of its artifact.  A
-- registration claims its row first (the claim waits for a concurrent one),
-- so two artifacts can never share a (name, version), even across a remove
-- and a register running at the same time.  removed_at set: a tombstone.
CREATE TABLE mlpipe.registered_versions (
	model_name    text        NOT NULL,
	version       text        NOT NULL,
	sha256        text        NOT NULL,
	registered_at timestamptz NOT NULL DEFAULT now(),
	removed_at    timestamptz,
	removed_by    text,
	PRIMARY KEY (model_name, version)
);
INSERT INTO mlpipe.registered_versions (model_name, version, sha256, registered_at)
SELECT model_name, version, sha256, created_at FROM mlpipe.models;

-- Current aliases.  The foreign key is the last line of defence: a version
-- an alias points at cannot be deleted even by a DELETE that bypasses
-- mlpipe_remove_model (which refuses it with a clearer message first).
CREATE TABLE mlpipe.aliases (
	model_name text        NOT NULL,
	alias      text        NOT NULL,
	version    text        NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	updated_by text        NOT NULL DEFAULT current_user,
	PRIMARY KEY (model_name, alias),
	CONSTRAINT aliases_alias_check CHECK (alias ~ '^[a-z][a-z0-9_-]{0,62}$'),
	CONSTRAINT aliases_version_fkey FOREIGN KEY (model_name, version)
		REFERENCES mlpipe.models (model_name, version) ON DELETE RESTRICT
);
CREATE INDEX aliases_version_idx ON mlpipe.aliases (model_name, version);

-- Every alias change, oldest first by id.  event: set (from_version NULL
-- when the alias was created), delete (to_version NULL) or rollback
-- (undoes: the set it undid).
CREATE TABLE mlpipe.alias_history (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_name   text        NOT NULL,
	alias        text        NOT NULL,
	event        text        NOT NULL,
	from_version text,
	to_version   text,
	changed_at   timestamptz NOT NULL DEFAULT now(),
	changed_by   text        NOT NULL DEFAULT current_user,
	undoes       bigint REFERENCES mlpipe.alias_history (id),
	CONSTRAINT alias_history_event_check CHECK (event IN ('set', 'delete', 'rollback'))
);
CREATE INDEX alias_history_alias_idx ON mlpipe.alias_history (model_name, alias, id);
CREATE INDEX alias_history_undoes_idx ON mlpipe.alias_history (undoes);

-- An alias flip must reach every backend's resolved-name cache at commit,
-- as a register or remove does.
CREATE TRIGGER aliases_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mlpipe.aliases
	FOR EACH STATEMENT EXECUTE FUNCTION mlpipe.models_changed();

-- NOTIFY mlpipe_models, {"event", "model_name", "version", "alias"}.
-- pg_notify inside the transaction: delivered at commit, never after a
-- rollback.  (PostgreSQL folds identical payloads of one transaction into
-- one notification.)
CREATE FUNCTION mlpipe.notify_change(event text, model_name text, version text, alias text)
RETURNS void
LANGUAGE sql AS $$
	SELECT pg_notify('mlpipe_models', json_build_object('event', event, 'model_name', model_name,
		'version', version, 'alias', alias)::text)
$$;

-- A time for a message, the same whatever the session's DateStyle and TimeZone.
CREATE FUNCTION mlpipe.message_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"')
$$;

-- Before a model row goes in: claim its (name, version) for its artifact.
CREATE FUNCTION mlpipe.models_claim_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	claimed mlpipe.registered_versions;
BEGIN
	INSERT INTO mlpipe.registered_versions AS rv (model_name, version, sha256)
	VALUES (NEW.model_name, NEW.version, NEW.sha256)
	ON CONFLICT (model_name, version) DO UPDATE
		SET removed_at = NULL, removed_by = NULL
		WHERE rv.sha256 = EXCLUDED.sha256 AND rv.removed_at IS NOT NULL;
	SELECT * INTO claimed FROM mlpipe.registered_versions rv
	WHERE rv.model_name = NEW.model_name AND rv.version = NEW.version;
	-- a live row with another artifact: the unique key reports the duplicate
	IF claimed.sha256 <> NEW.sha256 AND claimed.removed_at IS NOT NULL THEN
		RAISE EXCEPTION 'model "%" version "%" was removed and cannot be registered again with a different artifact',
			NEW.model_name, NEW.version
			USING ERRCODE = 'unique_violation',
			      CONSTRAINT = 'registered_versions_pkey',
			      DETAIL = format('Version %s was removed at %s by %s; it held the artifact with sha256 %s, this one has sha256 %s.',
			                      NEW.version, mlpipe.message_time(claimed.removed_at), claimed.removed_by,
			                      claimed.sha256, NEW.sha256),
			      HINT = 'A version string always means one model: register this artifact under a new version.';
	END IF;
	RETURN NEW;
END;
$$;
CREATE TRIGGER models_claim_version BEFORE INSERT ON mlpipe.models
	FOR EACH ROW EXECUTE FUNCTION mlpipe.models_claim_version();

CREATE FUNCTION mlpipe.models_registered() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mlpipe.notify_change('register', NEW.model_name, NEW.version, NULL);
	RETURN NULL;
END;
$$;
CREATE TRIGGER models_registered AFTER INSERT ON mlpipe.models
	FOR EACH ROW EXECUTE FUNCTION mlpipe.models_registered();

-- After a model row goes: its claim stays, as a tombstone.
CREATE FUNCTION mlpipe.models_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE mlpipe.registered_versions rv SET removed_at = now(), removed_by = current_user
	WHERE rv.model_name = OLD.model_name AND rv.version = OLD.version;
	PERFORM mlpipe.notify_change('remove', OLD.model_name, OLD.version, NULL);
	RETURN NULL;
END;
$$;
CREATE TRIGGER models_removed AFTER DELETE ON mlpipe.models
	FOR EACH ROW EXECUTE FUNCTION mlpipe.models_removed();

CREATE FUNCTION mlpipe.alias_history_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mlpipe.notify_change('alias_' || NEW.event, NEW.model_name,
		coalesce(NEW.to_version, NEW.from_version), NEW.alias);
	RETURN NULL;
END;
$$;
CREATE TRIGGER alias_history_notify AFTER INSERT ON mlpipe.alias_history
	FOR EACH ROW EXECUTE FUNCTION mlpipe.alias_history_notify();

-- Sort key of a version, semantic-versioning style: build metadata (after
-- '+') ignored; the release (before the first '-') split on '.', numbers
-- compared numerically (1.10 > 1.9), numbers before words, a prefix before
-- its extensions (1.0 < 1.0.1); a pre-release (after the first '-') before
-- its release (2.0-rc1 < 2.0 < 2.0.1).  Elements start with a letter that
-- orders them: 'p' pre-release marker < 'r' end of release < 's' number <
-- 'w' word.  Compare keys with COLLATE "C".
CREATE FUNCTION mlpipe.version_parts_key(parts text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(CASE WHEN part ~ '^[0-9]+$'
	                               THEN 's' || lpad(ltrim(part, '0'), 40, '0')
	                               ELSE 'w' || part END COLLATE "C" ORDER BY n), '{}')
	FROM unnest(string_to_array(parts, '.')) WITH ORDINALITY AS t(part, n)
$$;

CREATE OR REPLACE FUNCTION mlpipe.version_key(version text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT CASE WHEN dash = 0 THEN mlpipe.version_parts_key(core) || '{r}'::text[]
	            ELSE mlpipe.version_parts_key(left(core, dash - 1)) || '{p}'::text[]
	                 || mlpipe.version_parts_key(substr(core, dash + 1)) END
	FROM (SELECT core, strpos(core, '-') AS dash
	      FROM (SELECT split_part(version, '+', 1) AS core) c) d
$$;

-- [{"model_name": .., "versions": [..]}], names sorted, versions in version order.
CREATE OR REPLACE FUNCTION mlpipe_list_models() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_object('model_name', model_name, 'versions', versions)
	                          ORDER BY model_name), '[]')
	FROM (SELECT model_name,
	             jsonb_agg(version ORDER BY mlpipe.version_key(version) COLLATE "C", version COLLATE "C") AS versions
	      FROM mlpipe.models GROUP BY model_name) s
$$;

CREATE FUNCTION mlpipe.check_alias(alias text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF alias IS NULL OR alias !~ '^[a-z][a-z0-9_-]{0,62}$' THEN
		RAISE EXCEPTION 'alias must be 1-63 lowercase letters, digits, "_" or "-", starting with a letter'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('Got %s.', coalesce(quote_literal(alias), 'NULL')),
			      HINT = 'Use a name such as production, staging or champion (without the "@" that refers to it).';
	END IF;
END;
$$;

-- At most `most` items of a list for a message: "a, b, c" or "a, b, ... (12 in all)".
CREATE FUNCTION mlpipe.message_list(items text[], most integer DEFAULT 20) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN cardinality(items) <= most THEN array_to_string(items, ', ')
	            ELSE array_to_string(items[1:most], ', ') || format(', ... (%s in all)', cardinality(items)) END
$$;

-- 42704 for a (name, version) with no row, saying what exists instead.
CREATE FUNCTION mlpipe.raise_not_found(model_name text, version text) RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	versions text[];
	names text[];
	gone mlpipe.registered_versions;
BEGIN
	SELECT array_agg(m.version ORDER BY mlpipe.version_key(m.version) COLLATE "C", m.version COLLATE "C")
	INTO versions FROM mlpipe.models m WHERE m.model_name = raise_not_found.model_name;
	IF versions IS NULL THEN
		SELECT array_agg(DISTINCT m.model_name ORDER BY m.model_name) INTO names FROM mlpipe.models m;
		RAISE EXCEPTION 'model "%" not found', model_name
			USING ERRCODE = 'undefined_object',
			      DETAIL = CASE WHEN names IS NULL THEN 'No model is registered.'
			                    ELSE 'Registered models: ' || mlpipe.message_list(names) || '.' END,
			      HINT = 'mlpipe_list_models() lists every model and its versions.';
	END IF;
	IF left(version, 1) = '@' THEN
		SELECT array_agg(a.alias ORDER BY a.alias) INTO names
		FROM mlpipe.aliases a WHERE a.model_name = raise_not_found.model_name;
		RAISE EXCEPTION 'model "%" has no alias "%"', model_name, substr(version, 2)
			USING ERRCODE = 'undefined_object',
			      DETAIL = CASE WHEN names IS NULL THEN format('Model %s has no aliases.', model_name)
			                    ELSE format('Aliases of model %s: %s.', model_name, mlpipe.message_list(names)) END,
			      HINT = 'Point an alias at a version with mlpipe_set_alias(model_name, alias, version).';
	END IF;
	SELECT * INTO gone FROM mlpipe.registered_versions rv
	WHERE rv.model_name = raise_not_found.model_name AND rv.version = raise_not_found.version;
	RAISE EXCEPTION 'model "%" version "%" not found', model_name, version
		USING ERRCODE = 'undefined_object',
		      DETAIL = CASE WHEN gone.removed_at IS NOT NULL
		                    THEN format('Version %s was removed at %s. ', version, mlpipe.message_time(gone.removed_at)) ELSE '' END
		               || format('Versions of model %s: %s.', model_name, mlpipe.message_list(versions)),
		      HINT = 'Pass one of these versions, NULL for the latest, or @alias.';
END;
$$;

-- The id of (model_name, version); version NULL means the latest and
-- '@alias' the version the alias points at now.  The one definition of
-- both: prediction resolves models through it too.
CREATE OR REPLACE FUNCTION mlpipe.find_model_id(model_name text, version text) RETURNS bigint
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r bigint;
BEGIN
	IF version = '' THEN
		RAISE EXCEPTION 'version must not be empty'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass a version such as ''1.0'', ''@alias'' for the version an alias points at, or NULL for the latest.';
	END IF;
	IF version IS NULL THEN
		SELECT m.id INTO r FROM mlpipe.models m WHERE m.model_name = find_model_id.model_name
		-- 1.01 and 1.1 have the same key: the text breaks the tie
		ORDER BY mlpipe.version_key(m.version) COLLATE "C" DESC, m.version COLLATE "C" DESC LIMIT 1;
	ELSIF left(version, 1) = '@' THEN
		SELECT m.id INTO r FROM mlpipe.aliases a
		JOIN mlpipe.models m ON m.model_name = a.model_name AND m.version = a.version
		WHERE a.model_name = find_model_id.model_name AND a.alias = substr(find_model_id.version, 2);
	ELSE
		SELECT m.id INTO r FROM mlpipe.models m
		WHERE m.model_name = find_model_id.model_name AND m.version = find_model_id.version;
	END IF;
	IF r IS NULL THEN
		PERFORM mlpipe.raise_not_found(model_name, version);
	END IF;
	RETURN r;
END;
$$;

-- The version (model_name, version) means now: an alias resolved, NULL the
-- latest.  Inference replies name the version that answered with it.  C:
-- the lookup prediction remembers per backend, no registry query per call.
CREATE FUNCTION mlpipe_model_version(model_name text, version text DEFAULT NULL) RETURNS text
AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

-- Refuses, before any work, a version that cannot be registered: one that
-- is registered, or was and was removed (its artifact is unknown before
-- training, so even the same one is refused here).  23505.
CREATE FUNCTION mlpipe.check_version_free(model_name text, version text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
	claimed mlpipe.registered_versions;
BEGIN
	PERFORM mlpipe.check_name_version(model_name, version);
	SELECT * INTO claimed FROM mlpipe.registered_versions rv
	WHERE rv.model_name = check_version_free.model_name AND rv.version = check_version_free.version;
	IF FOUND AND claimed.removed_at IS NULL THEN
		RAISE EXCEPTION 'model "%" version "%" is already registered', model_name, version
			USING ERRCODE = 'unique_violation',
			      HINT = 'Registered versions are immutable: use a new version.';
	ELSIF FOUND THEN
		RAISE EXCEPTION 'model "%" version "%" was removed and cannot be used again', model_name, version
			USING ERRCODE = 'unique_violation',
			      DETAIL = format('Version %s was removed at %s by %s.', version,
			                      mlpipe.message_time(claimed.removed_at), claimed.removed_by),
			      HINT = 'A version string always means one model: use a new version.';
	END IF;
END;
$$;

-- Registers a model version; returns its info.  The artifact is checked by
-- the same reader that serves it and the standardization parameters by the
-- code that will use them, so neither can fail later at prediction time.
CREATE OR REPLACE FUNCTION mlpipe_register_model(
	model_name text, version text, artifact bytea,
	standardization_params jsonb DEFAULT '{}',
	model_params jsonb DEFAULT '{}',
	metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	algo text;
	std jsonb := standardization_params;
	r mlpipe.models;
	broken text;
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
	IF std IS NULL OR std = '{}' THEN
		RAISE EXCEPTION 'standardization_params must not be empty'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = 'Predicting a purchase standardizes its features and turns the model''s output back into currency with these parameters.',
			      HINT = 'Pass {"purchase_amount": {"mean": ..., "std": ...}, ...} for purchase_amount, annual_income, clv and age_income_interaction, as mlpipe_standardization_params() returns them.';
	END IF;
	IF jsonb_typeof(std) <> 'object' THEN
		RAISE EXCEPTION 'standardization_params must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM @extschema@.mlpipe_check_standardization(std);
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
		GET STACKED DIAGNOSTICS broken = CONSTRAINT_NAME;
		IF broken IS DISTINCT FROM 'models_name_version_key' THEN
			RAISE;				-- a tombstone: its own message
		END IF;
		RAISE EXCEPTION 'model "%" version "%" is already registered', model_name, version
			USING ERRCODE = 'unique_violation',
			      HINT = 'Registered versions are immutable: register a new version.';
	END;
	RETURN mlpipe.model_info_json(r);
END;
$$;

-- Removes a version; returns what it was.  A version an alias points at
-- stays (55006).  The row is locked before the aliases are read, so an
-- alias set concurrently is either seen here or finds no version.
CREATE OR REPLACE FUNCTION mlpipe_remove_model(model_name text, version text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	r mlpipe.models;
	target bigint;
	pointing text[];
BEGIN
	IF version IS NULL THEN
		RAISE EXCEPTION 'version must not be null' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	target := mlpipe.find_model_id(model_name, version);
	SELECT * INTO r FROM mlpipe.models m WHERE m.id = target FOR UPDATE;
	IF NOT FOUND THEN
		PERFORM mlpipe.raise_not_found(model_name, version);
	END IF;
	SELECT array_agg(a.alias ORDER BY a.alias) INTO pointing FROM mlpipe.aliases a
	WHERE a.model_name = r.model_name AND a.version = r.version;
	IF pointing IS NOT NULL THEN
		RAISE EXCEPTION 'model "%" version "%" cannot be removed: an alias points at it', r.model_name, r.version
			USING ERRCODE = 'object_in_use',
			      DETAIL = format('Aliases pointing at version %s: %s.', r.version, array_to_string(pointing, ', ')),
			      HINT = 'Point the alias at another version (mlpipe_set_alias) or delete it (mlpipe_delete_alias) first.';
	END IF;
	DELETE FROM mlpipe.models m WHERE m.id = target;
	RETURN mlpipe.model_info_json(r);
END;
$$;

-- The alias row of (model_name, alias), locked; NULL when there is none.
CREATE FUNCTION mlpipe.lock_alias(model_name text, alias text) RETURNS mlpipe.aliases
LANGUAGE sql AS $$
	SELECT * FROM mlpipe.aliases a
	WHERE a.model_name = lock_alias.model_name AND a.alias = lock_alias.alias FOR UPDATE
$$;

-- Locks version's row against removal for the rest of the transaction:
-- a remove in progress makes this wait, then find nothing.
CREATE FUNCTION mlpipe.hold_version(model_name text, version text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	target bigint := mlpipe.find_model_id(model_name, version);
	held text;
BEGIN
	SELECT m.version INTO held FROM mlpipe.models m WHERE m.id = target FOR KEY SHARE;
	IF held IS NULL THEN
		PERFORM mlpipe.raise_not_found(model_name, version);
	END IF;
	RETURN held;
END;
$$;

CREATE FUNCTION mlpipe.alias_json(model_name text, alias text, version text, previous text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT jsonb_build_object('model_name', model_name, 'alias', alias,
		'version', version, 'previous_version', previous)
$$;

-- Points alias at version (a version, or '@other' for where another alias
-- points now); returns {"model_name", "alias", "version", "previous_version"}.
-- Setting it where it already points changes nothing and records nothing.
CREATE FUNCTION mlpipe_set_alias(model_name text, alias text, version text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	target text;
	cur mlpipe.aliases;
BEGIN
	PERFORM mlpipe.check_alias(alias);
	IF version IS NULL THEN
		RAISE EXCEPTION 'version must not be null'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'An alias points at one version: name it.';
	END IF;
	target := mlpipe.hold_version(model_name, version);
	LOOP
		cur := mlpipe.lock_alias(model_name, alias);
		IF cur.alias IS NOT NULL THEN
			IF cur.version = target THEN
				RETURN mlpipe.alias_json(model_name, alias, target, target);
			END IF;
			UPDATE mlpipe.aliases a SET version = target, updated_at = now(), updated_by = current_user
			WHERE a.model_name = mlpipe_set_alias.model_name AND a.alias = mlpipe_set_alias.alias;
			EXIT;
		END IF;
		INSERT INTO mlpipe.aliases AS a (model_name, alias, version)
		VALUES (mlpipe_set_alias.model_name, mlpipe_set_alias.alias, target) ON CONFLICT DO NOTHING;
		EXIT WHEN FOUND;
		-- created meanwhile by another transaction: lock it and update it
	END LOOP;
	INSERT INTO mlpipe.alias_history (model_name, alias, event, from_version, to_version)
	VALUES (mlpipe_set_alias.model_name, mlpipe_set_alias.alias, 'set', cur.version, target);
	RETURN mlpipe.alias_json(model_name, alias, target, cur.version);
END;
$$;

CREATE FUNCTION mlpipe.raise_no_alias(model_name text, alias text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
	PERFORM mlpipe.find_model_id(model_name, NULL);	-- an unknown model says so
	PERFORM mlpipe.raise_not_found(model_name, '@' || alias);
END;
$$;

-- Deletes an alias; returns {"model_name", "alias", "version", "previous_version"}
-- with version null and previous_version where it pointed.
CREATE FUNCTION mlpipe_delete_alias(model_name text, alias text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	old text;
BEGIN
	PERFORM mlpipe.check_alias(alias);
	DELETE FROM mlpipe.aliases a
	WHERE a.model_name = mlpipe_delete_alias.model_name AND a.alias = mlpipe_delete_alias.alias
	RETURNING a.version INTO old;
	IF old IS NULL THEN
		PERFORM mlpipe.raise_no_alias(model_name, alias);
	END IF;
	INSERT INTO mlpipe.alias_history (model_name, alias, event, from_version, to_version)
	VALUES (mlpipe_delete_alias.model_name, mlpipe_delete_alias.alias, 'delete', old, NULL);
	RETURN mlpipe.alias_json(model_name, alias, NULL, old);
END;
$$;

-- Points alias back at the version it pointed at before its last change
-- that is not yet undone: rolling back twice after 1.0 -> 1.1 -> 1.2 gives
-- 1.0.  A delete starts the alias over.  55000 when there is nothing to go
-- back to, or that version was removed.
CREATE FUNCTION mlpipe_rollback_alias(model_name text, alias text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	cur mlpipe.aliases;
	last mlpipe.alias_history;
	target text;
BEGIN
	PERFORM mlpipe.check_alias(alias);
	cur := mlpipe.lock_alias(model_name, alias);
	IF cur.alias IS NULL THEN
		PERFORM mlpipe.raise_no_alias(model_name, alias);
	END IF;
	SELECT * INTO last FROM mlpipe.alias_history h
	WHERE h.model_name = cur.model_name AND h.alias = cur.alias AND h.event = 'set'
	  AND h.id > coalesce((SELECT max(d.id) FROM mlpipe.alias_history d
	                       WHERE d.model_name = cur.model_name AND d.alias = cur.alias
	                         AND d.event = 'delete'), 0)
	  AND NOT EXISTS (SELECT FROM mlpipe.alias_history u WHERE u.undoes = h.id)
	ORDER BY h.id DESC LIMIT 1;
	IF last.from_version IS NULL THEN
		RAISE EXCEPTION 'alias "%" of model "%" has no earlier version to roll back to', alias, model_name
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('It has pointed at version %s since it was set, and earlier changes are rolled back already.', cur.version),
			      HINT = 'Point it at a version with mlpipe_set_alias(model_name, alias, version).';
	END IF;
	BEGIN
		target := mlpipe.hold_version(model_name, last.from_version);
	EXCEPTION WHEN undefined_object THEN
		RAISE EXCEPTION 'alias "%" of model "%" cannot roll back to version "%": it was removed',
			alias, model_name, last.from_version
			USING ERRCODE = 'object_not_in_prerequisite_state',
			      DETAIL = format('The alias pointed at version %s before version %s.', last.from_version, cur.version),
			      HINT = 'Point it at a version that exists with mlpipe_set_alias(model_name, alias, version).';
	END;
	UPDATE mlpipe.aliases a SET version = target, updated_at = now(), updated_by = current_user
	WHERE a.model_name = cur.model_name AND a.alias = cur.alias;
	INSERT INTO mlpipe.alias_history (model_name, alias, event, from_version, to_version, undoes)
	VALUES (cur.model_name, cur.alias, 'rollback', cur.version, target, last.id);
	RETURN mlpipe.alias_json(model_name, alias, target, cur.version);
END;
$$;

-- A model's aliases: [{"alias", "version", "updated_at", "updated_by"}] by
-- alias; 42704 for a model with neither versions nor aliases.
CREATE FUNCTION mlpipe_list_aliases(model_name text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r jsonb;
BEGIN
	SELECT jsonb_agg(jsonb_build_object('alias', a.alias, 'version', a.version,
		'updated_at', a.updated_at, 'updated_by', a.updated_by) ORDER BY a.alias)
	INTO r FROM mlpipe.aliases a WHERE a.model_name = mlpipe_list_aliases.model_name;
	IF r IS NULL THEN
		PERFORM mlpipe.find_model_id(model_name, NULL);
	END IF;
	RETURN coalesce(r, '[]');
END;
$$;

-- A model's alias changes, newest first: [{"alias", "event",
-- "from_version", "to_version", "changed_at", "changed_by"}]; 42704 for a
-- model with neither versions nor history.
CREATE FUNCTION mlpipe_alias_history(model_name text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
	r jsonb;
BEGIN
	SELECT jsonb_agg(jsonb_build_object('alias', h.alias, 'event', h.event,
		'from_version', h.from_version, 'to_version', h.to_version,
		'changed_at', h.changed_at, 'changed_by', h.changed_by) ORDER BY h.id DESC)
	INTO r FROM mlpipe.alias_history h WHERE h.model_name = mlpipe_alias_history.model_name;
	IF r IS NULL THEN
		PERFORM mlpipe.find_model_id(model_name, NULL);
	END IF;
	RETURN coalesce(r, '[]');
END;
$$;

-- ==== monitoring: prediction log, accuracy, drift (issue 17) ====

-- A sample of the inference service's answers (MLPIPE_PREDICTION_LOG_RATE),
-- written in batches by its prediction log.  month is the UTC month of
-- purchase_date: the prediction is for the month after it.  Partitioned by
-- the month the row was logged, so that old months go with a DROP TABLE
-- (mlpipe_expire_predictions) instead of a DELETE; rows of months that have
-- no partition yet land in predictions_default
-- (mlpipe_prediction_partitions creates the coming months').
CREATE TABLE mlpipe.predictions (
	model_name    text             NOT NULL,
	version       text             NOT NULL,
	customer_id   bigint           NOT NULL,
	purchase_date timestamptz      NOT NULL,
	month         date             NOT NULL,
	predicted     double precision NOT NULL,
	logged_at     timestamptz      NOT NULL DEFAULT now()
) PARTITION BY RANGE (logged_at);
CREATE TABLE mlpipe.predictions_default PARTITION OF mlpipe.predictions DEFAULT;
CREATE INDEX predictions_model_idx ON mlpipe.predictions (model_name, version, purchase_date);

-- The partition of one UTC month of logged_at: mlpipe.predictions_YYYY_MM.
CREATE FUNCTION mlpipe.prediction_partition_name(month_start timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT 'predictions_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM')
$$;

-- Creates the monthly partitions of mlpipe.predictions from the current
-- month to `ahead` months after it (those missing), moving into each the
-- rows the default partition holds for its month.  Returns the names of the
-- partitions it created.  Run it as the tables' owner, e.g. daily from cron
-- with sql/monitor.sql.
CREATE FUNCTION mlpipe_prediction_partitions(ahead integer DEFAULT 2) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	first_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
	lo timestamptz;
	hi timestamptz;
	part text;
BEGIN
	IF ahead IS NULL OR ahead < 0 OR ahead > 120 THEN
		RAISE EXCEPTION 'ahead must be between 0 and 120 months'
			USING ERRCODE = 'invalid_parameter_value',
			      DETAIL = format('It was %s.', coalesce(ahead::text, 'NULL')),
			      HINT = 'Pass how many months after the current one should have a partition.';
	END IF;
	FOR i IN 0..ahead LOOP
		lo := (first_month + make_interval(months => i)) AT TIME ZONE 'UTC';
		hi := (first_month + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
		part := mlpipe.prediction_partition_name(lo);
		CONTINUE WHEN to_regclass(format('mlpipe.%I', part)) IS NOT NULL;
		EXECUTE format('CREATE TABLE mlpipe.%I (LIKE mlpipe.predictions INCLUDING DEFAULTS)', part);
		EXECUTE format('INSERT INTO mlpipe.%I SELECT * FROM mlpipe.predictions_default'
		               ' WHERE logged_at >= $1 AND logged_at < $2', part) USING lo, hi;
		DELETE FROM mlpipe.predictions_default WHERE logged_at >= lo AND logged_at < hi;
		EXECUTE format('ALTER TABLE mlpipe.predictions ATTACH PARTITION mlpipe.%I'
		               ' FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
		RETURN NEXT part;
	END LOOP;
END;
$$;

-- Expires the log: drops every monthly partition whose month ended at or
-- before `before`, and deletes the default partition's rows logged before
-- it.  Returns what it removed, one line each.
CREATE FUNCTION mlpipe_expire_predictions(before timestamptz) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	part text;
	n bigint;
BEGIN
	IF before IS NULL OR NOT isfinite(before) THEN
		RAISE EXCEPTION 'before must be a finite timestamp'
			USING ERRCODE = 'invalid_parameter_value',
			      HINT = 'Pass the oldest time whose predictions you keep, e.g. now() - interval ''13 months''.';
	END IF;
	FOR part IN
		SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'mlpipe.predictions'::regclass
		  AND c.relname ~ '^predictions_[0-9]{4}_[0-9]{2}$'
		  AND (to_date(substr(c.relname, 13), 'YYYY_MM')::timestamp AT TIME ZONE 'UTC')
		      + interval '1 month' <= before
		ORDER BY c.relname
	LOOP
		EXECUTE format('DROP TABLE mlpipe.%I', part);
		RETURN NEXT 'dropped mlpipe.' || part;
	END LOOP;
	DELETE FROM mlpipe.predictions_default WHERE logged_at < before;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN NEXT format('deleted %s rows of mlpipe.predictions_default', n);
END;
$$;

-- Live accuracy: the logged predictions of a model version (NULL: the
-- latest) whose purchase_date is at or after since (NULL: all), against
-- the customer's actual total of the month after, computed from
-- mlpipe.purchases by the feature code that defines the training target.
-- One row per predicted month, once that month is over.
CREATE FUNCTION mlpipe_monitor(model_name text, version text, since timestamptz DEFAULT NULL,
	OUT month date, OUT predictions bigint,
	OUT rmse double precision, OUT mae double precision, OUT bias double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME' LANGUAGE C STABLE;

-- Feature drift: per feature, the population stability index between the
-- training distribution stored with the model (metadata.feature_deciles)
-- and the feature rows of the months from since's on (NULL: all).
CREATE FUNCTION mlpipe_drift(model_name text, version text, since timestamptz DEFAULT NULL,
	OUT feature text, OUT psi double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME' LANGUAGE C STABLE;
