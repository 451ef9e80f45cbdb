-- Load a purchases CSV into mlpipe.purchases.
--
--   psql -v csv=path/to/purchases.csv -f sql/load_purchases.sql
--   psql -v csv=path.csv -v replace=1 -f sql/load_purchases.sql   (empty the table first)
--
-- The file has the columns of the old pipeline's CSV:
--   customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount
-- Dates are ISO 8601; an offset is honoured, none means UTC.  The last column
-- is ignored.  Rows with gaps (empty age, gender, income) are kept: cleaning
-- belongs to the features.  Malformed rows (a bad number, a bad date, the
-- wrong number of columns) are reported with their line numbers and not
-- loaded; the good rows are.  The whole load is one transaction.
\set ON_ERROR_STOP on
\set QUIET on
\if :{?csv}
\else
	\echo 'usage: psql -v csv=FILE [-v replace=1] -f sql/load_purchases.sql'
	\quit
\endif
\if :{?replace}
\else
	\set replace 0
\endif

BEGIN;
-- room to sort a batch in memory (below) rather than through temp files
SET LOCAL work_mem = '256MB';

-- Each line arrives whole (the delimiter and quote bytes never occur in
-- the file), so that a malformed line is reported, not fatal.
CREATE TEMP TABLE load_lines (
	lineno bigint GENERATED ALWAYS AS IDENTITY,
	line   text
) ON COMMIT DROP;

-- \copy does not interpolate variables: build the command, then run it.
\set copy_cmd '\\copy load_lines (line) FROM ' :'csv' ' WITH (FORMAT csv, DELIMITER E''\\x01'', QUOTE E''\\x02'')'
:copy_cmd

SELECT coalesce(mlpipe_is_purchase_csv_header(line), false) AS header_ok
FROM load_lines WHERE lineno = 1 \gset
\if :header_ok
\else
	\echo 'load_purchases: line 1 is not the expected header:'
	\echo '  customer_id,age,gender,annual_income,purchase_amount,purchase_date,next_month_purchase_amount'
	\echo 'nothing was loaded'
	ROLLBACK;
	\quit
\endif

\if :replace
	TRUNCATE mlpipe.purchases;
\endif

CREATE TEMP TABLE load_errors (lineno bigint, error text) ON COMMIT DROP;

WITH parsed AS (
	-- COPY reads an empty line as NULL: parse it as '' to report it
	SELECT l.lineno, p.*
	FROM load_lines l, LATERAL mlpipe_parse_purchase_csv(coalesce(l.line, '')) p
	WHERE l.lineno > 1
), bad AS (
	INSERT INTO load_errors
	SELECT lineno, error FROM parsed WHERE error IS NOT NULL
), good AS (
	INSERT INTO mlpipe.purchases
		(customer_id, age, gender, annual_income, purchase_amount, purchase_date)
	SELECT customer_id, age, gender, annual_income, purchase_amount, purchase_date
	FROM parsed WHERE error IS NULL
	-- stored in the order the features read them: index scans then touch
	-- each heap page once, and mlpipe's own scan finds nothing to sort
	ORDER BY customer_id, purchase_date
	RETURNING 1
)
SELECT count(*) AS loaded FROM good \gset

SELECT count(*) AS rejected, count(*) > 0 AS any_rejected FROM load_errors \gset
\if :any_rejected
	\echo 'load_purchases: rejected rows (first 50):'
	SELECT format('  line %s: %s', lineno, error) AS " "
	FROM load_errors ORDER BY lineno LIMIT 50 \g (tuples_only=on footer=off)
\endif

COMMIT;
\echo 'load_purchases: loaded' :loaded 'purchases from' :csv', rejected' :rejected
