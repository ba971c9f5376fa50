-- halfvec: text and binary formats, rounding to binary16, limits, typmods,
-- and every input error.

-- Rounding: nearest half, ties to even; output is the shortest decimal
-- that reads back as the same value.
SELECT '[0.1, 1.23456, 2049, 2051, 65519, -65519]'::halfvec;
SELECT '[+1, -2e0, .5, 5., 1E2, 0.000001]'::halfvec;

-- Subnormals, the smallest normal, underflow to (signed) zero.
SELECT '[6e-8, 3e-8, 2.9e-8, 6.1e-5, 6.103515625e-05]'::halfvec;
SELECT '[1e-8, -1e-8, 1e-50, -0]'::halfvec;

-- The largest finite half and the first value that rounds past it.
SELECT '[65504, -65504, 65519.99]'::halfvec;
SELECT '[65520]'::halfvec;
SELECT '[1, -65520]'::halfvec;
SELECT '[1e5]'::halfvec;
SELECT '[4e38]'::halfvec;
SELECT '[-1e39, 1]'::halfvec;

-- Non-finite elements.
SELECT '[NaN]'::halfvec;
SELECT '[1, nan]'::halfvec;
SELECT '[inf]'::halfvec;
SELECT '[-Infinity, 1]'::halfvec;

-- Whitespace (space, tab, newline, return, form feed, vertical tab) is
-- allowed around brackets, numbers and commas.
SELECT (' ' || chr(9) || '[ 1 ,' || chr(10) || '2' || chr(13) || ',3' ||
	chr(12) || ']' || chr(11) || ' ')::halfvec;

-- Syntax errors (each with the message pgvector gives).
SELECT ''::halfvec;
SELECT '   '::halfvec;
SELECT '1,2'::halfvec;
SELECT '(1,2)'::halfvec;
SELECT '['::halfvec;
SELECT '[1'::halfvec;
SELECT '[1,'::halfvec;
SELECT '[1 2]'::halfvec;
SELECT '[1;2]'::halfvec;
SELECT '[,1]'::halfvec;
SELECT '[1,,2]'::halfvec;
SELECT '[1,]'::halfvec;
SELECT '[abc]'::halfvec;
SELECT '[1abc]'::halfvec;
SELECT '[1]]'::halfvec;
SELECT '[1] x'::halfvec;
SELECT '[]'::halfvec;
SELECT '[  ]'::halfvec;
-- Numbers have strtof's syntax, as in pgvector: hexadecimal is accepted.
SELECT '[0x10, 0x1p-2]'::halfvec;
-- The first problem from the left wins.
SELECT '[NaN, 65520]'::halfvec;
SELECT '[65520, NaN]'::halfvec;
SELECT '[1, x, NaN]'::halfvec;

-- Dimension limits: 16000 is the maximum.
SELECT vector_dims(('[' || repeat('1,', 15999) || '1]')::halfvec);
SELECT vector_dims(('[' || repeat('1,', 16000) || '1]')::halfvec);

-- Every finite half survives text output and input unchanged (and the
-- conversion from float8 through real[] is exact for them).
WITH v AS (
	SELECT s * (CASE WHEN e = 0 THEN m / 1024.0 ELSE 1 + m / 1024.0 END)::float8
		* power(2::float8, greatest(e, 1) - 15) AS x
	FROM generate_series(0, 30) e, generate_series(0, 1023) m,
		(VALUES (1), (-1)) signs(s)
), h AS (
	SELECT x, ARRAY[x]::halfvec AS hv FROM v
)
SELECT count(*) AS halves,
	count(*) FILTER (WHERE hv::text::halfvec::real[] <> hv::real[]) AS text_mismatches,
	count(*) FILTER (WHERE hv::real[] <> ARRAY[x::real]) AS value_mismatches
FROM h;

-- Type modifiers.
SELECT '[1,2,3]'::halfvec(3);
SELECT '[1,2,3]'::halfvec(2);
SELECT '[1,2,3]'::halfvec(3, 2);
SELECT '[1,2,3]'::halfvec('a');
SELECT '[1,2,3]'::halfvec(0);
SELECT '[1,2,3]'::halfvec(-1);
SELECT '[1,2,3]'::halfvec(16001);
SELECT '[1,2,3]'::halfvec::halfvec(3);
SELECT '[1,2,3]'::halfvec::halfvec(4);

CREATE TABLE halfvec_io_t (a halfvec(3), b halfvec(16000), c halfvec);
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
	WHERE attrelid = 'halfvec_io_t'::regclass AND attnum > 0 ORDER BY attnum;
INSERT INTO halfvec_io_t (a) VALUES ('[1,2]');
INSERT INTO halfvec_io_t (a) VALUES ('[1,2,3,4]');
INSERT INTO halfvec_io_t (a, c) VALUES ('[1,2,3]', '[1]'), (NULL, '[1,2,3,4,5]');
SELECT * FROM halfvec_io_t ORDER BY c;
DROP TABLE halfvec_io_t;

