-- Monitoring report of a model, for people and for cron (SPEC section 9):
-- live accuracy per month (logged predictions against the actual totals,
-- once a month is over) and drift per feature (PSI against the training
-- distribution stored with the model).
--
--   psql -v model=xgboost -f sql/monitor.sql
--   psql -v model=xgboost -v version=1.0 -v since=2024-01-01 -f sql/monitor.sql
--
-- -v version: a version (default: the latest); -v since: only predictions
-- for purchases since then, and the feature rows of the months since then
-- (default: accuracy over everything logged, drift over the three most
-- recent months of purchases).  -v psi_alert=0.25 sets the PSI above which a feature is marked
-- DRIFT.  Run as the tables' owner, it also creates the prediction log's
-- partitions for this month and the next two (mlpipe_prediction_partitions);
-- as anyone else that step is skipped.  A daily crontab line:
--
--   15 6 * * *  psql -X -v model=xgboost -f /path/to/sql/monitor.sql | mail -s "mlpipe" ops@example.com
\set ON_ERROR_STOP on
\set QUIET on
\if :{?model}
\else
	\warn 'usage: psql -v model=NAME [-v version=V] [-v since=TIMESTAMP] [-v psi_alert=0.25] -f sql/monitor.sql'
	\quit
\endif
-- '' stands for "the latest" / "not given" (psql cannot hold a NULL in a variable)
\if :{?version}
\else
	\set version ''
\endif
\if :{?since}
\else
	\set since ''
\endif
\if :{?psi_alert}
\else
	\set psi_alert 0.25
\endif
SET TimeZone = 'UTC';
SELECT pg_has_role((SELECT relowner FROM pg_class WHERE oid = 'mlpipe.predictions'::regclass), 'USAGE')
       AS log_owner \gset
\if :log_owner
	SELECT count(*) AS new_partitions FROM mlpipe_prediction_partitions(2) \gset
\endif
SELECT (mlpipe_model_info(:'model', NULLIF(:'version', '')) ->> 'version') AS model_version \gset

\echo
\echo 'mlpipe monitoring report:' :model 'version' :model_version
\echo
\echo 'Accuracy per predicted month (predictions with a known actual, in currency units):'
SELECT to_char(month, 'YYYY-MM') AS month, predictions,
       round(rmse::numeric, 2) AS rmse, round(mae::numeric, 2) AS mae, round(bias::numeric, 2) AS bias
FROM mlpipe_monitor(:'model', :'model_version', NULLIF(:'since', '')::timestamptz)
ORDER BY month \g (footer=off)
SELECT count(*) AS pending FROM mlpipe.predictions
WHERE model_name = :'model' AND version = :'model_version'
  AND month >= (date_trunc('month', now()) - interval '1 month')::date \gset
\echo :pending 'logged predictions wait for their month to end.'
\echo
\echo 'Drift per feature (PSI; above' :psi_alert 'is marked DRIFT):'
SELECT feature, round(psi::numeric, 4) AS psi,
       CASE WHEN psi > :psi_alert THEN 'DRIFT' ELSE '' END AS alert
FROM mlpipe_drift(:'model', :'model_version',
                  coalesce(NULLIF(:'since', '')::timestamptz,
                           (SELECT date_trunc('month', max(purchase_date)) - interval '2 months'
                            FROM mlpipe.purchases)))
\g (footer=off)
