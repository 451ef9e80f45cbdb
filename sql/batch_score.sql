-- Batch scoring with a registered model, written as CSV.
--
-- Every customer's next-month prediction from the stored purchases:
--   psql -v model=xgboost -v out=predictions.csv -f sql/batch_score.sql
-- Each purchase of a CSV file (the columns of the purchases CSV), merged
-- with the customer's stored history:
--   psql -v model=xgboost -v csv=new_purchases.csv -v out=predictions.csv -f sql/batch_score.sql
--
-- -v version=1.0 picks a version (default: the latest).  Without -v out the
-- CSV goes to standard output.  Rows of the input file that cannot be
-- scored (malformed, or a value outside what the model accepts) are
-- reported by line number on standard error and left out; so are, in the
-- every-customer form, customers none of whose purchases can be used.
-- Reports go through \warn, which writes to standard error as it is open
-- (2>>app.log appends to the log).  Exits non-zero on any error, and
-- without -v model.
\set ON_ERROR_STOP on
\set QUIET on
\if :{?model}
\else
	\warn 'usage: psql -v model=NAME [-v version=V] [-v csv=FILE] [-v out=FILE] -f sql/batch_score.sql'
	-- an error, so that psql exits non-zero (\quit would exit 0)
	DO $$ BEGIN RAISE EXCEPTION 'batch_score: no model given' USING HINT = 'Pass -v model=NAME.'; END $$;
\endif
-- '' stands for "the latest" (psql cannot hold a NULL in a variable)
\if :{?version}
	\set version_value :version
\else
	\set version_value ''
\endif
-- fail early, with the registry's message, on an unknown model
SELECT mlpipe_model_info(:'model', NULLIF(:'version_value', '')) IS NOT NULL AS model_ok \gset

\if :{?csv}
	CREATE TEMP TABLE score_lines (lineno bigint GENERATED ALWAYS AS IDENTITY, line text);
	\set copy_cmd '\\copy score_lines (line) FROM ' :'csv' ' WITH (FORMAT csv, DELIMITER E''\\x01'', QUOTE E''\\x02'')'
	:copy_cmd
	CREATE TEMP TABLE score_input AS
	SELECT l.lineno, p.*,
	       CASE
	           WHEN p.error IS NOT NULL THEN p.error
	           WHEN p.age IS NULL OR p.age NOT BETWEEN 1 AND 120 THEN 'age must be between 1 and 120'
	           WHEN p.gender IS NULL OR p.gender NOT IN ('Male', 'Female') THEN 'gender must be Male or Female'
	           WHEN p.annual_income IS NULL OR p.annual_income < 0 THEN 'annual_income must be a non-negative number'
	           WHEN p.purchase_amount IS NULL OR p.purchase_amount < 0 THEN 'purchase_amount must be a non-negative number'
	       END AS problem
	FROM score_lines l, LATERAL mlpipe_parse_purchase_csv(coalesce(l.line, '')) p
	WHERE l.lineno > 1;
	SELECT count(*) > 0 AS any_bad,
	       string_agg(format('  line %s: %s', lineno, problem), E'\n' ORDER BY lineno) AS bad_lines
	FROM score_input WHERE problem IS NOT NULL \gset
	\if :any_bad
		\warn 'batch_score: rows left out:'
		\warn :bad_lines
	\endif
	\set query 'SELECT customer_id, to_char(purchase_date AT TIME ZONE ''UTC'', ''YYYY-MM-DD"T"HH24:MI:SS"Z"'') AS purchase_date, mlpipe_predict(' :'model' ', NULLIF(' :'version_value' ', ''''), customer_id, purchase_date, purchase_amount, annual_income, age, gender) AS predicted_purchase_amount FROM score_input WHERE problem IS NULL ORDER BY lineno'
\else
	CREATE TEMP TABLE scored AS
	SELECT * FROM mlpipe_predict_customers(:'model', NULLIF(:'version_value', ''));
	-- customers left out, and why: none of their purchases is clean
	-- (docs/features.md, cleaning step 1)
	SELECT count(*) > 0 AS any_left_out,
	       string_agg(format('  customer %s: %s', customer_id, why), E'\n' ORDER BY customer_id) AS left_out
	FROM (SELECT customer_id,
	             CASE
	                 WHEN bool_and(age IS NULL OR age NOT BETWEEN 1 AND 120) THEN 'no purchase with an age between 1 and 120'
	                 WHEN bool_and(annual_income IS NULL OR annual_income < 0) THEN 'no purchase with a non-negative annual_income'
	                 WHEN bool_and(purchase_amount IS NULL OR purchase_amount < 0) THEN 'no purchase with a non-negative purchase_amount'
	                 ELSE 'no purchase with every field valid (age, gender, annual_income, purchase_amount)'
	             END AS why
	      FROM mlpipe.purchases p
	      WHERE NOT EXISTS (SELECT 1 FROM scored s WHERE s.customer_id = p.customer_id)
	      GROUP BY customer_id) missing \gset
	\if :any_left_out
		\warn 'batch_score: customers left out:'
		\warn :left_out
	\endif
	\set query 'SELECT customer_id, month AS purchase_month, predicted_purchase_amount FROM scored ORDER BY customer_id'
\endif

\if :{?out}
	\set copy_cmd '\\copy (' :query ') TO ' :'out' ' WITH (FORMAT csv, HEADER)'
	:copy_cmd
	\warn 'batch_score: wrote' :out
\else
	\set copy_cmd '\\copy (' :query ') TO STDOUT WITH (FORMAT csv, HEADER)'
	:copy_cmd
\endif
