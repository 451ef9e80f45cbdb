-- mlpipe 0.1 -> 0.2: mlpipe_training_rows() streams its rows.
\echo Use "ALTER EXTENSION mlpipe UPDATE TO '0.2'" to load this file. \quit

-- The rows come from this C function.  Called in FROM, as users write it,
-- a set-returning function's rows are first collected in a tuplestore
-- (1.4 million rows of 220 bytes for a million purchases, spilled to disk
-- past work_mem) and only then read; called from a select list, they
-- stream to the caller one by one.
CREATE FUNCTION mlpipe.training_rows_stream(
	OUT customer_id bigint, OUT month date,
	OUT features double precision[], OUT target double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'mlpipe_training_rows' LANGUAGE C STABLE PARALLEL SAFE;

-- So mlpipe_training_rows() calls it from a select list.  The planner
-- inlines this SQL function into the calling query, so that
-- SELECT ... FROM mlpipe_training_rows() streams too: it must stay
-- LANGUAGE sql, STABLE, not STRICT, without SET or SECURITY DEFINER.
CREATE OR REPLACE FUNCTION mlpipe_training_rows(
	OUT customer_id bigint, OUT month date,
	OUT features double precision[], OUT target double precision)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT (r).customer_id, (r).month, (r).features, (r).target
	FROM (SELECT mlpipe.training_rows_stream() AS r) s
$$;
