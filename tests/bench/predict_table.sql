-- The prediction benchmark's input: bench.rows, 1,000,000 rows of the 19
-- model features as float8 columns c1..c19, about 5 % NULL (missing) each.
-- Deterministic (setseed).  Values are drawn over the ranges the features
-- take in the training rows (ages 18-80, 0/1 indicators, days, standardized
-- values around 0), so that the trees branch as they do on real rows; they
-- are cut to 3 decimals to keep the CSV export small.
--
--   psql -v rows=1000000 -f tests/bench/predict_table.sql
\set ON_ERROR_STOP on
\if :{?rows}
\else
	\set rows 1000000
\endif
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;

-- one draw, NULL 5 % of the time
CREATE FUNCTION bench.draw(lo float8, width float8, whole boolean) RETURNS float8
LANGUAGE sql VOLATILE AS $$
	SELECT CASE WHEN random() < 0.05 THEN NULL
	            WHEN whole THEN floor(lo + random() * width)
	            ELSE floor((lo + random() * width) * 1000) / 1000 END
$$;

SELECT setseed(0.42) \g /dev/null
CREATE TABLE bench.rows AS
SELECT n AS id,
	bench.draw(18, 62, false) AS c1,	-- age
	bench.draw(0, 2, true) AS c2,		-- gender
	bench.draw(0, 8, true) AS c3,		-- frequency
	bench.draw(-1, 362, false) AS c4,	-- days since last purchase
	bench.draw(0, 180, false) AS c5,	-- average days between purchases
	bench.draw(0, 2, true) AS c6,		-- age groups ...
	bench.draw(0, 2, true) AS c7,
	bench.draw(0, 2, true) AS c8,
	bench.draw(0, 2, true) AS c9,
	bench.draw(0, 2, true) AS c10,
	bench.draw(0, 2, true) AS c11,
	bench.draw(0, 2, true) AS c12,		-- income groups ...
	bench.draw(0, 2, true) AS c13,
	bench.draw(0, 2, true) AS c14,
	bench.draw(0, 2, true) AS c15,
	bench.draw(-1.5, 4, false) AS c16,	-- standardized values
	bench.draw(-1.5, 4, false) AS c17,
	bench.draw(-1.5, 4, false) AS c18,
	bench.draw(-1.5, 4, false) AS c19
FROM generate_series(1, :rows) n;
VACUUM ANALYZE bench.rows;
