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
