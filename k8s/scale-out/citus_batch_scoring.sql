-- Batch scoring of a very large table across machines with Citus.
--
-- mlpipe_predict(model, version, features float8[]) is a plain PARALLEL SAFE
-- function that reads only its arguments and the model row of mlpipe.models
-- on the node where it runs.  Citus pushes a query over a distributed table
-- down to every shard, so each worker scores its own shards with its own
-- cores (and, inside a shard, with PostgreSQL's parallel workers).
--
-- Needs: Citus and mlpipe installed on the coordinator and on every worker
-- (mlpipe-postgres images built with Citus added); run with psql on the
-- coordinator.  An example to adapt, not part of `kubectl apply -f k8s/`.

\set ON_ERROR_STOP on

CREATE EXTENSION IF NOT EXISTS citus;
-- Citus creates the extension on the workers as well
CREATE EXTENSION IF NOT EXISTS mlpipe;

-- 1. The rows to score, spread by customer over the workers.  Here they are
--    the feature vectors mlpipe computes from the coordinator's purchases;
--    a real batch loads its own (COPY into a distributed table is itself
--    spread over the workers).
CREATE TABLE IF NOT EXISTS scoring_features (
	customer_id bigint NOT NULL,
	month       date   NOT NULL,
	features    float8[] NOT NULL,
	PRIMARY KEY (customer_id, month)
);
SELECT create_distributed_table('scoring_features', 'customer_id')
WHERE NOT EXISTS (SELECT 1 FROM citus_tables
                  WHERE table_name = 'scoring_features'::regclass);

INSERT INTO scoring_features (customer_id, month, features)
SELECT customer_id, month, features FROM mlpipe_training_rows()
ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS scoring_results (
	customer_id bigint NOT NULL,
	month       date   NOT NULL,
	model_name  text   NOT NULL,
	prediction  float8 NOT NULL,
	PRIMARY KEY (customer_id, month, model_name)
);
-- co-located with scoring_features: the INSERT ... SELECT below then runs
-- on each worker, shard against shard, without passing through the coordinator
SELECT create_distributed_table('scoring_results', 'customer_id',
                                colocate_with => 'scoring_features')
WHERE NOT EXISTS (SELECT 1 FROM citus_tables
                  WHERE table_name = 'scoring_results'::regclass);

-- 2. The model on every worker.  mlpipe.models belongs to the extension and
--    stays a plain local table; copy the registered row to each worker
--    (column-for-column through its JSON form, bytea included).
SELECT run_command_on_workers(format(
	'INSERT INTO mlpipe.models SELECT * FROM json_populate_record(NULL::mlpipe.models, %L) ON CONFLICT DO NOTHING',
	row_to_json(m)::text))
FROM mlpipe.models AS m
WHERE m.model_name = 'xgboost' AND m.version = '1.0';

-- 3. Score: pushed down to every shard in parallel.
INSERT INTO scoring_results (customer_id, month, model_name, prediction)
SELECT customer_id, month, 'xgboost', mlpipe_predict('xgboost', '1.0', features)
FROM scoring_features
ON CONFLICT (customer_id, month, model_name)
	DO UPDATE SET prediction = EXCLUDED.prediction;

SELECT count(*) AS scored, avg(prediction) AS mean_prediction
FROM scoring_results WHERE model_name = 'xgboost';