-- Arrays of halfvec.
SELECT unnest('{"[1,2]", "[3.5,-4]", NULL}'::halfvec[]);
SELECT '{"[1,2,3]"}'::halfvec(3)[];
SELECT '{"[1,2,3]"}'::halfvec(2)[];
SELECT ARRAY['[1,2]'::halfvec, '[3,4]'];

-- Binary format: uint16 dim, uint16 unused, then big-endian binary16.
SELECT encode(halfvec_send('[1,2,-0.5]'), 'hex');
SELECT encode(halfvec_send('[65504,-65504,5.9604645e-08,-0,0.1]'), 'hex');

-- COPY BINARY files reach the server through "printf" with octal escapes
-- (any byte can be sent), so no file is left behind: halfvec_io_program()
-- returns that command for a file holding the given tuples.
CREATE FUNCTION halfvec_io_program(tuples bytea) RETURNS text LANGUAGE sql AS $$
	SELECT 'printf ''' || string_agg('\' || (b >> 6) || ((b >> 3) & 7) || (b & 7),
									 '' ORDER BY i) || ''''
	FROM (SELECT i, get_byte(f, i) AS b
		  FROM (SELECT '\x5047434f50590aff0d0a00'::bytea	-- signature
					|| '\x0000000000000000'::bytea		-- flags, no extension
					|| tuples || '\xffff'::bytea AS f) file,
			   generate_series(0, length(f) - 1) i) bytes
$$;

-- COPY BINARY round trip: the rows as COPY TO writes them (halfvec_send for
-- the halfvec field), read back by COPY FROM with the column's typmod.
CREATE TABLE halfvec_io_src (id int, v halfvec(3));
INSERT INTO halfvec_io_src VALUES (1, '[0,0,0]'), (2, '[1.5,-2,65504]'),
	(3, '[5.9604645e-08,-0,0.1]'), (4, NULL);
CREATE TABLE halfvec_io_dst (id int, v halfvec(3));
DO $$
BEGIN
	EXECUTE format('COPY halfvec_io_dst FROM PROGRAM %L WITH (FORMAT binary)',
		halfvec_io_program((SELECT string_agg(int2send(2::int2) || int4send(4)
				|| int4send(id)
				|| CASE WHEN v IS NULL THEN int4send(-1)
						ELSE int4send(length(halfvec_send(v))) || halfvec_send(v) END,
				'' ORDER BY id)
			FROM halfvec_io_src)));
END
$$;
SELECT d.id, d.v, d.v IS NOT DISTINCT FROM s.v AS same,
	halfvec_send(d.v) IS NOT DISTINCT FROM halfvec_send(s.v) AS same_bits
	FROM halfvec_io_dst d JOIN halfvec_io_src s USING (id) ORDER BY id;
DROP TABLE halfvec_io_src;

-- recv errors: feed hand-made COPY BINARY files holding one halfvec datum
-- (given in hex) into a halfvec(3) column.  Terse errors: the COPY command
-- in each error context would only repeat the hex.
CREATE FUNCTION halfvec_io_copy_in(datum_hex text) RETURNS SETOF halfvec
LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE halfvec_io_dst;
	EXECUTE format('COPY halfvec_io_dst (v) FROM PROGRAM %L WITH (FORMAT binary)',
		halfvec_io_program(decode('0001' || lpad(to_hex(length(datum_hex) / 2), 8, '0')
								  || datum_hex, 'hex')));
	RETURN QUERY SELECT v FROM halfvec_io_dst;
END
$$;
SELECT halfvec_io_copy_in('000300003c004000b800');	-- [1,2,-0.5]
SELECT halfvec_io_copy_in('000300000001800003ff');	-- subnormals, -0
\set VERBOSITY terse
SELECT halfvec_io_copy_in('00000000');				-- no dimension
SELECT halfvec_io_copy_in('3e810000');				-- 16001 dimensions
SELECT halfvec_io_copy_in('ffff0000');				-- 65535 dimensions
SELECT halfvec_io_copy_in('000200003c004000');		-- typmod is 3
SELECT halfvec_io_copy_in('000300013c0040004200');	-- unused must be 0
SELECT halfvec_io_copy_in('00030000ffff00000000');	-- NaN
SELECT halfvec_io_copy_in('00030000000000007c00');	-- +Infinity
SELECT halfvec_io_copy_in('00030000fc0000000000');	-- -Infinity
SELECT halfvec_io_copy_in('000300003c004000');		-- too short
SELECT halfvec_io_copy_in('000300003c00400042000000');	-- trailing bytes
\set VERBOSITY default
DROP FUNCTION halfvec_io_copy_in(text);
DROP FUNCTION halfvec_io_program(bytea);
DROP TABLE halfvec_io_dst;
