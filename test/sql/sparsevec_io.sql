-- sparsevec: text input and output, and the type modifier.
-- Errors are shown through sv_try(), which reports the SQLSTATE, message and
-- detail, since those are what clients match on.

CREATE FUNCTION sv_try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL;
	RETURN st || ' ' || msg || CASE WHEN det <> '' THEN ' | detail: ' || det ELSE '' END;
END $$;

-- Accepted forms: indexes are 1-based, output is sorted and canonical
SELECT '{2:0.5,4:-7}/6'::sparsevec;
SELECT '{}/3'::sparsevec, '{ }/3'::sparsevec;
SELECT '  {  3 : 1 ,1:2  }  /  4  '::sparsevec;
SELECT (E'\t{\n1\r:\f2' || chr(11) || E'}\n/\t2\n')::sparsevec;  -- all six blanks
SELECT '{+1:+2,2:.5,3:1.,4:1e2,5:0x1p-2}/+5'::sparsevec;        -- strtof/strtol forms
SELECT '{5:5,3:3,1:1,4:4,2:2}/5'::sparsevec;                     -- sorted on input
SELECT '{1:0,2:-0,3:0.0,4:9}/4'::sparsevec;                      -- zeros are not stored
SELECT '{0:0,7:0,1:0,1:1}/2'::sparsevec;                         -- nor are their indexes checked
SELECT '{1:1,1000000000:-1}/1000000000'::sparsevec;              -- largest dimension
SELECT '{1:1e-40,2:-1.4e-45}/2'::sparsevec;                      -- denormals are kept

-- Output: the shortest decimal that reads back as the same float
SELECT '{1:0.1,2:0.2,3:0.3}/3'::sparsevec;
SELECT '{1:3.14159265358979,2:123456789,3:1e20,4:0.0001}/4'::sparsevec;
SELECT '{1:3.4028235e38,2:-1.17549435e-38,3:1e-45}/3'::sparsevec;
SELECT '{1:1.5,2:-2.25}/2'::sparsevec::text::sparsevec = '{1:1.5,2:-2.25}/2'::sparsevec;

-- Syntax errors (the whole input is quoted back)
SELECT sv_try($$SELECT ''::sparsevec$$);
SELECT sv_try($$SELECT '  '::sparsevec$$);
SELECT sv_try($$SELECT '[1,2]'::sparsevec$$);
SELECT sv_try($$SELECT '1:1}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{'::sparsevec$$);
SELECT sv_try($$SELECT '{1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:'::sparsevec$$);
SELECT sv_try($$SELECT '{1:1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:1,'::sparsevec$$);
SELECT sv_try($$SELECT '{x:1}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1.5:1}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1 2:1}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1=1}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1::1}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:abc}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2x}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2;2:3}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2,,2:3}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{,1:2}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2,}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2}'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2}  '::sparsevec$$);
SELECT sv_try($$SELECT '{1:2} 2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2}}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{}/'::sparsevec$$);
SELECT sv_try($$SELECT '{}/ x'::sparsevec$$);
SELECT sv_try($$SELECT '{}/-'::sparsevec$$);
SELECT sv_try($$SELECT '{}/2x'::sparsevec$$);
SELECT sv_try($$SELECT '{}/2.0'::sparsevec$$);
SELECT sv_try($$SELECT '{}/2 2'::sparsevec$$);
SELECT sv_try($$SELECT '{}/2/'::sparsevec$$);

-- Values: range, then NaN, then infinity, judged as each value is read
SELECT sv_try($$SELECT '{1:3.5e38}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:1, 2 : -1e39 }/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:2e-46}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:-7e-50}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:nan}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:-NaN}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:inf}/1'::sparsevec$$);
SELECT sv_try($$SELECT '{1:1,2:-INFINITY}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:nan,2:1e39}/2'::sparsevec$$);    -- leftmost wins
SELECT sv_try($$SELECT '{1:1e39,2:nan}/2'::sparsevec$$);
SELECT sv_try($$SELECT '{1:nan x'::sparsevec$$);           -- before later syntax
SELECT sv_try($$SELECT '{x:nan}/1'::sparsevec$$);          -- after earlier syntax
SELECT sv_try($$SELECT '{1:1e39}/0'::sparsevec$$);         -- before the dimension

