-- ALTER EXTENSION mlpipe UPDATE from 0.1, on a live 0.1 install, gives
-- exactly what CREATE EXTENSION gives: the same functions with the same
-- definitions, columns, indexes and triggers.  (Runs last: it drops and
-- recreates the extension.)
SET client_min_messages = warning;
CREATE FUNCTION pg_temp.extension_objects()
RETURNS TABLE (kind text, name text, definition text) LANGUAGE sql AS $$
	SELECT 'function', p.oid::regprocedure::text, pg_get_functiondef(p.oid)
	FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
	JOIN pg_extension e ON e.oid = d.refobjid AND d.deptype = 'e'
	WHERE e.extname = 'mlpipe' AND p.prokind <> 'a'
	UNION ALL
	SELECT 'column', a.attrelid::regclass::text || '.' || a.attname,
	       format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
	FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	WHERE c.relnamespace = 'mlpipe'::regnamespace AND c.relkind = 'r'
	  AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT 'index', indexrelid::regclass::text, pg_get_indexdef(indexrelid)
	FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
	WHERE c.relnamespace = 'mlpipe'::regnamespace
	UNION ALL
	SELECT 'trigger', tgname, pg_get_triggerdef(t.oid)
	FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	WHERE c.relnamespace = 'mlpipe'::regnamespace AND NOT t.tgisinternal
$$;
SELECT extversion AS installed FROM pg_extension WHERE extname = 'mlpipe';
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.extension_objects();

DROP EXTENSION mlpipe;
CREATE EXTENSION mlpipe VERSION '0.1';
SELECT count(*) > 0 AS has_0_1_objects FROM pg_temp.extension_objects();
ALTER EXTENSION mlpipe UPDATE;
SELECT extversion AS updated_to FROM pg_extension WHERE extname = 'mlpipe';

SELECT 'missing after update' AS problem, kind, name FROM
	(SELECT kind, name, definition FROM fresh
	 EXCEPT SELECT * FROM pg_temp.extension_objects()) m
UNION ALL
SELECT 'extra after update', kind, name FROM
	(SELECT * FROM pg_temp.extension_objects()
	 EXCEPT SELECT kind, name, definition FROM fresh) x
ORDER BY 1, 2, 3;
SELECT count(*) AS objects_compared FROM fresh;
