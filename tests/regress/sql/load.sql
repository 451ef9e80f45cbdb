-- Loading CSV files with sql/load_purchases.sql: good rows kept, bad rows
-- reported by line, offsets honoured, gaps kept as NULLs.
\getenv top MLPIPE_TOP
-- relative paths, so that the output does not depend on where the clone is
\cd :top
\set csv tests/regress/data/purchases_mixed.csv
\set script sql/load_purchases.sql
SET TimeZone = 'UTC';
-- echo what the script prints, not the script itself
\set ECHO none
\i :script
\set ECHO all
SELECT customer_id, age, gender, annual_income, purchase_amount, purchase_date
FROM mlpipe.purchases ORDER BY customer_id, purchase_date;
-- 2024-03-01T01:00:00+03:00 is February 29, 22:00 UTC
SELECT purchase_date = '2024-02-29 22:00:00+00' AS leap_day_utc
FROM mlpipe.purchases WHERE customer_id = 1 ORDER BY purchase_date LIMIT 1;
-- loading again appends; replace=1 empties the table first
\set ECHO none
\i :script
\set ECHO all
SELECT count(*) FROM mlpipe.purchases;
\set replace 1
\set ECHO none
\i :script
\set ECHO all
SELECT count(*) FROM mlpipe.purchases;
\unset replace
-- a file without the header loads nothing
\set csv tests/regress/data/no_header.csv
\set ECHO none
\i :script
\set ECHO all
SELECT count(*) FROM mlpipe.purchases;
-- the row parser on its own
SELECT * FROM mlpipe_parse_purchase_csv('1,2,Male,3,4.5,2024-01-01T00:00:00+01:00,');
SELECT error FROM mlpipe_parse_purchase_csv('1,2,Male,3,4.5,2024-01-01T24:00:00,');
SELECT error FROM mlpipe_parse_purchase_csv('1,2,Male,3,4.5,2024-01-01T00:00:00+16:00,');
SELECT error FROM mlpipe_parse_purchase_csv('-1,2,Male,3,4.5,2024-01-01,');
SELECT error FROM mlpipe_parse_purchase_csv('1,2,Male,3,1e5,2024-01-01,');
SELECT error FROM mlpipe_parse_purchase_csv('1,2,"Male,3,4.5,2024-01-01,');
SELECT purchase_date FROM mlpipe_parse_purchase_csv('1,2,Male,3,4.5,2023-12-31T23:30:00-01:00,');
SELECT purchase_date FROM mlpipe_parse_purchase_csv('1,2,Male,3,4.5,2024-06-01,');
-- the parser and PostgreSQL read the same instant, rounding included
SELECT d, (mlpipe_parse_purchase_csv('1,2,Male,3,4,' || d || ',')).purchase_date = d::timestamptz AS same
FROM unnest(ARRAY['2024-01-01T00:00:00.1234565Z', '2024-01-01T00:00:00.1234575Z',
                  '2024-01-01T00:00:00.9999995Z', '2024-01-01T00:00:00.12345651Z',
                  '2024-01-01T00:00:00.000000499Z', '2024-01-01T10:00:00+05:30',
                  '2024-01-01T10:00:00-0330', '2024-01-01 10:00', '2024-01-01']) d;
-- what it refuses: a comma before the fraction, an offset after a date
-- alone, 10 fraction digits, an instant outside years 1-9999 UTC
SELECT d, (mlpipe_parse_purchase_csv('1,2,Male,3,4,' || d || ',')).error
FROM unnest(ARRAY['2024-01-15T10:30:00,5Z', '2024-01-15Z', '2024-01-15T10:30:00.1234567890Z',
                  '0001-01-01T00:00:00+15:59', '9999-12-31T23:59:59-15:59']) d;
TRUNCATE mlpipe.purchases;