-- Dimensions: 1 to 1000000000; huge numbers saturate instead of wrapping
SELECT sv_try($$SELECT '{}/0'::sparsevec$$);
SELECT sv_try($$SELECT '{}/-3'::sparsevec$$);
SELECT sv_try($$SELECT '{}/1000000001'::sparsevec$$);
SELECT sv_try($$SELECT '{}/4294967297'::sparsevec$$);
SELECT sv_try($$SELECT '{}/-4294967295'::sparsevec$$);
SELECT sv_try($$SELECT '{}/123456789012345678901234567890'::sparsevec$$);
SELECT sv_try($$SELECT '{0:1,0:1}/0'::sparsevec$$);        -- dimension before indexes

-- Indexes: judged after the dimension, lowest first
SELECT sv_try($$SELECT '{0:1}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{-1:1}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{4:1}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{4294967297:1}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{99999999999999999999999:1}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{-99999999999999999999999:1}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{2:1,3:1,2:5}/3'::sparsevec$$);
SELECT sv_try($$SELECT '{3:1,3:1,0:1}/3'::sparsevec$$);    -- 0 sorts first
SELECT sv_try($$SELECT '{9:1,1:1,1:1}/3'::sparsevec$$);    -- the duplicate sorts first

-- Element limit: 16000 stored elements; the commas are counted first
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/16000')::sparsevec)
	FROM generate_series(1, 16000) i;
SELECT sv_try($$SELECT ('{' || string_agg(i || ':1', ',') || '}/16001')::sparsevec
	FROM generate_series(1, 16001) i$$);
SELECT sv_try($$SELECT ('{' || string_agg(i || ':0', ',') || '}/16001')::sparsevec
	FROM generate_series(1, 16001) i$$);
SELECT sv_try($$SELECT ('x' || repeat(',', 16000))::sparsevec$$);
SELECT regexp_replace(sv_try($$SELECT ('{}/1' || repeat(',', 15999))::sparsevec$$),
	',{10,}', ',...');

-- Type modifier
SELECT '{1:1}/3'::sparsevec(3);
SELECT sv_try($$SELECT '{1:1}/3'::sparsevec(4)$$);
SELECT sv_try($$SELECT '{}/0'::sparsevec(4)$$);            -- range before typmod
-- a cast applies the modifier after input, so input errors come first
SELECT sv_try($$SELECT '{9:1}/3'::sparsevec(4)$$);
SELECT '{}/1000000000'::sparsevec(1000000000);
SELECT sv_try($$SELECT '{}/3'::sparsevec(0)$$);
SELECT sv_try($$SELECT '{}/3'::sparsevec(-1)$$);
SELECT sv_try($$SELECT '{}/3'::sparsevec(1000000001)$$);
SELECT sv_try($$SELECT '{}/3'::sparsevec(3, 3)$$);
SELECT sv_try($$SELECT '{}/3'::sparsevec('x')$$);
SELECT format_type('sparsevec'::regtype, 7), format_type('sparsevec'::regtype, -1);

CREATE TABLE sv_io (id int, v sparsevec(3));
INSERT INTO sv_io VALUES (1, '{1:1.5}/3'), (2, '{}/3'), (3, NULL);
SELECT sv_try($$INSERT INTO sv_io VALUES (4, '{1:1.5}/2')$$);
SELECT sv_try($$UPDATE sv_io SET v = '{1:1}/4'::sparsevec$$);
-- COPY passes the modifier to input: checked after the dimension's range,
-- before the indexes
COPY sv_io FROM stdin;
5	{3:-1}/3
\.
COPY sv_io FROM stdin;
6	{9:1}/4
\.
COPY sv_io FROM stdin;
7	{9:1}/0
\.
SELECT * FROM sv_io ORDER BY id;
SELECT pg_typeof(v), format_type(atttypid, atttypmod)
	FROM sv_io, pg_attribute
	WHERE attrelid = 'sv_io'::regclass AND attname = 'v' AND id = 1;
DROP TABLE sv_io;

-- A large dimension costs nothing: only the stored elements take space
SELECT pg_column_size('{1:1,999999999:2}/1000000000'::sparsevec);

-- STORAGE external: a large value is moved out of line, uncompressed, and
-- read back intact
CREATE TABLE sv_big (v sparsevec);
INSERT INTO sv_big SELECT ('{' || string_agg(i || ':' || (i % 3 + 1), ',') || '}/50000')::sparsevec
	FROM generate_series(1, 48000, 3) i;
SELECT pg_column_size(v), l2_norm(v), v = v::text::sparsevec AS same FROM sv_big;
SELECT substr(v::text, 1, 30), right(v::text, 20) FROM sv_big;
DROP TABLE sv_big;

DROP FUNCTION sv_try(text);
